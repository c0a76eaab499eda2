//! Certificate Manager v1 (location `global`): DNS authorizations, managed certificates, the
//! certificate map and its entries. sslprov's carry `description: "sslprov"` and ids derived from
//! what they are for.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sslprov_provider::{Desired, Live, Outputs, Readiness, Result};

use crate::NAME;
use crate::compute::MARK;
use crate::names::{last, resource_name, short_hash};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Certs {
    DnsAuthorization,
    Certificate,
    Map,
    MapEntry,
}

/// A DNS authorization for one tracking domain: the `_acme-challenge` CNAME it asks for lets the
/// certificate issue before the domain points at the load balancer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsAuthorizationSpec {
    pub domain: String,
}

/// A Google-managed certificate for one domain, authorised by DNS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateSpec {
    pub domain: String,
    /// The DNS authorization's resource name.
    pub dns_authorization: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateMapSpec {
    pub name: String,
}

/// One hostname of the certificate map, served with one certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateMapEntrySpec {
    /// The map's id.
    pub map: String,
    pub hostname: String,
    /// The certificate's resource name.
    pub certificate: String,
}

fn host(h: &str) -> String {
    h.trim().trim_end_matches('.').to_ascii_lowercase()
}

impl Certs {
    pub fn of(kind: &str) -> Option<Certs> {
        Some(match kind {
            crate::DNS_AUTHORIZATION => Certs::DnsAuthorization,
            crate::CERTIFICATE => Certs::Certificate,
            crate::CERTIFICATE_MAP => Certs::Map,
            crate::CERTIFICATE_MAP_ENTRY => Certs::MapEntry,
            _ => return None,
        })
    }

    pub fn kind(self) -> &'static str {
        match self {
            Certs::DnsAuthorization => crate::DNS_AUTHORIZATION,
            Certs::Certificate => crate::CERTIFICATE,
            Certs::Map => crate::CERTIFICATE_MAP,
            Certs::MapEntry => crate::CERTIFICATE_MAP_ENTRY,
        }
    }

    /// The list field of the collection's answer, and the id parameter of a create.
    pub fn field(self) -> (&'static str, &'static str) {
        match self {
            Certs::DnsAuthorization => ("dnsAuthorizations", "dnsAuthorizationId"),
            Certs::Certificate => ("certificates", "certificateId"),
            Certs::Map => ("certificateMaps", "certificateMapId"),
            Certs::MapEntry => ("certificateMapEntries", "certificateMapEntryId"),
        }
    }

    /// Operation names for the call counts: create, list, get, delete, patch.
    pub fn ops(self) -> [&'static str; 5] {
        match self {
            Certs::DnsAuthorization => [
                "dnsAuthorizations.create",
                "dnsAuthorizations.list",
                "dnsAuthorizations.get",
                "dnsAuthorizations.delete",
                "dnsAuthorizations.patch",
            ],
            Certs::Certificate => [
                "certificates.create",
                "certificates.list",
                "certificates.get",
                "certificates.delete",
                "certificates.patch",
            ],
            Certs::Map => [
                "certificateMaps.create",
                "certificateMaps.list",
                "certificateMaps.get",
                "certificateMaps.delete",
                "certificateMaps.patch",
            ],
            Certs::MapEntry => [
                "certificateMapEntries.create",
                "certificateMapEntries.list",
                "certificateMapEntries.get",
                "certificateMapEntries.delete",
                "certificateMapEntries.patch",
            ],
        }
    }
}

pub(crate) fn normalise(c: Certs, d: &Desired, op: &'static str) -> Result<Desired> {
    let kind = c.kind();
    Ok(match c {
        Certs::DnsAuthorization => {
            let s: DnsAuthorizationSpec = d.parse(NAME, op)?;
            Desired::of(kind, &DnsAuthorizationSpec { domain: host(&s.domain) })
        }
        Certs::Certificate => {
            let s: CertificateSpec = d.parse(NAME, op)?;
            Desired::of(kind, &CertificateSpec { domain: host(&s.domain), ..s })
        }
        Certs::Map => Desired::of(kind, &d.parse::<CertificateMapSpec>(NAME, op)?),
        Certs::MapEntry => {
            let s: CertificateMapEntrySpec = d.parse(NAME, op)?;
            Desired::of(kind, &CertificateMapEntrySpec { hostname: host(&s.hostname), ..s })
        }
    })
}

/// The collection path (below `projects/{p}/locations/global/`) and the object's id. A
/// certificate's id also carries its create's token: one that failed is replaced by a new one
/// (as Certificate Manager asks) while the old one still exists, so the two need names of their
/// own; a retried create (same token) finds its first attempt by the name.
pub(crate) fn place(c: Certs, d: &Desired, token: &str) -> Option<(String, String)> {
    let (field, _) = c.field();
    Some(match c {
        Certs::DnsAuthorization => (field.to_owned(), resource_name("authz", d.str("domain")?)),
        Certs::Certificate => {
            let domain = d.str("domain")?;
            (field.to_owned(), resource_name("cert", &format!("{domain}-{}", short_hash(token))))
        }
        Certs::Map => (field.to_owned(), d.str("name")?.to_owned()),
        Certs::MapEntry => {
            (format!("certificateMaps/{}/{field}", d.str("map")?), resource_name("entry", d.str("hostname")?))
        }
    })
}

pub(crate) fn body(c: Certs, d: &Desired, op: &'static str) -> Result<Value> {
    Ok(match c {
        Certs::DnsAuthorization => {
            let s: DnsAuthorizationSpec = d.parse(NAME, op)?;
            json!({"domain": s.domain, "type": "FIXED_RECORD", "description": MARK})
        }
        Certs::Certificate => {
            let s: CertificateSpec = d.parse(NAME, op)?;
            json!({"description": MARK, "managed": {"domains": [s.domain], "dnsAuthorizations": [s.dns_authorization]}})
        }
        Certs::Map => json!({"description": MARK}),
        Certs::MapEntry => {
            let s: CertificateMapEntrySpec = d.parse(NAME, op)?;
            json!({"description": MARK, "hostname": s.hostname, "certificates": [s.certificate]})
        }
    })
}

fn readiness(c: Certs, item: &Value) -> (Readiness, Option<String>) {
    match c {
        Certs::Certificate => {
            let managed = &item["managed"];
            let state = managed["state"].as_str().unwrap_or("STATE_UNSPECIFIED").to_owned();
            let r = match state.as_str() {
                "ACTIVE" => Readiness::Ready,
                "FAILED" => {
                    let attempt = managed["authorizationAttemptInfo"].get(0);
                    let why = managed["provisioningIssue"]["details"]
                        .as_str()
                        .or_else(|| attempt.and_then(|a| a["details"].as_str()))
                        .or_else(|| attempt.and_then(|a| a["failureReason"].as_str()))
                        .unwrap_or("no reason given");
                    Readiness::Failed {
                        reason: format!(
                            "Certificate Manager gave up issuing the certificate for {} ({why}): check that the \
                             _acme-challenge CNAME of its DNS authorization is published at the domain's DNS host and \
                             no CAA record forbids Google's CAs (pki.goog); sslprov makes a new certificate",
                            managed["domains"][0].as_str().unwrap_or("the domain")
                        ),
                    }
                }
                _ => Readiness::Pending {
                    detail: format!("{state}: Certificate Manager is checking the _acme-challenge CNAME"),
                },
            };
            (r, Some(state))
        }
        Certs::MapEntry => {
            let state = item["state"].as_str().unwrap_or("PENDING").to_owned();
            let r = if state == "ACTIVE" {
                Readiness::Ready
            } else {
                Readiness::Pending { detail: format!("{state}: the map entry is being served") }
            };
            (r, Some(state))
        }
        _ => (Readiness::Ready, None),
    }
}

/// A listed object as the engine sees it; `None` for one not in sslprov's shape.
pub(crate) fn live(c: Certs, item: &Value) -> Option<Live> {
    let name = item["name"].as_str()?.to_owned();
    let s = |f: &str| item[f].as_str().map(str::to_owned);
    let desired = match c {
        Certs::DnsAuthorization => Desired::of(c.kind(), &DnsAuthorizationSpec { domain: s("domain")? }),
        Certs::Certificate => Desired::of(
            c.kind(),
            &CertificateSpec {
                domain: item["managed"]["domains"][0].as_str()?.to_owned(),
                dns_authorization: item["managed"]["dnsAuthorizations"][0].as_str().unwrap_or_default().to_owned(),
            },
        ),
        Certs::Map => Desired::of(c.kind(), &CertificateMapSpec { name: last(&name).to_owned() }),
        Certs::MapEntry => {
            let map = name.split("/certificateMaps/").nth(1)?.split('/').next()?.to_owned();
            Desired::of(
                c.kind(),
                &CertificateMapEntrySpec {
                    map,
                    hostname: s("hostname")?,
                    certificate: item["certificates"][0].as_str().unwrap_or_default().to_owned(),
                },
            )
        }
    };
    let (readiness, status) = readiness(c, item);
    let mut outputs = Outputs::default().with("name", &name).with("id", last(&name)).with("status", status);
    if c == Certs::DnsAuthorization {
        let r = &item["dnsResourceRecord"];
        outputs.set(
            "record",
            json!({
                "name": r["name"].as_str().map(host),
                "type": r["type"],
                "values": [r["data"].as_str().map(host)],
            }),
        );
    }
    Some(Live { id: name, desired, outputs, readiness, marked: item["description"] == MARK })
}
