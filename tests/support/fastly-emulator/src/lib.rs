//! A stateful Fastly API emulator for sslprov's tests, checked against Fastly's own API
//! definition (`spec/openapi-subset.json`, a copy of `shared/fastly/openapi-subset.json`).
//!
//! [`Emulator::start`] serves on a free loopback port from its own thread and Tokio runtime, so
//! a test can call it from any runtime, or run the real `sslprov` binary against it.
//!
//! ```
//! use sslprov_fastly_emulator::Emulator;
//!
//! let fastly = Emulator::start();
//! let id = fastly.add_http_service("hand-made", "click.example.com", "sendgrid.net");
//! // Point the client at fastly.base_url() ("http://127.0.0.1:PORT") with fastly.token() as its
//! // Fastly-Key, run the code under test, then:
//! assert_eq!(fastly.service(&id).and_then(|s| s.active_version().map(|v| v.number)), Some(1));
//! assert_eq!(fastly.max_writes_in_window(std::time::Duration::from_secs(3600)), 0);
//! fastly.assert_no_violations();
//! ```
//!
//! # What it serves
//! The 47 operations of the definition, as the API behaves (module docs say exactly how):
//! - services, search, list with `Link` paging, versions with clone, activate, deactivate and
//!   validate ([`services`]);
//! - domains, backends, header objects, cache settings, request settings and settings inside a
//!   version, with locking (422), duplicates (409) and account-wide domain names ([`objects`]);
//! - TLS subscriptions and configurations in JSON:API, with a subscription state machine driven
//!   by the test's DNS ([`tls`]);
//! - `GET /tokens/self` and `GET /current_user` ([`token`]).
//!
//! Classic endpoints take forms (`application/x-www-form-urlencoded`) and answer JSON (creates
//! 200, deletes `{"status":"ok"}`, errors `{msg, detail}`); `/tls` endpoints take and answer
//! `application/vnd.api+json` (creates 201, deletes 204, errors `{errors: [{title, detail}]}`).
//!
//! # The contract
//! Every request is checked against the definition before it is served: the route, the
//! `Fastly-Key` header, path and query parameters (unknown ones too), content type and body (a
//! form is converted to typed JSON first, and a field the schema does not name is refused). A
//! request that fails is recorded as a [`Violation`] and answered 400 (401 without a key). Every
//! response is checked before it is sent. `/tls` filters without `Accept:
//! application/vnd.api+json` are ignored, as the real API ignores them, and recorded. End every
//! test with [`Emulator::assert_no_violations`].
//!
//! # Faults and budget
//! [`Emulator::inject_429`], [`Emulator::inject_5xx`], [`Emulator::inject_disconnect`] and
//! [`Emulator::lose_answer`] queue failures for the next requests ([`Emulator::fail_operation`]
//! and [`Emulator::lose_answer`] for one operation only). The API's own limit is
//! enforced: 1,000 non-read calls per clock hour on the classic endpoints, each answered with
//! `Fastly-RateLimit-Remaining` and `Fastly-RateLimit-Reset`, then 429 until the hour ends
//! ([`Emulator::set_rate_limit`] shrinks both). [`Emulator::request_log`] and
//! [`Emulator::max_writes_in_window`] show whether a client stayed within its budget.
//!
//! # DNS and the DNS closure
//! [`Emulator::set_dns`] installs the closure a subscription poll asks for the CNAME at
//! `_acme-challenge.<domain>`. It runs while the emulator's state is locked: it must not call
//! the emulator.

mod contract;
pub mod objects;
pub mod reply;
mod server;
pub mod services;
mod state;
pub mod tls;
pub mod token;
mod traffic;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

pub use objects::ObjectKind;
pub use services::{Service, Version};
pub use sslprov_openapi_contract::{Side, Violation};
pub use tls::{Authorization, Certificate, Configuration, DEFAULT_CNAME_TARGET, Subscription};
pub use traffic::RequestRecord;

use server::Server;
use traffic::Effect;

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    server: Server,
}

impl Emulator {
    /// Start serving on a free loopback port. Panics if it cannot (tests must fail, not skip).
    pub fn start() -> Emulator {
        Emulator { server: server::start() }
    }

    /// `http://127.0.0.1:PORT`, where `https://api.fastly.com` would be.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// The API token the emulator accepts (as `Fastly-Key`).
    pub fn token(&self) -> String {
        self.server.lock().state.token.value.clone()
    }

    /// The token's scope, space-delimited as the API writes it (`global`, `global:read`, …).
    pub fn set_token_scope(&self, scope: &str) {
        scope.clone_into(&mut self.server.lock().state.token.scope);
    }

    /// Restrict the token to these services (none: all services).
    pub fn set_token_services(&self, service_ids: &[&str]) {
        self.server.lock().state.token.services = service_ids.iter().map(|s| (*s).to_owned()).collect();
    }

    /// From now on the token is refused everywhere (401).
    pub fn revoke_token(&self) {
        self.server.lock().state.token.revoked = true;
    }

    /// The live services, in creation order, with their versions and objects.
    pub fn services(&self) -> Vec<Service> {
        self.server.lock().state.services.iter().filter(|s| !s.deleted).cloned().collect()
    }

    /// A service by id, deleted or not.
    pub fn service(&self, id: &str) -> Option<Service> {
        self.server.lock().state.services.iter().find(|s| s.id == id).cloned()
    }

    /// The live services named `name` (more than one means a client made a twin).
    pub fn services_named(&self, name: &str) -> Vec<Service> {
        self.services().into_iter().filter(|s| s.name == name).collect()
    }

    /// Add a service as if made in the web interface: version 1, an empty unlocked draft.
    pub fn add_service(&self, name: &str, comment: &str) -> String {
        let mut inner = self.server.lock();
        let service = services::Service::new(name, comment, &inner.state.customer_id);
        let id = service.id.clone();
        inner.state.services.push(service);
        id
    }

    /// Put an object into a version as a person could have (no checks, not even the lock):
    /// `fields` as the API would store them (typed JSON, `name` included).
    pub fn add_object(&self, service_id: &str, version: u32, kind: ObjectKind, fields: Value) {
        let name = fields["name"].as_str().unwrap_or_else(|| panic!("add_object: {fields} has no name")).to_owned();
        self.version(service_id, version, |v| {
            v.objects_mut(kind).insert(name, objects::make(kind, &fields));
        });
    }

    /// Merge `fields` (`{"general.default_ttl": 10, …}`) into a version's settings, unchecked.
    pub fn set_settings(&self, service_id: &str, version: u32, fields: Value) {
        self.version(service_id, version, |v| {
            for (name, value) in fields.as_object().into_iter().flatten() {
                v.settings[name] = value.clone();
            }
        });
    }

    /// Activate (and lock) a version, unchecked, as the web interface would.
    pub fn activate_version(&self, service_id: &str, version: u32) {
        self.with_service(service_id, |s| {
            assert!(s.version(version).is_some(), "service {service_id} has no version {version}");
            s.activate(version);
        });
    }

    /// Clone a version into a new unlocked draft, as a run killed after its clone leaves one;
    /// returns the draft's number.
    pub fn clone_version(&self, service_id: &str, from: u32) -> u32 {
        self.with_service(service_id, |s| {
            s.clone_version(from).unwrap_or_else(|| panic!("service {service_id} has no version {from}"))
        })
    }

    /// A service someone made by hand for plain-HTTP click tracking: version 1 active, with
    /// `domain` and one backend to `origin` on port 80. Returns its id.
    pub fn add_http_service(&self, name: &str, domain: &str, origin: &str) -> String {
        let id = self.add_service(name, "");
        self.add_object(&id, 1, ObjectKind::Domain, json!({"name": domain}));
        self.add_object(&id, 1, ObjectKind::Backend, json!({"name": "origin", "address": origin, "port": 80}));
        self.activate_version(&id, 1);
        id
    }

    /// Every subscription, in creation order.
    pub fn subscriptions(&self) -> Vec<Subscription> {
        self.server.lock().state.subscriptions.clone()
    }

    pub fn subscription(&self, id: &str) -> Option<Subscription> {
        self.server.lock().state.subscriptions.iter().find(|s| s.id == id).cloned()
    }

    /// The subscription that covers `domain`, if one does.
    pub fn subscription_for(&self, domain: &str) -> Option<Subscription> {
        self.server.lock().state.subscriptions.iter().find(|s| s.domains.iter().any(|d| d == domain)).cloned()
    }

    /// Add a subscription for `domain` as if ordered earlier (`pending`, not checked against the
    /// services); returns its id.
    pub fn add_subscription(&self, domain: &str, certificate_authority: &str) -> String {
        let mut inner = self.server.lock();
        let state = &mut inner.state;
        let configuration = state.configurations.iter().find(|c| c.default).or(state.configurations.first());
        let configuration = configuration.map(|c| c.id.clone()).unwrap_or_default();
        let sub = tls::Subscription::new(domain, certificate_authority, &configuration, state.issue_polls);
        let id = sub.id.clone();
        state.subscriptions.push(sub);
        id
    }

    /// The DNS subscription polls look at: `name` (`_acme-challenge.<domain>`) → the CNAME target
    /// published there. Without it, no subscription is ever issued.
    pub fn set_dns(&self, dns: impl Fn(&str) -> Option<String> + Send + Sync + 'static) {
        self.server.lock().state.dns = Some(Arc::new(dns));
    }

    pub fn clear_dns(&self) {
        self.server.lock().state.dns = None;
    }

    /// How many polls that find the challenge CNAMEs a subscription created from now on needs to
    /// be issued (default 2: one to `processing`, one to `issued`; 1 issues on the first).
    pub fn set_issue_polls(&self, polls: u32) {
        self.server.lock().state.issue_polls = polls.max(1);
    }

    /// Fail a subscription now, as Fastly does when validation times out.
    pub fn fail_subscription(&self, id: &str, reason: &str) {
        self.with_subscription(id, |s| s.fail(reason));
    }

    /// Issue a subscription's certificate now, whatever the DNS says.
    pub fn issue_subscription(&self, id: &str) {
        self.with_subscription(id, Subscription::issue);
    }

    /// The TLS configurations, the default one first.
    pub fn configurations(&self) -> Vec<Configuration> {
        self.server.lock().state.configurations.clone()
    }

    /// The CNAME target of the default configuration (default [`DEFAULT_CNAME_TARGET`]).
    pub fn set_cname_target(&self, target: &str) {
        let mut inner = self.server.lock();
        let default = inner.state.configurations.iter_mut().find(|c| c.default).expect("a default configuration");
        target.clone_into(&mut default.cname_target);
    }

    /// Add a TLS configuration; `default: true` takes that role from the current default.
    /// Returns its id.
    pub fn add_configuration(&self, name: &str, cname_target: &str, default: bool) -> String {
        let mut inner = self.server.lock();
        if default {
            inner.state.configurations.iter_mut().for_each(|c| c.default = false);
        }
        let configuration = tls::Configuration::new(name, cname_target, default);
        let id = configuration.id.clone();
        inner.state.configurations.push(configuration);
        id
    }

    /// Answer the next `times` requests that pass the contract and the token check with 429
    /// (`Fastly-RateLimit-Remaining: 0`, and the window's reset).
    pub fn inject_429(&self, times: u32) {
        self.server.lock().traffic.inject(Effect::Status(429), times, None);
    }

    /// Answer the next `times` requests with `status` (500–599), unserved.
    pub fn inject_5xx(&self, times: u32, status: u16) {
        assert!((500..600).contains(&status), "inject_5xx takes a 5xx status, not {status}");
        self.server.lock().traffic.inject(Effect::Status(status), times, None);
    }

    /// Answer the next `times` calls of `operation` (an operationId such as `create-service`)
    /// with `status` (429 or 500–599), unserved; other operations are not affected.
    pub fn fail_operation(&self, operation: &str, times: u32, status: u16) {
        assert!(status == 429 || (500..600).contains(&status), "fail_operation takes 429 or a 5xx, not {status}");
        self.server.lock().traffic.inject(Effect::Status(status), times, Some(operation));
    }

    /// Cut the connection of the next `times` requests without serving them.
    pub fn inject_disconnect(&self, times: u32) {
        self.server.lock().traffic.inject(Effect::Cut, times, None);
    }

    /// Serve the next `times` calls of `operation` (an operationId such as `create-service`),
    /// then cut the connection before the answer is out: the change is made, the client never
    /// hears of it.
    pub fn lose_answer(&self, operation: &str, times: u32) {
        self.server.lock().traffic.inject(Effect::LoseAnswer, times, Some(operation));
    }

    /// Change the limit on non-read calls (default 1,000 per clock hour). A window other than an
    /// hour starts now.
    pub fn set_rate_limit(&self, limit: u32, window: Duration) {
        self.server.lock().traffic.set_rate_limit(limit, window);
    }

    /// Every request received so far, in arrival order.
    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.server.lock().traffic.log.clone()
    }

    /// Requests received per operationId (`"(unknown route)"` for the rest).
    pub fn counts(&self) -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        for r in &self.server.lock().traffic.log {
            *counts.entry(r.operation.clone().unwrap_or_else(|| "(unknown route)".to_owned())).or_insert(0) += 1;
        }
        counts
    }

    /// Non-read requests received so far.
    pub fn writes(&self) -> usize {
        self.server.lock().traffic.log.iter().filter(|r| r.is_write()).count()
    }

    /// The most non-read requests received in any span of `window` (compare with 1,000 per hour).
    pub fn max_writes_in_window(&self, window: Duration) -> usize {
        let log = &self.server.lock().traffic.log;
        sslprov_emulator_kit::max_in_window(log.iter().filter(|r| r.is_write()).map(|r| r.at), window)
    }

    /// The most requests of any kind received in any span of `window`.
    pub fn max_in_window(&self, window: Duration) -> usize {
        sslprov_emulator_kit::max_in_window(self.server.lock().traffic.log.iter().map(|r| r.at), window)
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
        sslprov_openapi_contract::assert_no_violations("Fastly", &self.violations());
    }

    fn with_service<T>(&self, id: &str, f: impl FnOnce(&mut Service) -> T) -> T {
        let mut inner = self.server.lock();
        let service = inner.state.service_mut(id).unwrap_or_else(|| panic!("the emulator has no live service {id}"));
        f(service)
    }

    fn version<T>(&self, service_id: &str, number: u32, f: impl FnOnce(&mut Version) -> T) -> T {
        self.with_service(service_id, |s| {
            let v = s.version_mut(number).unwrap_or_else(|| panic!("service {service_id} has no version {number}"));
            f(v)
        })
    }

    fn with_subscription<T>(&self, id: &str, f: impl FnOnce(&mut Subscription) -> T) -> T {
        let mut inner = self.server.lock();
        let sub = inner.state.subscriptions.iter_mut().find(|s| s.id == id);
        f(sub.unwrap_or_else(|| panic!("the emulator has no subscription {id}")))
    }
}
