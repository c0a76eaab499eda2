//! What sslprov owns of a zone and of a zone alias, typed, with the checks a spec must pass.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sslprov_provider::{Desired, ErrorKind, ProviderError, Result};

use crate::NAME;

/// The fields of a pull zone sslprov sets, with KeyCDN's names and value forms (strings;
/// switches `enabled`/`disabled`). The zone's name is not among them: it is derived from the
/// tracking domain ([`crate::zone_name`]), so that a spec the engine cannot complete yet (a
/// certificate still to be issued) compares field by field with the zone that exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneSpec {
    /// The tracking domain the zone serves: its identity, and its name's.
    pub domain: String,
    /// What the ESP's template sets (`esp: ${esp.cdn}`).
    pub esp: EspZone,
    #[serde(rename = "type")]
    pub zone_type: String,
    /// The ESP's origin, `https://…`.
    pub originurl: String,
    pub cacheignorequerystring: String,
    pub cacheignorecachecontrol: String,
    /// Edge expiry in minutes when the origin sends no Cache-Control.
    pub cachemaxexpire: String,
    /// Browser Cache-Control: `0` passes the origin's through.
    pub expire: String,
    pub cachecookies: String,
    pub cachekeyhost: String,
    pub forcessl: String,
    pub sslcert: String,
    /// The certificate chain, PEM (with `sslcert: custom`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customsslcert: Option<String>,
    /// Its private key, **sealed** (`sealed:v1:…`): opened only to upload it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customsslkey: Option<String>,
}

/// The zone fields an ESP's section sets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EspZone {
    /// "Forward Host Header": the client's Host reaches the origin.
    pub cachehostheader: String,
}

/// A zone alias: a host name the zone answers for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliasSpec {
    pub name: String,
    pub zone_id: String,
}

fn invalid(op: &'static str, message: String) -> ProviderError {
    ProviderError::new(ErrorKind::InvalidRequest, NAME, op, message)
}

impl ZoneSpec {
    /// A zone from a template's spec: the ESP's refusal returned if it has one, numbers made
    /// KeyCDN's strings, values checked.
    pub fn from_desired(d: &Desired, op: &'static str) -> Result<ZoneSpec> {
        let mut fields: Map<String, Value> = d.spec.clone();
        if let Some(why) = fields.get("esp").and_then(|e| e.get("unsupported")).and_then(Value::as_str) {
            return Err(ProviderError::new(ErrorKind::Unsupported, NAME, op, why.to_owned()));
        }
        // Numbers in a template are KeyCDN's strings.
        for v in fields.values_mut() {
            if let Value::Number(n) = v {
                *v = Value::String(n.to_string());
            }
        }
        let mut spec: ZoneSpec = serde_json::from_value(Value::Object(fields))
            .map_err(|e| invalid(op, format!("invalid zone spec: {e}")))?;
        spec.domain = spec.domain.trim_end_matches('.').to_ascii_lowercase();
        spec.check(op)?;
        Ok(spec)
    }

    /// The zone's name at KeyCDN.
    pub fn name(&self) -> String {
        crate::zone_name(&self.domain)
    }

    pub fn check(&self, op: &'static str) -> Result<()> {
        let valid_host = self.domain.contains('.')
            && self
                .domain
                .split('.')
                .all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        if !valid_host {
            return Err(invalid(op, format!("zone `domain`: `{}` is not a host name", self.domain)));
        }
        for (f, v) in [
            ("esp.cachehostheader", &self.esp.cachehostheader),
            ("cacheignorequerystring", &self.cacheignorequerystring),
            ("cacheignorecachecontrol", &self.cacheignorecachecontrol),
            ("cachecookies", &self.cachecookies),
            ("cachekeyhost", &self.cachekeyhost),
            ("forcessl", &self.forcessl),
        ] {
            if !matches!(v.as_str(), "enabled" | "disabled") {
                return Err(invalid(op, format!("`{f}`: `{v}` (allowed: `enabled`, `disabled`)")));
            }
        }
        if self.zone_type != "pull" {
            return Err(invalid(op, format!("zone type `{}`: sslprov makes pull zones only", self.zone_type)));
        }
        if !self.originurl.starts_with("https://") || self.originurl.len() > 128 {
            return Err(invalid(op, format!("origin `{}`: an https:// URL of at most 128 characters", self.originurl)));
        }
        for (f, v) in [("cachemaxexpire", &self.cachemaxexpire), ("expire", &self.expire)] {
            if v.parse::<i64>().is_err() {
                return Err(invalid(op, format!("`{f}`: `{v}` is not a number of minutes")));
            }
        }
        match self.sslcert.as_str() {
            "custom" => {
                if !self.customsslcert.as_deref().is_some_and(|c| c.contains("-----BEGIN CERTIFICATE-----")) {
                    return Err(invalid(op, "`sslcert: custom` needs `customsslcert`, a PEM chain".into()));
                }
                if !self.customsslkey.as_deref().is_some_and(|k| k.starts_with(sslprov_acme::sealed::PREFIX)) {
                    return Err(invalid(
                        op,
                        "`customsslkey` must be a key sslprov sealed (`sealed:v1:…`): a clear private key would be \
                         written to the state"
                            .into(),
                    ));
                }
            }
            "shared" | "letsencrypt" => {
                if self.customsslcert.is_some() || self.customsslkey.is_some() {
                    return Err(invalid(op, format!("`sslcert: {}` takes no custom certificate", self.sslcert)));
                }
            }
            other => {
                return Err(invalid(op, format!("`sslcert: {other}` (allowed: `custom`, `shared`, `letsencrypt`)")));
            }
        }
        Ok(())
    }

    /// The form fields of an add or edit, with the key opened by `open`.
    pub fn form(&self, open: impl Fn(&str) -> Result<String>) -> Result<Vec<(&'static str, String)>> {
        let mut out = vec![
            ("name", self.name()),
            ("type", self.zone_type.clone()),
            ("originurl", self.originurl.clone()),
            ("cachehostheader", self.esp.cachehostheader.clone()),
            ("cacheignorequerystring", self.cacheignorequerystring.clone()),
            ("cacheignorecachecontrol", self.cacheignorecachecontrol.clone()),
            ("cachemaxexpire", self.cachemaxexpire.clone()),
            ("expire", self.expire.clone()),
            ("cachecookies", self.cachecookies.clone()),
            ("cachekeyhost", self.cachekeyhost.clone()),
            ("forcessl", self.forcessl.clone()),
            ("sslcert", self.sslcert.clone()),
        ];
        if let (Some(cert), Some(key)) = (&self.customsslcert, &self.customsslkey) {
            out.push(("customsslcert", cert.clone()));
            out.push(("customsslkey", open(key)?));
        }
        Ok(out)
    }
}

impl AliasSpec {
    pub fn from_desired(d: &Desired, op: &'static str) -> Result<AliasSpec> {
        let mut spec: Map<String, Value> = d.spec.clone();
        if let Some(Value::Number(n)) = spec.get("zone_id") {
            let id = n.to_string();
            spec.insert("zone_id".into(), Value::String(id));
        }
        let mut spec: AliasSpec = serde_json::from_value(Value::Object(spec))
            .map_err(|e| invalid(op, format!("invalid zone alias spec: {e}")))?;
        spec.name = spec.name.trim_end_matches('.').to_ascii_lowercase();
        if spec.name.is_empty() || spec.name.len() > 128 || !spec.name.contains('.') {
            return Err(invalid(op, format!("zone alias `{}`: a host name of at most 128 characters", spec.name)));
        }
        if spec.zone_id.parse::<u64>().is_err() {
            return Err(invalid(
                op,
                format!("zone alias `{}`: zone id `{}` is not a KeyCDN zone id", spec.name, spec.zone_id),
            ));
        }
        Ok(spec)
    }
}
