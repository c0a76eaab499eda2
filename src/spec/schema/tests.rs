use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};

use super::super::raw;
use super::*;
use crate::spec::SpecError;

fn object<'v>(schema: &'v Value, def: Option<&str>) -> &'v Value {
    match def {
        Some(d) => &schema["$defs"][d],
        None => schema,
    }
}

fn names(v: &Value) -> BTreeSet<String> {
    match v {
        Value::Object(m) => m.keys().cloned().collect(),
        Value::Array(a) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => BTreeSet::new(),
    }
}

fn set(fields: &[&str]) -> BTreeSet<String> {
    fields.iter().map(|f| (*f).to_owned()).collect()
}

#[test]
fn each_mapping_has_exactly_the_fields_the_reader_reads() {
    let schema = schema();
    for (def, fields) in [
        (None, raw::TOP),
        (Some("State"), raw::STATE),
        (Some("S3"), raw::S3),
        (Some("Defaults"), raw::DEFAULTS),
        (Some("Domain"), raw::DOMAIN),
    ] {
        let o = object(&schema, def);
        assert_eq!(names(&o["properties"]), set(fields), "{def:?}: the schema's fields and raw.rs's differ");
        assert_eq!(o["additionalProperties"], json!(false), "{def:?}: unknown fields are errors");
    }
    assert_eq!(names(&schema["required"]), set(&["version", "domains"]));
    assert_eq!(names(&schema["$defs"]["Domain"]["required"]), set(&["tracking_domain", "esp"]));
    assert_eq!(names(&schema["$defs"]["S3"]["required"]), set(&["bucket", "key"]));
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::new(&schema()).expect("the schema is a valid draft 2020-12 schema")
}

/// A spec's YAML as the JSON a language server validates.
fn json_of(yaml: &str) -> Value {
    serde_yaml::from_str(yaml).expect("YAML")
}

fn errors(v: &jsonschema::Validator, yaml: &str) -> Vec<String> {
    v.iter_errors(&json_of(yaml)).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

#[test]
fn every_example_is_valid_and_an_unknown_field_is_not() {
    let v = validator();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut seen = 0;
    for (dir, schema) in
        [(examples.clone(), "../sslprov.schema.json"), (examples.join("ci"), "../../sslprov.schema.json")]
    {
        for entry in std::fs::read_dir(&dir).expect("examples/") {
            let path = entry.expect("entry").path();
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("readable");
            assert!(
                text.starts_with(&format!("# yaml-language-server: $schema={schema}\n")),
                "{}: the first line names the schema for editors",
                path.display()
            );
            assert_eq!(errors(&v, &text), Vec::<String>::new(), "{}", path.display());
            seen += 1;
        }
    }
    assert!(seen >= 9, "{seen} examples");
    let unknown = "version: 1\nbraze_cluster: US-05\ndomains:\n  acme:\n    tracking_domain: url1.acme.com\n    esp: sendgrid\n    cnd: cloudfront\n";
    let found = errors(&v, unknown);
    assert!(found.iter().any(|e| e.contains("cnd")), "{found:?}");
    let top =
        "version: 1\nbraze_clusters: US-05\ndomains:\n  acme: { tracking_domain: url1.acme.com, esp: sendgrid }\n";
    assert!(!errors(&v, top).is_empty());
}

/// Where the schema and the reader can disagree (patterns against `names`' rules, nulls,
/// enums), a sample of each: the schema accepts what `Spec::parse` accepts.
#[test]
fn the_schema_agrees_with_the_parser_on_samples() {
    let v = validator();
    let spec = |domain: &str, extra: &str| {
        format!("version: 1\nbraze_cluster: US-05\n{extra}domains:\n  acme:\n    esp: sendgrid\n{domain}")
    };
    let mut cases = Vec::new();
    for name in [
        "url1.acme.com",
        "a.b.c.d.acme.co.uk",
        "xn--bcher-kva.acme.com",
        "url1.acme.123",
        "url1.acme.c0m",
        "-a.acme.com",
        "a-.acme.com",
        "URL1.acme.com",
        "url1.acme.com.",
        "url_1.acme.com",
        "url1..acme.com",
        &format!("{}.acme.com", "a".repeat(63)),
        &format!("{}.acme.com", "a".repeat(64)),
    ] {
        cases.push(spec(&format!("    tracking_domain: \"{name}\"\n"), ""));
    }
    for cluster in ["US-01", "EU-99", "US-00", "us-01", "US-1", "AP-01", "~"] {
        cases.push(spec(&format!("    tracking_domain: url1.acme.com\n    braze_cluster: {cluster}\n"), ""));
    }
    for key in ["acme", "9x", "a_b-c", "Acme", "-a", "_a"] {
        cases.push(format!(
            "version: 1\nbraze_cluster: US-05\ndomains:\n  \"{key}\": {{ tracking_domain: url1.acme.com, esp: sendgrid }}\n"
        ));
    }
    for extra in [
        "state: ~\n",
        "defaults: ~\n",
        "defaults: { cdn: ~ }\n",
        "state: { path: s.json }\n",
        "state: { s3: { bucket: acme-state, key: k.json } }\n",
        "state: { s3: { bucket: acme-state, key: k.json, region: eu-west-1, endpoint: ~ } }\n",
        "state: { s3: ~ }\n",
        "state: { s3: { bucket: b } }\n",
        "state: { s3: { bucket: acme-state, key: k.json, acl: private } }\n",
    ] {
        cases.push(spec("    tracking_domain: url1.acme.com\n", extra));
    }
    for field in ["cdn: nocdn", "dns: nodns", "advanced_certificate: ~", "zone: ~"] {
        cases.push(spec(&format!("    tracking_domain: url1.acme.com\n    {field}\n"), ""));
    }
    for case in cases {
        let parsed = crate::spec::Spec::parse(Path::new("sslprov.yaml"), &case);
        let schema_errors = errors(&v, &case);
        assert_eq!(schema_errors.is_empty(), parsed.is_ok(), "{case}\nschema: {schema_errors:?}\nparser: {parsed:?}");
    }
}

/// A small valid spec, as the JSON a language server sees.
fn valid() -> Value {
    json!({
        "version": 1,
        "braze_cluster": "US-05",
        "defaults": {},
        "domains": { "acme": { "tracking_domain": "url1.acme.com", "esp": "sendgrid" } },
    })
}

/// Where each mapping of the schema sits in [`valid`], as a JSON pointer and as the dotted field
/// path the parser's errors name.
const MAPPINGS: [(Option<&str>, &str, &str); 3] =
    [(None, "", ""), (Some("Defaults"), "/defaults", "defaults."), (Some("Domain"), "/domains/acme", "domains.acme.")];

/// The names an `allowed` text lists: `` `a`, `b` `` gives a and b.
fn listed(allowed: &str) -> BTreeSet<String> {
    allowed.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

/// Every field the schema gives a list of names is checked against the parser itself: a name not
/// on the list is refused, and the parser's error lists exactly the schema's names; every name
/// on the list is accepted at that field. So a CDN, ESP, DNS host or field value the parser
/// learns fails this test until the schema has it too, and the other way round.
#[test]
fn every_list_of_names_in_the_schema_is_the_parsers() {
    let schema = schema();
    let mut checked = Vec::new();
    for (def, pointer, prefix) in MAPPINGS {
        let Some(properties) = object(&schema, def)["properties"].as_object() else { continue };
        for (field, property) in properties {
            let Some(names) = property["enum"].as_array() else { continue };
            let names: BTreeSet<String> = names.iter().filter_map(Value::as_str).map(str::to_owned).collect();
            let path = format!("{prefix}{field}");
            let with = |value: &str| {
                let mut spec = valid();
                spec.pointer_mut(pointer).expect("in the valid spec")[field] = Value::from(value);
                let yaml = serde_yaml::to_string(&spec).expect("YAML");
                match crate::spec::Spec::parse(Path::new("sslprov.yaml"), &yaml) {
                    Ok(_) => Vec::new(),
                    Err(e) => e.0.into_iter().filter(|e| e.field == path).collect(),
                }
            };
            let refused = with("zzz-not-a-name");
            let [error] = refused.as_slice() else {
                panic!("{path}: an unknown name is not refused once: {refused:?}")
            };
            let allowed = listed(error.allowed.as_deref().unwrap_or_default());
            assert_eq!(allowed, names, "{path}: the parser allows {allowed:?}, the schema {names:?}");
            // Rules across fields (cdn cloudflare needs dns cloudflare) are no schema's: only a
            // refusal of the name itself counts.
            for name in &names {
                let refused: Vec<SpecError> = with(name).into_iter().filter(|e| e.allowed == error.allowed).collect();
                assert_eq!(refused, Vec::new(), "{path}: the schema allows `{name}`, the parser refuses it");
            }
            checked.push(path);
        }
    }
    assert_eq!(
        checked,
        [
            "defaults.cdn",
            "defaults.dns",
            "defaults.tier",
            "domains.acme.cdn",
            "domains.acme.dns",
            "domains.acme.esp",
            "domains.acme.tier",
            "domains.acme.tracking_record"
        ],
        "the fields with a list of names"
    );
}
