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

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use sslprov_provider::{
    Budget, Deletion, Desired, ErrorKind, IdempotencyToken, Kind, Live, Provider, ProviderError, Readiness, Result,
    Scope,
};

pub use api::Retry;
pub use certs::{pack_failed, universal_covers};
pub use token::{Access, Permission, TokenCheck};

use crate::api::Api;

const NAME: &str = "cloudflare";

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
}

impl Cloudflare {
    pub fn new(config: CloudflareConfig, budget: Budget) -> Result<Cloudflare> {
        Ok(Cloudflare {
            api: Api::new(&config.base_url, &config.token, budget)?,
            zones: Mutex::default(),
            dns_page: records::DNS_PAGE,
            zone_locks: Mutex::default(),
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

    async fn zone_id_of(&self, live: &Live, zone: &str) -> Result<String> {
        match &live.outputs.zone_id {
            Some(id) => Ok(id.clone()),
            None => self.zone_id(zone).await,
        }
    }

    fn zone_lock(&self, zone_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.zone_locks.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(locks.entry(zone_id.to_owned()).or_default())
    }
}

#[async_trait]
impl Provider for Cloudflare {
    fn name(&self) -> &'static str {
        NAME
    }

    fn kinds(&self) -> &'static [Kind] {
        &[Kind::Record, Kind::ConfigRule, Kind::EdgeCertificate]
    }

    /// Per zone in `scope.zones`: records in one request (plus the zone lookup, once per run);
    /// rules in one, plus one for `ssl_automatic_mode` when sslprov has a rule there;
    /// certificates in two, plus one for Total TLS when a host is deeper than Universal SSL covers.
    async fn list(&self, scope: &Scope) -> Result<Vec<Live>> {
        let zones: Vec<String> = scope.zones.iter().map(|z| records::name(z)).collect();
        let names: BTreeSet<String> = scope.names.iter().map(|n| records::name(n)).collect();
        match scope.kind {
            Kind::Record => self.list_records(&zones, &names).await,
            Kind::ConfigRule => self.list_rules(&zones, &names).await,
            Kind::EdgeCertificate => self.list_certificates(&zones, &names).await,
            other => Err(unsupported(other, "list")),
        }
    }

    async fn create(&self, desired: &Desired, _token: &IdempotencyToken) -> Result<Live> {
        match desired.kind() {
            Kind::Record => self.create_record(desired).await,
            Kind::ConfigRule => self.create_rule(desired).await,
            Kind::EdgeCertificate => self.create_certificate(desired).await,
            other => Err(unsupported(other, "create")),
        }
    }

    async fn update(&self, live: &Live, desired: &Desired) -> Result<Live> {
        match desired.kind() {
            Kind::Record => self.update_record(live, desired).await,
            Kind::ConfigRule => self.update_rule(live, desired).await,
            Kind::EdgeCertificate => self.update_certificate(live, desired).await,
            other => Err(unsupported(other, "update")),
        }
    }

    async fn delete(&self, live: &Live) -> Result<Deletion> {
        match live.desired.kind() {
            Kind::Record => self.delete_record(live).await,
            Kind::ConfigRule => self.delete_rule(live).await,
            Kind::EdgeCertificate => self.delete_certificate(live).await,
            other => Err(unsupported(other, "delete")),
        }
    }

    /// Certificates are ready when active; records and rules as soon as they are written.
    async fn readiness(&self, live: &Live) -> Result<Readiness> {
        match live.desired.kind() {
            Kind::EdgeCertificate => self.certificate_readiness(live).await,
            _ => Ok(Readiness::Ready),
        }
    }
}

fn unsupported(kind: Kind, op: &'static str) -> ProviderError {
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
