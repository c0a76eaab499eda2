//! Edge certificates: the zone's Universal SSL certificate, which sslprov checks but never
//! creates or removes, and advanced certificate packs, which it orders for names Universal SSL
//! does not cover.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sslprov_provider::{Deletion, Desired, ErrorKind, Live, Outputs, ProviderError, Readiness, Result};

use crate::endpoints::{self, CertificatePack};
use crate::records::name;
use crate::{Cloudflare, EDGE_CERTIFICATE, NAME};

/// The certificate Cloudflare serves for hosts at its edge. Kind `edge_certificate`.
///
/// A template asks for `{zone, hosts}` (and `advanced_allowed` when the spec allows a paid
/// pack); [`normalise`] decides the source: the zone's Universal SSL certificate when it covers
/// every host, else an advanced pack for the hosts and the zone apex (as Cloudflare requires).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeCertificateSpec {
    pub zone: String,
    pub hosts: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<EdgeCertificateSource>,
    /// Asked only: an advanced pack (Cloudflare's Advanced Certificate Manager, a paid add-on)
    /// may be ordered for names Universal SSL does not cover.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub advanced_allowed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeCertificateSource {
    /// The zone's Universal SSL certificate: apex and first-level names only. Never created or
    /// deleted by sslprov; `list` reports it when it is enabled and covers the hosts.
    Universal,
    /// An advanced certificate pack, ordered for the hosts.
    Advanced,
}

/// Checks `desired` and decides its source; see [`EdgeCertificateSpec`].
pub(crate) fn normalise(desired: &Desired) -> Result<Desired> {
    let spec = spec_of(desired, "normalise")?;
    let deep: Vec<&str> = spec.hosts.iter().filter(|h| !universal_covers(&spec.zone, h)).map(String::as_str).collect();
    let source = match (spec.source, deep.first()) {
        (Some(source), _) => source,
        (None, None) => EdgeCertificateSource::Universal,
        (None, Some(_)) if spec.advanced_allowed => EdgeCertificateSource::Advanced,
        (None, Some(host)) => {
            let zone = &spec.zone;
            return Err(ProviderError::new(
                ErrorKind::Unsupported,
                NAME,
                "normalise",
                format!(
                    "{host} is more than one level below {zone}, and Cloudflare's Universal SSL certificate covers \
                     only {zone} and its first-level names. Either set `advanced_certificate: true` on the domain, so \
                     sslprov orders an advanced certificate pack for it (Cloudflare's Advanced Certificate Manager, a \
                     paid add-on), or use a first-level name such as url1234.{zone}."
                ),
            ));
        }
    };
    let mut hosts = spec.hosts;
    if source == EdgeCertificateSource::Advanced {
        hosts.insert(spec.zone.clone());
    }
    let spec = EdgeCertificateSpec { zone: spec.zone, hosts, source: Some(source), advanced_allowed: false };
    Ok(Desired::of(EDGE_CERTIFICATE, &spec))
}

fn certificate(id: &str, spec: EdgeCertificateSpec, outputs: Outputs, status: &str) -> Live {
    Live {
        id: id.to_owned(),
        desired: Desired::of(EDGE_CERTIFICATE, &spec),
        outputs: outputs.with("status", status),
        readiness: readiness(status),
        marked: false,
    }
}

/// Cloudflare requires an advanced pack's hosts to include the zone apex, and allows 50.
const MAX_HOSTS: usize = 50;
const PACK_TYPE: &str = "advanced";
/// TXT: Cloudflare adds the validation records itself in a zone whose DNS it hosts, and TXT works
/// before the tracking record is proxied. HTTP validation would need the host already proxied
/// and served, which sslprov does only once the certificate is ready.
const VALIDATION_METHOD: &str = "txt";
/// Let's Encrypt issues for 90 days at most; Cloudflare renews the pack itself before it expires.
const VALIDITY_DAYS: u32 = 90;
/// Let's Encrypt: offered wherever Advanced Certificate Manager is, with no extra terms.
const CERTIFICATE_AUTHORITY: &str = "lets_encrypt";

/// Statuses after which a pack will not become active without being ordered again.
const FAILED: &[&str] = &[
    "initializing_timed_out",
    "validation_timed_out",
    "issuance_timed_out",
    "deployment_timed_out",
    "deletion_timed_out",
    "expired",
    "deleted",
    "pending_deletion",
    "deactivating",
    "inactive",
];
/// Statuses of a pack that is gone or going: `list` does not report it.
const GONE: &[&str] = &["deleted", "pending_deletion"];

/// Whether a pack in `status` will never serve: the engine orders a new one.
pub fn pack_failed(status: &str) -> bool {
    FAILED.contains(&status)
}

/// Whether the zone's Universal SSL certificate (`zone` and `*.zone`) covers `host`: the apex
/// and first-level names only. `url1234.acme.com` yes, `url1234.email.acme.com` no.
pub fn universal_covers(zone: &str, host: &str) -> bool {
    let (zone, host) = (name(zone), name(host));
    host == zone
        || host
            .strip_suffix(&zone)
            .and_then(|h| h.strip_suffix('.'))
            .is_some_and(|label| !label.is_empty() && !label.contains('.'))
}

/// How far a pack in `status` is from serving.
pub(crate) fn readiness(status: &str) -> Readiness {
    match status {
        // Still served while Cloudflare renews it.
        "active" | "pending_expiration" => Readiness::Ready,
        s if FAILED.contains(&s) => Readiness::Failed { reason: format!("the certificate pack is {s}") },
        s => Readiness::Pending { detail: s.to_owned() },
    }
}

fn universal_id(zone_id: &str) -> String {
    format!("universal:{zone_id}")
}

fn hosts_of(pack: &CertificatePack) -> BTreeSet<String> {
    pack.hosts.iter().map(|h| name(h)).collect()
}

fn in_zone(zone: &str, host: &str) -> bool {
    host == zone || host.ends_with(&format!(".{zone}"))
}

pub(crate) fn spec_of(desired: &Desired, op: &'static str) -> Result<EdgeCertificateSpec> {
    if desired.kind != EDGE_CERTIFICATE {
        let message = format!("not an edge certificate: {}", desired.kind);
        return Err(ProviderError::new(ErrorKind::InvalidRequest, NAME, op, message));
    }
    let s: EdgeCertificateSpec = desired.parse(NAME, op)?;
    Ok(EdgeCertificateSpec { zone: name(&s.zone), hosts: s.hosts.iter().map(|h| name(h)).collect(), ..s })
}

fn source(spec: &EdgeCertificateSpec) -> EdgeCertificateSource {
    spec.source.unwrap_or(EdgeCertificateSource::Universal)
}

fn unsupported_universal(spec: &EdgeCertificateSpec) -> ProviderError {
    let deep: Vec<&str> = spec.hosts.iter().filter(|h| !universal_covers(&spec.zone, h)).map(String::as_str).collect();
    let message = if deep.is_empty() {
        format!(
            "Universal SSL is Cloudflare's own certificate for {zone}; sslprov does not create it. \
             Turn Universal SSL on for {zone} (SSL/TLS → Edge Certificates) and plan again",
            zone = spec.zone
        )
    } else {
        format!(
            "Universal SSL covers only {zone} and its first-level names, not {}; \
             these need an advanced certificate pack",
            deep.join(", "),
            zone = spec.zone
        )
    };
    ProviderError::new(ErrorKind::Unsupported, NAME, "create", message)
}

impl Cloudflare {
    /// Per zone: Universal SSL's setting and every certificate pack (two requests), and Total TLS
    /// (a third) only when a host in scope is deeper than Universal SSL covers.
    pub(crate) async fn list_certificates(&self, zones: &[String], hosts: &BTreeSet<String>) -> Result<Vec<Live>> {
        let warn = |w: &Vec<String>| (!w.is_empty()).then(|| w.clone());
        let mut found = Vec::new();
        for zone in zones {
            let zone_id = self.zone_id(zone).await?;
            let names: BTreeSet<String> = hosts.iter().map(|h| name(h)).filter(|h| in_zone(zone, h)).collect();
            let universal = self.universal_ssl(&zone_id, false).await?;
            let packs = self.api.send(&endpoints::certificate_packs(&zone_id)).await?.result.0;
            let mut warnings = Vec::new();
            if names.iter().any(|h| !universal_covers(zone, h)) && self.total_tls(&zone_id).await? {
                warnings.push(format!(
                    "Total TLS is on for {zone}: Cloudflare issues a certificate for every proxied host itself, \
                     deeper names included"
                ));
            }
            let outputs = || Outputs::default().with("zone_id", &zone_id).with("warnings", warn(&warnings));
            if universal {
                let status = packs.iter().find(|p| p.kind == "universal").map_or("no certificate yet", |p| &p.status);
                let covered: Vec<BTreeSet<String>> = if names.is_empty() {
                    vec![[zone.clone(), format!("*.{zone}")].into()]
                } else {
                    names.iter().filter(|h| universal_covers(zone, h)).map(|h| [h.clone()].into()).collect()
                };
                for hosts in covered {
                    let source = Some(EdgeCertificateSource::Universal);
                    let desired = EdgeCertificateSpec { zone: zone.clone(), hosts, source, advanced_allowed: false };
                    found.push(certificate(&universal_id(&zone_id), desired, outputs(), status));
                }
            }
            for pack in packs.iter().filter(|p| p.kind == PACK_TYPE && !GONE.contains(&p.status.as_str())) {
                let pack_hosts = hosts_of(pack);
                if names.is_empty() || !pack_hosts.is_disjoint(&names) {
                    let desired = EdgeCertificateSpec {
                        zone: zone.clone(),
                        hosts: pack_hosts,
                        source: Some(EdgeCertificateSource::Advanced),
                        advanced_allowed: false,
                    };
                    found.push(certificate(&pack.id, desired, outputs(), &pack.status));
                }
            }
        }
        Ok(found)
    }

    /// Whether Universal SSL is on (as the token check just read it, when it did).
    pub(crate) async fn universal_ssl(&self, zone_id: &str, keep: bool) -> Result<bool> {
        self.read_shared(zone_id, "universal_ssl", keep, || async {
            Ok(self.api.send(&endpoints::universal_ssl(zone_id)).await?.result.enabled)
        })
        .await
    }

    async fn total_tls(&self, zone_id: &str) -> Result<bool> {
        match self.api.send(&endpoints::total_tls(zone_id)).await {
            Ok(answer) => Ok(answer.result.enabled),
            // Without Advanced Certificate Manager there is no Total TLS to read.
            Err(e) if e.is(ErrorKind::Unsupported) || e.is(ErrorKind::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Orders an advanced pack, unless one for exactly these hosts is already on its way (an
    /// earlier attempt whose answer was lost: Cloudflare's order takes no idempotency token).
    pub(crate) async fn create_certificate(&self, desired: &Desired) -> Result<Live> {
        let spec = spec_of(&normalise(desired)?, "create")?;
        if source(&spec) == EdgeCertificateSource::Universal {
            return Err(unsupported_universal(&spec));
        }
        let invalid = |m: String| ProviderError::new(ErrorKind::InvalidRequest, NAME, "create", m);
        if !spec.hosts.contains(&spec.zone) {
            return Err(invalid(format!(
                "an advanced certificate pack's hosts must include the zone apex {}",
                spec.zone
            )));
        }
        if spec.hosts.len() > MAX_HOSTS {
            return Err(invalid(format!("{} hosts; a certificate pack holds at most {MAX_HOSTS}", spec.hosts.len())));
        }
        if let Some(outside) = spec.hosts.iter().find(|h| !in_zone(&spec.zone, h.trim_start_matches("*."))) {
            return Err(invalid(format!("{outside} is not in zone {}", spec.zone)));
        }
        let zone_id = self.zone_id(&spec.zone).await?;
        let packs = self.api.send(&endpoints::certificate_packs(&zone_id)).await?.result.0;
        let earlier = packs
            .into_iter()
            .find(|p| p.kind == PACK_TYPE && !FAILED.contains(&p.status.as_str()) && hosts_of(p) == spec.hosts);
        let pack = match earlier {
            Some(pack) => pack,
            None => {
                let order = json!({
                    "type": PACK_TYPE,
                    "hosts": spec.hosts,
                    "validation_method": VALIDATION_METHOD,
                    "validity_days": VALIDITY_DAYS,
                    "certificate_authority": CERTIFICATE_AUTHORITY,
                });
                self.api.send(&endpoints::order_certificate_pack(&zone_id, order)).await?.result
            }
        };
        let spec = EdgeCertificateSpec { hosts: hosts_of(&pack), ..spec };
        Ok(certificate(&pack.id, spec, Outputs::default().with("zone_id", zone_id), &pack.status))
    }

    /// Universal SSL: nothing to change while it covers the hosts. A pack's hosts cannot change.
    pub(crate) async fn update_certificate(&self, live: &Live, desired: &Desired) -> Result<Live> {
        let (old, new) = (spec_of(&live.desired, "update")?, spec_of(&normalise(desired)?, "update")?);
        match (source(&old), source(&new)) {
            _ if old == new => Ok(live.clone()),
            (EdgeCertificateSource::Universal, EdgeCertificateSource::Universal)
                if old.zone == new.zone && new.hosts.iter().all(|h| universal_covers(&new.zone, h)) =>
            {
                Ok(Live { desired: Desired::of(EDGE_CERTIFICATE, &new), ..live.clone() })
            }
            (_, EdgeCertificateSource::Universal) => Err(unsupported_universal(&new)),
            _ => Err(ProviderError::new(
                ErrorKind::InvalidRequest,
                NAME,
                "update",
                "a certificate pack's hosts cannot change; the engine replaces it",
            )),
        }
    }

    /// Deletes an advanced pack; Universal SSL is only let go of, never turned off.
    pub(crate) async fn delete_certificate(&self, live: &Live) -> Result<Deletion> {
        let spec = spec_of(&live.desired, "delete")?;
        if source(&spec) == EdgeCertificateSource::Universal {
            return Ok(Deletion::Done);
        }
        let zone_id = match self.zone_id_of(live, &spec.zone).await {
            Err(e) if e.is(ErrorKind::NotFound) => return Ok(Deletion::Done),
            other => other?,
        };
        match self.api.send(&endpoints::delete_certificate_pack(&zone_id, &live.id)).await {
            Ok(_) => Ok(Deletion::Done),
            Err(e) if e.is(ErrorKind::NotFound) => Ok(Deletion::Done),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn universal_ssl_covers_the_apex_and_first_level_names() {
        assert!(universal_covers("acme.com", "acme.com"));
        assert!(universal_covers("acme.com", "url1234.acme.com"));
        assert!(universal_covers("Acme.com.", "URL1234.acme.com."));
        assert!(universal_covers("acme.com", "*.acme.com"));
        assert!(!universal_covers("acme.com", "url1234.email.acme.com"));
        assert!(!universal_covers("acme.com", "*.email.acme.com"));
        assert!(!universal_covers("acme.com", "notacme.com"));
        assert!(!universal_covers("acme.com", "url1234.other.org"));
        assert!(!universal_covers("acme.com", ".acme.com"));
        assert!(universal_covers("acme.co.uk", "click.acme.co.uk"));
    }

    #[test]
    fn pack_statuses_map_to_readiness() {
        assert_eq!(readiness("active"), Readiness::Ready);
        assert_eq!(readiness("pending_validation"), Readiness::Pending { detail: "pending_validation".into() });
        assert_eq!(readiness("initializing"), Readiness::Pending { detail: "initializing".into() });
        assert!(matches!(readiness("validation_timed_out"), Readiness::Failed { .. }));
        assert!(matches!(readiness("expired"), Readiness::Failed { .. }));
    }
}
