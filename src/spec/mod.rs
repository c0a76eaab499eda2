//! The user's spec: YAML in, validated domains out, every error pointing at file:line:column.
//!
//! Three layers, each reporting every problem it finds so a user fixes a spec in one pass: `yaml`
//! (the text as a tree of positioned nodes; a key written twice), `raw` (the fields: unknown,
//! missing or of the wrong shape) and `resolve` (what the names mean: DNS names, Braze clusters,
//! ESPs, CDNs and DNS hosts, and whether they fit together). `names` holds the naming rules.

mod error;
mod names;
mod raw;
mod resolve;
mod schema;
mod yaml;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use error::{SpecError, SpecErrors};
pub use names::{CLUSTER_ALLOWED, DNS_ALLOWED, KEY_ALLOWED, check_dns_name, check_key, list as list_names};
pub use schema::schema;

use error::Problem;

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
    /// The brand group whose domains share a CDN's objects (a profile of their own); `None`: the
    /// CDN template's default (one for the spec). Only CDNs whose template lists this option.
    pub brand_group: Option<String>,
    /// The tier of the brand group's CDN objects (`standard`, `premium`); `None`: the template's
    /// default. The same for every domain of a brand group.
    pub tier: Option<String>,
    /// The tracking record's type as templates write it: `ALIAS` (an alias where the DNS host
    /// has them, else a CNAME) or `CNAME`.
    pub tracking_record: TrackingRecord,
    /// Values the ESP's own HTTPS needs (`cdn: none`), by name: `${domain.managed_https.<name>}`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub managed_https: BTreeMap<String, String>,
}

/// What the spec's `tracking_record` asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TrackingRecord {
    /// Braze's advice for Route 53 in front of CloudFront (esp-cdn-facts §1.1).
    #[default]
    Alias,
    Cname,
}

impl Spec {
    pub fn load(path: &Path) -> Result<Spec, SpecErrors> {
        let bytes = std::fs::read(path).map_err(|e| SpecErrors::io(path, e))?;
        Spec::from_bytes(path, &bytes)
    }

    /// A spec file's bytes: UTF-8 text, or an error at the first byte that is not.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Spec, SpecErrors> {
        match std::str::from_utf8(bytes) {
            Ok(text) => Spec::parse(path, text),
            Err(e) => {
                let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
                let line = valid.matches('\n').count() + 1;
                let column = valid.rsplit('\n').next().unwrap_or_default().chars().count() + 1;
                let message = format!("not UTF-8 text: byte 0x{:02X} is not valid UTF-8", bytes[e.valid_up_to()]);
                let at = yaml::Pos { line, column };
                Err(SpecErrors::of(path, vec![Problem::new(at, "", message, Some("a UTF-8 text file".to_owned()))]))
            }
        }
    }

    /// Every error of the spec at once, in file order, or the spec.
    pub fn parse(path: &Path, text: &str) -> Result<Spec, SpecErrors> {
        use sha2::Digest;
        let doc = yaml::parse(text).map_err(|problems| SpecErrors::of(path, problems))?;
        let mut problems = doc.errors;
        let raw = raw::read(doc.root.as_ref(), &mut problems);
        let resolved = raw.map(|raw| resolve::resolve(&raw, path, &mut problems));
        let resolved = match resolved {
            Some(r) if problems.is_empty() => r,
            _ => return Err(SpecErrors::of(path, problems)),
        };
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let state = match resolved.state_s3 {
            Some(s3) => crate::state::Location::S3(s3),
            None => crate::state::Location::Local(
                base.join(resolved.state_path.unwrap_or_else(|| "sslprov.state.json".into())),
            ),
        };
        Ok(Spec {
            path: path.to_path_buf(),
            hash: hex::encode(sha2::Sha256::digest(text.as_bytes())),
            state_path: match &state {
                crate::state::Location::Local(path) => path.clone(),
                remote => PathBuf::from(remote.to_string()),
            },
            state,
            domains: resolved.domains,
        })
    }
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
