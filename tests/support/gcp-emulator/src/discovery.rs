//! The contract: Google's two discovery documents (`spec/`, copies of `shared/gcp/`), compiled
//! once per process into routes and JSON Schema validators.
//!
//! Discovery schemas are close to JSON Schema, and [`convert`] closes the gap: `$ref: "Name"`
//! becomes `#/definitions/<api>_Name`, type `any` becomes no type, 64-bit integers (strings in
//! discovery) stay strings, per-property `required: true` (discovery's, a boolean) is dropped,
//! formats are not checked, and — the point of the exercise — an object schema with
//! `properties` and no `additionalProperties` gets `additionalProperties: false`, so a field the
//! API does not have (a misspelt one) is a violation, in a request or a response.
//!
//! Routes come from each method's `flatPath` below the document's `servicePath`; a literal
//! segment beats a variable one. Query parameters must be the method's own (location `query`)
//! or the document's global ones.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use jsonschema::{Draft, Validator};
use serde_json::{Map, Value, json};

pub(crate) const COMPUTE: &str = include_str!("../spec/compute-v1-discovery-subset.json");
pub(crate) const CERTIFICATE_MANAGER: &str = include_str!("../spec/certificatemanager-v1-discovery-subset.json");
const DOCUMENT: &str = "urn:sslprov:gcp-discovery";

#[derive(Debug)]
pub struct Method {
    /// `compute.urlMaps.patch`, `certificatemanager.projects.locations.certificates.create`.
    pub id: String,
    pub http: String,
    segments: Vec<Segment>,
    query: BTreeSet<String>,
    request: Option<String>,
    response: Option<String>,
}

#[derive(Debug)]
enum Segment {
    Literal(String),
    /// `{name}`, or the part of a segment before a literal suffix (`{operationsId}:cancel`).
    Variable(String, String),
}

impl Method {
    /// The path parameters, if `segments` is this method's path; and how many segments were
    /// literal.
    fn matches(&self, segments: &[&str]) -> Option<(usize, BTreeMap<String, String>)> {
        if segments.len() != self.segments.len() {
            return None;
        }
        let mut params = BTreeMap::new();
        let mut literal = 0;
        for (s, want) in segments.iter().zip(&self.segments) {
            match want {
                Segment::Literal(l) if l == s => literal += 1,
                Segment::Literal(_) => return None,
                Segment::Variable(name, suffix) => {
                    let value = s.strip_suffix(suffix.as_str())?;
                    if value.is_empty() {
                        return None;
                    }
                    params.insert(name.clone(), value.to_owned());
                }
            }
        }
        Some((literal, params))
    }
}

pub struct Contract {
    methods: Vec<Method>,
    validators: BTreeMap<String, Validator>,
}

/// The contract, compiled on first use. Panics if the bundled documents do not compile: a defect
/// of this crate that every test using it must fail on.
pub fn get() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| Contract::compile().unwrap_or_else(|e| panic!("gcp discovery documents: {e}")))
}

/// A discovery schema as JSON Schema (draft 4), references into `#/definitions/<api>_…`.
pub fn convert(v: &Value, api: &str) -> Value {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                return json!({"$ref": format!("#/definitions/{api}_{r}")});
            }
            let mut out = Map::new();
            for (k, x) in m {
                match k.as_str() {
                    "properties" => {
                        let props: Map<String, Value> = x
                            .as_object()
                            .into_iter()
                            .flatten()
                            .map(|(name, p)| (name.clone(), convert(p, api)))
                            .collect();
                        out.insert(k.clone(), Value::Object(props));
                    }
                    "items" | "additionalProperties" => {
                        out.insert(k.clone(), if x.is_object() { convert(x, api) } else { x.clone() });
                    }
                    "type" if x == "any" => {}
                    "type" | "enum" => {
                        out.insert(k.clone(), x.clone());
                    }
                    // Descriptions, annotations, formats, discovery's boolean `required`.
                    _ => {}
                }
            }
            if out.contains_key("properties") && !out.contains_key("additionalProperties") {
                out.insert("additionalProperties".into(), json!(false));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn methods_of(resources: &Value, out: &mut Vec<(String, Value)>) {
    for resource in resources.as_object().into_iter().flatten().map(|(_, r)| r) {
        for (_, m) in resource["methods"].as_object().into_iter().flatten() {
            out.push((m["id"].as_str().unwrap_or_default().to_owned(), m.clone()));
        }
        methods_of(&resource["resources"], out);
    }
}

impl Contract {
    fn compile() -> Result<Contract, String> {
        let mut defs = Map::new();
        let mut methods = Vec::new();
        for (api, text) in [("compute", COMPUTE), ("certificatemanager", CERTIFICATE_MANAGER)] {
            let doc: Value = serde_json::from_str(text).map_err(|e| format!("{api}: {e}"))?;
            for (name, schema) in doc["schemas"].as_object().ok_or("no schemas")? {
                defs.insert(format!("{api}_{name}"), convert(schema, api));
            }
            let globals: BTreeSet<String> =
                doc["parameters"].as_object().into_iter().flatten().map(|(k, _)| k.clone()).collect();
            let service_path = doc["servicePath"].as_str().unwrap_or_default();
            let mut found = Vec::new();
            methods_of(&doc["resources"], &mut found);
            for (id, m) in found {
                let flat = m["flatPath"].as_str().or(m["path"].as_str()).ok_or(format!("{id}: no path"))?;
                let segments = format!("{service_path}{flat}")
                    .split('/')
                    .map(|s| match s.strip_prefix('{').and_then(|r| r.split_once('}')) {
                        Some((name, suffix)) => Segment::Variable(name.to_owned(), suffix.to_owned()),
                        None => Segment::Literal(s.to_owned()),
                    })
                    .collect();
                let query = m["parameters"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(_, p)| p["location"] == "query")
                    .map(|(k, _)| k.clone())
                    .chain(globals.iter().cloned())
                    .collect();
                let schema = |f: &str| m[f]["$ref"].as_str().map(|r| format!("{api}_{r}"));
                methods.push(Method {
                    http: m["httpMethod"].as_str().unwrap_or_default().to_owned(),
                    request: schema("request"),
                    response: schema("response"),
                    id,
                    segments,
                    query,
                });
            }
        }
        let wanted: BTreeSet<String> =
            methods.iter().flat_map(|m| m.request.iter().chain(&m.response)).cloned().collect();
        let registry = jsonschema::Registry::new()
            .draft(Draft::Draft4)
            .add(DOCUMENT, json!({"definitions": defs}))
            .and_then(jsonschema::RegistryBuilder::prepare)
            .map_err(|e| e.to_string())?;
        let options =
            jsonschema::options().with_draft(Draft::Draft4).should_validate_formats(false).with_registry(&registry);
        let mut validators = BTreeMap::new();
        for name in wanted {
            let v = options
                .build(&json!({"$ref": format!("{DOCUMENT}#/definitions/{name}")}))
                .map_err(|e| format!("{name}: {e}"))?;
            validators.insert(name, v);
        }
        Ok(Contract { methods, validators })
    }

    pub fn methods(&self) -> &[Method] {
        &self.methods
    }

    /// The method serving `http path` (the path without query), with its path parameters.
    pub fn route(&self, http: &str, path: &str) -> Option<(&Method, BTreeMap<String, String>)> {
        let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        self.methods
            .iter()
            .filter(|m| m.http == http)
            .filter_map(|m| Some((m.matches(&segments)?, m)))
            .max_by_key(|((literal, _), _)| *literal)
            .map(|((_, params), m)| (m, params))
    }

    /// What is wrong with a request: unknown query parameters, a body where none is taken or
    /// none where one is, a body outside its schema.
    pub fn check_request(&self, m: &Method, query: &[(String, String)], body: Option<&Value>) -> Vec<String> {
        let mut out: Vec<String> = query
            .iter()
            .filter(|(k, _)| !m.query.contains(k))
            .map(|(k, _)| format!("unknown query parameter {k}"))
            .collect();
        match (&m.request, body) {
            (Some(schema), Some(b)) => out.extend(self.errors(schema, b)),
            (Some(schema), None) => out.push(format!("no body; {schema} expected")),
            (None, Some(b)) if b != &json!({}) => out.push("a body where the method takes none".into()),
            (None, _) => {}
        }
        out
    }

    /// What is wrong with a successful response's body.
    pub fn check_response(&self, m: &Method, body: &Value) -> Vec<String> {
        match &m.response {
            Some(schema) => self.errors(schema, body),
            None => Vec::new(),
        }
    }

    /// Whether `value` is a valid `<api>_<Schema>` (`compute_UrlMap`).
    pub fn check(&self, schema: &str, value: &Value) -> Vec<String> {
        self.errors(schema, value)
    }

    fn errors(&self, schema: &str, value: &Value) -> Vec<String> {
        let Some(v) = self.validators.get(schema) else { return vec![format!("no compiled schema {schema}")] };
        v.iter_errors(value).take(5).map(|e| format!("{schema} at {:?}: {e}", e.instance_path().to_string())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_documents_compile_with_every_method() {
        let c = get();
        assert_eq!(c.methods().len(), 59 + 24);
    }

    #[test]
    fn routes_by_flat_path_literal_first() {
        let c = get();
        let (m, p) = c.route("POST", "/compute/v1/projects/p/global/operations/op-1/wait").expect("route");
        assert_eq!((m.id.as_str(), p["operation"].as_str()), ("compute.globalOperations.wait", "op-1"));
        let (m, p) =
            c.route("POST", "/v1/projects/p/locations/global/certificateMaps/m/certificateMapEntries").expect("route");
        assert_eq!(m.id, "certificatemanager.projects.locations.certificateMaps.certificateMapEntries.create");
        assert_eq!(p["certificateMapsId"], "m");
        let (m, _) = c.route("GET", "/compute/v1/projects/p/global/sslPolicies/listAvailableFeatures").expect("route");
        assert_eq!(m.id, "compute.sslPolicies.listAvailableFeatures");
    }

    #[test]
    fn an_unknown_field_is_a_violation() {
        let c = get();
        let (m, _) = c.route("POST", "/compute/v1/projects/p/global/urlMaps").expect("route");
        assert!(
            c.check_request(m, &[], Some(&json!({"name": "u", "defaultUrlRedirect": {"hostRedirect": "x"}})))
                .is_empty()
        );
        let bad = c.check_request(m, &[("requestid".into(), "x".into())], Some(&json!({"name": "u", "hostRule": []})));
        assert_eq!(bad.len(), 2, "{bad:?}");
    }
}
