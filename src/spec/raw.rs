//! The spec's YAML as written: plain serde types, unknown fields refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::{SpecError, SpecErrors};
use super::locate::Locations;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpec {
    pub version: u32,
    #[serde(default)]
    pub braze_cluster: Option<String>,
    #[serde(default)]
    pub state: Option<RawState>,
    #[serde(default)]
    pub defaults: Option<RawDefaults>,
    #[serde(default)]
    pub domains: BTreeMap<String, RawDomain>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawState {
    #[serde(default)]
    pub path: Option<PathBuf>,
    #[serde(default)]
    pub s3: Option<RawS3State>,
}

/// `state.s3`: remote state in an S3 bucket.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawS3State {
    pub bucket: String,
    pub key: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub endpoint: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    #[serde(default)]
    pub cdn: Option<String>,
    #[serde(default)]
    pub dns: Option<String>,
}

/// ESP, CDN and DNS host are names checked against the templates and the provider registry, not
/// a fixed list: a new CDN is a new template.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDomain {
    pub tracking_domain: String,
    pub esp: String,
    #[serde(default)]
    pub zone: Option<String>,
    #[serde(default)]
    pub braze_cluster: Option<String>,
    #[serde(default)]
    pub cdn: Option<String>,
    #[serde(default)]
    pub dns: Option<String>,
    #[serde(default)]
    pub advanced_certificate: bool,
}

pub fn parse(path: &Path, text: &str) -> Result<RawSpec, SpecErrors> {
    let de = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        // serde_yaml knows where the parser stood; the path index knows where the field starts.
        // Prefer the field's own position when there is a field, as serde_yaml's is imprecise for
        // errors raised after a mapping was read (serde-yaml#153).
        let locs = Locations::index(text);
        let (line, column) = if field.is_empty() || field == "." {
            inner.location().map(|l| (l.line(), l.column())).unwrap_or((1, 1))
        } else {
            match locs.try_find(&field) {
                Some(at) => at,
                None => inner.location().map(|l| (l.line(), l.column())).unwrap_or((1, 1)),
            }
        };
        let message = strip_location(&inner.to_string());
        let (message, allowed) = split_allowed(&message);
        SpecErrors(vec![SpecError {
            file: path.to_path_buf(),
            line,
            column,
            field: if field == "." { String::new() } else { field },
            message,
            allowed,
        }])
    })
}

/// serde_yaml wraps its message as "<path>: <message> at line L column C"; the report prints the
/// field and the position itself.
fn strip_location(m: &str) -> String {
    let m = match m.find(" at line ") {
        Some(i) => &m[..i],
        None => m,
    };
    match m.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') => rest.to_owned(),
        _ => m.to_owned(),
    }
}

/// serde says "unknown variant `x`, expected one of `a`, `b`"; the report has a field for that.
fn split_allowed(m: &str) -> (String, Option<String>) {
    for marker in [", expected one of ", ", expected "] {
        if let Some(i) = m.find(marker) {
            return (m[..i].to_owned(), Some(m[i + marker.len()..].to_owned()));
        }
    }
    (m.to_owned(), None)
}
