//! Rendering a resource's spec: `${…}` references filled from the domain, its ESP and the
//! outputs of the domain's other resources.
//!
//! A string that is one reference (`${certificate.validation_records.0.values}`) takes the
//! referenced value whatever its type; a reference inside a longer string is interpolated.
//! References are typed paths: `domain.<field>`, `esp.<field>` (with `esp.cdn.<field>` the ESP's
//! section for the domain's CDN), or `<part>.<output>[.<field or index>…]`. An output that does
//! not exist yet (its resource is still to be made, or has not reported it) makes the field
//! *unknown*: the plan shows it as "(known after apply)", and apply renders the spec again once
//! the outputs are recorded. Nothing is ever patched into a rendered value afterwards.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Value};
use sslprov_provider::Outputs;

/// How a plan shows a value only known once an earlier step has run.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

/// What rendering knows of another resource's outputs.
#[derive(Clone, Copy, Debug)]
pub enum Lookup<'a> {
    /// The resource exists (or existed when last applied): these are its outputs.
    Known(&'a Outputs),
    /// It is still to be made (or replaced): its outputs do not exist yet.
    Unknown,
}

pub struct Context<'a> {
    /// `domain.*`: the domain as the spec resolved it.
    pub domain: &'a Value,
    /// `esp.*`: the ESP's template data for the domain's region and CDN.
    pub esp: &'a Value,
    /// `<part>.*`.
    pub outputs: &'a dyn Fn(&str) -> Lookup<'a>,
}

/// A rendered spec. Unknown fields hold [`KNOWN_AFTER_APPLY`] and are listed in `unknown`, by
/// dotted path (`certificate_arn`, `origin.domain_name`, `values`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub spec: Map<String, Value>,
    pub unknown: BTreeSet<String>,
}

impl Rendered {
    pub fn is_complete(&self) -> bool {
        self.unknown.is_empty()
    }

    /// The spec without its unknown fields: what a provider can list with.
    pub fn known(&self) -> Map<String, Value> {
        let mut spec = self.spec.clone();
        for path in &self.unknown {
            remove(&mut spec, path);
        }
        spec
    }

    /// Whether `spec` shows every unknown field as this rendering does: a provider's reading of
    /// an incomplete spec is shown only if it left what the plan cannot know alone.
    pub fn keeps_unknown_in(&self, spec: &Map<String, Value>) -> bool {
        self.unknown.iter().all(|path| at(spec, path).is_some_and(|v| Some(v) == at(&self.spec, path)))
    }
}

fn at<'v>(map: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    match path.split_once('.') {
        None => map.get(path),
        Some((head, rest)) => match map.get(head) {
            Some(Value::Object(inner)) => at(inner, rest),
            _ => None,
        },
    }
}

fn remove(map: &mut Map<String, Value>, path: &str) {
    match path.split_once('.') {
        None => {
            map.remove(path);
        }
        Some((head, rest)) => {
            if let Some(Value::Object(inner)) = map.get_mut(head) {
                remove(inner, rest);
            }
        }
    }
}

/// A template that references what does not exist: a defect the template tests catch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RenderError {
    pub reference: String,
    pub why: String,
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`${{{}}}`: {}", self.reference, self.why)
    }
}

enum Eval {
    Known(Value),
    Unknown,
    /// A list some of whose items are unknown: unknown as a whole, shown item by item.
    Partial(Value),
}

/// Renders `template` (an object) in `cx`.
pub fn render(template: &Value, cx: &Context<'_>) -> Result<Rendered, RenderError> {
    let mut unknown = BTreeSet::new();
    let spec = match template {
        Value::Object(m) => object(m, "", cx, &mut unknown)?,
        _ => return Err(RenderError { reference: String::new(), why: "a spec must be a mapping".into() }),
    };
    Ok(Rendered { spec, unknown })
}

fn object(
    m: &Map<String, Value>,
    at: &str,
    cx: &Context<'_>,
    unknown: &mut BTreeSet<String>,
) -> Result<Map<String, Value>, RenderError> {
    let mut out = Map::new();
    for (k, v) in m {
        let path = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
        let value = match v {
            Value::Object(inner) => Value::Object(object(inner, &path, cx, unknown)?),
            other => match value(other, cx)? {
                Eval::Known(v) => v,
                Eval::Unknown => {
                    unknown.insert(path);
                    Value::String(KNOWN_AFTER_APPLY.into())
                }
                Eval::Partial(v) => {
                    unknown.insert(path);
                    v
                }
            },
        };
        out.insert(k.clone(), value);
    }
    Ok(out)
}

/// A list with an unknown element is unknown as a whole: a plan shows it, a provider cannot list
/// with it.
fn value(v: &Value, cx: &Context<'_>) -> Result<Eval, RenderError> {
    match v {
        Value::String(s) => string(s, cx),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            let mut partial = false;
            for item in items {
                match value(item, cx)? {
                    Eval::Known(v) => out.push(v),
                    Eval::Unknown | Eval::Partial(_) => {
                        partial = true;
                        out.push(Value::String(KNOWN_AFTER_APPLY.into()));
                    }
                }
            }
            Ok(if partial { Eval::Partial(Value::Array(out)) } else { Eval::Known(Value::Array(out)) })
        }
        Value::Object(m) => {
            let mut unknown = BTreeSet::new();
            let inner = object(m, "", cx, &mut unknown)?;
            Ok(if unknown.is_empty() { Eval::Known(Value::Object(inner)) } else { Eval::Unknown })
        }
        other => Ok(Eval::Known(other.clone())),
    }
}

fn string(s: &str, cx: &Context<'_>) -> Result<Eval, RenderError> {
    let refs = split(s);
    if let [Piece::Ref(r)] = refs.as_slice() {
        return eval(r, cx);
    }
    // An unknown inside a string makes the string unknown.
    let mut out = String::new();
    for piece in refs {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Ref(r) => match eval(r, cx)? {
                Eval::Unknown | Eval::Partial(_) => return Ok(Eval::Unknown),
                Eval::Known(Value::String(v)) => out.push_str(&v),
                Eval::Known(v @ (Value::Number(_) | Value::Bool(_))) => out.push_str(&v.to_string()),
                Eval::Known(other) => {
                    return Err(RenderError {
                        reference: r.to_owned(),
                        why: format!("{other} cannot be part of a string"),
                    });
                }
            },
        }
    }
    Ok(Eval::Known(Value::String(out)))
}

enum Piece<'a> {
    Text(&'a str),
    Ref(&'a str),
}

fn split(s: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start..].find('}') else { break };
        if start > 0 {
            out.push(Piece::Text(&rest[..start]));
        }
        out.push(Piece::Ref(rest[start + 2..start + len].trim()));
        rest = &rest[start + len + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

fn eval(reference: &str, cx: &Context<'_>) -> Result<Eval, RenderError> {
    let mut path = reference.split('.');
    let root = path.next().unwrap_or_default();
    let missing = |why: &str| RenderError { reference: reference.to_owned(), why: why.to_owned() };
    let (start, required) = match root {
        "domain" => (cx.domain.clone(), true),
        "esp" => (cx.esp.clone(), true),
        part => match (cx.outputs)(part) {
            Lookup::Unknown => return Ok(Eval::Unknown),
            Lookup::Known(outputs) => (Value::Object(outputs.0.clone().into_iter().collect()), false),
        },
    };
    let mut at = &start;
    for seg in path {
        let next = match at {
            Value::Object(m) => m.get(seg),
            Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        };
        match next {
            Some(v) => at = v,
            // Another resource's output it has not reported (yet): known after apply.
            None if !required => return Ok(Eval::Unknown),
            None => return Err(missing(&format!("no `{seg}` there"))),
        }
    }
    Ok(Eval::Known(at.clone()))
}

/// The value `s`, a string that is one `${…}` reference to the domain or the ESP, has; `None`
/// when it has none there.
pub fn lookup(s: &str, cx: &Context<'_>) -> Option<Value> {
    match split(s).as_slice() {
        [Piece::Ref(r)] => match eval(r, cx) {
            Ok(Eval::Known(v)) if !v.is_null() => Some(v),
            _ => None,
        },
        _ => None,
    }
}

/// The roots a template references (`domain`, `esp`, part names).
pub fn references(v: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    collect(v, &mut out);
    out
}

/// The whole references a template makes (`esp.origin`, `certificate.arn`).
pub fn reference_paths(v: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    collect_paths(v, &mut out);
    out
}

fn collect_paths(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s) => {
            for piece in split(s) {
                if let Piece::Ref(r) = piece {
                    out.insert(r.to_owned());
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_paths(i, out)),
        Value::Object(m) => m.values().for_each(|i| collect_paths(i, out)),
        _ => {}
    }
}

fn collect(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s) => {
            for piece in split(s) {
                if let Piece::Ref(r) = piece {
                    out.insert(r.split('.').next().unwrap_or_default().to_owned());
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
        Value::Object(m) => m.values().for_each(|i| collect(i, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cx<'a>(domain: &'a Value, esp: &'a Value, outputs: &'a dyn Fn(&str) -> Lookup<'a>) -> Context<'a> {
        Context { domain, esp, outputs }
    }

    #[test]
    fn whole_references_keep_their_type_and_inner_ones_interpolate() {
        let domain = json!({"key": "acme", "tracking_domain": "url1234.acme.com"});
        let esp = json!({"cdn": {"ttl": {"max": 10}, "methods": ["GET", "HEAD"]}});
        let cert = Outputs::default().with("validation_records", json!([{"name": "_a.acme.com", "values": ["x"]}]));
        let outputs = |p: &str| if p == "certificate" { Lookup::Known(&cert) } else { Lookup::Unknown };
        let t = json!({
            "comment": "sslprov: ${domain.key} (${domain.tracking_domain})",
            "max": "${esp.cdn.ttl.max}",
            "methods": "${esp.cdn.methods}",
            "name": "${certificate.validation_records.0.name}",
            "values": "${certificate.validation_records.0.values}",
            "nested": {"target": "${distribution.domain_name}", "fixed": 80},
            "list": ["${domain.tracking_domain}"],
        });
        let r = render(&t, &cx(&domain, &esp, &outputs)).unwrap();
        assert_eq!(r.spec["comment"], "sslprov: acme (url1234.acme.com)");
        assert_eq!(r.spec["max"], 10);
        assert_eq!(r.spec["methods"], json!(["GET", "HEAD"]));
        assert_eq!(r.spec["name"], "_a.acme.com");
        assert_eq!(r.spec["values"], json!(["x"]));
        assert_eq!(r.spec["list"], json!(["url1234.acme.com"]));
        assert_eq!(r.unknown, BTreeSet::from(["nested.target".to_owned()]));
        assert_eq!(r.spec["nested"]["target"], KNOWN_AFTER_APPLY);
        assert_eq!(r.known()["nested"], json!({"fixed": 80}));
        assert!(!r.is_complete());

        // A provider's reading of the spec is shown only where it leaves the unknown alone.
        let mut read = r.spec.clone();
        read["max"] = json!(0);
        assert!(r.keeps_unknown_in(&read));
        read["nested"]["target"] = json!("(known after apply).");
        assert!(!r.keeps_unknown_in(&read));
        read.remove("nested");
        assert!(!r.keeps_unknown_in(&read));
    }

    #[test]
    fn an_unreported_output_is_unknown_and_a_missing_field_is_a_defect() {
        let (domain, esp) = (json!({"zone": "acme.com"}), json!({}));
        let cert = Outputs::default();
        let outputs = |_: &str| Lookup::Known(&cert);
        let r = render(&json!({"v": ["${certificate.arn}"]}), &cx(&domain, &esp, &outputs)).unwrap();
        assert_eq!(r.unknown, BTreeSet::from(["v".to_owned()]));
        let e = render(&json!({"v": "${domain.nope}"}), &cx(&domain, &esp, &outputs)).unwrap_err();
        assert_eq!(e.to_string(), "`${domain.nope}`: no `nope` there");
    }

    #[test]
    fn references_are_collected_by_root() {
        let t = json!({"a": "${certificate.arn}", "b": ["x ${domain.key}"], "c": {"d": "${esp.origin}"}});
        assert_eq!(references(&t), BTreeSet::from(["certificate".into(), "domain".into(), "esp".into()]));
    }
}
