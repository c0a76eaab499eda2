//! A stateful Azure Resource Manager emulator for sslprov's tests: Front Door Standard/Premium
//! (`Microsoft.Cdn` profiles, AFD endpoints, origin groups, origins, custom domains, routes, rule
//! sets) and a Microsoft Entra ID token endpoint, on one loopback port, checked against the ARM
//! subset (`spec/`, a copy of `shared/azure/openapi-subset.json`).
//!
//! [`Emulator::start`] serves from its own thread and Tokio runtime, so a test can call it from
//! any runtime, or run the real `sslprov` binary against it (`AZURE_RESOURCE_MANAGER_URL` and
//! `AZURE_AUTHORITY_HOST` = [`Emulator::base_url`], the principal of [`Emulator::env`]).
//!
//! # The contract
//! Every request is routed by the subset's paths, and its parameters and body are checked against
//! the operation (through `sslprov-openapi-contract`, Swagger 2.0 read as OpenAPI 3.0); a body
//! field the definition does not name, or marks read-only, is a breach too. Every answer,
//! errors included, is checked against the operation's responses (status, declared headers,
//! body), and polling answers against `OperationStatusResult`. A request that breaks the contract
//! is answered 400 and recorded; end every test with [`Emulator::assert_no_violations`].
//!
//! # What it serves
//! - Every write is long-running: 202 (or 201) with the polling headers the operation declares
//!   (`Azure-AsyncOperation`, `Location`, `Retry-After`), the resource `Creating`/`Updating` for
//!   [`Emulator::set_operation_delay`] (30 ms by default), then `Succeeded`. A second write to a
//!   resource whose operation runs answers 409 `Conflict`, as ARM does.
//! - A custom domain is `Submitting` with an empty token until its create is done, then `Pending`
//!   with a `validationToken`; `Approved` once the test's DNS ([`Emulator::set_dns`]) holds that
//!   token at `_dnsauth.<host>` (or `Rejected`/`TimedOut` after [`Emulator::set_verdict`]);
//!   `PendingRevalidation` after [`Emulator::ask_revalidation`]; a refreshed token is
//!   `RefreshingValidationToken` (the old token in view) until its operation ends. Its
//!   `deploymentStatus` is `Succeeded` only once it is Approved and a route serves it.
//! - Routes: the origin group and custom domains they name must exist; a route serves at least
//!   one domain (a custom domain or `linkToDefaultDomain: Enabled`); two routes of one endpoint
//!   serving the same domain and pattern, or one custom domain on two endpoints, answer 409; an
//!   empty `cacheConfiguration` answers 400 (both observed by azurerm). An origin group a route
//!   uses, or a custom domain a route serves, cannot be deleted (409).
//! - ARM's token buckets per subscription (reads 250 refilling 25/s; writes and deletes 200,
//!   10/s) with `x-ms-ratelimit-remaining-subscription-*` on every answer; an empty bucket answers
//!   429 with `Retry-After`.
//!
//! # Faults
//! [`Emulator::throttle`] answers the next requests 429; [`Emulator::conflict`] answers the next
//! writes 409 (another operation in progress).

mod contract;
mod server;
mod state;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

pub use server::ACCESS_TOKEN;
pub use state::Verdict;

use server::{Principal, Server};

/// The subscription the tests' resources live in.
pub const SUBSCRIPTION: &str = "3f2b6a0e-5d1c-4e8f-9a7b-2c4d6e8f0a1b";
pub const RESOURCE_GROUP: &str = "sslprov-test";
pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const CLIENT_ID: &str = "0c8d5a7e-1b2f-4c3d-8e9f-a0b1c2d3e4f5";
pub const CLIENT_SECRET: &str = "sslprov-emulator-secret";
/// The federated token (workload identity) the token endpoint accepts.
pub const FEDERATED_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.federated.sslprov";

/// A request or response that broke the subset's contract, or a request no operation serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub method: String,
    pub path: String,
    pub operation: Option<String>,
    pub detail: String,
}

/// One request as the emulator served it.
#[derive(Clone, Debug)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    /// `AFDCustomDomains_Create`, …; `token` and `operationresults` for those endpoints; `None`
    /// for unrouted requests.
    pub operation: Option<String>,
    pub status: u16,
}

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    server: Server,
}

impl Emulator {
    /// Starts serving on a free loopback port. Panics if it cannot (tests fail, never skip).
    pub fn start() -> Emulator {
        let principal = Principal {
            tenant: TENANT.to_owned(),
            client_id: CLIENT_ID.to_owned(),
            secret: CLIENT_SECRET.to_owned(),
            assertion: FEDERATED_TOKEN.to_owned(),
        };
        Emulator { server: server::start(principal) }
    }

    /// Where `https://management.azure.com` and `https://login.microsoftonline.com` would be.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// The environment a client needs: endpoints, subscription, resource group and a service
    /// principal with a secret.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AZURE_RESOURCE_MANAGER_URL", self.base_url()),
            ("AZURE_AUTHORITY_HOST", self.base_url()),
            ("AZURE_SUBSCRIPTION_ID", SUBSCRIPTION.to_owned()),
            ("AZURE_RESOURCE_GROUP", RESOURCE_GROUP.to_owned()),
            ("AZURE_TENANT_ID", TENANT.to_owned()),
            ("AZURE_CLIENT_ID", CLIENT_ID.to_owned()),
            ("AZURE_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ]
    }

    /// How long long-running operations run.
    pub fn set_operation_delay(&self, delay: Duration) {
        self.server.lock().state.operation_delay = delay;
    }

    /// The `Retry-After` (seconds) of operations and throttled answers (0 by default).
    pub fn set_retry_after(&self, seconds: u64) {
        self.server.lock().state.retry_after = seconds;
    }

    /// Makes an object through the API as someone else would (by hand, or another spec in the
    /// same resource group): what sslprov finds beside its own but did not make. `path` is under
    /// the resource group's `Microsoft.Cdn`, e.g. `profiles/p/customDomains/d`.
    pub async fn put_as_someone_else(&self, path: &str, body: Value) {
        let url = format!(
            "{}/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/Microsoft.Cdn/{path}?api-version=2026-10-01",
            self.base_url()
        );
        let answer = reqwest::Client::new().put(url).bearer_auth(ACCESS_TOKEN).json(&body).send().await;
        let answer = answer.expect("azure emulator: PUT");
        let status = answer.status();
        assert!(status.is_success(), "PUT {path}: {status} {}", answer.text().await.unwrap_or_default());
    }

    /// Deletes what [`Emulator::put_as_someone_else`] made.
    pub async fn delete_as_someone_else(&self, path: &str) {
        let url = format!(
            "{}/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/Microsoft.Cdn/{path}?api-version=2026-10-01",
            self.base_url()
        );
        let answer = reqwest::Client::new().delete(url).bearer_auth(ACCESS_TOKEN).send().await;
        let status = answer.expect("azure emulator: DELETE").status();
        assert!(status.is_success(), "DELETE {path}: {status}");
    }

    /// The TXT values at a name, which validation reads. It runs while the emulator is locked: it
    /// must not call the emulator.
    pub fn set_dns(&self, dns: impl Fn(&str) -> Vec<String> + Send + Sync + 'static) {
        self.server.lock().state.dns = Some(Box::new(dns));
    }

    /// The validation of `host` ends so (while Pending), whatever DNS holds.
    pub fn set_verdict(&self, host: &str, verdict: Option<Verdict>) {
        let mut inner = self.server.lock();
        match verdict {
            Some(v) => inner.state.verdicts.insert(host.to_owned(), v),
            None => inner.state.verdicts.remove(host),
        };
    }

    /// An Approved `host` goes to `PendingRevalidation`, as Front Door puts a domain 45 days before
    /// its managed certificate expires when the domain does not point straight at the endpoint:
    /// it serves on, and is validated again only with a new token.
    pub fn ask_revalidation(&self, host: &str) {
        let mut inner = self.server.lock();
        inner.state.settle();
        for r in inner.state.resources.values_mut() {
            let p = &mut r.json["properties"];
            if p["hostName"] == host && p["domainValidationState"] == "Approved" {
                p["domainValidationState"] = serde_json::json!("PendingRevalidation");
            }
        }
    }

    /// The next `n` requests are answered 429.
    pub fn throttle(&self, n: usize) {
        self.server.lock().state.throttle = n;
    }

    /// The next `n` writes are answered 409 (another operation in progress).
    pub fn conflict(&self, n: usize) {
        self.server.lock().state.conflicts = n;
    }

    /// Every resource by id (lower case), states up to date.
    pub fn resources(&self) -> BTreeMap<String, Value> {
        let mut inner = self.server.lock();
        inner.state.settle();
        inner.state.resources.iter().map(|(k, r)| (k.clone(), r.json.clone())).collect()
    }

    /// The resources of one collection (`customdomains`, `afdendpoints`, `routes`, `origins`, …),
    /// by name.
    pub fn of(&self, collection: &str) -> BTreeMap<String, Value> {
        let infix = format!("/{collection}/");
        self.resources()
            .into_iter()
            .filter(|(k, _)| k.rsplit_once('/').is_some_and(|(head, _)| format!("{head}/").ends_with(&infix)))
            .map(|(_, v)| (v["name"].as_str().unwrap_or_default().to_owned(), v))
            .collect()
    }

    /// Long-running operations still running.
    pub fn running_operations(&self) -> usize {
        let mut inner = self.server.lock();
        inner.state.settle();
        inner.state.lros.values().filter(|l| !l.settled).count()
    }

    /// Long-running operations started so far.
    pub fn operations_started(&self) -> usize {
        self.server.lock().state.lros.len()
    }

    pub fn tokens_issued(&self) -> usize {
        self.server.lock().tokens_issued
    }

    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.server.lock().log.clone()
    }

    /// How many requests of `operation` (`Routes_Update`) were served, and how many of them
    /// answered `status`.
    pub fn count(&self, operation: &str, status: Option<u16>) -> usize {
        self.request_log()
            .iter()
            .filter(|r| r.operation.as_deref() == Some(operation) && status.is_none_or(|s| r.status == s))
            .count()
    }

    pub fn violations(&self) -> Vec<Violation> {
        self.server.lock().violations.clone()
    }

    /// Panics with every contract violation recorded.
    pub fn assert_no_violations(&self) {
        let v = self.violations();
        assert!(v.is_empty(), "azure emulator: {} contract violation(s):\n{v:#?}", v.len());
    }
}
