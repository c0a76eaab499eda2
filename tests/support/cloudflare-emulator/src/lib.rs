//! A stateful Cloudflare API emulator for sslprov's tests, checked against Cloudflare's own API
//! definition (`spec/openapi-subset.json`, a copy of `shared/cloudflare/openapi-subset.json`).
//!
//! [`Emulator::start`] serves on a free loopback port from its own thread and Tokio runtime, so
//! a test can call it from any runtime, or run the real `sslprov` binary against it.
//!
//! ```
//! use sslprov_cf_emulator::{Emulator, Plan};
//!
//! let cf = Emulator::start();
//! let zone = cf.add_zone("example.com", Plan::Free);
//! cf.add_record(&zone, "CNAME", "url1234", "sendgrid.net", false);
//! // Point the client at cf.base_url() ("http://127.0.0.1:PORT/client/v4/") with cf.token()
//! // as its Bearer token, run the code under test, then:
//! assert_eq!(cf.records(&zone)[0].name, "url1234.example.com");
//! assert_eq!(cf.max_in_window(std::time::Duration::from_secs(300)), 0);
//! cf.assert_no_violations();
//! ```
//!
//! # What it serves
//! The 24 operations of the definition, below `/client/v4`, in Cloudflare's envelope
//! `{success, errors, messages, result, result_info}`:
//! - zones: list (filters, `page`, `per_page` 5–50, default 20) and get;
//! - DNS records: list (filters, `match`, `order`, `page`, `per_page` default 100, up to
//!   5,000,000 as the definition allows), create, get, overwrite (PUT), patch, delete — with the
//!   API's name normalisation, proxied-TTL rule and CNAME conflicts (81053/81054/81057);
//! - zone settings: bulk GET/PATCH and single GET/PATCH (values checked per setting);
//! - zone entrypoint rulesets per phase: GET (404 until one exists) and PUT (replaces all rules);
//! - certificate packs: list (`status=all`), order, get, delete, quota; Universal SSL; Total TLS;
//! - `GET /user/tokens/verify`.
//!
//! Module docs say exactly how each behaves ([`dns`], [`rulesets`], [`ssl`], [`token`]); error
//! codes are in [`reply`].
//!
//! # The contract
//! Every request is checked against the definition before it is served: the route, the security
//! requirement (a Bearer token), path and query parameters (unknown ones too), content type and
//! body. A request that fails is recorded as a [`Violation`] and answered 400. Every response is
//! checked before it is sent; a request for a path no operation serves is a violation too. End
//! every test with [`Emulator::assert_no_violations`].
//!
//! # Faults and budget
//! [`Emulator::inject_429`] and [`Emulator::inject_5xx`] queue failures for the next requests.
//! The API's own limit is enforced: past 1,200 requests in 5 minutes, every call gets 429 with
//! `Retry-After` for 5 minutes ([`Emulator::set_rate_limit`] shrinks both for tests).
//! [`Emulator::request_log`] and [`Emulator::max_in_window`] show whether a client stayed within
//! its budget.
//!
//! # Token scopes
//! The verify endpoint reports the token's status only, as the real one does. Permissions are
//! enforced per operation instead: a missing one answers `403` with code 10000, which is how a
//! client discovers what its token may do. See [`token`] and [`Emulator::set_token_permissions`].

mod contract;
pub mod dns;
pub mod reply;
pub mod rulesets;
mod server;
mod settings;
pub mod ssl;
mod state;
pub mod token;
mod traffic;
mod zones;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};

pub use dns::DnsRecord;
pub use server::BASE_PATH;
pub use ssl::CertificatePack;
pub use sslprov_openapi_contract::{Side, Violation};
pub use state::Plan;
pub use token::ALL_PERMISSIONS;
pub use traffic::RequestRecord;

use server::Server;
use state::Zone;

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    server: Server,
}

impl Emulator {
    /// Start serving on a free loopback port. Panics if it cannot (tests must fail, not skip).
    pub fn start() -> Emulator {
        Emulator { server: server::start() }
    }

    /// `http://127.0.0.1:PORT/client/v4/`. The trailing slash is there because the `cloudflare`
    /// crate joins relative endpoint paths onto it and drops the last segment without one.
    pub fn base_url(&self) -> String {
        format!("http://{}{BASE_PATH}/", self.server.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// The Bearer token the emulator accepts.
    pub fn token(&self) -> String {
        self.server.lock().state.token.value.clone()
    }

    /// Replace the token's permissions (`#dns_records:edit`, …; see [`ALL_PERMISSIONS`]).
    pub fn set_token_permissions(&self, permissions: &[&str]) {
        self.server.lock().state.token.permissions = permissions.iter().map(|p| (*p).to_owned()).collect();
    }

    /// `active`, `disabled` or `expired`: a token that is not active is refused everywhere but
    /// the verify endpoint, which reports the status.
    pub fn set_token_status(&self, status: &str) {
        status.clone_into(&mut self.server.lock().state.token.status);
    }

    /// Add an active zone; returns its id.
    pub fn add_zone(&self, name: &str, plan: Plan) -> String {
        self.server.lock().state.add_zone(name, plan)
    }

    /// `active`, `pending`, `initializing` or `moved` (not active: `activated_on` is null).
    pub fn set_zone_status(&self, zone_id: &str, status: &str) {
        self.zone(zone_id, |z| status.clone_into(&mut z.status));
    }

    /// Advanced Certificate Manager on the zone (off by default).
    pub fn set_advanced_certificate_manager(&self, zone_id: &str, enabled: bool) {
        self.zone(zone_id, |z| z.acm = enabled);
    }

    /// Add a record as if made in the dashboard (no conflict checks); `name` may be relative.
    pub fn add_record(&self, zone_id: &str, r#type: &str, name: &str, content: &str, proxied: bool) -> String {
        self.zone(zone_id, |z| {
            let record = DnsRecord::new(&z.name, r#type, name, content, proxied);
            let id = record.id.clone();
            z.records.push(record);
            id
        })
    }

    pub fn records(&self, zone_id: &str) -> Vec<DnsRecord> {
        self.zone(zone_id, |z| z.records.clone())
    }

    /// The zone's entrypoint ruleset of `phase`, as the API would return it.
    pub fn ruleset(&self, zone_id: &str, phase: &str) -> Option<Value> {
        self.zone(zone_id, |z| z.rulesets.get(phase).map(|r| rulesets::render(phase, r)))
    }

    /// Replace the entrypoint ruleset of `phase` as a PUT would (ids, refs and versions
    /// assigned); returns it. Panics if the API would refuse the rules.
    pub fn set_ruleset(&self, zone_id: &str, phase: &str, rules: Value) -> Value {
        self.zone(zone_id, |z| {
            rulesets::replace(z, phase, &json!({"rules": rules}))
                .unwrap_or_else(|errors| panic!("ruleset refused: {errors:?}"))
        })
    }

    /// The statuses packs ordered from now on go through, one step per GET that returns them
    /// (default `initializing`, `pending_validation`, `active`).
    pub fn set_pack_status_walk(&self, walk: &[&str]) {
        self.server.lock().state.pack_walk = walk.iter().map(|s| (*s).to_owned()).collect();
    }

    /// Set a pack's status now, ending its walk.
    pub fn set_pack_status(&self, zone_id: &str, pack_id: &str, status: &str) {
        self.zone(zone_id, |z| {
            let pack = z.packs.iter_mut().find(|p| p.id == pack_id).unwrap_or_else(|| panic!("no pack {pack_id}"));
            status.clone_into(&mut pack.status);
            pack.walk.clear();
        });
    }

    /// Add an advanced pack as if ordered earlier; returns its id.
    pub fn add_advanced_pack(&self, zone_id: &str, hosts: &[&str], status: &str) -> String {
        self.zone(zone_id, |z| {
            let pack = CertificatePack::advanced(hosts.iter().map(|h| (*h).to_owned()).collect(), &[status.to_owned()]);
            let id = pack.id.clone();
            z.packs.push(pack);
            id
        })
    }

    pub fn packs(&self, zone_id: &str) -> Vec<CertificatePack> {
        self.zone(zone_id, |z| z.packs.clone())
    }

    /// A zone setting's value (`ssl`, `ssl_automatic_mode`, …).
    pub fn setting(&self, zone_id: &str, id: &str) -> Option<Value> {
        self.zone(zone_id, |z| z.settings.get(id).map(|s| s.value.clone()))
    }

    pub fn set_setting(&self, zone_id: &str, id: &str, value: Value) {
        self.zone(zone_id, |z| {
            settings::set(z, id, value);
        });
    }

    pub fn universal_ssl(&self, zone_id: &str) -> bool {
        self.zone(zone_id, |z| z.universal_ssl)
    }

    pub fn set_universal_ssl(&self, zone_id: &str, enabled: bool) {
        self.zone(zone_id, |z| ssl::set_universal(z, enabled));
    }

    pub fn total_tls(&self, zone_id: &str) -> bool {
        self.zone(zone_id, |z| z.total_tls)
    }

    pub fn set_total_tls(&self, zone_id: &str, enabled: bool) {
        self.zone(zone_id, |z| z.total_tls = enabled);
    }

    /// Answer the next `times` requests that pass the contract with 429 and `Retry-After`.
    pub fn inject_429(&self, times: u32, retry_after_secs: u64) {
        self.server.lock().traffic.inject(times, 429, Some(retry_after_secs));
    }

    /// Answer the next `times` requests that pass the contract with `status` (500–599).
    pub fn inject_5xx(&self, times: u32, status: u16) {
        assert!((500..600).contains(&status), "inject_5xx takes a 5xx status, not {status}");
        self.server.lock().traffic.inject(times, status, None);
    }

    /// Change the API's rate limit (default 1,200 per 300 s); going over blocks for one window.
    pub fn set_rate_limit(&self, limit: usize, window: Duration) {
        self.server.lock().traffic.set_rate_limit(limit, window);
    }

    /// Every request received so far, in arrival order.
    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.server.lock().traffic.log.clone()
    }

    /// The most requests received in any span of `window` (compare with 1,200 per 5 minutes).
    pub fn max_in_window(&self, window: Duration) -> usize {
        sslprov_emulator_kit::max_in_window(self.server.lock().traffic.log.iter().map(|r| r.at), window)
    }

    /// Requests received per operationId (`"(unknown route)"` for the rest).
    pub fn counts(&self) -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        for r in &self.server.lock().traffic.log {
            *counts.entry(r.operation.clone().unwrap_or_else(|| "(unknown route)".to_owned())).or_insert(0) += 1;
        }
        counts
    }

    pub fn violations(&self) -> Vec<Violation> {
        self.server.lock().violations.clone()
    }

    /// The violations so far, forgetting them (for tests that break the contract on purpose).
    pub fn take_violations(&self) -> Vec<Violation> {
        std::mem::take(&mut self.server.lock().violations)
    }

    /// Panic, listing them, if any request or response broke the contract.
    pub fn assert_no_violations(&self) {
        sslprov_openapi_contract::assert_no_violations("Cloudflare", &self.violations());
    }

    fn zone<T>(&self, zone_id: &str, f: impl FnOnce(&mut Zone) -> T) -> T {
        let mut inner = self.server.lock();
        let zone = inner.state.zone_mut(zone_id).unwrap_or_else(|| panic!("the emulator has no zone {zone_id}"));
        f(zone)
    }
}
