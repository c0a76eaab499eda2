//! DNS records ↔ [`RecordSpec`].
//!
//! Cloudflare holds one record per value; a spec is all records of one name and type, its values
//! sorted, and its [`Live::id`] the record ids in the same order, joined by commas (for the
//! single-valued CNAMEs sslprov writes, just the record id). Only what sslprov owns is projected:
//! name, type, content, TTL and the proxy flag; `comment`, `tags`, `meta`, `settings` and the
//! timestamps are never compared and never written, so a PATCH leaves them as they were.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use sslprov_provider::{
    Deletion, Desired, ErrorKind, Live, Outputs, ProviderError, RECORD, Readiness, RecordSpec, RecordType, Result,
};

use crate::endpoints::{self, DnsRecord};
use crate::{Cloudflare, NAME};

/// The largest `per_page` Cloudflare's definition allows for DNS records (5,000,000), so that a
/// zone's records come in one request however many there are.
pub(crate) const DNS_PAGE: u32 = 5_000_000;

/// Cloudflare's TTL value for "automatic", which every proxied record has.
const AUTOMATIC_TTL: u32 = 1;

/// Lower case, no trailing dot.
pub(crate) fn name(s: &str) -> String {
    s.trim_end_matches('.').to_ascii_lowercase()
}

fn record_type(t: &str) -> Option<RecordType> {
    Some(match t {
        "CNAME" => RecordType::Cname,
        "A" => RecordType::A,
        "AAAA" => RecordType::Aaaa,
        "TXT" => RecordType::Txt,
        _ => return None,
    })
}

fn proxiable(t: RecordType) -> bool {
    matches!(t, RecordType::Cname | RecordType::A | RecordType::Aaaa)
}

fn value(rtype: RecordType, content: &str) -> String {
    match rtype {
        RecordType::Cname | RecordType::Alias => name(content),
        RecordType::Aaaa => content.to_ascii_lowercase(),
        // TXT is case-sensitive; A needs nothing.
        RecordType::A | RecordType::Txt => content.to_owned(),
    }
}

/// `spec` as `list` shows it once written: names and values normalised, values sorted, and a
/// record that does not say whether it is proxied DNS-only.
pub(crate) fn normalised(spec: &RecordSpec) -> RecordSpec {
    // Cloudflare has no alias records; a CNAME below the apex serves the same traffic (and at
    // the apex Cloudflare flattens it).
    let rtype = if spec.rtype == RecordType::Alias { RecordType::Cname } else { spec.rtype };
    let spec = &RecordSpec { rtype, ..spec.clone() };
    let mut values: Vec<String> = spec.values.iter().map(|v| value(spec.rtype, v)).collect();
    values.sort();
    let proxied = Some(spec.proxied.unwrap_or(false));
    RecordSpec { zone: name(&spec.zone), name: name(&spec.name), values, proxied, ..spec.clone() }
}

/// The records of `zone` that sslprov manages, grouped by name and type; each spec comes with its
/// record ids in the order of its values.
pub(crate) fn group(zone: &str, records: &[DnsRecord]) -> Vec<(Vec<String>, RecordSpec)> {
    let mut sets: BTreeMap<(String, RecordType), Vec<&DnsRecord>> = BTreeMap::new();
    for r in records {
        if let Some(t) = record_type(&r.rtype) {
            sets.entry((name(&r.name), t)).or_default().push(r);
        }
    }
    sets.into_iter()
        .map(|((name, rtype), mut set)| {
            set.sort_by_cached_key(|r| value(rtype, &r.content));
            let ttl = |r: &DnsRecord| r.ttl as u32;
            let first = set[0];
            // A set whose records disagree cannot be one spec: show values nobody asks for, so
            // that the engine's next update writes them all alike.
            let ttl = if set.iter().all(|r| ttl(r) == ttl(first)) { ttl(first) } else { 0 };
            let proxied = set.iter().all(|r| r.proxied == first.proxied).then_some(first.proxied);
            let ids = set.iter().map(|r| r.id.clone()).collect();
            let values = set.iter().map(|r| value(rtype, &r.content)).collect();
            (ids, RecordSpec { zone: zone.to_owned(), name, rtype, ttl, values, proxied })
        })
        .collect()
}

fn live(zone_id: &str, ids: &[String], spec: RecordSpec) -> Live {
    Live {
        id: ids.join(","),
        desired: Desired::of(RECORD, &spec),
        outputs: Outputs::default().with("zone_id", zone_id),
        readiness: Readiness::Ready,
        marked: false,
    }
}

fn invalid(op: &'static str, message: String) -> ProviderError {
    ProviderError::new(ErrorKind::InvalidRequest, NAME, op, message)
}

pub(crate) fn spec_of(desired: &Desired, op: &'static str) -> Result<RecordSpec> {
    if desired.kind != RECORD {
        return Err(invalid(op, format!("not a record: {}", desired.kind)));
    }
    desired.parse(NAME, op)
}

/// The checked, normalised form of a desired record.
pub(crate) fn normalise(desired: &Desired) -> Result<Desired> {
    let spec = normalised(&spec_of(desired, "normalise")?);
    check(&spec, "normalise")?;
    Ok(Desired::of(RECORD, &spec))
}

/// What Cloudflare would refuse, or silently change into something `list` then shows different.
fn check(spec: &RecordSpec, op: &'static str) -> Result<bool> {
    let Some(proxied) = spec.proxied else {
        return Err(invalid(op, format!("{}: a Cloudflare record needs proxied set (true or false)", spec.name)));
    };
    let (zone, host) = (name(&spec.zone), name(&spec.name));
    // Cloudflare appends the zone to a name outside it: click.other.org would become
    // click.other.org.acme.com.
    if host != zone && !host.ends_with(&format!(".{zone}")) {
        return Err(invalid(op, format!("{host} is not in zone {zone}")));
    }
    if spec.values.is_empty() {
        return Err(invalid(op, format!("{host} {} has no value", spec.rtype)));
    }
    if proxied && !proxiable(spec.rtype) {
        return Err(invalid(op, format!("{host}: a {} record cannot be proxied", spec.rtype)));
    }
    if proxied && spec.ttl != AUTOMATIC_TTL {
        return Err(invalid(
            op,
            format!("{host} is proxied, so its TTL is automatic: ttl must be 1, not {}", spec.ttl),
        ));
    }
    if spec.ttl != AUTOMATIC_TTL && !(30..=86_400).contains(&spec.ttl) {
        return Err(invalid(op, format!("{host}: TTL {} is outside 1 (automatic) or 30–86400", spec.ttl)));
    }
    Ok(proxied)
}

/// The owned fields of one record, for a create (all) or a PATCH (those that change).
fn fields(spec: &RecordSpec, proxied: bool) -> serde_json::Map<String, Value> {
    let mut f = serde_json::Map::new();
    f.insert("ttl".into(), json!(spec.ttl));
    if proxiable(spec.rtype) {
        f.insert("proxied".into(), json!(proxied));
    }
    f
}

impl Cloudflare {
    /// One sweep of a zone in as few pages as the API allows (one, at [`DNS_PAGE`]).
    async fn sweep(&self, zone_id: &str) -> Result<Vec<DnsRecord>> {
        let mut all = Vec::new();
        for page in 1.. {
            let answer = self.api.send(&endpoints::dns_records(zone_id, page, self.dns_page)).await?;
            let count = answer.result.0.len();
            all.extend(answer.result.0);
            let pages = answer.result_info.as_ref().and_then(|i| i.get("total_pages")).and_then(Value::as_u64);
            let last = match pages {
                Some(pages) => u64::from(page) >= pages,
                None => count < self.dns_page as usize,
            };
            if last || count == 0 {
                break;
            }
        }
        Ok(all)
    }

    /// Per zone, one request; the records of the wanted names are kept (every name of a zone
    /// where a wanted record's name is not known yet).
    pub(crate) async fn list_records(&self, zones: &BTreeMap<String, Option<BTreeSet<String>>>) -> Result<Vec<Live>> {
        let mut found = Vec::new();
        for (zone, names) in zones {
            let zone_id = self.zone_id(zone).await?;
            let records = self.sweep(&zone_id).await?;
            for (ids, spec) in group(zone, &records) {
                if names.as_ref().is_none_or(|n| n.contains(&spec.name)) {
                    found.push(live(&zone_id, &ids, spec));
                }
            }
        }
        Ok(found)
    }

    /// The set of `spec`'s name and type as it is now, if any.
    async fn current(&self, zone_id: &str, spec: &RecordSpec) -> Result<Option<(Vec<String>, RecordSpec)>> {
        let answer = self.api.send(&endpoints::dns_records_named(zone_id, &spec.name, &spec.rtype.to_string())).await?;
        Ok(group(&spec.zone, &answer.result.0).into_iter().find(|(_, s)| s.name == spec.name && s.rtype == spec.rtype))
    }

    /// One POST per value. A record that exists already is an error unless it is exactly the
    /// spec: then it is this create's own earlier attempt, whose answer was lost.
    pub(crate) async fn create_record(&self, desired: &Desired) -> Result<Live> {
        let spec = normalised(&spec_of(desired, "create")?);
        let proxied = check(&spec, "create")?;
        let zone_id = self.zone_id(&spec.zone).await?;
        let mut made = Vec::new();
        for v in &spec.values {
            let mut body = fields(&spec, proxied);
            body.insert("type".into(), json!(spec.rtype.to_string()));
            body.insert("name".into(), json!(spec.name));
            body.insert("content".into(), json!(v));
            match self.api.send(&endpoints::create_dns_record(&zone_id, Value::Object(body))).await {
                Ok(answer) => made.push(answer.result),
                Err(e) if e.is(ErrorKind::AlreadyExists) => {
                    return match self.current(&zone_id, &spec).await? {
                        Some((ids, now)) if now == spec => Ok(live(&zone_id, &ids, now)),
                        _ => Err(e),
                    };
                }
                Err(e) => return Err(e),
            }
        }
        let ids: Vec<String> = group(&spec.zone, &made).into_iter().flat_map(|(ids, _)| ids).collect();
        Ok(live(&zone_id, &ids, spec))
    }

    /// In place, record by record: a record whose value stays is PATCHed (TTL, proxy) only if
    /// they change, one whose value goes is PATCHed to a new value, and only what is left over is
    /// created or deleted. So a DNS-only CNAME turned proxied keeps its id and never disappears.
    pub(crate) async fn update_record(&self, live_now: &Live, desired: &Desired) -> Result<Live> {
        let old = spec_of(&live_now.desired, "update")?;
        let new = normalised(&spec_of(desired, "update")?);
        if (name(&old.zone), &old.name, old.rtype) != (new.zone.clone(), &new.name, new.rtype) {
            return Err(invalid(
                "update",
                format!("{} {} cannot become {} {}; the engine replaces it", old.name, old.rtype, new.name, new.rtype),
            ));
        }
        let proxied = check(&new, "update")?;
        let zone_id = self.zone_id_of(live_now, &new.zone).await?;
        let ids: Vec<&str> = live_now.id.split(',').collect();
        if ids.len() != old.values.len() {
            return Err(invalid("update", format!("{}: {} ids for {} values", old.name, ids.len(), old.values.len())));
        }
        let mut spare: Vec<(&str, &str)> = old.values.iter().map(String::as_str).zip(ids).collect();
        let mut kept = Vec::new();
        let mut fresh = Vec::new();
        for v in &new.values {
            match spare.iter().position(|(value, _)| value == v) {
                Some(i) => kept.push((spare.remove(i).1, v)),
                None => fresh.push(v),
            }
        }
        let mut result: Vec<(String, String)> = Vec::new();
        let settings_change = old.ttl != new.ttl || old.proxied != Some(proxied);
        for (id, v) in kept {
            if settings_change {
                self.patch(&zone_id, id, fields(&new, proxied)).await?;
            }
            result.push((v.clone(), id.to_owned()));
        }
        let mut spare = spare.into_iter();
        for v in fresh {
            match spare.next() {
                Some((_, id)) => {
                    let mut f = fields(&new, proxied);
                    f.insert("content".into(), json!(v));
                    let r = self.patch(&zone_id, id, f).await?;
                    result.push((v.clone(), r.id));
                }
                None => {
                    let mut body = fields(&new, proxied);
                    body.insert("type".into(), json!(new.rtype.to_string()));
                    body.insert("name".into(), json!(new.name));
                    body.insert("content".into(), json!(v));
                    let r = self.api.send(&endpoints::create_dns_record(&zone_id, Value::Object(body))).await?;
                    result.push((v.clone(), r.result.id));
                }
            }
        }
        for (_, id) in spare {
            self.delete_one(&zone_id, id).await?;
        }
        result.sort();
        let ids: Vec<String> = result.into_iter().map(|(_, id)| id).collect();
        Ok(live(&zone_id, &ids, new))
    }

    async fn patch(&self, zone_id: &str, id: &str, f: serde_json::Map<String, Value>) -> Result<DnsRecord> {
        Ok(self.api.send(&endpoints::patch_dns_record(zone_id, id, Value::Object(f))).await?.result)
    }

    async fn delete_one(&self, zone_id: &str, id: &str) -> Result<()> {
        match self.api.send(&endpoints::delete_dns_record(zone_id, id)).await {
            Ok(_) => Ok(()),
            Err(e) if e.is(ErrorKind::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every record of the set; one already gone is fine.
    pub(crate) async fn delete_record(&self, live_now: &Live) -> Result<Deletion> {
        let spec = spec_of(&live_now.desired, "delete")?;
        let zone_id = match self.zone_id_of(live_now, &spec.zone).await {
            Err(e) if e.is(ErrorKind::NotFound) => return Ok(Deletion::Done),
            other => other?,
        };
        for id in live_now.id.split(',').filter(|id| !id.is_empty()) {
            self.delete_one(&zone_id, id).await?;
        }
        Ok(Deletion::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, t: &str, name: &str, content: &str, proxied: bool, ttl: f64) -> DnsRecord {
        DnsRecord { id: id.into(), rtype: t.into(), name: name.into(), content: content.into(), proxied, ttl }
    }

    fn spec(name: &str, rtype: RecordType, ttl: u32, values: &[&str], proxied: bool) -> RecordSpec {
        RecordSpec {
            zone: "acme.com".into(),
            name: name.into(),
            rtype,
            ttl,
            values: values.iter().map(|v| v.to_string()).collect(),
            proxied: Some(proxied),
        }
    }

    #[test]
    fn records_group_by_name_and_type_with_ids_in_value_order() {
        let records = [
            record("r1", "CNAME", "URL1234.acme.com", "SendGrid.net.", true, 1.0),
            record("r2", "A", "a.acme.com", "192.0.2.2", false, 300.0),
            record("r3", "A", "a.acme.com", "192.0.2.10", false, 300.0),
            record("r4", "CAA", "acme.com", "0 issue \"letsencrypt.org\"", false, 1.0),
            record("r5", "MX", "acme.com", "mx.acme.com", false, 1.0),
        ];
        let groups = group("acme.com", &records);
        assert_eq!(
            groups,
            vec![
                (
                    vec!["r3".into(), "r2".into()],
                    spec("a.acme.com", RecordType::A, 300, &["192.0.2.10", "192.0.2.2"], false)
                ),
                (vec!["r1".into()], spec("url1234.acme.com", RecordType::Cname, 1, &["sendgrid.net"], true)),
            ]
        );
    }

    #[test]
    fn a_set_that_disagrees_shows_a_diff() {
        let records = [
            record("r1", "A", "a.acme.com", "192.0.2.1", false, 300.0),
            record("r2", "A", "a.acme.com", "192.0.2.2", true, 1.0),
        ];
        let (_, s) = &group("acme.com", &records)[0];
        assert_eq!((s.ttl, s.proxied), (0, None));
    }

    #[test]
    fn specs_cloudflare_would_change_are_refused() {
        let ok = spec("url1234.acme.com", RecordType::Cname, 1, &["sendgrid.net"], true);
        assert_eq!(check(&ok, "create").ok(), Some(true));
        let kind = |s: RecordSpec| check(&s, "create").expect_err("refused").kind;
        assert_eq!(kind(RecordSpec { ttl: 300, ..ok.clone() }), ErrorKind::InvalidRequest);
        assert_eq!(kind(RecordSpec { proxied: None, ..ok.clone() }), ErrorKind::InvalidRequest);
        assert_eq!(kind(RecordSpec { name: "click.other.org".into(), ..ok.clone() }), ErrorKind::InvalidRequest);
        assert_eq!(kind(spec("acme.com", RecordType::Txt, 1, &["v=spf1 -all"], true)), ErrorKind::InvalidRequest);
        assert_eq!(kind(spec("x.acme.com", RecordType::Cname, 10, &["a.example"], false)), ErrorKind::InvalidRequest);
        assert!(check(&spec("x.acme.com", RecordType::Cname, 300, &["a.example"], false), "create").is_ok());
    }

    #[test]
    fn normalised_specs_are_what_list_shows() {
        let s = RecordSpec {
            zone: "Acme.com.".into(),
            name: "URL1234.Acme.com.".into(),
            ..spec("", RecordType::Cname, 1, &["SendGrid.NET."], true)
        };
        assert_eq!(normalised(&s), spec("url1234.acme.com", RecordType::Cname, 1, &["sendgrid.net"], true));
        let alias = RecordSpec { rtype: RecordType::Alias, ..s };
        assert_eq!(normalised(&alias).rtype, RecordType::Cname, "no aliases at Cloudflare: a CNAME");
    }
}
