//! A stateful Google Cloud emulator for sslprov's tests: Compute Engine v1's global
//! load-balancer objects and Certificate Manager v1, on one loopback port, checked against
//! Google's own discovery documents (`spec/`, copies of `shared/gcp/`).
//!
//! [`Emulator::start`] serves from its own thread and Tokio runtime, so a test can call it from
//! any runtime, or run the real `sslprov` binary against it (`GOOGLE_CLOUD_COMPUTE_URL` =
//! [`Emulator::compute_url`], `GOOGLE_CLOUD_CERTIFICATE_MANAGER_URL` =
//! [`Emulator::certificate_manager_url`], and [`Emulator::write_credentials`] for
//! `GOOGLE_APPLICATION_CREDENTIALS`: `authorized_user` credentials whose token endpoint is the
//! emulator's own `/token`, so `google-cloud-auth` runs its real refresh).
//!
//! # The contract
//! Every request is routed by the methods' `flatPath`s, and its query parameters and body are
//! checked against the method and its request schema (discovery schemas converted to JSON
//! Schema, unknown fields refused: module `discovery`); every successful response is checked
//! against the method's response schema. A request that fails is answered 400 and recorded;
//! end every test with [`Emulator::assert_no_violations`]. Requests need a bearer token.
//!
//! # What it serves
//! - Compute writes answer an `Operation` that is `RUNNING` for [`Emulator::set_operation_delay`]
//!   (30 ms by default), then `DONE`; `globalOperations.wait` answers once it is done. Inserts
//!   keep their `requestId` (a repeat answers the first operation), refuse a taken name (409
//!   `alreadyExists`) and references to objects that do not exist (404); deletes refuse an
//!   object another one refers to (400 `resourceInUseByAnotherResource`). URL maps, backend
//!   services, SSL policies and target proxies carry a `fingerprint` that every write changes;
//!   a write with a stale one answers 412 `conditionNotMet`. A global internet NEG holds one
//!   endpoint.
//! - Certificate Manager writes answer a long-running operation, done after the same delay,
//!   whose `response` carries its `@type`. A DNS authorization asks for
//!   `_acme-challenge.<domain>` CNAME `<uuid>.9.authorize.certificatemanager.goog.`; a managed
//!   certificate is `PROVISIONING` until the test's DNS ([`Emulator::set_dns`]) shows that
//!   CNAME, then `ACTIVE` (or `FAILED` with reason `CONFIG` for [`Emulator::fail_domain`]); a map
//!   entry is `ACTIVE` once its certificates are.
//!
//! # Faults
//! [`Emulator::throttle`] answers the next requests as the APIs throttle (Compute: 403
//! `rateLimitExceeded`; Certificate Manager: 429). [`Emulator::interfere_with_url_map`] has
//! someone else write a URL map just before the client's next writes, so their fingerprints are
//! stale.

pub mod discovery;
mod server;
mod state;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

pub use server::ACCESS_TOKEN;

use server::Server;

/// A request or response that broke the discovery documents' contract, or a request no method
/// serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub method: String,
    pub path: String,
    pub method_id: Option<String>,
    pub detail: String,
}

/// One request as the emulator served it.
#[derive(Clone, Debug)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    /// `compute.urlMaps.patch`, …; `None` for the token endpoint and unrouted requests.
    pub method_id: Option<String>,
    pub status: u16,
}

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    server: Server,
}

impl Emulator {
    /// Starts serving on a free loopback port. Panics if it cannot (tests fail, never skip).
    pub fn start() -> Emulator {
        Emulator { server: server::start() }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// Where `https://compute.googleapis.com/compute/v1` would be.
    pub fn compute_url(&self) -> String {
        format!("{}/compute/v1", self.base_url())
    }

    /// Where `https://certificatemanager.googleapis.com/v1` would be.
    pub fn certificate_manager_url(&self) -> String {
        format!("{}/v1", self.base_url())
    }

    /// Writes `authorized_user` Application Default Credentials whose token endpoint is this
    /// emulator into `dir`, and returns the file's path.
    pub fn write_credentials(&self, dir: &Path) -> PathBuf {
        let path = dir.join("gcp-credentials.json");
        let creds = json!({
            "type": "authorized_user",
            "client_id": "sslprov-test.apps.googleusercontent.com",
            "client_secret": "test-secret",
            "refresh_token": "test-refresh-token",
            "token_uri": format!("{}/token", self.base_url()),
        });
        std::fs::write(&path, creds.to_string()).expect("gcp emulator: write credentials");
        path
    }

    /// How long operations stay running.
    pub fn set_operation_delay(&self, delay: Duration) {
        self.server.lock().state.operation_delay = delay;
    }

    /// The closure a certificate asks for the CNAME at a name. It runs while the emulator is
    /// locked: it must not call the emulator.
    pub fn set_dns(&self, dns: impl Fn(&str) -> Option<String> + Send + Sync + 'static) {
        self.server.lock().state.dns = Some(Box::new(dns));
    }

    /// While held, certificates see no `_acme-challenge` CNAME and stay `PROVISIONING`.
    pub fn hold_issuance(&self, hold: bool) {
        self.server.lock().state.hold_issuance = hold;
    }

    /// Certificates for `domain` fail (`FAILED`, reason `CONFIG`).
    pub fn fail_domain(&self, domain: &str) {
        self.server.lock().state.failing.insert(domain.to_owned());
    }

    /// New certificates for `domain` issue again (those that failed stay `FAILED`).
    pub fn heal_domain(&self, domain: &str) {
        self.server.lock().state.failing.remove(domain);
    }

    /// The next `n` requests are throttled.
    pub fn throttle(&self, n: usize) {
        self.server.lock().state.throttle = n;
    }

    /// The next `n` URL map writes find the map changed by someone else since it was read.
    pub fn interfere_with_url_map(&self, n: usize) {
        self.server.lock().state.interfere = n;
    }

    /// The Compute objects of a collection (`urlMaps`, `backendServices`, …), by name.
    pub fn objects(&self, collection: &str) -> BTreeMap<String, Value> {
        self.server.lock().state.compute.get(collection).cloned().unwrap_or_default()
    }

    /// Every Compute object, as `collection/name`.
    pub fn compute_names(&self) -> Vec<String> {
        let inner = self.server.lock();
        inner.state.compute.iter().flat_map(|(c, m)| m.keys().map(move |n| format!("{c}/{n}"))).collect()
    }

    /// The endpoints of a NEG.
    pub fn endpoints(&self, neg: &str) -> Vec<Value> {
        self.server.lock().state.endpoints.get(neg).cloned().unwrap_or_default()
    }

    /// Certificate Manager objects by resource name, states up to date.
    pub fn certificate_manager(&self) -> BTreeMap<String, Value> {
        self.server.lock().state.settled().clone()
    }

    /// Certificate Manager objects of one collection (`certificates`, `certificateMapEntries`).
    pub fn certificate_manager_of(&self, collection: &str) -> Vec<Value> {
        let infix = format!("/{collection}/");
        self.certificate_manager().into_iter().filter(|(k, _)| k.contains(&infix)).map(|(_, v)| v).collect()
    }

    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.server.lock().log.clone()
    }

    /// How many requests of `method_id` (`compute.urlMaps.patch`) were served, and how many of
    /// them answered `status`.
    pub fn count(&self, method_id: &str, status: Option<u16>) -> usize {
        self.request_log()
            .iter()
            .filter(|r| r.method_id.as_deref() == Some(method_id) && status.is_none_or(|s| r.status == s))
            .count()
    }

    pub fn violations(&self) -> Vec<Violation> {
        self.server.lock().violations.clone()
    }

    /// Panics with every contract violation recorded.
    pub fn assert_no_violations(&self) {
        let v = self.violations();
        assert!(v.is_empty(), "gcp emulator: {} contract violation(s):\n{v:#?}", v.len());
    }
}
