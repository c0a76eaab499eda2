//! Edge certificates: the zone's Universal SSL certificate, which sslprov checks but never
//! creates or removes, and advanced certificate packs, which it orders for names Universal SSL
//! does not cover.

use std::collections::BTreeSet;

use serde_json::json;
use sslprov_provider::{
    Deletion, Desired, EdgeCertificateSource, EdgeCertificateSpec, ErrorKind, Live, Outputs, ProviderError, Readiness,
    Result,
};

use crate::endpoints::{self, CertificatePack};
use crate::records::name;
use crate::{Cloudflare, NAME};

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

fn spec_of(desired: &Desired, op: &'static str) -> Result<EdgeCertificateSpec> {
    match desired {
        Desired::EdgeCertificate(s) => Ok(EdgeCertificateSpec {
            zone: name(&s.zone),
            hosts: s.hosts.iter().map(|h| name(h)).collect(),
            source: s.source,
        }),
        other => Err(ProviderError::new(
            ErrorKind::InvalidRequest,
            NAME,
            op,
            format!("not an edge certificate: {}", other.kind()),
        )),
    }
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
        let mut found = Vec::new();
        for zone in zones {
            let zone_id = self.zone_id(zone).await?;
            let names: BTreeSet<String> = hosts.iter().map(|h| name(h)).filter(|h| in_zone(zone, h)).collect();
            let universal = self.api.send(&endpoints::universal_ssl(&zone_id)).await?.result.enabled;
            let packs = self.api.send(&endpoints::certificate_packs(&zone_id)).await?.result.0;
            let mut warnings = Vec::new();
            if names.iter().any(|h| !universal_covers(zone, h)) && self.total_tls(&zone_id).await? {
                warnings.push(format!(
                    "Total TLS is on for {zone}: Cloudflare issues a certificate for every proxied host itself, \
                     deeper names included"
                ));
            }
            let outputs = |status: &str| Outputs {
                status: Some(status.to_owned()),
                zone_id: Some(zone_id.clone()),
                warnings: warnings.clone(),
                ..Outputs::default()
            };
            if universal {
                let status = packs.iter().find(|p| p.kind == "universal").map_or("no certificate yet", |p| &p.status);
                let covered: Vec<BTreeSet<String>> = if names.is_empty() {
                    vec![[zone.clone(), format!("*.{zone}")].into()]
                } else {
                    names.iter().filter(|h| universal_covers(zone, h)).map(|h| [h.clone()].into()).collect()
                };
                for hosts in covered {
                    let desired =
                        EdgeCertificateSpec { zone: zone.clone(), hosts, source: EdgeCertificateSource::Universal };
                    found.push(Live {
                        id: universal_id(&zone_id),
                        desired: Desired::EdgeCertificate(desired),
                        outputs: outputs(status),
                    });
                }
            }
            for pack in packs.iter().filter(|p| p.kind == PACK_TYPE && !GONE.contains(&p.status.as_str())) {
                let pack_hosts = hosts_of(pack);
                if names.is_empty() || !pack_hosts.is_disjoint(&names) {
                    let desired = EdgeCertificateSpec {
                        zone: zone.clone(),
                        hosts: pack_hosts,
                        source: EdgeCertificateSource::Advanced,
                    };
                    found.push(Live {
                        id: pack.id.clone(),
                        desired: Desired::EdgeCertificate(desired),
                        outputs: outputs(&pack.status),
                    });
                }
            }
        }
        Ok(found)
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
        let spec = spec_of(desired, "create")?;
        if spec.source == EdgeCertificateSource::Universal {
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
        Ok(Live {
            id: pack.id.clone(),
            desired: Desired::EdgeCertificate(EdgeCertificateSpec { hosts: hosts_of(&pack), ..spec }),
            outputs: Outputs { status: Some(pack.status), zone_id: Some(zone_id), ..Outputs::default() },
        })
    }

    /// Universal SSL: nothing to change while it covers the hosts. A pack's hosts cannot change.
    pub(crate) async fn update_certificate(&self, live: &Live, desired: &Desired) -> Result<Live> {
        let (old, new) = (spec_of(&live.desired, "update")?, spec_of(desired, "update")?);
        match (old.source, new.source) {
            _ if old == new => Ok(live.clone()),
            (EdgeCertificateSource::Universal, EdgeCertificateSource::Universal)
                if old.zone == new.zone && new.hosts.iter().all(|h| universal_covers(&new.zone, h)) =>
            {
                Ok(Live { desired: Desired::EdgeCertificate(new), ..live.clone() })
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
        if spec.source == EdgeCertificateSource::Universal {
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

    /// One read: the pack (advanced), or the zone's packs (Universal, which has no id of its own).
    pub(crate) async fn certificate_readiness(&self, live: &Live) -> Result<Readiness> {
        let spec = spec_of(&live.desired, "readiness")?;
        let zone_id = self.zone_id_of(live, &spec.zone).await?;
        if spec.source == EdgeCertificateSource::Universal {
            let packs = self.api.send(&endpoints::certificate_packs(&zone_id)).await?.result.0;
            return Ok(match packs.iter().find(|p| p.kind == "universal") {
                Some(p) => readiness(&p.status),
                None => Readiness::Pending { detail: "no Universal SSL certificate yet".into() },
            });
        }
        match self.api.send(&endpoints::certificate_pack(&zone_id, &live.id)).await {
            Ok(answer) => Ok(readiness(&answer.result.status)),
            Err(e) if e.is(ErrorKind::NotFound) => {
                Ok(Readiness::Failed { reason: format!("certificate pack {} no longer exists", live.id) })
            }
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
