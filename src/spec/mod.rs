//! The user's spec: YAML in, validated domains out, every error pointing at file:line:column.

mod error;
mod locate;
mod raw;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use error::{SpecError, SpecErrors};

use crate::template::templates;

/// Braze data-centre region, which picks the ESP's regional origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    Us,
    Eu,
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Region::Us => "us",
            Region::Eu => "eu",
        })
    }
}

/// A validated spec.
#[derive(Clone, Debug)]
pub struct Spec {
    pub path: PathBuf,
    /// sha256 of the file's bytes: a saved plan is bound to it.
    pub hash: String,
    /// Where the state is, for messages and the plan: the local path, or `s3://bucket/key`.
    pub state_path: PathBuf,
    /// Where the state is, for the state store.
    pub state: crate::state::Location,
    pub domains: BTreeMap<String, Domain>,
}

/// One tracking domain, resolved: what templates see as `${domain.*}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Domain {
    pub key: String,
    pub tracking_domain: String,
    /// An ESP template's name.
    pub esp: String,
    pub braze_cluster: String,
    pub region: Region,
    /// A CDN template's name.
    pub cdn: String,
    /// The DNS host: a provider that holds DNS records.
    pub dns: String,
    pub zone: String,
    /// A CDN may order a paid certificate for a name its free one does not cover (only CDNs whose
    /// template lists this option).
    pub advanced_certificate: bool,
}

impl Spec {
    pub fn load(path: &Path) -> Result<Spec, SpecErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| SpecErrors::io(path, e))?;
        Spec::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Spec, SpecErrors> {
        use sha2::Digest;
        let raw = raw::parse(path, text)?;
        let locs = locate::Locations::index(text);
        let mut errors = Vec::new();
        let err = |field: &str, message: String, allowed: Option<&str>| {
            let (line, column) = locs.find(field);
            SpecError {
                file: path.to_path_buf(),
                line,
                column,
                field: field.to_owned(),
                message,
                allowed: allowed.map(str::to_owned),
            }
        };

        if raw.version != 1 {
            errors.push(err("version", format!("unsupported spec version {}", raw.version), Some("1")));
        }
        let default_cluster = match raw.braze_cluster.as_deref().map(parse_cluster) {
            Some(Ok(region)) => Some((raw.braze_cluster.clone().unwrap_or_default(), region)),
            Some(Err(m)) => {
                errors.push(err("braze_cluster", m, Some(CLUSTER_ALLOWED)));
                None
            }
            None => None,
        };
        // A bad top-level cluster is reported once, not again for every domain that inherits it.
        let cluster_reported = raw.braze_cluster.is_some() && default_cluster.is_none();
        let defaults = raw.defaults.unwrap_or_default();
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let mut domains = BTreeMap::new();
        if raw.domains.is_empty() {
            errors.push(err("domains", "no domains: the spec must list at least one".into(), None));
        }
        for (key, d) in raw.domains {
            let at = |f: &str| format!("domains.{key}.{f}");
            if !valid_key(&key) {
                errors.push(err(
                    &format!("domains.{key}"),
                    format!("invalid domain key `{key}`"),
                    Some("lower-case letters, digits, `-` and `_`, starting with a letter or digit"),
                ));
            }
            let tracking = d.tracking_domain.trim_end_matches('.').to_owned();
            if let Err(m) = check_dns_name(&tracking) {
                errors.push(err(
                    &at("tracking_domain"),
                    format!("invalid domain name `{}`: {m}", d.tracking_domain),
                    Some(DNS_ALLOWED),
                ));
                continue;
            }
            if tracking.split('.').count() < 3 {
                errors.push(err(
                    &at("tracking_domain"),
                    format!("`{tracking}` is a zone apex; a tracking domain is a subdomain such as url1234.{tracking}"),
                    None,
                ));
                continue;
            }
            if let Some(first) = seen.insert(tracking.clone(), key.clone()) {
                errors.push(err(
                    &at("tracking_domain"),
                    format!("tracking domain `{tracking}` is already used by domain `{first}`"),
                    Some("each tracking domain once"),
                ));
            }
            let zone = match &d.zone {
                Some(z) => z.trim_end_matches('.').to_owned(),
                None => tracking.split_once('.').map(|(_, rest)| rest.to_owned()).unwrap_or_default(),
            };
            if let Err(m) = check_dns_name(&zone) {
                errors.push(err(&at("zone"), format!("invalid zone name `{zone}`: {m}"), Some(DNS_ALLOWED)));
                continue;
            }
            if !tracking.ends_with(&format!(".{zone}")) {
                errors.push(err(
                    &at("zone"),
                    format!("tracking domain `{tracking}` is outside its zone `{zone}`"),
                    Some("a zone that is a parent of the tracking domain"),
                ));
                continue;
            }
            let (cluster, region) = match (&d.braze_cluster, &default_cluster) {
                (Some(c), _) => match parse_cluster(c) {
                    Ok(r) => (c.clone(), r),
                    Err(m) => {
                        errors.push(err(&at("braze_cluster"), m, Some(CLUSTER_ALLOWED)));
                        continue;
                    }
                },
                (None, Some((c, r))) => (c.clone(), *r),
                (None, None) if cluster_reported => continue,
                (None, None) => {
                    errors.push(err(
                        &format!("domains.{key}"),
                        "no braze_cluster: set it at the top level or on the domain".into(),
                        Some(CLUSTER_ALLOWED),
                    ));
                    continue;
                }
            };
            let t = templates();
            if !t.esp.contains_key(&d.esp) {
                errors.push(err(&at("esp"), format!("unknown ESP `{}`", d.esp), Some(&allowed(t.esp.keys()))));
                continue;
            }
            let (cdn, cdn_field) = match (&d.cdn, &defaults.cdn) {
                (Some(c), _) => (c.clone(), at("cdn")),
                (None, Some(c)) => (c.clone(), "defaults.cdn".to_owned()),
                (None, None) => (t.defaults.cdn.clone(), at("cdn")),
            };
            let (dns, dns_field) = match (&d.dns, &defaults.dns) {
                (Some(c), _) => (c.clone(), at("dns")),
                (None, Some(c)) => (c.clone(), "defaults.dns".to_owned()),
                (None, None) => (t.defaults.dns.clone(), at("dns")),
            };
            let Some(cdn_template) = t.cdn.get(&cdn) else {
                errors.push(err(&cdn_field, format!("unknown CDN `{cdn}`"), Some(&allowed(t.cdn.keys()))));
                continue;
            };
            let dns_hosts = crate::registry::dns_hosts();
            if !dns_hosts.contains(&dns.as_str()) {
                errors.push(err(&dns_field, format!("unknown DNS host `{dns}`"), Some(&allowed(&dns_hosts))));
                continue;
            }
            // A proxying CDN serves only names it also resolves.
            let needs = &cdn_template.requires.dns;
            if !needs.is_empty() && !needs.contains(&dns) {
                let f = match (&d.cdn, &d.dns) {
                    (_, Some(_)) => at("dns"),
                    (Some(_), None) => at("cdn"),
                    (None, None) => cdn_field.clone(),
                };
                let titles: Vec<&str> =
                    needs.iter().map(|n| crate::registry::get(n).map_or(n.as_str(), |r| r.info.title)).collect();
                let needs = needs.join(" or ");
                errors.push(err(
                    &f,
                    format!("cdn `{cdn}` needs the zone's DNS at {}, but dns is `{dns}`", titles.join(" or ")),
                    Some(&format!("dns: {needs} with cdn: {cdn}")),
                ));
                continue;
            }
            if d.advanced_certificate && !cdn_template.options.iter().any(|o| o == ADVANCED_CERTIFICATE) {
                let honoured = t.cdn.iter().filter(|(_, c)| c.options.iter().any(|o| o == ADVANCED_CERTIFICATE));
                let list = allowed(honoured.map(|(n, _)| n));
                errors.push(err(
                    &at(ADVANCED_CERTIFICATE),
                    format!("advanced_certificate applies to cdn {list} only"),
                    None,
                ));
            }
            domains.insert(
                key.clone(),
                Domain {
                    key,
                    tracking_domain: tracking,
                    esp: d.esp.clone(),
                    braze_cluster: cluster,
                    region,
                    cdn,
                    dns,
                    zone,
                    advanced_certificate: d.advanced_certificate,
                },
            );
        }
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let state = state_location(raw.state, &base, &mut |f, m| errors.push(err(f, m, None)));
        if !errors.is_empty() {
            // An error in `defaults` shows up once per domain that inherits it; report it once.
            errors.dedup();
            return Err(SpecErrors(errors));
        }
        Ok(Spec {
            path: path.to_path_buf(),
            hash: hex::encode(sha2::Sha256::digest(text.as_bytes())),
            state_path: match &state {
                crate::state::Location::Local(path) => path.clone(),
                remote => PathBuf::from(remote.to_string()),
            },
            state,
            domains,
        })
    }
}

/// `state:`: a local path (the default, relative to the spec) or an S3 object.
fn state_location(
    raw: Option<raw::RawState>,
    base: &Path,
    error: &mut dyn FnMut(&str, String),
) -> crate::state::Location {
    use crate::state::{Location, S3Location};
    let raw = raw.unwrap_or(raw::RawState { path: None, s3: None });
    let local = || Location::Local(base.join(raw.path.as_deref().unwrap_or(Path::new("sslprov.state.json"))));
    let Some(s3) = &raw.s3 else { return local() };
    if raw.path.is_some() {
        error("state.s3", "a state is either local (`path`) or in S3 (`s3`), not both".into());
    }
    let s3 = S3Location {
        bucket: s3.bucket.clone(),
        key: s3.key.clone(),
        region: s3.region.clone(),
        endpoint: s3.endpoint.clone(),
    };
    for (field, message) in s3.problems() {
        error(&format!("state.s3.{field}"), message);
    }
    Location::S3(s3)
}

/// `` `a`, `b`, `c` ``.
fn allowed<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> String {
    names.into_iter().map(|n| format!("`{}`", n.as_ref())).collect::<Vec<_>>().join(", ")
}

/// A domain option a CDN template may honour (`options:`).
const ADVANCED_CERTIFICATE: &str = "advanced_certificate";

const CLUSTER_ALLOWED: &str = "US-nn or EU-nn, e.g. US-05, EU-01";
const DNS_ALLOWED: &str = "lower-case labels of letters, digits and `-`, separated by dots";

fn parse_cluster(c: &str) -> Result<Region, String> {
    let (prefix, num) = c.split_once('-').ok_or_else(|| format!("invalid Braze cluster `{c}`"))?;
    if num.len() != 2 || !num.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid Braze cluster `{c}`"));
    }
    match prefix {
        "US" => Ok(Region::Us),
        "EU" => Ok(Region::Eu),
        _ => Err(format!("unknown Braze cluster `{c}`")),
    }
}

fn valid_key(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// RFC 1035 host names as CDNs accept them for aliases: no wildcards, no underscores, lower case.
fn check_dns_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty".into());
    }
    if name.len() > 253 {
        return Err("longer than 253 characters".into());
    }
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err("upper-case letters (write it in lower case)".into());
    }
    if !name.contains('.') {
        return Err("a single label; expected a fully qualified name".into());
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("empty label".into());
        }
        if label.len() > 63 {
            return Err(format!("label `{label}` is longer than 63 characters"));
        }
        if !label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(format!("label `{label}` has characters other than letters, digits and `-`"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label `{label}` starts or ends with `-`"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
