//! One operation of the document, with the keys of the validators for its parameters, request
//! bodies (one per media type), responses and response headers.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::schema::{self, resolve};

#[derive(Debug)]
pub struct Operation {
    pub id: String,
    /// Upper case: `GET`, `POST`, …
    pub method: String,
    /// The path template, as the document writes it (`/service/{service_id}`).
    pub path: String,
    /// The operation's `x-*` extensions, as written (`x-cfPermissionsRequired`, …).
    pub extensions: Map<String, Value>,
    segments: Vec<String>,
    pub(crate) params: Vec<Param>,
    pub(crate) body: Option<Body>,
    pub(crate) responses: BTreeMap<String, Response>,
    pub(crate) security: Vec<Vec<Scheme>>,
}

#[derive(Debug)]
pub(crate) struct Param {
    pub name: String,
    pub in_path: bool,
    pub required: bool,
    pub kind: Option<String>,
    pub key: String,
}

#[derive(Debug)]
pub(crate) struct Body {
    pub required: bool,
    /// Media type (lower case) → validator key.
    pub media: BTreeMap<String, String>,
    /// The fields a form body may carry, with their types (form media types only).
    pub form_fields: BTreeMap<String, (Option<String>, bool)>,
}

#[derive(Debug, Default)]
pub(crate) struct Response {
    /// Media type (lower case) → validator key; empty for a response without content.
    pub media: BTreeMap<String, String>,
    /// Header name (lower case) → (its type, validator key).
    pub headers: BTreeMap<String, (Option<String>, String)>,
}

#[derive(Debug, Clone)]
pub(crate) enum Scheme {
    Bearer,
    /// An `apiKey` in the header of that (lower-case) name.
    Header(String),
}

pub(crate) const FORM: &str = "application/x-www-form-urlencoded";

/// Whether a media type carries JSON (`application/json`, `application/vnd.api+json`, …).
pub(crate) fn is_json(media: &str) -> bool {
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

impl Operation {
    /// `keep` stores a schema in the compiled document and returns the key of its validator.
    pub(crate) fn new(
        doc: &Value,
        path: &str,
        method: &str,
        op: &Value,
        error_schema: fn(&Value) -> &Value,
        keep: &mut impl FnMut(String, &Value) -> String,
    ) -> Result<Operation, String> {
        let shared = doc["paths"][path]["parameters"].as_array().into_iter().flatten();
        let mut params = Vec::new();
        for (j, p) in shared.chain(op["parameters"].as_array().into_iter().flatten()).enumerate() {
            let p = resolve(doc, p);
            let in_path = match p["in"].as_str() {
                Some("path") => true,
                Some("query") => false,
                other => return Err(format!("{path}: parameter in {other:?} unsupported")),
            };
            params.push(Param {
                name: p["name"].as_str().ok_or("parameter without name")?.to_owned(),
                in_path,
                required: in_path || p["required"].as_bool().unwrap_or(false),
                kind: schema::declared_type(doc, &p["schema"]).0,
                key: keep(format!("p{j}"), &p["schema"]),
            });
        }
        let body = match op.get("requestBody").map(|b| resolve(doc, b)) {
            None => None,
            Some(b) => {
                let mut media = BTreeMap::new();
                let mut form_fields = BTreeMap::new();
                for (i, (name, content)) in b["content"].as_object().into_iter().flatten().enumerate() {
                    let name = name.to_ascii_lowercase();
                    if name == FORM {
                        form_fields = schema::properties(doc, &content["schema"]);
                    } else if !is_json(&name) {
                        return Err(format!("{method} {path}: request body in {name} unsupported"));
                    }
                    media.insert(name, keep(format!("body{i}"), &content["schema"]));
                }
                if media.is_empty() {
                    return Err(format!("{method} {path}: request body without content"));
                }
                Some(Body { required: b["required"].as_bool().unwrap_or(false), media, form_fields })
            }
        };
        let mut responses = BTreeMap::new();
        for (status, r) in op["responses"].as_object().ok_or("no responses")? {
            let r = resolve(doc, r);
            let mut response = Response::default();
            for (i, (name, content)) in r["content"].as_object().into_iter().flatten().enumerate() {
                let schema = &content["schema"];
                let schema = if status.starts_with('4') { error_schema(schema) } else { schema };
                response.media.insert(name.to_ascii_lowercase(), keep(format!("r{status}_{i}"), schema));
            }
            for (i, (name, header)) in r["headers"].as_object().into_iter().flatten().enumerate() {
                let header = resolve(doc, header);
                let kind = schema::declared_type(doc, &header["schema"]).0;
                response
                    .headers
                    .insert(name.to_ascii_lowercase(), (kind, keep(format!("h{status}_{i}"), &header["schema"])));
            }
            responses.insert(status.clone(), response);
        }
        let security = op.get("security").unwrap_or(&doc["security"]);
        let extensions = op.as_object().into_iter().flatten().filter(|(k, _)| k.starts_with("x-"));
        Ok(Operation {
            id: op["operationId"].as_str().ok_or("operation without id")?.to_owned(),
            method: method.to_uppercase(),
            path: path.to_owned(),
            extensions: extensions.map(|(k, v)| (k.clone(), v.clone())).collect(),
            segments: path.split('/').skip(1).map(str::to_owned).collect(),
            params,
            body,
            responses,
            security: requirements(security, &security_schemes(doc)),
        })
    }

    /// If `segments` fit this operation's path: how many literal segments matched (more is a
    /// better fit), and the path parameters.
    pub(crate) fn matches(&self, segments: &[&str]) -> Option<(usize, BTreeMap<String, String>)> {
        if self.segments.len() != segments.len() {
            return None;
        }
        let mut params = BTreeMap::new();
        let mut literal = 0;
        for (want, got) in self.segments.iter().zip(segments) {
            if let Some(name) = want.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                if got.is_empty() {
                    return None;
                }
                params.insert(name.to_owned(), (*got).to_owned());
            } else if want == got {
                literal += 1;
            } else {
                return None;
            }
        }
        Some((literal, params))
    }
}

fn security_schemes(doc: &Value) -> BTreeMap<String, Scheme> {
    let mut out = BTreeMap::new();
    for (name, s) in doc["components"]["securitySchemes"].as_object().into_iter().flatten() {
        let scheme = match (s["type"].as_str(), s["scheme"].as_str(), s["in"].as_str()) {
            (Some("http"), Some(scheme), _) if scheme.eq_ignore_ascii_case("bearer") => Scheme::Bearer,
            (Some("apiKey"), _, Some("header")) => match s["name"].as_str() {
                Some(header) => Scheme::Header(header.to_ascii_lowercase()),
                None => continue,
            },
            _ => continue,
        };
        out.insert(name.clone(), scheme);
    }
    out
}

/// OpenAPI security: a list of alternatives, each a set of schemes that must all be present.
/// An alternative naming an unknown scheme can never be satisfied.
fn requirements(security: &Value, schemes: &BTreeMap<String, Scheme>) -> Vec<Vec<Scheme>> {
    security
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|alt| alt.as_object()?.keys().map(|name| schemes.get(name).cloned()).collect::<Option<Vec<_>>>())
        .collect()
}
