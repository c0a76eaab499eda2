//! Test support for `sslprov verify`: the network a tracking domain lives in, on loopback ports.
//!
//! - [`DnsServer`]: an authoritative DNS server (hickory) serving the records a test gives it,
//!   for `verify --nameserver`.
//! - [`TestCa`]: a certificate authority whose root goes to `verify --ca-file`, issuing
//!   certificates for any names and validity.
//! - [`Edge`]: TLS and plain-HTTP listeners playing the CDN edge (CloudFront): it proxies to an
//!   [`Origin`], overwrites or passes through `X-Forwarded-Host`, or answers its own error page.
//! - [`Origin`]: the ESP origin: answers every request with the ESP's answer (status, `server`)
//!   and echoes what it received in `x-echo-host` and `x-echo-forwarded-host`.
//!
//! Each server runs on a thread and runtime of its own, so it answers whatever the test does with
//! its own (block on a subprocess, or no runtime at all), and stops when dropped.

mod ca;
mod dns;
mod edge;
mod origin;
mod thread;

pub use ca::{Leaf, TestCa};
pub use dns::{DnsServer, Zone};
pub use edge::{Edge, EdgeConfig, ForwardedHost};
pub use origin::{Answer, Origin};

/// The header in which [`Origin`] echoes the `X-Forwarded-Host` it received.
pub const ECHO_FORWARDED_HOST: &str = "x-echo-forwarded-host";
/// The header in which [`Origin`] echoes the `Host` it received.
pub const ECHO_HOST: &str = "x-echo-host";
