//! Cloudflare as DNS host and as CDN: DNS records (proxied or not), a Configuration Rule that
//! sets one host's SSL mode, and the edge certificate that host is served with.
//!
//! Requests go through the `cloudflare` crate's endpoint framework, credentials and envelope,
//! with sslprov's own endpoint types (`endpoints.rs`) and its own sending step (`api.rs`, which
//! says why). Every request, retries included, first waits for the [`Budget`] the engine shares
//! among all parallel work, so a run stays under Cloudflare's 1,200 requests per 5 minutes by
//! construction; a 429 holds every request until its `Retry-After` has passed.
//!
//! Nothing here changes a zone-wide setting: the SSL mode is set per host by a rule, and
//! Universal SSL, Total TLS, `ssl` and `ssl_automatic_mode` are only read.
//!
//! Creates take no idempotency token, since Cloudflare has none. Each finds its own earlier
//! attempt instead: a record that exists exactly as asked, sslprov's rule by its `ref`, a pack
//! already ordered for the same hosts.

mod api;
mod certs;
mod endpoints;
mod error;
mod records;
mod rules;
mod token;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use sslprov_provider::connect;
use sslprov_provider::{
    Budget, Deletion, Desired, ErrorKind, IdempotencyToken, KindInfo, Live, Provider, ProviderError, ProviderInfo,
    RECORD, Rate, Readiness, Registration, Result, Review, Scope, Wanted,
};

pub use api::Retry;
pub use certs::{EdgeCertificateSource, EdgeCertificateSpec, pack_failed, universal_covers};
pub use rules::ConfigRuleSpec;
pub use token::{Access, Permission, TokenCheck};

use crate::api::Api;

const NAME: &str = "cloudflare";
pub const CONFIG_RULE: &str = "config_rule";
pub const EDGE_CERTIFICATE: &str = "edge_certificate";

pub static INFO: ProviderInfo = ProviderInfo {
    name: NAME,
    title: "Cloudflare",
    kinds: &[
        KindInfo { name: RECORD, replace_on: &["zone"], adoptable: true, becomes_ready: false, repair_in_place: false },
        KindInfo {
            name: CONFIG_RULE,
            replace_on: &["zone", "host"],
            adoptable: false,
            becomes_ready: false,
            repair_in_place: false,
        },
        // A pack's hosts cannot change; one that covers the hosts already (Universal SSL, or a
        // pack ordered by hand) is used as it is.
        KindInfo {
            name: EDGE_CERTIFICATE,
            replace_on: &["*"],
            adoptable: true,
            becomes_ready: true,
            repair_in_place: false,
        },
    ],
    // Cloudflare allows 1,200 requests per 5 minutes per token and locks the token out for 5
    // minutes beyond that. A bucket of 20 refilled at 1,080 per 5 minutes passes at most 1,100 in
    // any 5-minute window: room for the dashboard and other tools using the same token.
    budget: Rate { requests: 1080, per_seconds: 300, burst: 20 },
    op_budgets: &[],
    batches_writes: false,
};

pub static REGISTRATION: Registration = Registration {
    info: &INFO,
    connect: |cx| {
        Box::pin(async move {
            let config = CloudflareConfig::from_env()?;
            connect::reachable(NAME, &config.base_url, "CLOUDFLARE_API_BASE_URL").await?;
            Ok(Arc::new(Cloudflare::new(config, Budget::for_provider(&INFO, cx.calls.clone()))?) as Arc<dyn Provider>)
        })
    },
};

/// Where Cloudflare's API is and the token to call it with.
#[derive(Clone)]
pub struct CloudflareConfig {
    pub token: String,
    pub base_url: String,
}

impl CloudflareConfig {
    pub const DEFAULT_BASE_URL: &str = "https://api.cloudflare.com/client/v4";

    pub fn new(token: impl Into<String>) -> Self {
        CloudflareConfig { token: token.into(), base_url: Self::DEFAULT_BASE_URL.to_owned() }
    }

    /// `CLOUDFLARE_API_TOKEN`, and `CLOUDFLARE_API_BASE_URL` if set.
    pub fn from_env() -> Result<Self> {
        let token = std::env::var("CLOUDFLARE_API_TOKEN").ok().filter(|t| !t.trim().is_empty()).ok_or_else(|| {
            ProviderError::new(
                ErrorKind::Unauthenticated,
                NAME,
                "config",
                "CLOUDFLARE_API_TOKEN is not set: create an API token in Cloudflare's dashboard \
                 (My Profile → API Tokens) and export it",
            )
        })?;
        let mut config = CloudflareConfig::new(token.trim());
        if let Ok(url) = std::env::var("CLOUDFLARE_API_BASE_URL")
            && !url.trim().is_empty()
        {
            config.base_url = url.trim().to_owned();
        }
        Ok(config)
    }
}

impl fmt::Debug for CloudflareConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let token = if self.token.is_empty() { "(empty)" } else { "(redacted)" };
        f.debug_struct("CloudflareConfig").field("token", &token).field("base_url", &self.base_url).finish()
    }
}

/// The Cloudflare provider. One per API token: its budget and its `Retry-After` hold are the
/// token's.
#[derive(Debug)]
pub struct Cloudflare {
    api: Api,
    /// Zone name → zone id, looked up once per run.
    zones: Mutex<HashMap<String, String>>,
    /// Records per list page; [`records::DNS_PAGE`] unless a test wants several pages.
    dns_page: u32,
    /// One lock per zone for rule writes (read, merge, PUT).
    zone_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// What `list` read of each zone's rules, for the warnings of rules a plan creates.
    zone_rules: Mutex<HashMap<String, rules::ZoneRules>>,
    zone_sweep: tokio::sync::Mutex<()>,
    /// Zone reads both the token check and the refresh that follows it need (the rules,
    /// `ssl_automatic_mode`, Universal SSL): what the check read, kept for the refresh to take.
    reads: Mutex<HashMap<(String, &'static str), serde_json::Value>>,
}

impl Cloudflare {
    pub fn new(config: CloudflareConfig, budget: Budget) -> Result<Cloudflare> {
        Ok(Cloudflare {
            api: Api::new(&config.base_url, &config.token, budget)?,
            zones: Mutex::default(),
            dns_page: records::DNS_PAGE,
            zone_locks: Mutex::default(),
            zone_rules: Mutex::default(),
            zone_sweep: tokio::sync::Mutex::default(),
            reads: Mutex::default(),
        })
    }

    /// How failed requests are retried (the default sits out one 5-minute lock-out).
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.api.set_retry(retry);
        self
    }

    /// Records per list request, for zones too large for one answer; the default is the most the
    /// API allows.
    pub fn with_dns_page_size(mut self, per_page: u32) -> Self {
        self.dns_page = per_page.clamp(1, records::DNS_PAGE);
        self
    }

    /// The id of the zone named `zone`.
    async fn zone_id(&self, zone: &str) -> Result<String> {
        let zone = records::name(zone);
        if let Some(id) = self.zones.lock().unwrap_or_else(|e| e.into_inner()).get(&zone) {
            return Ok(id.clone());
        }
        let found = self.api.send(&endpoints::zones_named(&zone)).await?.result.0;
        let id = match found.iter().find(|z| records::name(&z.name) == zone) {
            Some(z) => z.id.clone(),
            None => {
                return Err(ProviderError::new(
                    ErrorKind::NotFound,
                    NAME,
                    "ListZones",
                    format!(
                        "zone {zone} not found: it is not in this account, or the token lacks Zone → Zone → Read on it"
                    ),
                ));
            }
        };
        self.zones.lock().unwrap_or_else(|e| e.into_inner()).insert(zone, id.clone());
        Ok(id)
    }

    /// Zone ids for many zones from the account's zone list (50 a page) rather than one lookup
    /// each, stopping once every wanted zone is seen. Fewer than two unknown: `zone_id` looks
    /// each up by name.
    pub(crate) async fn load_zone_ids(&self, wanted: &[String]) -> Result<()> {
        let missing = |zones: &HashMap<String, String>| wanted.iter().filter(|z| !zones.contains_key(*z)).count();
        // One sweep at a time: the kinds are listed concurrently, and the second finds the zones
        // the first learnt.
        let _sweeping = self.zone_sweep.lock().await;
        if missing(&self.zones.lock().unwrap_or_else(|e| e.into_inner())) < 2 {
            return Ok(());
        }
        for page in 1.. {
            let answer = self.api.send(&endpoints::zones(page)).await?;
            let count = answer.result.0.len();
            let mut zones = self.zones.lock().unwrap_or_else(|e| e.into_inner());
            for z in answer.result.0 {
                zones.entry(records::name(&z.name)).or_insert(z.id);
            }
            let pages =
                answer.result_info.as_ref().and_then(|i| i.get("total_pages")).and_then(serde_json::Value::as_u64);
            let last = pages.map_or(count < 50, |p| u64::from(page) >= p);
            if last || count == 0 || missing(&zones) == 0 {
                return Ok(());
            }
        }
        Ok(())
    }

    async fn zone_id_of(&self, live: &Live, zone: &str) -> Result<String> {
        match live.outputs.str("zone_id") {
            Some(id) => Ok(id.to_owned()),
            None => self.zone_id(zone).await,
        }
    }

    /// `read`'s answer for `zone_id`: the one the token check kept, taken (so that the refresh
    /// right after it costs no second request), or a fresh one. `keep`: the token check's own
    /// read, kept for the refresh.
    async fn read_shared<T, F, Fut>(&self, zone_id: &str, what: &'static str, keep: bool, read: F) -> Result<T>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let key = (zone_id.to_owned(), what);
        if !keep
            && let Some(v) = self.reads.lock().unwrap_or_else(|e| e.into_inner()).remove(&key)
            && let Ok(t) = serde_json::from_value(v)
        {
            return Ok(t);
        }
        let t = read().await?;
        if keep && let Ok(v) = serde_json::to_value(&t) {
            self.reads.lock().unwrap_or_else(|e| e.into_inner()).insert(key, v);
        }
        Ok(t)
    }

    fn zone_lock(&self, zone_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.zone_locks.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(locks.entry(zone_id.to_owned()).or_default())
    }
}

#[async_trait]
impl Provider for Cloudflare {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    fn normalise(&self, desired: &Desired) -> Result<Desired> {
        match desired.kind.as_str() {
            RECORD => records::normalise(desired),
            CONFIG_RULE => Ok(Desired::of(CONFIG_RULE, &rules::spec_of(desired, "normalise")?)),
            EDGE_CERTIFICATE => certs::normalise(desired),
            other => Err(unsupported(other, "normalise")),
        }
    }

    fn key(&self, desired: &Desired) -> Option<String> {
        let zone = records::name(desired.str("zone")?);
        match desired.kind.as_str() {
            RECORD => {
                let rtype = desired.get("type").and_then(|t| serde_json::from_value(t.clone()).ok());
                Some(sslprov_provider::RecordSpec::key(&zone, &records::name(desired.str("name")?), rtype))
            }
            CONFIG_RULE => Some(format!("{zone}/{}", records::name(desired.str("host")?))),
            EDGE_CERTIFICATE => {
                let spec = certs::spec_of(desired, "key").ok()?;
                let hosts: Vec<&str> = spec.hosts.iter().map(String::as_str).collect();
                Some(format!("{zone}/{:?}/{}", spec.source, hosts.join(",")))
            }
            _ => None,
        }
    }

    /// The token is active and has, in each zone, what the wanted objects need there.
    async fn preflight(&self, wanted: &[Desired]) -> Result<Vec<String>> {
        let mut needs = Vec::new();
        for d in wanted {
            let Some(zone) = d.str("zone") else { continue };
            needs.extend(Access::for_kind(&d.kind).iter().map(|a| Permission::new(zone, *a)));
            let advanced =
                certs::spec_of(d, "preflight").is_ok_and(|s| s.source == Some(EdgeCertificateSource::Advanced));
            if d.kind == EDGE_CERTIFICATE && advanced {
                needs.push(Permission::new(zone, Access::SslEdit));
            }
        }
        if needs.is_empty() {
            return Ok(Vec::new());
        }
        needs.sort();
        needs.dedup();
        let check = self.check_token(&needs).await?;
        if !check.is_ok() {
            let missing: Vec<String> = check.missing.iter().map(|p| format!("  - {p}")).collect();
            return Err(ProviderError::new(
                ErrorKind::PermissionDenied,
                NAME,
                "VerifyToken",
                format!(
                    "the Cloudflare API token lacks permissions this spec needs:\n{}\nAdd them to the token in \
                     Cloudflare's dashboard (My Profile → API Tokens → Edit), then plan again.",
                    missing.join("\n")
                ),
            ));
        }
        Ok(check
            .unverified
            .iter()
            .map(|p| format!("cannot tell without changing something whether the Cloudflare API token has {p}"))
            .collect())
    }

    /// A proxied host needs an edge certificate that serves before anything is proxied: the
    /// zone's Universal SSL certificate, on and active, or a pack sslprov orders. And a rule to
    /// create gets the warnings an existing one would.
    fn review(&self, wanted: &[Wanted<'_>], _inventory: &[Live]) -> Review {
        let mut review = Review::default();
        for w in wanted {
            match w.desired.kind.as_str() {
                EDGE_CERTIFICATE => {
                    let Ok(spec) = certs::spec_of(w.desired, "review") else { continue };
                    if spec.source != Some(EdgeCertificateSource::Universal) {
                        continue;
                    }
                    match w.live.map(|l| &l.readiness) {
                        None => review.errors.push(format!(
                            "{}: Universal SSL is off on zone {}, so Cloudflare has no edge certificate for the \
                             tracking domain. Turn Universal SSL on for the zone, or set `advanced_certificate: true` \
                             on the domain.",
                            w.address, spec.zone
                        )),
                        // Proxying the record before Cloudflare serves a certificate for it breaks HTTPS.
                        Some(Readiness::Ready) => {}
                        Some(_) => {
                            let status = w.live.and_then(|l| l.outputs.status()).unwrap_or("unknown");
                            review.errors.push(format!(
                                "{}: the Universal SSL certificate of zone {} is not active yet ({status}), and the \
                                 tracking record must not be proxied before it is. Cloudflare issues it within \
                                 minutes of a zone's activation; plan again then.",
                                w.address, spec.zone
                            ));
                        }
                    }
                }
                CONFIG_RULE if w.live.is_none() => {
                    let Ok(spec) = rules::spec_of(w.desired, "review") else { continue };
                    review
                        .warnings
                        .extend(self.new_rule_warnings(&spec).into_iter().map(|m| format!("{}: {m}", w.address)));
                }
                _ => {}
            }
        }
        review
    }

    /// Per zone of the wanted objects: records in one request (plus the zone lookup, once per
    /// run); rules in two; certificates in two, plus one for Total TLS when a host is deeper than
    /// Universal SSL covers.
    async fn list(&self, scope: &Scope) -> Result<Vec<Live>> {
        self.load_zone_ids(&zones_of(scope)).await?;
        match scope.kind.as_str() {
            RECORD => {
                let mut zones: BTreeMap<String, Option<BTreeSet<String>>> = BTreeMap::new();
                for d in &scope.wanted {
                    let Some(zone) = d.str("zone").map(records::name) else { continue };
                    let names = zones.entry(zone).or_insert_with(|| Some(BTreeSet::new()));
                    match (names.as_mut(), d.str("name")) {
                        (Some(set), Some(n)) => {
                            set.insert(records::name(n));
                        }
                        _ => *names = None,
                    }
                }
                self.list_records(&zones).await
            }
            CONFIG_RULE => {
                let hosts = scope.field("host").map(|h| h.iter().map(|n| records::name(n)).collect());
                self.list_rules(&zones_of(scope), hosts.as_ref()).await
            }
            EDGE_CERTIFICATE => {
                let hosts = scope
                    .wanted
                    .iter()
                    .flat_map(|d| d.get("hosts").and_then(|h| serde_json::from_value::<Vec<String>>(h.clone()).ok()))
                    .flatten()
                    .collect();
                self.list_certificates(&zones_of(scope), &hosts).await
            }
            other => Err(unsupported(other, "list")),
        }
    }

    /// The account's zones, 50 a page (one request for most accounts); their ids are kept for
    /// the record sweeps that follow.
    async fn zones(&self) -> Result<Vec<String>> {
        let _sweeping = self.zone_sweep.lock().await;
        let mut names = BTreeSet::new();
        for page in 1.. {
            let answer = self.api.send(&endpoints::zones(page)).await?;
            let count = answer.result.0.len();
            let mut zones = self.zones.lock().unwrap_or_else(|e| e.into_inner());
            for z in answer.result.0 {
                let name = records::name(&z.name);
                zones.entry(name.clone()).or_insert(z.id);
                names.insert(name);
            }
            let pages =
                answer.result_info.as_ref().and_then(|i| i.get("total_pages")).and_then(serde_json::Value::as_u64);
            if pages.map_or(count < 50, |p| u64::from(page) >= p) || count == 0 {
                break;
            }
        }
        Ok(names.into_iter().collect())
    }

    async fn create(&self, desired: &Desired, _token: &IdempotencyToken) -> Result<Live> {
        match desired.kind.as_str() {
            RECORD => self.create_record(desired).await,
            CONFIG_RULE => self.create_rule(desired).await,
            EDGE_CERTIFICATE => self.create_certificate(desired).await,
            other => Err(unsupported(other, "create")),
        }
    }

    async fn update(&self, live: &Live, desired: &Desired) -> Result<Live> {
        match desired.kind.as_str() {
            RECORD => self.update_record(live, desired).await,
            CONFIG_RULE => self.update_rule(live, desired).await,
            EDGE_CERTIFICATE => self.update_certificate(live, desired).await,
            other => Err(unsupported(other, "update")),
        }
    }

    async fn delete(&self, live: &Live) -> Result<Deletion> {
        match live.desired.kind.as_str() {
            RECORD => self.delete_record(live).await,
            CONFIG_RULE => self.delete_rule(live).await,
            EDGE_CERTIFICATE => self.delete_certificate(live).await,
            other => Err(unsupported(other, "delete")),
        }
    }
}

fn zones_of(scope: &Scope) -> Vec<String> {
    let zones: BTreeSet<String> = scope.wanted.iter().filter_map(|d| d.str("zone")).map(records::name).collect();
    zones.into_iter().collect()
}

fn unsupported(kind: &str, op: &'static str) -> ProviderError {
    ProviderError::new(ErrorKind::Unsupported, NAME, op, format!("Cloudflare does not hold a {kind}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let config = CloudflareConfig::new("s3cr3t-token-value");
        assert!(!format!("{config:?}").contains("s3cr3t"));
        let cf = Cloudflare::new(config, Budget::per_second(10, 1, Default::default())).expect("valid");
        assert!(!format!("{cf:?}").contains("s3cr3t"), "{cf:?}");
    }

    #[test]
    fn bad_configs_are_refused_without_a_panic() {
        let budget = || Budget::per_second(10, 1, Default::default());
        let bad_url = CloudflareConfig { base_url: "not a url".into(), ..CloudflareConfig::new("t") };
        assert_eq!(Cloudflare::new(bad_url, budget()).expect_err("bad url").kind, ErrorKind::InvalidRequest);
        let no_token = CloudflareConfig::new("");
        assert_eq!(Cloudflare::new(no_token, budget()).expect_err("no token").kind, ErrorKind::InvalidRequest);
        let newline = CloudflareConfig::new("a\nb");
        assert_eq!(Cloudflare::new(newline, budget()).expect_err("bad header").kind, ErrorKind::InvalidRequest);
    }
}
