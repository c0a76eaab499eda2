//! Configuration Rules: the SSL mode of one host, in the zone's `http_config_settings`
//! entrypoint ruleset, without touching the zone-wide `ssl` setting.
//!
//! The entrypoint is one list, and a PUT replaces all of it. So every write reads the list,
//! replaces or inserts sslprov's one rule (found by its `ref`, `sslprov-<host>`), keeps every
//! other rule as it was and where it was, and PUTs the whole list back. Writes to one zone are
//! serialised inside the provider, or two hosts written at once would each drop the other's rule.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sslprov_provider::{Deletion, Desired, ErrorKind, Live, Outputs, ProviderError, Readiness, Result};

use crate::endpoints;
use crate::records::name;
use crate::{CONFIG_RULE, Cloudflare, NAME};

/// A setting override for one host, leaving the rest of the zone as it is: a Configuration Rule
/// in the zone's `http_config_settings` entrypoint ruleset, merged with the rules that are there
/// and marked as sslprov's by its `ref`. Kind `config_rule`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigRuleSpec {
    pub zone: String,
    /// The host the rule matches (`http.host eq "<host>"`).
    pub host: String,
    /// SSL mode towards the origin for that host: `full` for ESP origins, whose certificates do
    /// not name the tracking domain.
    pub ssl: String,
}

/// What `list` learned of a zone's rules besides sslprov's own, for the plan's warnings about
/// rules it will create.
#[derive(Clone, Debug, Default)]
pub(crate) struct ZoneRules {
    pub rules: Vec<Value>,
    pub automatic_ssl: bool,
}

pub(crate) fn rule_live(id: String, zone_id: &str, spec: &ConfigRuleSpec, warnings: Vec<String>) -> Live {
    Live {
        id,
        outputs: Outputs::default()
            .with("zone_id", zone_id)
            .with("warnings", (!warnings.is_empty()).then_some(warnings)),
        desired: Desired::of(CONFIG_RULE, spec),
        readiness: Readiness::Ready,
        marked: true,
    }
}

pub(crate) const PHASE: &str = "http_config_settings";
const REF_PREFIX: &str = "sslprov-";
/// What a `set_config` rule's `ssl` takes.
const SSL_MODES: &[&str] = &["off", "flexible", "full", "strict", "origin_pull"];
/// Fields the API sets and ignores in a request; they are left out of what is written back.
const READ_ONLY: &[&str] = &["version", "last_updated", "categories"];

fn rule_ref(host: &str) -> String {
    format!("{REF_PREFIX}{host}")
}

fn expression(host: &str) -> String {
    format!("(http.host eq \"{host}\")")
}

/// The rule sslprov writes for `spec`.
pub(crate) fn rule(spec: &ConfigRuleSpec) -> Value {
    json!({
        "ref": rule_ref(&spec.host),
        "description": format!("sslprov: SSL/TLS mode {} for {} (managed by sslprov)", spec.ssl, spec.host),
        "expression": expression(&spec.host),
        "action": "set_config",
        "action_parameters": { "ssl": spec.ssl },
        "enabled": true,
    })
}

/// The spec an sslprov rule stands for. A rule of ours that someone changed (expression,
/// action, other settings, disabled) shows a mode nobody asks for, so the next plan rewrites it.
pub(crate) fn ours(zone: &str, rule: &Value) -> Option<ConfigRuleSpec> {
    let host = rule["ref"].as_str()?.strip_prefix(REF_PREFIX)?;
    let ssl = rule["action_parameters"]["ssl"].as_str().unwrap_or_default();
    let intact = rule["expression"] == expression(host)
        && rule["action"] == "set_config"
        && rule["action_parameters"].as_object().is_some_and(|p| p.len() == 1)
        && rule["enabled"] != false;
    let ssl = if intact { ssl.to_owned() } else { format!("{ssl} (rule changed outside sslprov)") };
    Some(ConfigRuleSpec { zone: zone.to_owned(), host: host.to_owned(), ssl })
}

fn writable(rule: &Value) -> Value {
    let mut r = rule.clone();
    if let Some(fields) = r.as_object_mut() {
        fields.retain(|k, _| !READ_ONLY.contains(&k.as_str()));
    }
    r
}

/// `rules` with sslprov's rule for `host` replaced by `new`, or dropped when `new` is `None`.
/// Every other rule stays as it was and where it was; a new rule of ours goes last, so that for
/// the settings it sets it comes after any other rule that matches the host.
pub(crate) fn merged(rules: &[Value], host: &str, new: Option<&Value>) -> Vec<Value> {
    let ours = rule_ref(host);
    let mut out = Vec::with_capacity(rules.len() + 1);
    let mut placed = false;
    for r in rules {
        if r["ref"] != ours.as_str() {
            out.push(writable(r));
        } else if let Some(new) = new {
            let mut new = new.clone();
            // The rule's id keeps its identity (and its place in Cloudflare's audit log).
            if let (Some(id), Some(fields)) = (r.get("id"), new.as_object_mut()) {
                fields.insert("id".into(), id.clone());
            }
            out.push(new);
            placed = true;
        }
    }
    if let (false, Some(new)) = (placed, new) {
        out.push(new.clone());
    }
    out
}

/// Whether `expression` may match requests for `host`: it names the host in a string, names a
/// parent domain as a suffix or wildcard, or matches everything. A heuristic for a warning,
/// not a parser of Cloudflare's rules language.
fn may_match(expression: &str, host: &str) -> bool {
    if expression.trim() == "true" {
        return true;
    }
    expression.split('"').skip(1).step_by(2).any(|lit| {
        let lit = lit.to_ascii_lowercase();
        lit == host || (lit.starts_with('.') && host.ends_with(&lit)) || wildcard(&lit, host)
    })
}

fn wildcard(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.strip_prefix(head).is_some_and(|rest| (0..=rest.len()).any(|i| wildcard(tail, &rest[i..])))
        }
    }
}

/// What a person should know about `spec` in this zone before applying.
pub(crate) fn warnings(rules: &[Value], spec: &ConfigRuleSpec, automatic_ssl: bool) -> Vec<String> {
    let mut w = Vec::new();
    if automatic_ssl {
        w.push(format!(
            "Cloudflare's Automatic SSL/TLS may change the zone's SSL mode; the rule keeps {} on {}",
            spec.host, spec.ssl
        ));
    }
    for r in rules {
        let enabled = r["enabled"] != false;
        let expr = r["expression"].as_str().unwrap_or_default();
        if r["ref"] != rule_ref(&spec.host).as_str() && enabled && may_match(expr, &spec.host) {
            let label = ["description", "ref", "id"]
                .iter()
                .find_map(|k| r[*k].as_str().filter(|s| !s.is_empty()))
                .unwrap_or("(unnamed)");
            w.push(format!(
                "configuration rule \"{label}\" of {} is not sslprov's and also matches {}; sslprov's rule comes after it",
                spec.zone, spec.host
            ));
        }
    }
    w
}

pub(crate) fn spec_of(desired: &Desired, op: &'static str) -> Result<ConfigRuleSpec> {
    let invalid = |m: String| ProviderError::new(ErrorKind::InvalidRequest, NAME, op, m);
    if desired.kind != CONFIG_RULE {
        return Err(invalid(format!("not a configuration rule: {}", desired.kind)));
    }
    let spec: ConfigRuleSpec = desired.parse(NAME, op)?;
    let spec = ConfigRuleSpec { zone: name(&spec.zone), host: name(&spec.host), ssl: spec.ssl.clone() };
    // The host goes into a rule expression between quotes.
    let host_ok =
        !spec.host.is_empty() && spec.host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !host_ok {
        return Err(invalid(format!("{:?} is not a host name", spec.host)));
    }
    if !SSL_MODES.contains(&spec.ssl.as_str()) {
        return Err(invalid(format!("SSL mode {:?} is not one of {}", spec.ssl, SSL_MODES.join(", "))));
    }
    Ok(spec)
}

impl Cloudflare {
    /// The entrypoint's rules; none before the zone's first rule in this phase.
    async fn rules_now(&self, zone_id: &str) -> Result<Vec<Value>> {
        match self.api.send(&endpoints::entrypoint(zone_id, PHASE)).await {
            Ok(answer) => Ok(answer.result.rules),
            Err(e) if e.is(ErrorKind::NotFound) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// The entrypoint's rules (as the token check just read them, when it did).
    pub(crate) async fn rules(&self, zone_id: &str, keep: bool) -> Result<Vec<Value>> {
        self.read_shared(zone_id, PHASE, keep, || self.rules_now(zone_id)).await
    }

    pub(crate) async fn automatic_ssl(&self, zone_id: &str, keep: bool) -> Result<bool> {
        self.read_shared(zone_id, "ssl_automatic_mode", keep, || async {
            match self.api.send(&endpoints::setting(zone_id, "ssl_automatic_mode")).await {
                Ok(answer) => Ok(answer.result.value == "auto"),
                // Zones from before Automatic SSL/TLS have no such setting.
                Err(e) if e.is(ErrorKind::NotFound) => Ok(false),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// sslprov's rules in each zone (those for `hosts`, or all), each with its warnings: two
    /// requests per zone (the rules and `ssl_automatic_mode`), whose answers also give the warnings
    /// for rules the plan will create.
    pub(crate) async fn list_rules(&self, zones: &[String], hosts: Option<&BTreeSet<String>>) -> Result<Vec<Live>> {
        let mut found = Vec::new();
        for zone in zones {
            let zone_id = self.zone_id(zone).await?;
            let rules = self.rules(&zone_id, false).await?;
            let automatic = self.automatic_ssl(&zone_id, false).await?;
            for (r, spec) in rules.iter().filter_map(|r| Some((r, ours(zone, r)?))) {
                if hosts.is_some_and(|h| !h.contains(&spec.host)) {
                    continue;
                }
                let id = r["id"].as_str().map_or_else(|| rule_ref(&spec.host), str::to_owned);
                found.push(rule_live(id, &zone_id, &spec, warnings(&rules, &spec, automatic)));
            }
            let facts = ZoneRules { rules, automatic_ssl: automatic };
            self.zone_rules.lock().unwrap_or_else(|e| e.into_inner()).insert(zone.clone(), facts);
        }
        Ok(found)
    }

    /// The warnings `list` would give `spec`'s rule, from what it read of the zone: for a plan
    /// that creates it.
    pub(crate) fn new_rule_warnings(&self, spec: &ConfigRuleSpec) -> Vec<String> {
        let zones = self.zone_rules.lock().unwrap_or_else(|e| e.into_inner());
        zones.get(&spec.zone).map(|z| warnings(&z.rules, spec, z.automatic_ssl)).unwrap_or_default()
    }

    /// Read, merge, write. Returns sslprov's rule as stored, if one is left. No PUT when the
    /// merge changes nothing.
    async fn write_rule(&self, zone_id: &str, host: &str, new: Option<&Value>) -> Result<Option<Value>> {
        let lock = self.zone_lock(zone_id);
        let _writing = lock.lock().await;
        let rules = self.rules_now(zone_id).await?;
        let next = merged(&rules, host, new);
        let stored = if next == rules.iter().map(writable).collect::<Vec<_>>() {
            rules
        } else {
            self.api.send(&endpoints::put_entrypoint(zone_id, PHASE, next)).await?.result.rules
        };
        Ok(stored.into_iter().find(|r| r["ref"] == rule_ref(host).as_str()))
    }

    pub(crate) async fn create_rule(&self, desired: &Desired) -> Result<Live> {
        let spec = spec_of(desired, "create")?;
        let zone_id = self.zone_id(&spec.zone).await?;
        let stored = self.write_rule(&zone_id, &spec.host, Some(&rule(&spec))).await?;
        let id = stored.as_ref().and_then(|r| r["id"].as_str()).map_or_else(|| rule_ref(&spec.host), str::to_owned);
        let desired = stored.as_ref().and_then(|r| ours(&spec.zone, r)).unwrap_or(spec);
        Ok(rule_live(id, &zone_id, &desired, Vec::new()))
    }

    pub(crate) async fn update_rule(&self, live: &Live, desired: &Desired) -> Result<Live> {
        let new = spec_of(desired, "update")?;
        let old = spec_of(&live.desired, "update")?;
        if (name(&old.zone), name(&old.host)) != (new.zone.clone(), new.host.clone()) {
            return Err(ProviderError::new(
                ErrorKind::InvalidRequest,
                NAME,
                "update",
                format!("the rule for {} cannot become one for {}; the engine replaces it", old.host, new.host),
            ));
        }
        self.create_rule(desired).await
    }

    pub(crate) async fn delete_rule(&self, live: &Live) -> Result<Deletion> {
        let spec: ConfigRuleSpec = live.desired.parse(NAME, "delete")?;
        let zone_id = match self.zone_id_of(live, &spec.zone).await {
            Err(e) if e.is(ErrorKind::NotFound) => return Ok(Deletion::Done),
            other => other?,
        };
        self.write_rule(&zone_id, &name(&spec.host), None).await?;
        Ok(Deletion::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(host: &str) -> ConfigRuleSpec {
        ConfigRuleSpec { zone: "acme.com".into(), host: host.into(), ssl: "full".into() }
    }

    fn theirs() -> Value {
        json!({"id": "r1", "ref": "www-strict", "version": "3", "last_updated": "2024-01-01T00:00:00Z",
               "expression": "(http.host eq \"www.acme.com\")", "action": "set_config",
               "action_parameters": {"ssl": "strict"}, "description": "www strict", "enabled": true})
    }

    #[test]
    fn our_rule_goes_last_and_theirs_stays_as_it_was() {
        let rules = vec![theirs()];
        let out = merged(&rules, "url1234.acme.com", Some(&rule(&spec("url1234.acme.com"))));
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], writable(&theirs()));
        assert_eq!(out[0]["id"], "r1");
        assert_eq!(out[1]["ref"], "sslprov-url1234.acme.com");
        assert_eq!(out[1]["expression"], "(http.host eq \"url1234.acme.com\")");
        assert_eq!(out[1]["action_parameters"], json!({"ssl": "full"}));
    }

    #[test]
    fn our_rule_is_replaced_in_place_keeping_its_id_and_dropped_on_delete() {
        let mut old = rule(&spec("url1234.acme.com"));
        old["id"] = json!("ours1");
        let rules = vec![old, theirs()];
        let mut strict = spec("url1234.acme.com");
        strict.ssl = "strict".into();
        let out = merged(&rules, "url1234.acme.com", Some(&rule(&strict)));
        assert_eq!(out[0]["id"], "ours1");
        assert_eq!(out[0]["action_parameters"]["ssl"], "strict");
        assert_eq!(out[1], writable(&theirs()));
        assert_eq!(merged(&rules, "url1234.acme.com", None), vec![writable(&theirs())]);
        assert_eq!(merged(&rules, "other.acme.com", None).len(), 2);
    }

    #[test]
    fn our_rules_list_as_their_spec_and_edits_show() {
        let mut r = rule(&spec("url1234.acme.com"));
        assert_eq!(ours("acme.com", &r), Some(spec("url1234.acme.com")));
        assert_eq!(ours("acme.com", &theirs()), None);
        r["enabled"] = json!(false);
        assert_eq!(ours("acme.com", &r).map(|s| s.ssl), Some("full (rule changed outside sslprov)".into()));
        let mut r = rule(&spec("url1234.acme.com"));
        r["action_parameters"]["bic"] = json!(false);
        assert_ne!(ours("acme.com", &r), Some(spec("url1234.acme.com")));
    }

    #[test]
    fn expressions_that_may_match_a_host() {
        let host = "url1234.acme.com";
        assert!(may_match("(http.host eq \"url1234.acme.com\")", host));
        assert!(may_match("http.host in {\"a.acme.com\" \"URL1234.acme.com\"}", host));
        assert!(may_match("ends_with(http.host, \".acme.com\")", host));
        assert!(may_match("http.host wildcard \"*.acme.com\"", host));
        assert!(may_match("true", host));
        assert!(!may_match("(http.host eq \"www.acme.com\")", host));
        assert!(!may_match("starts_with(http.request.uri.path, \"/admin\")", host));
    }

    #[test]
    fn warnings_name_automatic_ssl_and_other_rules() {
        let s = spec("www.acme.com");
        let w = warnings(&[theirs(), rule(&s)], &s, true);
        assert_eq!(
            w,
            [
                "Cloudflare's Automatic SSL/TLS may change the zone's SSL mode; the rule keeps www.acme.com on full",
                "configuration rule \"www strict\" of acme.com is not sslprov's and also matches www.acme.com; \
                 sslprov's rule comes after it",
            ]
        );
        assert!(warnings(&[theirs()], &spec("url1234.acme.com"), false).is_empty());
    }

    #[test]
    fn hosts_and_modes_are_checked_before_they_reach_an_expression() {
        let bad = |host: &str, ssl: &str| {
            spec_of(&Desired::of(CONFIG_RULE, &ConfigRuleSpec { ssl: ssl.into(), ..spec(host) }), "create").is_err()
        };
        assert!(bad("x\") or (true", "full"));
        assert!(bad("url1234.acme.com", "fullish"));
        assert!(!bad("URL1234.acme.com.", "full"));
    }
}
