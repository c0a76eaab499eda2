//! The engine's view of KeyCDN: `zone` (a pull zone, found by its name) and `zonealias` (found
//! by its host name; sslprov's when it points at one of sslprov's zones).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value};
use sslprov_acme::Sealer;
use sslprov_provider::connect;
use sslprov_provider::{
    Budget, Deletion, Desired, ErrorKind, IdempotencyToken, KindInfo, Live, Outputs, Provider, ProviderError,
    ProviderInfo, Rate, Readiness, Registration, Result, Review, Scope, Wanted,
};

use crate::api::{Api, Method, Request, Retry};
use crate::known::Known;
use crate::spec::{AliasSpec, EspZone, ZoneSpec};
use crate::{KeycdnConfig, NAME};

pub const ZONE: &str = "zone";
pub const ZONE_ALIAS: &str = "zonealias";
/// How sslprov's zone names begin: its mark.
const MARK: &str = "sslp";

pub static INFO: ProviderInfo = ProviderInfo {
    name: NAME,
    title: "KeyCDN",
    kinds: &[
        // A zone's tracking domain is its identity (its name and URL are derived from it): another
        // domain is another zone. Everything else, the certificate included, is edited in place.
        // KeyCDN shows no deployment status to wait for.
        KindInfo {
            name: ZONE,
            replace_on: &["domain"],
            adoptable: false,
            becomes_ready: false,
            repair_in_place: false,
        },
        // An alias moves between zones in place; one sslprov did not make is never taken over.
        KindInfo { name: ZONE_ALIAS, replace_on: &[], adoptable: false, becomes_ready: false, repair_in_place: false },
    ],
    // Recorded: a bucket of 60 (`X-Rate-Limit-Limit`), refilled within moments. 50 a minute with
    // bursts of 10 stays inside it whatever its window is; the API's own remainder holds the rest.
    budget: Rate { requests: 50, per_seconds: 60, burst: 10 },
    op_budgets: &[],
    batches_writes: false,
};

pub static REGISTRATION: Registration = Registration {
    info: &INFO,
    connect: |cx| {
        Box::pin(async move {
            let config = KeycdnConfig::from_env()?;
            let sealer = Sealer::from_env()?;
            connect::reachable(NAME, &config.base_url, "KEYCDN_API_BASE_URL").await?;
            let keycdn = Keycdn::new(config, sealer, Budget::for_provider(&INFO, cx.calls.clone()))?;
            Ok(Arc::new(keycdn) as Arc<dyn Provider>)
        })
    },
};

/// The zone name for a tracking domain: `sslp` and the first 12 hex digits of its SHA-256. Zone
/// names are at most 20 alphanumeric characters (exkeycdn) and become part of the zone URL; a
/// tracking domain does not fit, and this is stable, unique in practice, and marks the zone as
/// sslprov's.
pub fn zone_name(domain: &str) -> String {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, domain.as_bytes());
    let hex: String = digest.as_ref().iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{MARK}{hex}")
}

fn ours(name: &str) -> bool {
    name.len() == MARK.len() + 12
        && name.starts_with(MARK)
        && name[MARK.len()..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// SHA-256 of the first certificate of a PEM chain: two PEM texts of one certificate compare
/// equal, whatever KeyCDN does to line breaks.
fn fingerprint(pem: &str) -> Option<Vec<u8>> {
    let begin = "-----BEGIN CERTIFICATE-----";
    let start = pem.find(begin)? + begin.len();
    let stop = start + pem[start..].find("-----END CERTIFICATE-----")?;
    let b64: String = pem[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    Some(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &der).as_ref().to_vec())
}

/// The KeyCDN client.
#[derive(Debug)]
pub struct Keycdn {
    api: Api,
    sealer: Sealer,
    account_id: u64,
    zones: Known,
    aliases: Known,
}

#[derive(Deserialize)]
struct Zones {
    zones: Vec<Map<String, Value>>,
}

#[derive(Deserialize)]
struct OneZone {
    zone: Map<String, Value>,
}

#[derive(Deserialize)]
struct Aliases {
    zonealiases: Vec<Map<String, Value>>,
}

#[derive(Deserialize)]
struct OneAlias {
    zonealias: Map<String, Value>,
}

fn text(m: &Map<String, Value>, f: &str) -> String {
    match m.get(f) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn gone_is_done(r: Result<Value>) -> Result<Deletion> {
    match r {
        Ok(_) => Ok(Deletion::Done),
        // KeyCDN answers 403 for what does not exist (a zone deleted already).
        Err(e) if matches!(e.kind, ErrorKind::PermissionDenied | ErrorKind::NotFound) => Ok(Deletion::Done),
        Err(e) => Err(e),
    }
}

impl Keycdn {
    pub fn new(config: KeycdnConfig, sealer: Sealer, budget: Budget) -> Result<Keycdn> {
        Ok(Keycdn {
            api: Api::new(&config.base_url, &config.api_key, budget)?,
            sealer,
            account_id: config.account_id,
            zones: Known::default(),
            aliases: Known::default(),
        })
    }

    /// How failed requests are retried (tests make it fast).
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.api.set_retry(retry);
        self
    }

    pub fn base_url(&self) -> &str {
        self.api.base_url()
    }

    /// `<name>-<hex user id>.kxcdn.com`: where the tracking CNAME points.
    pub fn zone_url(&self, name: &str) -> String {
        format!("{name}-{:x}.kxcdn.com", self.account_id)
    }

    async fn list_zones(&self) -> Result<Vec<Map<String, Value>>> {
        Ok(self.api.data::<Zones>(&Request::get("ListZones", "/zones.json")).await?.zones)
    }

    async fn list_aliases(&self) -> Result<Vec<Map<String, Value>>> {
        Ok(self.api.data::<Aliases>(&Request::get("ListZoneAliases", "/zonealiases.json")).await?.zonealiases)
    }

    /// Sends a write whose answer is one object, and keeps what it says in `known`.
    async fn write<T: serde::de::DeserializeOwned>(
        &self,
        known: &Known,
        request: &Request<'_>,
        object: impl FnOnce(T) -> Map<String, Value>,
    ) -> Result<Map<String, Value>> {
        match self.api.data::<T>(request).await {
            Ok(answer) => {
                let o = object(answer);
                known.wrote(&o);
                Ok(o)
            }
            Err(e) => {
                known.doubt();
                Err(e)
            }
        }
    }

    /// A zone as the engine sees it. What is known of the wanted zone of its name (`wanted`)
    /// decides how the custom certificate shows: KeyCDN's copy of the wanted certificate shows as
    /// the wanted spec (sealed key included), any other as what it is.
    fn zone_live(&self, z: &Map<String, Value>, wanted: Option<&Map<String, Value>>) -> Live {
        let name = text(z, "name");
        let sslcert = text(z, "sslcert");
        let live_cert = z.get("customsslcert").and_then(Value::as_str).filter(|_| sslcert == "custom");
        let want_cert = wanted.and_then(|w| w.get("customsslcert")).and_then(Value::as_str);
        let (customsslcert, customsslkey) = match (live_cert, want_cert) {
            (Some(l), Some(w)) if fingerprint(l).is_some() && fingerprint(l) == fingerprint(w) => (
                Some(w.to_owned()),
                wanted.and_then(|w| w.get("customsslkey")).and_then(Value::as_str).map(str::to_owned),
            ),
            (Some(l), _) => (Some(l.to_owned()), Some("(the key of a certificate sslprov did not order)".to_owned())),
            (None, _) => (None, None),
        };
        // The domain is not in KeyCDN's answer: it is the wanted zone's of this name (the name is
        // derived from it), or unknown for a zone nothing wants.
        let domain = wanted.and_then(|w| w.get("domain")).and_then(Value::as_str).unwrap_or_default();
        let spec = ZoneSpec {
            domain: domain.trim_end_matches('.').to_ascii_lowercase(),
            esp: EspZone { cachehostheader: text(z, "cachehostheader") },
            zone_type: text(z, "type"),
            originurl: text(z, "originurl"),
            cacheignorequerystring: text(z, "cacheignorequerystring"),
            cacheignorecachecontrol: text(z, "cacheignorecachecontrol"),
            cachemaxexpire: text(z, "cachemaxexpire"),
            expire: text(z, "expire"),
            cachecookies: text(z, "cachecookies"),
            cachekeyhost: text(z, "cachekeyhost"),
            forcessl: text(z, "forcessl"),
            sslcert,
            customsslcert,
            customsslkey,
        };
        Live {
            id: text(z, "id"),
            marked: ours(&name),
            desired: Desired::of(ZONE, &spec),
            outputs: Outputs::default()
                .with("id", text(z, "id"))
                .with("name", &name)
                .with("url", self.zone_url(&name))
                .with("status", text(z, "status")),
            readiness: Readiness::Ready,
        }
    }

    fn alias_live(a: &Map<String, Value>, our_zones: &BTreeSet<String>) -> Live {
        let spec = AliasSpec { name: text(a, "name").to_ascii_lowercase(), zone_id: text(a, "zone_id") };
        Live {
            id: text(a, "id"),
            marked: our_zones.contains(&spec.zone_id),
            desired: Desired::of(ZONE_ALIAS, &spec),
            outputs: Outputs::default().with("id", text(a, "id")),
            readiness: Readiness::Ready,
        }
    }

    /// The form of a zone, its sealed key opened (the clear key lives only in this request).
    fn zone_form(&self, spec: &ZoneSpec, op: &'static str) -> Result<Vec<(&'static str, String)>> {
        spec.form(|sealed| {
            let der = self.sealer.open(sealed).map_err(|e| {
                ProviderError::new(
                    e.kind,
                    NAME,
                    op,
                    format!("the certificate's private key cannot be opened: {}", e.message),
                )
            })?;
            Ok(sslprov_acme::sealed::pkcs8_pem(&der))
        })
    }

    async fn edit_zone(&self, id: &str, spec: &ZoneSpec) -> Result<Live> {
        let form = self.zone_form(spec, "EditZone")?;
        let request = Request { op: "EditZone", method: Method::Put, path: format!("/zones/{id}.json"), form };
        let zone = self.write(&self.zones, &request, |z: OneZone| z.zone).await?;
        Ok(self.zone_live(&zone, Some(&Desired::of(ZONE, spec).spec)))
    }

    /// Adds the zone, or finishes what an earlier attempt made under its name.
    pub async fn create_zone(&self, spec: &ZoneSpec) -> Result<Live> {
        let name = spec.name();
        if let Some(existing) = self.zones.known(self.list_zones()).await?.into_iter().find(|z| text(z, "name") == name)
        {
            return self.edit_zone(&text(&existing, "id"), spec).await;
        }
        let form = self.zone_form(spec, "AddZone")?;
        let request = Request { op: "AddZone", method: Method::Post, path: "/zones.json".into(), form };
        let zone = self.write(&self.zones, &request, |z: OneZone| z.zone).await?;
        Ok(self.zone_live(&zone, Some(&Desired::of(ZONE, spec).spec)))
    }

    async fn edit_alias(&self, id: &str, spec: &AliasSpec, ours: &BTreeSet<String>) -> Result<Live> {
        let form = vec![("name", spec.name.clone()), ("zone_id", spec.zone_id.clone())];
        let request =
            Request { op: "EditZoneAlias", method: Method::Put, path: format!("/zonealiases/{id}.json"), form };
        Ok(Self::alias_live(&self.write(&self.aliases, &request, |a: OneAlias| a.zonealias).await?, ours))
    }

    async fn our_zone_ids(&self) -> Result<BTreeSet<String>> {
        Ok(self
            .zones
            .known(self.list_zones())
            .await?
            .iter()
            .filter(|z| ours(&text(z, "name")))
            .map(|z| text(z, "id"))
            .collect())
    }

    /// Adds the alias, or moves the one an earlier attempt made.
    pub async fn create_alias(&self, spec: &AliasSpec) -> Result<Live> {
        let ours = self.our_zone_ids().await?;
        if let Some(existing) = self
            .aliases
            .known(self.list_aliases())
            .await?
            .into_iter()
            .find(|a| text(a, "name").eq_ignore_ascii_case(&spec.name))
        {
            if text(&existing, "zone_id") == spec.zone_id {
                return Ok(Self::alias_live(&existing, &ours));
            }
            return self.edit_alias(&text(&existing, "id"), spec, &ours).await;
        }
        let form = vec![("zone_id", spec.zone_id.clone()), ("name", spec.name.clone())];
        let request = Request { op: "AddZoneAlias", method: Method::Post, path: "/zonealiases.json".into(), form };
        Ok(Self::alias_live(&self.write(&self.aliases, &request, |a: OneAlias| a.zonealias).await?, &ours))
    }

    /// The key's check: list the zones ("Listed the zone to check if API key works").
    pub async fn check_key(&self) -> Result<()> {
        self.zones.list(self.list_zones()).await.map(|_| ())
    }
}

/// The names the wanted objects give, or `None` when one of them does not know its name yet.
fn wanted_names(scope: &Scope, p: &Keycdn) -> Option<BTreeMap<String, Map<String, Value>>> {
    scope.wanted.iter().map(|d| p.key(d).map(|k| (k, d.spec.clone()))).collect()
}

#[async_trait]
impl Provider for Keycdn {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    fn normalise(&self, desired: &Desired) -> Result<Desired> {
        match desired.kind.as_str() {
            ZONE => Ok(Desired::of(ZONE, &ZoneSpec::from_desired(desired, "normalise")?)),
            ZONE_ALIAS => Ok(Desired::of(ZONE_ALIAS, &AliasSpec::from_desired(desired, "normalise")?)),
            other => {
                Err(ProviderError::new(ErrorKind::Unsupported, NAME, "normalise", format!("KeyCDN holds no {other}")))
            }
        }
    }

    fn key(&self, desired: &Desired) -> Option<String> {
        match desired.kind.as_str() {
            ZONE => desired.str("domain").filter(|d| !d.is_empty()).map(zone_name),
            ZONE_ALIAS => desired.str("name").map(|n| n.trim_end_matches('.').to_ascii_lowercase()),
            _ => None,
        }
    }

    /// The API key works.
    async fn preflight(&self, wanted: &[Desired]) -> Result<Vec<String>> {
        if !wanted.is_empty() {
            self.check_key().await?;
        }
        Ok(Vec::new())
    }

    /// An ESP KeyCDN cannot serve is refused at plan time, before anything is ordered: its zone's
    /// spec is not complete until the certificate is issued, so `normalise` would say it too late.
    fn review(&self, wanted: &[Wanted<'_>], _inventory: &[Live]) -> Review {
        let mut review = Review::default();
        for w in wanted.iter().filter(|w| w.desired.kind == ZONE) {
            if let Some(why) = w.desired.get("esp").and_then(|e| e.get("unsupported")).and_then(Value::as_str) {
                review.errors.push(format!("{}: {why}", w.address));
            }
        }
        review
    }

    /// One list of the account's zones (and of its aliases): KeyCDN has no search.
    async fn list(&self, scope: &Scope) -> Result<Vec<Live>> {
        let wanted = wanted_names(scope, self);
        let keep = |name: &str| wanted.as_ref().is_none_or(|w| w.contains_key(name));
        match scope.kind.as_str() {
            ZONE => Ok(self
                .zones
                .list(self.list_zones())
                .await?
                .iter()
                .filter(|z| keep(&text(z, "name")))
                .map(|z| self.zone_live(z, wanted.as_ref().and_then(|w| w.get(&text(z, "name")))))
                .collect()),
            ZONE_ALIAS => {
                // Aliases first: whose zones they point at is then most often known already, from
                // the zone list of the same refresh.
                let aliases = self.aliases.list(self.list_aliases()).await?;
                let ours = self.our_zone_ids().await?;
                Ok(aliases
                    .iter()
                    .filter(|a| keep(&text(a, "name").to_ascii_lowercase()))
                    .map(|a| Self::alias_live(a, &ours))
                    .collect())
            }
            other => Err(ProviderError::new(ErrorKind::Unsupported, NAME, "list", format!("KeyCDN holds no {other}"))),
        }
    }

    /// No idempotency keys at KeyCDN: a create first looks for what an earlier attempt made (a
    /// zone by its name, an alias by its host name).
    async fn create(&self, desired: &Desired, _token: &IdempotencyToken) -> Result<Live> {
        match desired.kind.as_str() {
            ZONE => self.create_zone(&ZoneSpec::from_desired(desired, "create")?).await,
            _ => self.create_alias(&AliasSpec::from_desired(desired, "create")?).await,
        }
    }

    async fn update(&self, live: &Live, desired: &Desired) -> Result<Live> {
        match desired.kind.as_str() {
            ZONE => self.edit_zone(&live.id, &ZoneSpec::from_desired(desired, "update")?).await,
            _ => {
                let spec = AliasSpec::from_desired(desired, "update")?;
                let ours = self.our_zone_ids().await?;
                self.edit_alias(&live.id, &spec, &ours).await
            }
        }
    }

    async fn delete(&self, live: &Live) -> Result<Deletion> {
        let (op, path, known) = match live.desired.kind.as_str() {
            ZONE => ("DeleteZone", format!("/zones/{}.json", live.id), &self.zones),
            _ => ("DeleteZoneAlias", format!("/zonealiases/{}.json", live.id), &self.aliases),
        };
        let deleted =
            gone_is_done(self.api.send(&Request { op, method: Method::Delete, path, form: Vec::new() }).await);
        match &deleted {
            Ok(_) => known.deleted(&live.id),
            Err(_) => known.doubt(),
        }
        deleted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_names_fit_keycdn_and_carry_the_mark() {
        let n = zone_name("url1234.acme.com");
        assert_eq!(n.len(), 16);
        assert!(n.bytes().all(|b| b.is_ascii_alphanumeric()) && ours(&n), "{n}");
        assert_eq!(n, zone_name("URL1234.acme.com."));
        assert_ne!(n, zone_name("url1235.acme.com"));
        assert!(!ours("sendgrid") && !ours("sslpnothexxxxxxx"));
    }
}
