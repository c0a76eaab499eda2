//! Zone settings: the bulk list and edit, and one setting's read and edit. A new zone starts
//! with the values Cloudflare gives a new zone today, including `ssl_automatic_mode: auto`.
//! Values are checked by the contract against each setting's own schema before they get here.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::contract::Call;
use crate::reply::Reply;
use crate::state::{Zone, now};

#[derive(Debug, Clone)]
pub(crate) struct Setting {
    pub value: Value,
    pub modified_on: Option<String>,
}

pub(crate) fn defaults() -> BTreeMap<String, Setting> {
    [
        ("ssl", "full"),
        ("ssl_automatic_mode", "auto"),
        ("always_use_https", "off"),
        ("automatic_https_rewrites", "on"),
        ("min_tls_version", "1.0"),
        ("tls_1_3", "on"),
        ("security_level", "medium"),
        ("browser_check", "on"),
        ("cache_level", "aggressive"),
        ("development_mode", "off"),
        ("ipv6", "on"),
        ("http3", "on"),
        ("0rtt", "off"),
        ("brotli", "on"),
        ("websockets", "on"),
        ("opportunistic_encryption", "on"),
        ("always_online", "off"),
        ("email_obfuscation", "on"),
    ]
    .into_iter()
    .map(|(id, value)| (id.to_owned(), Setting { value: json!(value), modified_on: None }))
    .collect()
}

pub(crate) fn render(id: &str, s: &Setting) -> Value {
    json!({"id": id, "value": s.value, "editable": true, "modified_on": s.modified_on})
}

pub(crate) fn list(zone: &Zone) -> Reply {
    Reply::ok(zone.settings.iter().map(|(id, s)| render(id, s)).collect())
}

pub(crate) fn get(zone: &Zone, call: &Call) -> Reply {
    let id = call.path("setting_id");
    match zone.settings.get(id) {
        Some(s) => Reply::ok(render(id, s)),
        None => Reply::not_routed(&format!("/zones/{}/settings/{id}", zone.id)),
    }
}

pub(crate) fn edit(zone: &mut Zone, call: &Call) -> Reply {
    let id = call.path("setting_id");
    Reply::ok(set(zone, id, call.body["value"].clone()))
}

/// `PATCH settings` with `[{id, value}, …]`; answers with the settings it changed.
pub(crate) fn edit_many(zone: &mut Zone, call: &Call) -> Reply {
    let items = call.body.as_array().cloned().unwrap_or_default();
    let changed =
        items.iter().filter_map(|item| Some(set(zone, item["id"].as_str()?, item["value"].clone()))).collect();
    Reply::ok(changed)
}

pub(crate) fn set(zone: &mut Zone, id: &str, value: Value) -> Value {
    let setting = Setting { value, modified_on: Some(now()) };
    let rendered = render(id, &setting);
    zone.settings.insert(id.to_owned(), setting);
    rendered
}
