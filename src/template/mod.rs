//! The ESP and CDN knowledge in `templates/`, embedded in the binary: what each ESP needs, and
//! for each CDN the resources one tracking domain needs, in order, with their specs as YAML that
//! references the domain, the ESP and each other's outputs.
//!
//! A new CDN is a new `templates/cdn/<name>.yaml` (and its provider crate): nothing here names
//! one. The embedded files are checked when first loaded and by this module's tests, which render
//! every CDN for every ESP and region.

mod address;
mod cdn;
mod domain;
mod esp;
mod render;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use include_dir::{Dir, include_dir};
use serde::Deserialize;

pub use address::{Addressed, address, shared_address};
pub use cdn::{
    CdnTemplate, CdnVerify, CertificateFixes, DnsShape, Existing, ForwardedHost, Matcher, ResourceTemplate, TRACKING,
};
pub use domain::{DomainTemplate, SharedUse, shared_uses};
pub use esp::{Discovery, EspAnswer, EspTemplate, EspVerify, ManagedHttps, WrongAnswer};
pub use render::{Context, KNOWN_AFTER_APPLY, Lookup, RenderError, Rendered};

static FILES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");
#[cfg(test)]
static TEST_FILES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/src/template/testdata");

/// What a domain gets when the spec says nothing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    pub cdn: String,
    pub dns: String,
}

pub struct Templates {
    /// By name (the file name: `esp/<name>.yaml`).
    pub esp: BTreeMap<String, EspTemplate>,
    pub cdn: BTreeMap<String, CdnTemplate>,
    pub defaults: Defaults,
}

/// The embedded templates. A template that does not parse or whose resource graph is broken is a
/// build defect (the tests load them all), not user input.
pub fn templates() -> &'static Templates {
    static T: OnceLock<Templates> = OnceLock::new();
    T.get_or_init(|| load().unwrap_or_else(|e| panic!("embedded templates are invalid: {e}")))
}

fn load() -> Result<Templates, String> {
    fn each<T: serde::de::DeserializeOwned>(dir: &str) -> Result<BTreeMap<String, T>, String> {
        let dir = FILES.get_dir(dir).ok_or_else(|| format!("no templates/{dir}"))?;
        let mut out = BTreeMap::new();
        for f in dir.files().filter(|f| f.path().extension().is_some_and(|e| e == "yaml")) {
            let path = f.path().display().to_string();
            let name = f.path().file_stem().and_then(|s| s.to_str()).ok_or_else(|| format!("{path}: no name"))?;
            let text = f.contents_utf8().ok_or_else(|| format!("{path}: not UTF-8"))?;
            let t = serde_yaml::from_str(text).map_err(|e| format!("templates/{path}: {e}"))?;
            out.insert(name.to_owned(), t);
        }
        Ok(out)
    }
    let defaults =
        FILES.get_file("defaults.yaml").and_then(|f| f.contents_utf8()).ok_or("no templates/defaults.yaml")?;
    #[allow(unused_mut)]
    let mut cdn = each("cdn")?;
    // The engine's own tests run on a CDN of their own, with a fake provider (`crate::testkit`).
    #[cfg(test)]
    for f in TEST_FILES.files() {
        let name = f.path().file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        let text = f.contents_utf8().ok_or("test template: not UTF-8")?;
        cdn.insert(name, serde_yaml::from_str(text).map_err(|e| format!("testdata/{}: {e}", f.path().display()))?);
    }
    let t = Templates {
        esp: each("esp")?,
        cdn,
        defaults: serde_yaml::from_str(defaults).map_err(|e| format!("templates/defaults.yaml: {e}"))?,
    };
    for (name, cdn) in &t.cdn {
        cdn.check().map_err(|e| format!("templates/cdn/{name}.yaml: {e}"))?;
    }
    if !t.cdn.contains_key(&t.defaults.cdn) {
        return Err(format!("templates/defaults.yaml: no CDN template {}", t.defaults.cdn));
    }
    Ok(t)
}

impl Templates {
    /// The CDN template a domain's resources were made from, when only their parts are known (a
    /// state written before sslprov recorded it): the first whose parts include them all.
    pub fn cdn_with_parts<'a>(&self, parts: impl IntoIterator<Item = &'a str> + Clone) -> Option<(&str, &CdnTemplate)> {
        self.cdn
            .iter()
            .find(|(_, t)| parts.clone().into_iter().all(|p| t.resource(p).is_some()))
            .map(|(n, t)| (n.as_str(), t))
    }
}

#[cfg(test)]
mod tests;
