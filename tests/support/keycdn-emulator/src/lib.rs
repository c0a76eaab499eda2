//! A stateful KeyCDN API emulator for sslprov's tests, built from `shared/keycdn/api.md` (KeyCDN
//! publishes no machine-readable definition; module [`contract`] is that table as checks).
//!
//! [`Emulator::start`] serves on a free loopback port from its own thread and runtime, so a test
//! can call it from any runtime, or run the real `sslprov` binary against it.
//!
//! ```
//! use sslprov_keycdn_emulator::Emulator;
//!
//! let keycdn = Emulator::start();
//! // Point the client at keycdn.base_url() with keycdn.api_key() as the Basic user, then:
//! assert!(keycdn.zones().is_empty());
//! keycdn.assert_no_violations();
//! ```
//!
//! # What it serves
//! Zones (list, view, add, edit, delete, purge), zone aliases (list, add, edit, delete) and the
//! credit balance, as api.md describes them:
//! - the envelope `{"status":"success","description":…,"data":{…}}`, errors
//!   `{"status":"error","description":…}`;
//! - every value a string, switches `enabled`/`disabled`, ids numeric strings;
//! - a zone's defaults as exkeycdn copied them (`type` **push**, `cacheignorequerystring` and
//!   `cacheignorecachecontrol` **enabled**, `cachemaxexpire` 1440), so a client that relies on
//!   them gets what the real API may well give it;
//! - `name` required, at most 20 alphanumeric characters, unique; `originurl` at most 128;
//! - `sslcert=custom` only with `customsslcert` and `customsslkey`, and the key must be the
//!   certificate's (ECDSA P-256 PKCS#8: what sslprov uploads);
//! - **403** for a zone or alias that does not exist (exkeycdn recorded it for a deleted zone);
//! - HTTP Basic with the API key as the user and an empty password (401 otherwise);
//! - 413 over 64 KB;
//! - `X-Rate-Limit-Limit` and `X-Rate-Limit-Remaining` on every answer, and 429 once the bucket
//!   is empty ([`Emulator::set_rate_limit`]).
//!
//! The zone URL is `<name>-<hex account id>.kxcdn.com` ([`Emulator::zone_url`]); the API never
//! shows it, as the real one does not. Whether KeyCDN accepts an alias before the name's CNAME
//! points at it is not known; the emulator accepts it, and records what the name resolved to when
//! the alias was added ([`Alias::cname_when_added`], from [`Emulator::set_dns`]), so tests can
//! show that sslprov added it before the CNAME moved.
//!
//! # The contract
//! Every request and answer is checked; a breach is recorded as a [`Violation`] (and the request
//! refused with 400). End every test with [`Emulator::assert_no_violations`].

pub mod contract;
mod server;
mod state;
mod tls;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

pub use server::{RequestRecord, Violation};
pub use state::{Alias, Zone};

use contract::Op;
use server::{Fault, Server};

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    server: Server,
}

fn op_named(name: &str) -> Op {
    [
        Op::ListZones,
        Op::GetZone,
        Op::AddZone,
        Op::EditZone,
        Op::DeleteZone,
        Op::PurgeZone,
        Op::ListAliases,
        Op::AddAlias,
        Op::EditAlias,
        Op::DeleteAlias,
        Op::CreditBalance,
    ]
    .into_iter()
    .find(|o| o.name() == name)
    .unwrap_or_else(|| panic!("no operation {name}"))
}

impl Emulator {
    /// Starts serving on a free loopback port. Panics if it cannot (tests fail, never skip).
    pub fn start() -> Emulator {
        Emulator { server: server::start() }
    }

    /// `http://127.0.0.1:PORT`, where `https://api.keycdn.com` would be.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// The API key the emulator accepts.
    pub fn api_key(&self) -> String {
        self.server.lock().state.api_key.clone()
    }

    /// The account's user id (decimal), as KEYCDN_ACCOUNT_ID takes it.
    pub fn account_id(&self) -> u64 {
        self.server.lock().state.account_id
    }

    /// The URL of the zone named `name`: the CNAME target.
    pub fn zone_url(&self, name: &str) -> String {
        self.server.lock().state.zone_url(name)
    }

    pub fn zones(&self) -> Vec<Zone> {
        self.server.lock().state.zones.values().cloned().collect()
    }

    pub fn zone_named(&self, name: &str) -> Option<Zone> {
        self.zones().into_iter().find(|z| z.get("name").and_then(Value::as_str) == Some(name))
    }

    pub fn aliases(&self) -> Vec<Alias> {
        self.server.lock().state.aliases.values().cloned().collect()
    }

    pub fn alias_named(&self, name: &str) -> Option<Alias> {
        self.aliases().into_iter().find(|a| a.name == name)
    }

    /// A zone made outside sslprov (the dashboard), with these fields over the defaults; its id.
    pub fn add_zone(&self, fields: &[(&str, &str)]) -> String {
        let fields: BTreeMap<String, String> = fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self.server.lock().state.add_zone_with(&fields).to_string()
    }

    /// The closure asked, when an alias is added, what its name's CNAME points at now.
    pub fn set_dns(&self, dns: impl Fn(&str) -> Option<String> + Send + Sync + 'static) {
        self.server.lock().state.dns = Some(Box::new(dns));
    }

    /// The next `n` requests are answered 429 (without being served).
    pub fn inject_429(&self, n: usize) {
        self.server.lock().faults.extend(std::iter::repeat_n((None, Fault::Status(429)), n));
    }

    /// The next `n` requests are answered `status` (a 5xx) without being served.
    pub fn inject_5xx(&self, n: usize, status: u16) {
        self.server.lock().faults.extend(std::iter::repeat_n((None, Fault::Status(status)), n));
    }

    /// The next `n` requests of `operation` (`add-zone`, …) are answered `status`.
    pub fn fail_operation(&self, operation: &str, n: usize, status: u16) {
        let op = op_named(operation);
        self.server.lock().faults.extend(std::iter::repeat_n((Some(op), Fault::Status(status)), n));
    }

    /// The next `n` requests of `operation` are served, and the connection is cut before the
    /// answer is out.
    pub fn lose_answer(&self, operation: &str, n: usize) {
        let op = op_named(operation);
        self.server.lock().faults.extend(std::iter::repeat_n((Some(op), Fault::LoseAnswer), n));
    }

    /// A bucket of `limit` requests, one more every `refill`.
    pub fn set_rate_limit(&self, limit: u32, refill: Duration) {
        self.server.lock().bucket.set(limit, refill);
    }

    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.server.lock().log.clone()
    }

    /// Requests served per operation.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for r in self.request_log() {
            if let Some(op) = r.operation {
                *out.entry(op.to_owned()).or_default() += 1;
            }
        }
        out
    }

    pub fn violations(&self) -> Vec<Violation> {
        self.server.lock().violations.clone()
    }

    /// # Panics
    /// If any request or answer broke api.md's rules.
    pub fn assert_no_violations(&self) {
        let v = self.violations();
        assert!(v.is_empty(), "KeyCDN contract violations: {v:#?}");
    }
}
