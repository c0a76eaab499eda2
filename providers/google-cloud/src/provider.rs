//! The engine's view of Google Cloud: thirteen kinds on top of [`crate::api`].

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Value, json};
use sslprov_provider::{
    Budget, Calls, Deletion, Desired, ErrorKind, IdempotencyToken, KindInfo, Live, Provider, ProviderError,
    ProviderInfo, Rate, Registration, Result, Scope, connect,
};

use crate::api::{Api, Retry, Service};
use crate::auth::Auth;
use crate::certs::{self, Certs};
use crate::compute::{self, Compute};
use crate::names::{last, request_id};
use crate::{GoogleCloudConfig, NAME};

pub const ADDRESS: &str = "address";
pub const SSL_POLICY: &str = "ssl_policy";
pub const INTERNET_NEG: &str = "internet_neg";
pub const BACKEND_SERVICE: &str = "backend_service";
pub const URL_MAP: &str = "url_map";
pub const TARGET_HTTPS_PROXY: &str = "target_https_proxy";
pub const TARGET_HTTP_PROXY: &str = "target_http_proxy";
pub const FORWARDING_RULE: &str = "forwarding_rule";
pub const HOST_RULE: &str = "host_rule";
pub const DNS_AUTHORIZATION: &str = "dns_authorization";
pub const CERTIFICATE: &str = "certificate";
pub const CERTIFICATE_MAP: &str = "certificate_map";
pub const CERTIFICATE_MAP_ENTRY: &str = "certificate_map_entry";

const fn kind(name: &'static str, replace_on: &'static [&'static str], becomes_ready: bool) -> KindInfo {
    KindInfo { name, replace_on, adoptable: false, becomes_ready, repair_in_place: false }
}

/// Compute's rate quotas are per project per minute (the default read and write quotas are in
/// the thousands; sslprov keeps well below them): 1,200 a minute, bursts of 20.
const COMPUTE_RATE: Rate = Rate { requests: 1200, per_seconds: 60, burst: 20 };
/// Certificate Manager: 300 requests per minute.
const CERTIFICATE_MANAGER_RATE: Rate = Rate { requests: 300, per_seconds: 60, burst: 10 };

pub static INFO: ProviderInfo = ProviderInfo {
    name: NAME,
    title: "Google Cloud",
    kinds: &[
        kind(ADDRESS, &["*"], false),
        kind(SSL_POLICY, &["name"], false),
        kind(INTERNET_NEG, &["*"], false),
        kind(BACKEND_SERVICE, &["origin"], false),
        kind(URL_MAP, &["name"], false),
        kind(TARGET_HTTPS_PROXY, &["name"], false),
        kind(TARGET_HTTP_PROXY, &["name"], false),
        kind(FORWARDING_RULE, &["name", "ip", "port"], false),
        kind(HOST_RULE, &["url_map", "host"], false),
        kind(DNS_AUTHORIZATION, &["*"], false),
        // A certificate that failed is replaced by a new one, as Certificate Manager asks.
        kind(CERTIFICATE, &["*"], true),
        kind(CERTIFICATE_MAP, &["*"], false),
        kind(CERTIFICATE_MAP_ENTRY, &["map", "hostname"], true),
    ],
    budget: COMPUTE_RATE,
    op_budgets: &[],
    batches_writes: false,
};

pub static REGISTRATION: Registration = Registration {
    info: &INFO,
    connect: |cx| {
        Box::pin(async move {
            let config = GoogleCloudConfig::from_env()?;
            connect::reachable(NAME, &config.compute_url, "GOOGLE_CLOUD_COMPUTE_URL").await?;
            connect::reachable(NAME, &config.certificate_manager_url, "GOOGLE_CLOUD_CERTIFICATE_MANAGER_URL").await?;
            let auth = Auth::from_environment().await?;
            let mut gc = GoogleCloud::new(&config, auth, cx.calls.clone())?;
            if let Some(poll) = std::env::var("SSLPROV_GOOGLE_CLOUD_POLL_MS").ok().and_then(|v| v.parse().ok()) {
                gc.api.retry.operation_poll = std::time::Duration::from_millis(poll);
                gc.api.retry.requests.min_delay = std::time::Duration::from_millis(poll);
            }
            Ok(Arc::new(gc) as Arc<dyn Provider>)
        })
    },
};

/// The Google Cloud client of one project.
#[derive(Debug)]
pub struct GoogleCloud {
    api: Api,
    /// One lock per URL map: host rules are written one at a time.
    url_maps: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

fn invalid(op: &'static str, message: String) -> ProviderError {
    ProviderError::new(ErrorKind::InvalidRequest, NAME, op, message)
}

/// How often a stale fingerprint (someone else wrote the URL map) is read again and retried.
const FINGERPRINT_RETRIES: usize = 5;

impl GoogleCloud {
    pub(crate) fn new(config: &GoogleCloudConfig, auth: Auth, calls: Calls) -> Result<GoogleCloud> {
        let api = Api::new(
            config,
            auth,
            Budget::of(COMPUTE_RATE, calls.clone()),
            Budget::of(CERTIFICATE_MANAGER_RATE, calls),
        )?;
        Ok(GoogleCloud { api, url_maps: Mutex::default() })
    }

    /// Connects with the Application Default Credentials of the environment.
    pub async fn connect(config: &GoogleCloudConfig, calls: Calls) -> Result<GoogleCloud> {
        GoogleCloud::new(config, Auth::from_environment().await?, calls)
    }

    /// Connects with credentials given as JSON (`authorized_user` or `service_account`).
    pub fn with_credentials(
        config: &GoogleCloudConfig,
        credentials: serde_json::Value,
        calls: Calls,
    ) -> Result<GoogleCloud> {
        GoogleCloud::new(config, Auth::from_json(credentials)?, calls)
    }

    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.api.retry = retry;
        self
    }

    fn map_lock(&self, name: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.url_maps.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(locks.entry(name.to_owned()).or_default())
    }

    async fn compute_get(&self, c: Compute, name: &str) -> Result<Value> {
        self.api.get(Service::Compute, c.ops().get, &format!("{}/{name}", c.collection())).await
    }

    async fn compute_live(&self, c: Compute, name: &str, op: &'static str) -> Result<Live> {
        let item = self.compute_get(c, name).await?;
        compute::live(c, &item).ok_or_else(|| invalid(op, format!("{} {name} is not in sslprov's shape", c.kind())))
    }

    async fn compute_create(&self, c: Compute, d: &Desired, token: &IdempotencyToken) -> Result<Live> {
        let ops = c.ops();
        let d = compute::normalise(c, d, "create")?;
        let name = compute::name(c, &d).ok_or_else(|| invalid("create", "no name".into()))?;
        let body = compute::body(c, &d, self.api.project(), "create")?;
        let query = [("requestId", request_id(token.as_str()))];
        let made = match self
            .api
            .call(Service::Compute, ops.insert, Method::POST, c.collection(), &query, Some(&body))
            .await
        {
            Ok(op) => self.api.compute_done(ops.insert, op).await,
            Err(e) => Err(e),
        };
        match made {
            Ok(()) => {}
            // An earlier attempt made it (its answer was lost): finish it, if it is sslprov's.
            Err(e) if e.is(ErrorKind::AlreadyExists) => {
                let found = self.compute_get(c, &name).await?;
                if !found["description"].as_str().is_some_and(|s| s.starts_with(compute::MARK)) {
                    return Err(ProviderError::new(
                        ErrorKind::Conflict,
                        NAME,
                        ops.insert,
                        format!("a {} named {name} exists and is not sslprov's: rename or delete it", c.kind()),
                    ));
                }
            }
            Err(e) => return Err(e),
        }
        if c == Compute::Neg {
            self.attach_endpoint(&name, &d).await?;
        }
        self.compute_live(c, &name, "create").await
    }

    /// The NEG's one endpoint, the ESP origin, unless it has it already.
    async fn attach_endpoint(&self, name: &str, d: &Desired) -> Result<()> {
        let spec: compute::NegSpec = d.parse(NAME, "create")?;
        let path = format!("global/networkEndpointGroups/{name}");
        let listed = self
            .api
            .call(
                Service::Compute,
                "globalNetworkEndpointGroups.listNetworkEndpoints",
                Method::POST,
                &format!("{path}/listNetworkEndpoints"),
                &[],
                None,
            )
            .await?;
        let has = listed["items"].as_array().into_iter().flatten().any(|i| {
            i["networkEndpoint"]["fqdn"] == spec.fqdn.as_str() && i["networkEndpoint"]["port"] == u64::from(spec.port)
        });
        if has {
            return Ok(());
        }
        let body = json!({"networkEndpoints": [{"fqdn": spec.fqdn, "port": spec.port}]});
        let op = "globalNetworkEndpointGroups.attachNetworkEndpoints";
        let answer = self
            .api
            .call(Service::Compute, op, Method::POST, &format!("{path}/attachNetworkEndpoints"), &[], Some(&body))
            .await?;
        self.api.compute_done(op, answer).await
    }

    async fn compute_update(&self, c: Compute, live: &Live, d: &Desired) -> Result<Live> {
        let d = compute::normalise(c, d, "update")?;
        let name = live.id.clone();
        let lock = (c == Compute::UrlMap).then(|| self.map_lock(&name));
        let _held = match &lock {
            Some(l) => Some(l.lock().await),
            None => None,
        };
        for _ in 0..FINGERPRINT_RETRIES {
            let current = self.compute_get(c, &name).await?;
            let Some((op, verb, body)) = compute::update(c, &current, &d, self.api.project(), "update")? else {
                return Err(invalid("update", format!("a {} changes only by replacement", c.kind())));
            };
            let (method, path) = match verb {
                "" => (Method::PATCH, format!("{}/{name}", c.collection())),
                v => (Method::POST, format!("{}/{name}/{v}", c.collection())),
            };
            let done = match self.api.call(Service::Compute, op, method, &path, &[], Some(&body)).await {
                Ok(answer) => self.api.compute_done(op, answer).await,
                Err(e) => Err(e),
            };
            match done {
                Ok(()) => return self.compute_live(c, &name, "update").await,
                Err(e) if e.is(ErrorKind::PreconditionFailed) => {
                    tracing::info!(%name, "google-cloud: stale fingerprint, reading again");
                }
                Err(e) => return Err(e),
            }
        }
        Err(ProviderError::new(
            ErrorKind::PreconditionFailed,
            NAME,
            "update",
            format!("{name} kept changing under sslprov ({FINGERPRINT_RETRIES} stale fingerprints in a row)"),
        ))
    }

    async fn compute_delete(&self, c: Compute, live: &Live) -> Result<Deletion> {
        let op = c.ops().delete;
        let path = format!("{}/{}", c.collection(), live.id);
        let done = match self.api.call(Service::Compute, op, Method::DELETE, &path, &[], None).await {
            Ok(answer) => self.api.compute_done(op, answer).await,
            Err(e) => Err(e),
        };
        match done {
            Ok(()) => Ok(Deletion::Done),
            Err(e) if e.is(ErrorKind::NotFound) => Ok(Deletion::Done),
            Err(e) => Err(e),
        }
    }

    /// Writes `host`'s rule into the URL map (or takes it out), with the map's fingerprint; a
    /// stale one (someone else wrote the map since it was read) reads the map again.
    async fn write_host_rule(&self, url_map: &str, host: &str, rule: Option<&compute::HostRuleSpec>) -> Result<Value> {
        let lock = self.map_lock(url_map);
        let _held = lock.lock().await;
        let op = "urlMaps.patch";
        for _ in 0..FINGERPRINT_RETRIES {
            let map = self.compute_get(Compute::UrlMap, url_map).await?;
            let has = compute::host_rules(&map).into_iter().find(|l| l.desired.str("host") == Some(host));
            let wanted = rule.map(|r| Desired::of(HOST_RULE, r));
            if has.as_ref().map(|l| &l.desired) == wanted.as_ref() && has.as_ref().is_none_or(|l| l.marked) {
                return Ok(map);
            }
            let body = compute::with_host_rule(&map, host, rule);
            let path = format!("global/urlMaps/{url_map}");
            let done = match self.api.call(Service::Compute, op, Method::PATCH, &path, &[], Some(&body)).await {
                Ok(answer) => self.api.compute_done(op, answer).await,
                Err(e) => Err(e),
            };
            match done {
                Ok(()) => return self.compute_get(Compute::UrlMap, url_map).await,
                Err(e) if e.is(ErrorKind::PreconditionFailed) => {
                    tracing::info!(url_map, host, "google-cloud: stale URL map fingerprint, reading again");
                }
                Err(e) => return Err(e),
            }
        }
        Err(ProviderError::new(
            ErrorKind::PreconditionFailed,
            NAME,
            op,
            format!(
                "URL map {url_map} kept changing under sslprov ({FINGERPRINT_RETRIES} stale fingerprints in a row)"
            ),
        ))
    }

    async fn host_rule_put(&self, d: &Desired, op: &'static str) -> Result<Live> {
        let spec = compute::host_rule_spec(d, op)?;
        let map = self.write_host_rule(&spec.url_map, &spec.host, Some(&spec)).await?;
        compute::host_rules(&map).into_iter().find(|l| l.desired.str("host") == Some(spec.host.as_str())).ok_or_else(
            || ProviderError::new(ErrorKind::Unexpected, NAME, op, format!("{} not in the URL map", spec.host)),
        )
    }

    async fn certs_get(&self, c: Certs, path: &str) -> Result<Live> {
        let [_, _, get, _, _] = c.ops();
        let item = self.api.get(Service::CertificateManager, get, path).await?;
        certs::live(c, &item).ok_or_else(|| invalid(get, format!("{path} is not in sslprov's shape")))
    }

    async fn certs_create(&self, c: Certs, d: &Desired, token: &IdempotencyToken) -> Result<Live> {
        let [create, ..] = c.ops();
        let d = certs::normalise(c, d, "create")?;
        let (collection, id) =
            certs::place(c, &d, token.as_str()).ok_or_else(|| invalid(create, "incomplete spec".into()))?;
        let body = certs::body(c, &d, create)?;
        let query = [(c.field().1, id.clone())];
        let made = match self
            .api
            .call(Service::CertificateManager, create, Method::POST, &collection, &query, Some(&body))
            .await
        {
            Ok(op) => self.api.certs_done(create, op).await.map(|_| ()),
            Err(e) => Err(e),
        };
        match made {
            Ok(()) => {}
            Err(e) if e.is(ErrorKind::AlreadyExists) => {}
            Err(e) => return Err(e),
        }
        let live = self.certs_get(c, &format!("{collection}/{id}")).await?;
        if !live.marked {
            return Err(ProviderError::new(
                ErrorKind::Conflict,
                NAME,
                create,
                format!("{} exists and is not sslprov's: delete it or use another name", live.id),
            ));
        }
        Ok(live)
    }

    async fn certs_list(&self, c: Certs, scope: &Scope) -> Result<Vec<Live>> {
        let [_, list, ..] = c.ops();
        let (field, _) = c.field();
        let collections: Vec<String> = match c {
            Certs::MapEntry => {
                let maps = match scope.field("map") {
                    Some(maps) => maps,
                    None => self
                        .api
                        .list(Service::CertificateManager, "certificateMaps.list", "certificateMaps", "certificateMaps")
                        .await?
                        .iter()
                        .filter_map(|m| m["name"].as_str().map(|n| last(n).to_owned()))
                        .collect(),
                };
                maps.into_iter().map(|m| format!("certificateMaps/{m}/{field}")).collect()
            }
            _ => vec![field.to_owned()],
        };
        let mut out = Vec::new();
        for collection in collections {
            match self.api.list(Service::CertificateManager, list, &collection, field).await {
                Ok(items) => out.extend(items.iter().filter_map(|i| certs::live(c, i))),
                // A map not made yet has no entries.
                Err(e) if e.is(ErrorKind::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Provider for GoogleCloud {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    fn normalise(&self, desired: &Desired) -> Result<Desired> {
        if let Some(c) = Compute::of(&desired.kind) {
            return compute::normalise(c, desired, "normalise");
        }
        if let Some(c) = Certs::of(&desired.kind) {
            return certs::normalise(c, desired, "normalise");
        }
        if desired.kind == HOST_RULE {
            return Ok(Desired::of(HOST_RULE, &compute::host_rule_spec(desired, "normalise")?));
        }
        Err(ProviderError::new(
            ErrorKind::Unsupported,
            NAME,
            "normalise",
            format!("Google Cloud holds no {}", desired.kind),
        ))
    }

    fn key(&self, desired: &Desired) -> Option<String> {
        if let Some(c) = Compute::of(&desired.kind) {
            return compute::name(c, desired);
        }
        if let Some(c) = Certs::of(&desired.kind) {
            // A certificate by its domain (its name carries a token); the others by their name.
            if c == Certs::Certificate {
                return desired.str("domain").map(|d| format!("certificate/{}", d.to_ascii_lowercase()));
            }
            let (collection, id) = certs::place(c, desired, "")?;
            return Some(format!("projects/{}/locations/global/{collection}/{id}", self.api.project()));
        }
        match desired.kind.as_str() {
            HOST_RULE => Some(format!("{}/{}", desired.str("url_map")?, desired.str("host")?.to_ascii_lowercase())),
            _ => None,
        }
    }

    /// The credentials give a token: a missing or refused credential stops the run before the plan.
    async fn preflight(&self, wanted: &[Desired]) -> Result<Vec<String>> {
        if !wanted.is_empty() {
            self.api.get(Service::Compute, "globalAddresses.list", "global/addresses").await?;
        }
        Ok(Vec::new())
    }

    /// One list per collection (host rules: the URL maps'; map entries: each map's).
    async fn list(&self, scope: &Scope) -> Result<Vec<Live>> {
        if let Some(c) = Compute::of(&scope.kind) {
            let items = self.api.list(Service::Compute, c.ops().list, c.collection(), "items").await?;
            return Ok(items.iter().filter_map(|i| compute::live(c, i)).collect());
        }
        if let Some(c) = Certs::of(&scope.kind) {
            return self.certs_list(c, scope).await;
        }
        if scope.kind == HOST_RULE {
            let wanted: Option<BTreeSet<String>> = scope.field("url_map");
            let maps = self.api.list(Service::Compute, "urlMaps.list", "global/urlMaps", "items").await?;
            return Ok(maps
                .iter()
                .filter(|m| wanted.as_ref().is_none_or(|w| m["name"].as_str().is_some_and(|n| w.contains(n))))
                .flat_map(compute::host_rules)
                .collect());
        }
        Err(ProviderError::new(ErrorKind::Unsupported, NAME, "list", format!("Google Cloud holds no {}", scope.kind)))
    }

    /// Inserts carry a `requestId`, and every object has a derived name, so a create whose answer
    /// was lost finds what it made (409) and finishes it.
    async fn create(&self, desired: &Desired, token: &IdempotencyToken) -> Result<Live> {
        if let Some(c) = Compute::of(&desired.kind) {
            return self.compute_create(c, desired, token).await;
        }
        if let Some(c) = Certs::of(&desired.kind) {
            return self.certs_create(c, desired, token).await;
        }
        self.host_rule_put(desired, "create").await
    }

    async fn update(&self, live: &Live, desired: &Desired) -> Result<Live> {
        if let Some(c) = Compute::of(&desired.kind) {
            return self.compute_update(c, live, desired).await;
        }
        if let Some(c) = Certs::of(&desired.kind) {
            let d = certs::normalise(c, desired, "update")?;
            if c != Certs::MapEntry {
                return Err(invalid("update", format!("a {} changes only by replacement", c.kind())));
            }
            let [.., patch] = c.ops();
            let body = certs::body(c, &d, patch)?;
            let query = [("updateMask", "certificates".to_owned())];
            let answer = self
                .api
                .call(
                    Service::CertificateManager,
                    patch,
                    Method::PATCH,
                    &live.id,
                    &query,
                    Some(&json!({"certificates": body["certificates"]})),
                )
                .await?;
            self.api.certs_done(patch, answer).await?;
            return self.certs_get(c, &live.id).await;
        }
        self.host_rule_put(desired, "update").await
    }

    async fn delete(&self, live: &Live) -> Result<Deletion> {
        let kind = live.desired.kind.as_str();
        if let Some(c) = Compute::of(kind) {
            return self.compute_delete(c, live).await;
        }
        if let Some(c) = Certs::of(kind) {
            let [.., delete, _] = c.ops();
            let done =
                match self.api.call(Service::CertificateManager, delete, Method::DELETE, &live.id, &[], None).await {
                    Ok(answer) => self.api.certs_done(delete, answer).await.map(|_| ()),
                    Err(e) => Err(e),
                };
            return match done {
                Ok(()) => Ok(Deletion::Done),
                Err(e) if e.is(ErrorKind::NotFound) => Ok(Deletion::Done),
                Err(e) => Err(e),
            };
        }
        let spec = compute::host_rule_spec(&live.desired, "delete")?;
        match self.write_host_rule(&spec.url_map, &spec.host, None).await {
            Ok(_) => Ok(Deletion::Done),
            Err(e) if e.is(ErrorKind::NotFound) => Ok(Deletion::Done),
            Err(e) => Err(e),
        }
    }
}
