//! An ESP template: its origins per Braze region, what each CDN needs for it, how `verify`
//! recognises its answers, and the notes `handoff` gives the Braze CSM.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::spec::Region;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EspTemplate {
    /// What people call it: `SendGrid`.
    pub name: String,
    pub origins: BTreeMap<Region, String>,
    /// How the ESP recognises which customer a request is for (documentation for people and
    /// template authors: `viewer` — Host must reach it as the tracking domain; `origin` — Host is
    /// the origin and `X-Forwarded-Host` carries the tracking domain).
    pub host_header: String,
    /// Per CDN template name: what that CDN needs for this ESP (`${esp.cdn.*}` in its template).
    #[serde(default)]
    pub cdn: BTreeMap<String, Value>,
    pub verify: EspVerify,
    /// What `sslprov init` makes of a CNAME to this ESP it finds: the first rule that matches.
    #[serde(default)]
    pub discover: Vec<Discovery>,
    pub handoff: Vec<String>,
    /// A note about every domain of this ESP in the spec, when the ESP switches HTTPS on for a
    /// whole account rather than per domain; `{domains}` is their list.
    #[serde(default)]
    pub handoff_account: Option<String>,
    /// HTTPS the ESP serves itself, with no CDN (`cdn: none`); absent: the ESP has none.
    #[serde(default)]
    pub managed_https: Option<ManagedHttps>,
}

/// The ESP's own HTTPS: where the tracking record points, and what the spec must give.
#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ManagedHttps {
    /// The tracking CNAME's target per Braze region (`${esp.managed_https.target}`).
    #[serde(skip_serializing)]
    pub targets: BTreeMap<Region, String>,
    /// Values only the ESP's API or console knows, which the spec's `managed_https:` gives
    /// (`${domain.managed_https.<name>}`): name → what it is, for the spec's errors.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// The hand-off notes for such a domain, in place of the ESP's CDN ones.
    pub handoff: Vec<String>,
}

impl EspTemplate {
    pub fn origin(&self, region: Region) -> &str {
        &self.origins[&region]
    }

    /// The first discovery rule for a CNAME `name` → `target` (both lower case, no trailing dot).
    pub fn discovery(&self, name: &str, target: &str) -> Option<&Discovery> {
        self.discover.iter().find(|d| d.matches(name, target))
    }

    /// The Braze regions whose origin `target` is.
    pub fn regions_of(&self, target: &str) -> Vec<Region> {
        self.origins.iter().filter(|(_, o)| o.as_str() == target).map(|(r, _)| *r).collect()
    }
}

/// One rule of `discover`: which CNAMEs it is about, and what they are.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discovery {
    /// The CNAME's target; `*` stands for one label.
    pub target: String,
    /// The record's first label; `#` stands for one or more digits, `*` for any text. Any label
    /// when absent.
    #[serde(default)]
    pub label: Option<String>,
    /// An HTTP-era tracking record sslprov can take over (its target is one of the origins);
    /// `false`: reported, not added.
    #[serde(default = "adopt")]
    pub adopt: bool,
    /// What the record is, for the comment `init` writes.
    pub means: String,
}

fn adopt() -> bool {
    true
}

impl Discovery {
    pub fn matches(&self, name: &str, target: &str) -> bool {
        let (pattern, labels): (Vec<&str>, Vec<&str>) = (self.target.split('.').collect(), target.split('.').collect());
        let target_matches =
            pattern.len() == labels.len() && pattern.iter().zip(&labels).all(|(p, l)| *p == "*" || p == l);
        let first = name.split('.').next().unwrap_or_default();
        target_matches && self.label.as_deref().is_none_or(|p| label_matches(p.as_bytes(), first.as_bytes()))
    }
}

/// `#`: one or more digits; `*`: any text; anything else stands for itself.
fn label_matches(pattern: &[u8], label: &[u8]) -> bool {
    match pattern.split_first() {
        None => label.is_empty(),
        Some((b'*', rest)) => (0..=label.len()).any(|i| label_matches(rest, &label[i..])),
        Some((b'#', rest)) => {
            let digits = label.iter().take_while(|b| b.is_ascii_digit()).count();
            (1..=digits).any(|i| label_matches(rest, &label[i..]))
        }
        Some((c, rest)) => label.first() == Some(c) && label_matches(rest, &label[1..]),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EspVerify {
    /// Tracking paths `verify` requests through the CDN, over HTTPS and plain HTTP.
    pub paths: Vec<String>,
    /// Names a tracking CNAME points at when it goes straight to this ESP (HTTP-only tracking):
    /// each name and every name below it.
    pub dns_targets: Vec<String>,
    /// How this ESP answers on those paths.
    pub answer: EspAnswer,
}

/// What "reaches the ESP" means: an answer that is not the CDN's own error page and, where the
/// ESP's answer is documented, that answer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EspAnswer {
    /// Statuses the ESP answers with; empty: any status that is not a CDN error.
    #[serde(default)]
    pub status: Vec<u16>,
    /// Text the `Server` header contains.
    #[serde(default)]
    pub server: Option<String>,
    /// Answers that come from the ESP but show a set-up fault.
    #[serde(default)]
    pub wrong: Vec<WrongAnswer>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WrongAnswer {
    /// Text in the body (first 64 KiB) that identifies it.
    pub body_contains: String,
    /// What it means and how to fix it.
    pub means: String,
}
