//! Zone entrypoint rulesets, one per phase: GET (404 until one exists) and PUT, which replaces
//! the whole rule list, as the API does.
//!
//! On PUT, as the API does: a rule without `id` gets a new one and a rule with an `id` must be
//! one of the ruleset's rules; `ref` defaults to the id and must be unique; `enabled` defaults to
//! true; the ruleset's `version` goes up by one, and a rule keeps its `version` and
//! `last_updated` only if nothing in it changed. The emulator also enforces what the API refuses
//! for sslprov's two phases: only `set_config` in `http_config_settings`, only `route` in
//! `http_request_origin`, Host header / SNI / DNS-record overrides only on Enterprise, and the
//! plan's rule limit.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::contract::Call;
use crate::reply::{self, Reply};
use crate::state::{Plan, Zone, new_id, now};

#[derive(Debug, Clone)]
pub(crate) struct Ruleset {
    pub id: String,
    pub name: String,
    pub description: String,
    pub version: u64,
    pub last_updated: String,
    pub rules: Vec<Value>,
}

pub(crate) fn render(phase: &str, r: &Ruleset) -> Value {
    json!({
        "id": r.id,
        "name": r.name,
        "description": r.description,
        "kind": "zone",
        "phase": phase,
        "version": r.version.to_string(),
        "last_updated": r.last_updated,
        "rules": r.rules,
    })
}

pub(crate) fn get(zone: &Zone, call: &Call) -> Reply {
    let phase = call.path("ruleset_phase");
    match zone.rulesets.get(phase) {
        Some(r) => Reply::ok(render(phase, r)),
        None => {
            Reply::error(404, reply::NO_ENTRYPOINT, format!("could not find entrypoint ruleset in the {phase} phase"))
        }
    }
}

pub(crate) fn put(zone: &mut Zone, call: &Call) -> Reply {
    let phase = call.path("ruleset_phase").to_owned();
    match replace(zone, &phase, &call.body) {
        Ok(rendered) => Reply::ok(rendered),
        Err(errors) => Reply::errors(400, errors),
    }
}

/// Replace the entrypoint ruleset of `phase` with `body` (`{rules, name?, description?}`);
/// on refusal, the errors the API would list, each pointing at its rule.
pub(crate) fn replace(zone: &mut Zone, phase: &str, body: &Value) -> Result<Value, Vec<Value>> {
    let old = zone.rulesets.get(phase);
    let version = old.map_or(1, |r| r.version + 1);
    let at = now();
    let rules_in = body["rules"].as_array().cloned().unwrap_or_default();
    let mut errors = Vec::new();
    let mut refs = BTreeSet::new();
    let mut rules = Vec::new();
    if rules_in.len() > zone.plan.rule_limit() {
        errors.push(error(
            format!("exceeded maximum number of rules in the {phase} phase ({})", zone.plan.rule_limit()),
            "/rules".to_owned(),
        ));
    }
    for (i, rule) in rules_in.iter().enumerate() {
        let at_rule = format!("/rules/{i}");
        let mut rule: Map<String, Value> = rule.as_object().cloned().unwrap_or_default();
        for read_only in ["version", "last_updated", "categories"] {
            rule.remove(read_only);
        }
        if let Some(problem) = refusal(phase, zone.plan, &rule) {
            errors.push(error(problem, at_rule.clone()));
        }
        let previous = match rule.get("id").and_then(Value::as_str) {
            None => None,
            Some(id) => match old.and_then(|o| o.rules.iter().find(|r| r["id"] == id)) {
                Some(found) => Some(found),
                None => {
                    errors.push(error(format!("could not find rule with id {id} in the ruleset"), at_rule.clone()));
                    continue;
                }
            },
        };
        let id = rule.get("id").and_then(Value::as_str).map_or_else(new_id, str::to_owned);
        rule.insert("id".to_owned(), json!(id));
        rule.entry("ref").or_insert_with(|| json!(id));
        rule.entry("enabled").or_insert(json!(true));
        if !refs.insert(rule["ref"].as_str().unwrap_or_default().to_owned()) {
            errors.push(error(format!("duplicate rule ref {}", rule["ref"]), at_rule));
        }
        let unchanged = previous.filter(|p| without_stamps(p) == Value::Object(rule.clone()));
        let (rule_version, updated) = match unchanged {
            Some(p) => (p["version"].clone(), p["last_updated"].clone()),
            None => (json!(version.to_string()), json!(at)),
        };
        rule.insert("version".to_owned(), rule_version);
        rule.insert("last_updated".to_owned(), updated);
        rules.push(Value::Object(rule));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let ruleset = Ruleset {
        id: old.map_or_else(new_id, |o| o.id.clone()),
        name: body["name"]
            .as_str()
            .map(str::to_owned)
            .or(old.map(|o| o.name.clone()))
            .unwrap_or_else(|| "default".to_owned()),
        description: body["description"]
            .as_str()
            .map(str::to_owned)
            .or(old.map(|o| o.description.clone()))
            .unwrap_or_default(),
        version,
        last_updated: at,
        rules,
    };
    let rendered = render(phase, &ruleset);
    zone.rulesets.insert(phase.to_owned(), ruleset);
    Ok(rendered)
}

/// Why the API would refuse this rule in this phase on this plan, if it would.
fn refusal(phase: &str, plan: Plan, rule: &Map<String, Value>) -> Option<String> {
    let action = rule.get("action").and_then(Value::as_str).unwrap_or_default();
    let allowed = match phase {
        "http_config_settings" => Some("set_config"),
        "http_request_origin" => Some("route"),
        _ => None,
    };
    if allowed.is_some_and(|a| a != action) {
        return Some(format!("'{action}' is not a valid action for the {phase} phase"));
    }
    let params = rule.get("action_parameters").cloned().unwrap_or(Value::Null);
    let enterprise_only =
        [("host_header", &params["host_header"]), ("sni", &params["sni"]), ("origin.host", &params["origin"]["host"])];
    let (name, _) = enterprise_only.iter().find(|(_, v)| !v.is_null()).filter(|_| plan != Plan::Enterprise)?;
    Some(format!("not entitled to use the '{name}' override: it requires an Enterprise plan"))
}

fn without_stamps(rule: &Value) -> Value {
    let mut r = rule.clone();
    if let Some(m) = r.as_object_mut() {
        m.remove("version");
        m.remove("last_updated");
    }
    r
}

fn error(message: String, pointer: String) -> Value {
    json!({"code": reply::INVALID_RULESET, "message": message, "source": {"pointer": pointer}})
}
