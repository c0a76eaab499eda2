//! The API as `shared/keycdn/api.md` describes it, as checks: which endpoints exist, which fields
//! each takes and what their values may be, and the shape of every answer. KeyCDN publishes no
//! machine-readable definition; this module is the emulator's reading of that table, row by row.
//!
//! Requests: HTTP Basic with the API key as the user name and an empty password; POST and PUT
//! bodies form-encoded (the official PHP and Python clients) or JSON (the official Node client),
//! at most 64 KB; every value a string (a `zone_id` may be a number); switches `enabled` or
//! `disabled`; a field the table does not name is refused. Answers: the envelope
//! `{"status":"success","description":…,"data":{…}}` or `{"status":"error","description":…}`,
//! every object value a string (or null for the custom certificate fields).

use std::collections::BTreeMap;

use serde_json::Value;

/// One endpoint of api.md's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    ListZones,
    GetZone,
    AddZone,
    EditZone,
    DeleteZone,
    PurgeZone,
    ListAliases,
    AddAlias,
    EditAlias,
    DeleteAlias,
    CreditBalance,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::ListZones => "list-zones",
            Op::GetZone => "view-zone",
            Op::AddZone => "add-zone",
            Op::EditZone => "edit-zone",
            Op::DeleteZone => "delete-zone",
            Op::PurgeZone => "purge-zone",
            Op::ListAliases => "list-zonealiases",
            Op::AddAlias => "add-zonealias",
            Op::EditAlias => "edit-zonealias",
            Op::DeleteAlias => "delete-zonealias",
            Op::CreditBalance => "credit-balance",
        }
    }

    pub fn is_write(self) -> bool {
        matches!(self, Op::AddZone | Op::EditZone | Op::DeleteZone | Op::AddAlias | Op::EditAlias | Op::DeleteAlias)
    }
}

/// The operation and its path id, or `None`: no endpoint of the table serves it.
pub fn route(method: &str, path: &str) -> Option<(Op, Option<String>)> {
    let id = |prefix: &str| {
        path.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(".json"))
            .filter(|id| !id.is_empty() && !id.contains('/'))
            .map(str::to_owned)
    };
    Some(match (method, path) {
        ("GET", "/zones.json") => (Op::ListZones, None),
        ("POST", "/zones.json") => (Op::AddZone, None),
        ("GET", "/zonealiases.json") => (Op::ListAliases, None),
        ("POST", "/zonealiases.json") => (Op::AddAlias, None),
        ("GET", "/reports/creditbalance.json") => (Op::CreditBalance, None),
        ("GET", p) if p.starts_with("/zones/purge/") => (Op::PurgeZone, Some(id("/zones/purge/")?)),
        ("GET", _) => (Op::GetZone, Some(id("/zones/")?)),
        ("PUT", _) if path.starts_with("/zones/") => (Op::EditZone, Some(id("/zones/")?)),
        ("DELETE", _) if path.starts_with("/zones/") => (Op::DeleteZone, Some(id("/zones/")?)),
        ("PUT", _) => (Op::EditAlias, Some(id("/zonealiases/")?)),
        ("DELETE", _) => (Op::DeleteAlias, Some(id("/zonealiases/")?)),
        _ => return None,
    })
}

/// How a zone field's value must look.
#[derive(Debug, Clone, Copy)]
enum Rule {
    Switch,
    /// An integer, as a string (`-1`, `0`, `1440`).
    Integer,
    Text,
    OneOf(&'static [&'static str]),
}

/// Zone fields of api.md's table: the union of the client libraries' models.
const ZONE_FIELDS: &[(&str, Rule)] = &[
    ("name", Rule::Text),
    ("status", Rule::OneOf(&["active", "inactive"])),
    ("type", Rule::OneOf(&["pull", "push"])),
    ("originurl", Rule::Text),
    ("cachehostheader", Rule::Switch),
    ("sslcert", Rule::OneOf(&["shared", "letsencrypt", "custom"])),
    ("customsslcert", Rule::Text),
    ("customsslkey", Rule::Text),
    ("forcessl", Rule::Switch),
    ("expire", Rule::Integer),
    ("cachemaxexpire", Rule::Integer),
    ("cacheignorecachecontrol", Rule::Switch),
    ("cacheignorequerystring", Rule::Switch),
    ("cachekeyhost", Rule::Switch),
    ("cachekeyscheme", Rule::Switch),
    ("cachekeycookie", Rule::Switch),
    ("cachekeydevice", Rule::Switch),
    ("cachekeywebp", Rule::Switch),
    ("cachebr", Rule::Switch),
    ("cachecookies", Rule::Switch),
    ("cachestripcookies", Rule::Switch),
    ("cachexpullkey", Rule::Text),
    ("originshield", Rule::Switch),
    ("cors", Rule::Switch),
    ("gzip", Rule::Switch),
    ("forcedownload", Rule::Switch),
    ("imgproc", Rule::Switch),
    ("blockbadbots", Rule::Switch),
    ("allowemptyreferrer", Rule::Switch),
    ("blockreferrer", Rule::Switch),
    ("securetoken", Rule::Switch),
    ("securetokenkey", Rule::Text),
    ("securetokenip", Rule::Switch),
    ("cachecanonical", Rule::Switch),
    ("cacherobots", Rule::Switch),
    ("cacheerrorpages", Rule::Switch),
    ("dirlist", Rule::Switch),
    ("http2", Rule::Switch),
];

/// What the server decides itself: never sent.
const READ_ONLY: &[&str] = &["id", "status"];

/// The request's fields, as strings, or what is wrong with the request.
pub fn fields(content_type: Option<&str>, body: &[u8]) -> Result<BTreeMap<String, String>, String> {
    let content_type = content_type.unwrap_or("");
    if body.is_empty() {
        return Ok(BTreeMap::new());
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let mut out = BTreeMap::new();
        for (k, v) in form_urlencoded::parse(body) {
            if out.insert(k.clone().into_owned(), v.into_owned()).is_some() {
                return Err(format!("field `{k}` given twice"));
            }
        }
        return Ok(out);
    }
    if content_type.starts_with("application/json") {
        let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(body) else {
            return Err("a JSON body must be an object".into());
        };
        let mut out = BTreeMap::new();
        for (k, v) in m {
            let v = match (k.as_str(), v) {
                (_, Value::String(s)) => s,
                ("zone_id", Value::Number(n)) => n.to_string(),
                (_, other) => return Err(format!("field `{k}` must be a string, not {other}")),
            };
            out.insert(k, v);
        }
        return Ok(out);
    }
    Err(format!("a body must be form-encoded or JSON, not `{content_type}`"))
}

/// What is wrong with zone fields sent to add (`creating`) or edit a zone.
pub fn check_zone(fields: &BTreeMap<String, String>, creating: bool) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in fields {
        if READ_ONLY.contains(&k.as_str()) {
            out.push(format!("`{k}` is set by KeyCDN, not sent"));
            continue;
        }
        let Some((_, rule)) = ZONE_FIELDS.iter().find(|(f, _)| f == k) else {
            out.push(format!("unknown zone field `{k}`"));
            continue;
        };
        let ok = match rule {
            Rule::Switch => v == "enabled" || v == "disabled",
            Rule::Integer => v.parse::<i64>().is_ok(),
            Rule::Text => true,
            Rule::OneOf(allowed) => allowed.contains(&v.as_str()),
        };
        if !ok {
            let allowed = match rule {
                Rule::Switch => "`enabled` or `disabled`".to_owned(),
                Rule::Integer => "an integer as a string".to_owned(),
                Rule::OneOf(a) => a.join(", "),
                Rule::Text => String::new(),
            };
            out.push(format!("`{k}`: `{v}` is not allowed ({allowed})"));
        }
    }
    if let Some(name) = fields.get("name")
        && (name.is_empty() || name.len() > 20 || !name.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        out.push(format!("`name`: `{name}` must be 1 to 20 alphanumeric characters"));
    }
    if creating && !fields.contains_key("name") {
        out.push("`name` is required".into());
    }
    if let Some(url) = fields.get("originurl")
        && (url.len() > 128 || !(url.starts_with("http://") || url.starts_with("https://")))
    {
        out.push(format!("`originurl`: `{url}` must be an http(s) URL of at most 128 characters"));
    }
    out
}

/// What is wrong with alias fields.
pub fn check_alias(fields: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for k in fields.keys() {
        if !["zone_id", "name"].contains(&k.as_str()) {
            out.push(format!("unknown zone alias field `{k}`"));
        }
    }
    for required in ["zone_id", "name"] {
        if !fields.contains_key(required) {
            out.push(format!("`{required}` is required"));
        }
    }
    if let Some(name) = fields.get("name")
        && (name.is_empty() || name.len() > 128 || name.contains('/') || name.contains(' '))
    {
        out.push(format!("`name`: `{name}` must be a host name of at most 128 characters"));
    }
    if let Some(id) = fields.get("zone_id")
        && id.parse::<u64>().is_err()
    {
        out.push(format!("`zone_id`: `{id}` is not a zone id"));
    }
    out
}

/// What is wrong with an answer: the envelope, and every object value a string.
pub fn check_answer(status: u16, body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(m) = body.as_object() else { return vec!["an answer must be a JSON object".into()] };
    let ok = (200..300).contains(&status);
    match (m.get("status").and_then(Value::as_str), ok) {
        (Some("success"), true) | (Some("error"), false) => {}
        (s, _) => out.push(format!("status {status} with envelope status {s:?}")),
    }
    if !m.get("description").is_some_and(Value::is_string) {
        out.push("no `description`".into());
    }
    if let Some(data) = m.get("data") {
        let objects: Vec<&Value> = match data {
            Value::Object(d) => d
                .values()
                .flat_map(|v| match v {
                    Value::Array(items) => items.iter().collect::<Vec<_>>(),
                    other => vec![other],
                })
                .collect(),
            _ => vec![data],
        };
        for o in objects {
            let Some(o) = o.as_object() else {
                out.push("`data` must hold objects".into());
                continue;
            };
            for (k, v) in o {
                let nullable = k == "customsslcert" || k == "customsslkey";
                if !(v.is_string() || (nullable && v.is_null())) {
                    out.push(format!("`{k}` must be a string, not {v}"));
                }
            }
        }
    }
    out
}
