//! Route 53 record sets ↔ [`RecordSpec`]: normalised on the way in, so that a record written from
//! a spec lists as exactly that spec, and made fully qualified on the way out.

use aws_sdk_route53::types::{AliasTarget, ResourceRecord, ResourceRecordSet, RrType};
use sslprov_provider::{ErrorKind, ProviderError, RecordSpec, RecordType};

use crate::NAME;

/// How an alias record shows in [`RecordSpec::values`]: `alias:<target name>`, with TTL 0.
const ALIAS: &str = "alias:";
/// The hosted zone every CloudFront distribution's alias target lives in (a documented constant).
const CLOUDFRONT_ZONE_ID: &str = "Z2FDTNDATAQYW2";

/// Lower case, no trailing dot, with Route 53's `\ooo` escapes decoded (it lists `*.acme.com` as
/// `\052.acme.com.`).
pub(crate) fn name(s: &str) -> String {
    let b = s.trim_end_matches('.').as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)))
            .and_then(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 8).ok());
        match (b[i], octal) {
            (b'\\', Some(c)) => {
                out.push(c);
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).to_ascii_lowercase()
}

fn value(rtype: RecordType, v: &str) -> String {
    match rtype {
        RecordType::Cname | RecordType::Alias => name(v),
        RecordType::Aaaa => v.to_ascii_lowercase(),
        // TXT is case-sensitive; a spec holds its text, Route 53 its quoted strings.
        RecordType::Txt => unquote(v),
        RecordType::A => v.to_owned(),
    }
}

/// The text of a Route 53 TXT value: its quoted strings (`"a" "b"`, with `\"` and `\\`
/// escapes), joined. A value without quotes is taken as it is.
fn unquote(v: &str) -> String {
    if !v.starts_with('"') {
        return v.to_owned();
    }
    let mut out = String::new();
    let (mut inside, mut escaped) = (false, false);
    for c in v.chars() {
        match (inside, escaped, c) {
            (true, true, c) => {
                out.push(c);
                escaped = false;
            }
            (true, false, '\\') => escaped = true,
            (true, false, '"') => inside = false,
            (true, false, c) => out.push(c),
            (false, _, '"') => inside = true,
            (false, _, _) => {}
        }
    }
    out
}

/// A TXT text as Route 53 takes it: quoted, escaped, in strings of at most 255 characters.
fn quote(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let strings: Vec<String> = chars
        .chunks(255)
        .map(|chunk| {
            let s: String = chunk.iter().collect();
            format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
        })
        .collect();
    if strings.is_empty() { "\"\"".to_owned() } else { strings.join(" ") }
}

fn record_type(t: &RrType) -> Option<RecordType> {
    match t {
        RrType::Cname => Some(RecordType::Cname),
        RrType::A => Some(RecordType::A),
        RrType::Aaaa => Some(RecordType::Aaaa),
        RrType::Txt => Some(RecordType::Txt),
        _ => None,
    }
}

/// The Route 53 type of `t`; an alias pair starts with its A set.
pub(crate) fn rr_type(t: RecordType) -> RrType {
    match t {
        RecordType::Cname => RrType::Cname,
        RecordType::A | RecordType::Alias => RrType::A,
        RecordType::Aaaa => RrType::Aaaa,
        RecordType::Txt => RrType::Txt,
    }
}

fn fqdn(s: &str) -> String {
    format!("{}.", s.trim_end_matches('.'))
}

/// The spec of a listed record set in `zone`, or `None` for what sslprov does not manage: other
/// types, and weighted/latency/failover sets (a `SetIdentifier`), which are several sets per name.
pub(crate) fn spec(zone: &str, set: &ResourceRecordSet) -> Option<RecordSpec> {
    if set.set_identifier().is_some() {
        return None;
    }
    let rtype = record_type(set.r#type())?;
    let (ttl, mut values) = match set.alias_target() {
        Some(target) => (0, vec![format!("{ALIAS}{}", name(target.dns_name()))]),
        None => (
            set.ttl().and_then(|t| u32::try_from(t).ok()).unwrap_or(0),
            set.resource_records().iter().map(|r| value(rtype, r.value())).collect(),
        ),
    };
    values.sort();
    Some(RecordSpec { zone: zone.to_owned(), name: name(set.name()), rtype, ttl, values, proxied: None })
}

/// An A and an AAAA alias set of one name to one target, as listed, become the one
/// [`RecordType::Alias`] spec they were written from; anything else stays as it is.
pub(crate) fn pair_aliases(specs: Vec<RecordSpec>) -> Vec<RecordSpec> {
    use std::collections::{HashMap, HashSet};
    let target = |s: &RecordSpec| match s.values.as_slice() {
        [v] => v.strip_prefix(ALIAS).map(str::to_owned),
        _ => None,
    };
    let aaaa: HashMap<(String, String), usize> = specs
        .iter()
        .enumerate()
        .filter(|(_, s)| s.rtype == RecordType::Aaaa)
        .filter_map(|(i, s)| Some(((s.name.clone(), target(s)?), i)))
        .collect();
    let pair_of = |s: &RecordSpec| {
        let t = target(s).filter(|_| s.rtype == RecordType::A)?;
        aaaa.get(&(s.name.clone(), t.clone())).map(|i| (t, *i))
    };
    let paired: HashSet<usize> = specs.iter().filter_map(|s| pair_of(s).map(|(_, i)| i)).collect();
    specs
        .iter()
        .enumerate()
        .filter(|(i, _)| !paired.contains(i))
        .map(|(_, s)| match pair_of(s) {
            Some((t, _)) => RecordSpec { rtype: RecordType::Alias, ttl: 0, values: vec![t], ..s.clone() },
            None => s.clone(),
        })
        .collect()
}

/// How an alias pair to one target lists, told without building its sets: whether Route 53 takes
/// the target is asked when it is written, so that a plan shows the pair (no TTL) before its
/// target exists.
pub(crate) fn listed_alias(spec: &RecordSpec) -> Option<RecordSpec> {
    match (spec.rtype, spec.values.as_slice()) {
        (RecordType::Alias, [v]) => {
            Some(RecordSpec { ttl: 0, values: vec![name(v.trim_start_matches(ALIAS))], ..spec.clone() })
        }
        _ => None,
    }
}

/// The record sets `spec` is written as: one, or for an alias the A and AAAA pair.
pub(crate) fn record_sets(spec: &RecordSpec) -> Result<Vec<ResourceRecordSet>, ProviderError> {
    if spec.rtype != RecordType::Alias {
        return Ok(vec![record_set(spec)?]);
    }
    let values: Vec<String> =
        spec.values.iter().map(|v| format!("{ALIAS}{}", name(v.trim_start_matches(ALIAS)))).collect();
    [RecordType::A, RecordType::Aaaa]
        .into_iter()
        .map(|rtype| record_set(&RecordSpec { rtype, ttl: 0, values: values.clone(), ..spec.clone() }))
        .collect()
}

fn sorted(values: &[String]) -> Vec<&str> {
    let mut v: Vec<&str> = values.iter().map(String::as_str).collect();
    v.sort_unstable();
    v
}

/// The record set to send for `spec`. Only CloudFront alias targets can be written, since an
/// alias needs its target's hosted zone id and only CloudFront's is a fixed, documented value.
pub(crate) fn record_set(spec: &RecordSpec) -> Result<ResourceRecordSet, ProviderError> {
    let invalid = |e: aws_sdk_route53::error::BuildError| {
        ProviderError::new(ErrorKind::InvalidRequest, NAME, "ChangeResourceRecordSets", e.to_string())
    };
    let set = ResourceRecordSet::builder().name(fqdn(&spec.name)).r#type(rr_type(spec.rtype));
    let set = match spec.values.as_slice() {
        [v] if v.starts_with(ALIAS) => {
            let target = &v[ALIAS.len()..];
            if !target.ends_with(".cloudfront.net") {
                return Err(ProviderError::new(
                    ErrorKind::Unsupported,
                    NAME,
                    "ChangeResourceRecordSets",
                    format!("{} aliases {target}; sslprov writes alias records to CloudFront only", spec.name),
                ));
            }
            let alias = AliasTarget::builder()
                .hosted_zone_id(CLOUDFRONT_ZONE_ID)
                .dns_name(fqdn(target))
                .evaluate_target_health(false)
                .build()
                .map_err(invalid)?;
            set.alias_target(alias)
        }
        // Sorted, as list reports them: moto matches a DELETE against the values exactly as
        // they were written, order included.
        values => sorted(values).into_iter().try_fold(set.ttl(spec.ttl.into()), |set, v| {
            let v = match spec.rtype {
                RecordType::Cname => fqdn(v),
                RecordType::Txt => quote(v),
                _ => v.to_owned(),
            };
            Ok(set.resource_records(ResourceRecord::builder().value(v).build().map_err(invalid)?))
        })?,
    };
    set.build().map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(name: &str, t: RrType, ttl: i64, values: &[&str]) -> ResourceRecordSet {
        values
            .iter()
            .fold(ResourceRecordSet::builder().name(name).r#type(t).ttl(ttl), |b, v| {
                b.resource_records(ResourceRecord::builder().value(*v).build().expect("value"))
            })
            .build()
            .expect("complete")
    }

    fn spec_of(name: &str, rtype: RecordType, ttl: u32, values: &[&str]) -> RecordSpec {
        RecordSpec {
            zone: "acme.com".into(),
            name: name.into(),
            rtype,
            ttl,
            values: values.iter().map(|v| v.to_string()).collect(),
            proxied: None,
        }
    }

    #[test]
    fn names_lose_case_trailing_dot_and_escapes() {
        assert_eq!(name("Click.Acme.COM."), "click.acme.com");
        assert_eq!(name("\\052.acme.com."), "*.acme.com");
        assert_eq!(name("a\\100b.acme.com"), "a@b.acme.com");
        // Not an escape: kept as is rather than guessed at.
        assert_eq!(name("a\\9.acme.com"), "a\\9.acme.com");
        assert_eq!(name("tail\\05"), "tail\\05");
        assert_eq!(name("a\\+12.acme.com"), "a\\+12.acme.com");
    }

    #[test]
    fn listed_sets_normalise_by_type() {
        let cname = listed("Click.Acme.com.", RrType::Cname, 300, &["D111.CloudFront.net."]);
        assert_eq!(
            spec("acme.com", &cname),
            Some(spec_of("click.acme.com", RecordType::Cname, 300, &["d111.cloudfront.net"]))
        );
        let txt = listed("acme.com.", RrType::Txt, 60, &["\"v=spf1 -all\"", "\"B\"", "\"a \\\"q\\\"\" \"b\""]);
        assert_eq!(
            spec("acme.com", &txt),
            Some(spec_of("acme.com", RecordType::Txt, 60, &["B", "a \"q\"b", "v=spf1 -all"]))
        );
        let aaaa = listed("v6.acme.com.", RrType::Aaaa, 60, &["2001:DB8::1"]);
        assert_eq!(spec("acme.com", &aaaa).expect("aaaa").values, ["2001:db8::1"]);
        let a = listed("a.acme.com.", RrType::A, 60, &["192.0.2.2", "192.0.2.10"]);
        assert_eq!(spec("acme.com", &a).expect("a").values, ["192.0.2.10", "192.0.2.2"]);
    }

    #[test]
    fn alias_sets_show_their_target_with_ttl_zero() {
        let set = ResourceRecordSet::builder()
            .name("acme.com.")
            .r#type(RrType::A)
            .alias_target(
                AliasTarget::builder()
                    .hosted_zone_id(CLOUDFRONT_ZONE_ID)
                    .dns_name("D111.cloudfront.net.")
                    .evaluate_target_health(false)
                    .build()
                    .expect("complete"),
            )
            .build()
            .expect("complete");
        let s = spec("acme.com", &set).expect("alias");
        assert_eq!(s, spec_of("acme.com", RecordType::A, 0, &["alias:d111.cloudfront.net"]));
        assert_eq!(spec("acme.com", &record_set(&s).expect("cloudfront alias")), Some(s));
    }

    #[test]
    fn an_alias_lists_as_its_sets_do_whatever_its_target() {
        let alias = spec_of("click.acme.com", RecordType::Alias, 300, &["D111.CloudFront.net."]);
        let round_trip: Vec<RecordSpec> =
            record_sets(&alias).expect("cloudfront").iter().filter_map(|set| spec("acme.com", set)).collect();
        assert_eq!(pair_aliases(round_trip), [listed_alias(&alias).expect("one target")]);
        // A target not known yet (or not CloudFront) is refused when written, not when listed.
        let pending = spec_of("click.acme.com", RecordType::Alias, 300, &["(known after apply)"]);
        assert!(record_sets(&pending).is_err());
        assert_eq!(listed_alias(&pending).expect("one target").ttl, 0);
    }

    #[test]
    fn unmanaged_sets_are_skipped() {
        assert_eq!(spec("acme.com", &listed("acme.com.", RrType::Mx, 60, &["10 mx.acme.com."])), None);
        let weighted = ResourceRecordSet::builder()
            .name("click.acme.com.")
            .r#type(RrType::Cname)
            .set_identifier("blue")
            .weight(10)
            .ttl(60)
            .resource_records(ResourceRecord::builder().value("a.example.net").build().expect("value"))
            .build()
            .expect("complete");
        assert_eq!(spec("acme.com", &weighted), None);
    }

    #[test]
    fn written_sets_are_fully_qualified_and_list_back_as_the_spec() {
        let s = spec_of("click.acme.com", RecordType::Cname, 300, &["d111.cloudfront.net"]);
        let set = record_set(&s).expect("valid");
        assert_eq!(set.name(), "click.acme.com.");
        assert_eq!(set.resource_records()[0].value(), "d111.cloudfront.net.");
        assert_eq!(spec("acme.com", &set), Some(s));

        let txt = spec_of("acme.com", RecordType::Txt, 60, &["a \"quoted\" \\ text", &"x".repeat(300)]);
        let set = record_set(&txt).expect("valid");
        assert!(set.resource_records().iter().any(|r| r.value() == "\"a \\\"quoted\\\" \\\\ text\""), "{set:?}");
        assert!(set.resource_records().iter().any(|r| r.value().starts_with(&format!("\"{}\" \"", "x".repeat(255)))));
        assert_eq!(spec("acme.com", &set), Some(txt));
    }

    #[test]
    fn aliases_to_anything_but_cloudfront_are_refused() {
        let elb = spec_of("acme.com", RecordType::A, 0, &["alias:lb-1.us-east-1.elb.amazonaws.com"]);
        assert_eq!(record_set(&elb).expect_err("no zone id known").kind, ErrorKind::Unsupported);
    }
}
