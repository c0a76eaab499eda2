//! DNS records: list with filters and paging, create, read, overwrite (PUT), patch and delete,
//! with the API's normalisation and conflict rules.
//!
//! Normalisation, as the API does it: names become lower-case FQDNs inside the zone (`www` and
//! `www.example.com.` both become `www.example.com`, `@` is the apex); a proxied record's TTL is
//! always 1 (automatic); a CNAME's target loses its trailing dot. Records are rendered as the API
//! renders them since 2025: no `zone_id`/`zone_name`/`locked`, `meta` and `settings` present,
//! and `comment` left out when there is none (the subset forbids `comment: null`).
//!
//! Conflicts: a CNAME is alone at its name. Creating a CNAME where an A, AAAA or CNAME exists
//! answers 81053, where another type exists 81055; creating any record where a CNAME exists
//! answers 81054; an identical record (type, name, content) answers 81057.

use serde_json::{Map, Value, json};

use crate::contract::Call;
use crate::reply::{self, Reply};
use crate::state::{Zone, new_id, now, page_of};

/// A DNS record as the emulator holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsRecord {
    pub id: String,
    pub r#type: String,
    /// Lower-case FQDN without the trailing dot.
    pub name: String,
    pub content: String,
    pub proxied: bool,
    /// 1 means automatic.
    pub ttl: u64,
    pub priority: Option<u64>,
    pub comment: Option<String>,
    pub tags: Vec<String>,
    /// Structured content of CAA, SRV, … records.
    pub data: Option<Value>,
    /// Per-record settings (`flatten_cname`, …), echoed as sent.
    pub settings: Value,
    pub created_on: String,
    pub modified_on: String,
}

impl DnsRecord {
    pub(crate) fn new(zone: &str, r#type: &str, name: &str, content: &str, proxied: bool) -> DnsRecord {
        let at = now();
        DnsRecord {
            id: new_id(),
            r#type: r#type.to_owned(),
            name: fqdn(name, zone),
            content: normal_content(r#type, content),
            proxied,
            ttl: 1,
            priority: None,
            comment: None,
            tags: Vec::new(),
            data: None,
            settings: json!({}),
            created_on: at.clone(),
            modified_on: at,
        }
    }

    pub fn proxiable(&self) -> bool {
        matches!(self.r#type.as_str(), "A" | "AAAA" | "CNAME")
    }

    pub(crate) fn render(&self) -> Value {
        let mut r = json!({
            "id": self.id,
            "name": self.name,
            "type": self.r#type,
            "content": self.content,
            "proxiable": self.proxiable(),
            "proxied": self.proxied,
            "ttl": self.ttl,
            "settings": self.settings,
            "meta": {},
            "tags": self.tags,
            "created_on": self.created_on,
            "modified_on": self.modified_on,
        });
        let fields = [
            ("comment", self.comment.clone().map(Value::from)),
            ("priority", self.priority.map(Value::from)),
            ("data", self.data.clone()),
        ];
        for (key, value) in fields {
            if let Some(v) = value {
                r[key] = v;
            }
        }
        r
    }
}

/// `GET dns_records`: 100 per page by default; filters combine by `match` (default all).
pub(crate) fn list(zone: &Zone, call: &Call) -> Reply {
    let any = call.query_str("match") == Some("any");
    let filters: Vec<(&str, &Value)> = call
        .query
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "page" | "per_page" | "order" | "direction" | "match" | "tag_match"))
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    let mut records: Vec<&DnsRecord> = zone
        .records
        .iter()
        .filter(|r| {
            let mut hits = filters.iter().map(|(k, v)| matches_filter(r, k, v));
            if any && !filters.is_empty() { hits.any(|h| h) } else { hits.all(|h| h) }
        })
        .collect();
    if let Some(order) = call.query_str("order") {
        records.sort_by(|a, b| match order {
            "type" => a.r#type.cmp(&b.r#type),
            "content" => a.content.cmp(&b.content),
            "ttl" => a.ttl.cmp(&b.ttl),
            "proxied" => a.proxied.cmp(&b.proxied),
            _ => a.name.cmp(&b.name),
        });
        if call.query_str("direction") == Some("desc") {
            records.reverse();
        }
    }
    page_of(records.into_iter().map(DnsRecord::render).collect(), call, 100)
}

fn matches_filter(r: &DnsRecord, key: &str, want: &Value) -> bool {
    let text = want.as_str().unwrap_or_default().to_lowercase();
    let comment = r.comment.as_deref().map(str::to_lowercase);
    let tags: Vec<String> = r.tags.iter().map(|t| t.to_lowercase()).collect();
    let tag_named = |name: &str| tags.iter().any(|t| t.split(':').next() == Some(name));
    match key {
        "name" => r.name == text.trim_end_matches('.'),
        "type" => want.as_str() == Some(r.r#type.as_str()),
        "content" => r.content.to_lowercase() == text,
        "proxied" => want.as_bool() == Some(r.proxied),
        "comment" | "comment.exact" => comment.as_deref() == Some(text.as_str()),
        "comment.present" => comment.is_some(),
        "comment.absent" => comment.is_none(),
        "comment.contains" => comment.is_some_and(|c| c.contains(&text)),
        "comment.startswith" => comment.is_some_and(|c| c.starts_with(&text)),
        "comment.endswith" => comment.is_some_and(|c| c.ends_with(&text)),
        "tag" if text.contains(':') => tags.contains(&text),
        "tag" | "tag.present" => tag_named(&text),
        "tag.absent" => !tag_named(&text),
        "tag.exact" => tags.contains(&text),
        "tag.contains" | "tag.startswith" | "tag.endswith" => {
            let Some((name, part)) = text.split_once(':') else {
                return false;
            };
            tags.iter().filter_map(|t| t.split_once(':')).any(|(n, v)| {
                n == name
                    && match key {
                        "tag.contains" => v.contains(part),
                        "tag.startswith" => v.starts_with(part),
                        _ => v.ends_with(part),
                    }
            })
        }
        "search" => {
            r.name.contains(&text)
                || r.content.to_lowercase().contains(&text)
                || comment.is_some_and(|c| c.contains(&text))
        }
        _ => true,
    }
}

pub(crate) fn create(zone: &mut Zone, call: &Call) -> Reply {
    let blank = DnsRecord::new(&zone.name, "", "@", "", false);
    store(zone, apply(&zone.name, blank, &call.body))
}

pub(crate) fn get(zone: &Zone, call: &Call) -> Reply {
    match zone.records.iter().find(|r| r.id == call.path("dns_record_id")) {
        Some(r) => Reply::ok(r.render()),
        None => not_found(),
    }
}

/// PUT: every field not sent goes back to its default.
pub(crate) fn overwrite(zone: &mut Zone, call: &Call) -> Reply {
    let Some(old) = zone.records.iter().find(|r| r.id == call.path("dns_record_id")) else {
        return not_found();
    };
    let mut blank = DnsRecord::new(&zone.name, "", "@", "", false);
    blank.id.clone_from(&old.id);
    blank.created_on.clone_from(&old.created_on);
    store(zone, apply(&zone.name, blank, &call.body))
}

/// PATCH: only the fields sent change.
pub(crate) fn patch(zone: &mut Zone, call: &Call) -> Reply {
    let Some(old) = zone.records.iter().find(|r| r.id == call.path("dns_record_id")).cloned() else {
        return not_found();
    };
    store(zone, apply(&zone.name, old, &call.body))
}

pub(crate) fn delete(zone: &mut Zone, call: &Call) -> Reply {
    let id = call.path("dns_record_id");
    let before = zone.records.len();
    zone.records.retain(|r| r.id != id);
    if zone.records.len() == before {
        return not_found();
    }
    Reply::ok(json!({"id": id}))
}

/// Put a created or changed record in the zone, after the API's checks.
fn store(zone: &mut Zone, record: Result<DnsRecord, Reply>) -> Reply {
    let mut record = match record {
        Ok(r) => r,
        Err(reply) => return reply,
    };
    if record.proxied && !record.proxiable() {
        return Reply::error(400, reply::NOT_PROXIABLE, "This record type cannot be proxied.");
    }
    if record.proxied {
        record.ttl = 1;
    }
    if let Some(conflict) = conflict(&zone.records, &record) {
        return conflict;
    }
    record.modified_on = now();
    let reply = Reply::ok(record.render());
    match zone.records.iter_mut().find(|r| r.id == record.id) {
        Some(slot) => *slot = record,
        None => zone.records.push(record),
    }
    reply
}

fn conflict(records: &[DnsRecord], new: &DnsRecord) -> Option<Reply> {
    let same_name: Vec<&DnsRecord> = records.iter().filter(|r| r.id != new.id && r.name == new.name).collect();
    if same_name
        .iter()
        .any(|r| r.r#type == new.r#type && r.content.eq_ignore_ascii_case(&new.content) && r.data == new.data)
    {
        return Some(Reply::error(400, reply::RECORD_EXISTS, "Record already exists."));
    }
    let is_address = |t: &str| matches!(t, "A" | "AAAA" | "CNAME");
    if new.r#type == "CNAME" {
        if same_name.iter().any(|r| is_address(&r.r#type)) {
            return Some(Reply::error(
                400,
                reply::NAME_TAKEN_BY_ADDRESS_OR_CNAME,
                "An A, AAAA, or CNAME record with that host already exists.",
            ));
        }
        if !same_name.is_empty() {
            return Some(Reply::error(400, reply::NAME_TAKEN, "A record with that host already exists."));
        }
    } else if same_name.iter().any(|r| r.r#type == "CNAME") {
        return Some(Reply::error(400, reply::NAME_TAKEN_BY_CNAME, "A CNAME record with that host already exists."));
    }
    None
}

/// Lay the fields of a request body over `record`. The contract has checked their types,
/// except a CNAME's `content`, which the subset leaves untyped.
fn apply(zone: &str, mut record: DnsRecord, body: &Value) -> Result<DnsRecord, Reply> {
    let fields = body.as_object().cloned().unwrap_or_else(Map::new);
    if let Some(t) = fields.get("type").and_then(Value::as_str) {
        t.clone_into(&mut record.r#type);
    }
    if let Some(n) = fields.get("name").and_then(Value::as_str) {
        record.name = fqdn(n, zone);
    }
    if let Some(data) = fields.get("data") {
        record.data = Some(data.clone());
        record.content = content_of(data);
    }
    match fields.get("content") {
        Some(Value::String(c)) if !c.is_empty() => record.content = normal_content(&record.r#type, c),
        Some(_) => {
            return Err(Reply::error(
                400,
                reply::INVALID_CONTENT,
                format!("Content for {} record is invalid.", record.r#type),
            ));
        }
        None => {}
    }
    if let Some(p) = fields.get("proxied").and_then(Value::as_bool) {
        record.proxied = p;
    }
    if let Some(ttl) = fields.get("ttl").and_then(Value::as_f64) {
        record.ttl = ttl as u64;
    }
    if let Some(p) = fields.get("priority").and_then(Value::as_f64) {
        record.priority = Some(p as u64);
    }
    if let Some(c) = fields.get("comment").and_then(Value::as_str) {
        record.comment = Some(c.to_owned());
    }
    if let Some(tags) = fields.get("tags").and_then(Value::as_array) {
        record.tags = tags.iter().filter_map(Value::as_str).map(str::to_owned).collect();
    }
    if let Some(settings) = fields.get("settings") {
        record.settings = settings.clone();
    }
    Ok(record)
}

/// A record name as the API stores it: lower case, no trailing dot, inside the zone.
pub(crate) fn fqdn(name: &str, zone: &str) -> String {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name == "@" || name.is_empty() || name == zone {
        zone.to_owned()
    } else if name.ends_with(&format!(".{zone}")) {
        name
    } else {
        format!("{name}.{zone}")
    }
}

fn normal_content(r#type: &str, content: &str) -> String {
    match r#type {
        "CNAME" => content.trim_end_matches('.').to_owned(),
        _ => content.to_owned(),
    }
}

/// The text form of structured record data (a CAA record's `0 issue "letsencrypt.org"`).
fn content_of(data: &Value) -> String {
    if let (Some(flags), Some(tag), Some(value)) = (data.get("flags"), data["tag"].as_str(), data["value"].as_str()) {
        return format!("{flags} {tag} \"{value}\"");
    }
    data.as_object()
        .into_iter()
        .flat_map(|m| m.values())
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .collect::<Vec<_>>()
        .join(" ")
}

fn not_found() -> Reply {
    Reply::error(404, reply::RECORD_NOT_FOUND, "Record does not exist.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_fqdns_inside_the_zone() {
        assert_eq!(fqdn("www", "example.com"), "www.example.com");
        assert_eq!(fqdn("WWW.Example.com.", "example.com"), "www.example.com");
        assert_eq!(fqdn("@", "example.com"), "example.com");
        assert_eq!(fqdn("click.other.org", "example.com"), "click.other.org.example.com");
    }

    #[test]
    fn cname_is_alone_at_its_name() {
        let a = DnsRecord::new("example.com", "A", "www", "192.0.2.1", false);
        let txt = DnsRecord::new("example.com", "TXT", "www", "hello", false);
        let cname = DnsRecord::new("example.com", "CNAME", "www", "target.example.net", false);
        let code = |r: Option<Reply>| r.map(|r| r.body["errors"][0]["code"].clone());
        assert_eq!(code(conflict(std::slice::from_ref(&a), &cname)), Some(json!(81053)));
        assert_eq!(code(conflict(std::slice::from_ref(&txt), &cname)), Some(json!(81055)));
        assert_eq!(code(conflict(std::slice::from_ref(&cname), &a)), Some(json!(81054)));
        let twin = DnsRecord::new("example.com", "A", "www", "192.0.2.1", false);
        assert_eq!(code(conflict(std::slice::from_ref(&a), &twin)), Some(json!(81057)));
        let second_a = DnsRecord::new("example.com", "A", "www", "192.0.2.2", false);
        assert_eq!(code(conflict(&[a, txt], &second_a)), None);
    }
}
