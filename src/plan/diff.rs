//! Attribute-level differences between two resources, for the human plan.

use serde_json::Value;
use sslprov_provider::Desired;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributeChange {
    /// Dotted path: `origin.domain_name`, `behavior.forward_headers`.
    pub path: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Every leaf that differs (or, with `before` absent, every leaf of `after`). Lists and sets are
/// leaves: a plan reads better showing `["a"] -> ["a", "b"]` than per-index noise.
pub fn attribute_changes(before: Option<&Desired>, after: Option<&Desired>) -> Vec<AttributeChange> {
    let to_value = |d: Option<&Desired>| d.map(|d| serde_json::to_value(d).expect("desired serializes"));
    let mut out = Vec::new();
    walk("", to_value(before).as_ref(), to_value(after).as_ref(), &mut out);
    out.retain(|c| c.path != "kind");
    out
}

fn walk(path: &str, before: Option<&Value>, after: Option<&Value>, out: &mut Vec<AttributeChange>) {
    match (before, after) {
        (Some(Value::Object(b)), Some(Value::Object(a))) => {
            let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                walk(&join(path, k), b.get(k), a.get(k), out);
            }
        }
        (None, Some(Value::Object(a))) => {
            for (k, v) in a {
                walk(&join(path, k), None, Some(v), out);
            }
        }
        (Some(Value::Object(b)), None) => {
            for (k, v) in b {
                walk(&join(path, k), Some(v), None, out);
            }
        }
        (b, a) if b != a => out.push(AttributeChange { path: path.to_owned(), before: b.cloned(), after: a.cloned() }),
        _ => {}
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_owned() } else { format!("{prefix}.{key}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sslprov_provider::{RecordSpec, RecordType};

    fn record(values: &[&str]) -> Desired {
        Desired::of(
            sslprov_provider::RECORD,
            &RecordSpec {
                zone: "acme.com".into(),
                name: "url1234.acme.com".into(),
                rtype: RecordType::Cname,
                ttl: 300,
                values: values.iter().map(|v| v.to_string()).collect(),
                proxied: None,
            },
        )
    }

    #[test]
    fn only_changed_leaves_are_listed() {
        let c = attribute_changes(Some(&record(&["sendgrid.net"])), Some(&record(&["d1.cloudfront.net"])));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].path, "values");
        assert_eq!(c[0].before, Some(serde_json::json!(["sendgrid.net"])));
        assert_eq!(c[0].after, Some(serde_json::json!(["d1.cloudfront.net"])));
        assert!(attribute_changes(Some(&record(&["x"])), Some(&record(&["x"]))).is_empty());
    }

    #[test]
    fn a_create_lists_every_attribute() {
        let c = attribute_changes(None, Some(&record(&["x"])));
        let paths: Vec<_> = c.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["name", "ttl", "type", "values", "zone"]);
    }
}
