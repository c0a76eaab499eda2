//! Test support for ACME: Pebble, Let's Encrypt's RFC 8555 test server (the Debian package
//! `pebble`), started on loopback for one test, with what it needs around it.
//!
//! - [`TxtDns`]: a DNS server (UDP and TCP) answering TXT questions from a closure: the tests give
//!   it one that reads what sslprov wrote at the DNS host (Route 53 on moto, or the Cloudflare
//!   emulator), so Pebble's DNS-01 validation sees exactly the records sslprov published, when it
//!   published them. Pebble is started with `-dnsserver` pointing at it.
//! - [`Pebble`]: the server, with its own TLS certificate from a test CA (the package ships none),
//!   no artificial validation sleeps, no reuse of authorizations (every order is validated), and
//!   no rejected nonces (instant-acme retries them, but a test must not depend on luck). Clients
//!   reach it through a TLS proxy in front of it, which logs every request and fails the next ones
//!   on demand ([`Pebble::fail_next`]). Pebble builds the URLs in its answers from the Host the
//!   proxy passes on, so everything after the directory goes through the proxy too.
//!
//! A test that cannot start Pebble fails; it never skips.

mod dns;
mod pebble;
mod proxy;

pub use dns::{TxtDns, TxtLookup, TxtRecords};
pub use pebble::Pebble;
pub use proxy::Logged;
