//! Checking a request against its operation.

use std::collections::BTreeMap;

use http::HeaderMap;
use serde_json::Value;

use crate::Contract;
use crate::operation::{FORM, Operation, Scheme, is_json};
use crate::schema::{coerce, form_to_json};

/// What of a request the contract checks beyond its route.
pub struct Incoming<'a> {
    /// Query pairs, decoded, in the order sent.
    pub query: &'a [(String, String)],
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// A request, in the shape handlers want: parameters and body typed as the document declares.
#[derive(Debug, Default)]
pub struct Call {
    pub path: BTreeMap<String, String>,
    pub query: BTreeMap<String, Value>,
    /// The JSON body, or the form body as typed JSON; `Null` without a body.
    pub body: Value,
    /// The request body's media type, lower case, without parameters.
    pub media: Option<String>,
    pub bearer: Option<String>,
    /// The values of the `apiKey` headers the document knows, by lower-case header name.
    pub api_keys: BTreeMap<String, String>,
}

impl Call {
    pub fn path(&self, name: &str) -> &str {
        self.path.get(name).map_or("", String::as_str)
    }

    pub fn query_str(&self, name: &str) -> Option<&str> {
        self.query.get(name).and_then(Value::as_str)
    }
}

/// Why a request broke the contract; decides the error an emulator answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breach {
    Auth,
    ContentType,
    /// A JSON body that does not parse.
    Json,
    Path,
    Query,
    Body,
}

impl Contract {
    /// Check a request against its operation: security, parameters, content type and body.
    pub fn check_request(
        &self,
        op: &Operation,
        path_params: BTreeMap<String, String>,
        req: &Incoming<'_>,
    ) -> (Call, Vec<(Breach, String)>) {
        let mut problems = Vec::new();
        if !op.security.iter().any(|alt| alt.iter().all(|s| s.satisfied(req.headers))) {
            problems.push((Breach::Auth, "no credentials satisfy the operation's security requirement".to_owned()));
        }
        let mut call = Call { bearer: bearer(req.headers), ..Call::default() };
        for scheme in op.security.iter().flatten() {
            if let Scheme::Header(name) = scheme
                && let Some(value) = req.headers.get(name.as_str()).and_then(|v| v.to_str().ok())
            {
                call.api_keys.insert(name.clone(), value.to_owned());
            }
        }
        for p in op.params.iter().filter(|p| p.in_path) {
            let raw = path_params.get(&p.name).cloned().unwrap_or_default();
            let value = coerce(&raw, p.kind.as_deref(), false);
            for e in self.errors(&p.key, &value) {
                problems.push((Breach::Path, format!("path parameter {}: {e}", p.name)));
            }
            call.path.insert(p.name.clone(), raw);
        }
        for (name, raw) in req.query {
            let Some(p) = op.params.iter().find(|p| !p.in_path && &p.name == name) else {
                problems.push((Breach::Query, format!("unknown query parameter {name:?}")));
                continue;
            };
            let value = coerce(raw, p.kind.as_deref(), false);
            for e in self.errors(&p.key, &value) {
                problems.push((Breach::Query, format!("query parameter {name}: {e}")));
            }
            if call.query.insert(name.clone(), value).is_some() {
                problems.push((Breach::Query, format!("query parameter {name} given twice")));
            }
        }
        for p in op.params.iter().filter(|p| !p.in_path && p.required) {
            if !call.query.contains_key(&p.name) {
                problems.push((Breach::Query, format!("required query parameter {} missing", p.name)));
            }
        }
        match &op.body {
            None if !req.body.is_empty() => {
                problems.push((Breach::Body, "the operation takes no request body".to_owned()));
            }
            None => {}
            Some(body) if req.body.is_empty() && body.required => {
                problems.push((Breach::Body, "request body required".to_owned()));
            }
            Some(_) if req.body.is_empty() => {}
            Some(body) => {
                let content_type = req.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
                let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
                // A body of an undeclared type is still read as the first declared one, so that
                // what else is wrong with it is reported too.
                let (media, key) = match body.media.get_key_value(&media) {
                    Some(found) => found,
                    None => {
                        let takes: Vec<&str> = body.media.keys().map(String::as_str).collect();
                        problems.push((
                            Breach::ContentType,
                            format!("content-type {content_type:?}, the operation takes {}", takes.join(" or ")),
                        ));
                        body.media.iter().next().expect("a body has at least one media type")
                    }
                };
                call.media = Some(media.clone());
                let value = if media == FORM {
                    let (value, form_problems) = form_to_json(&body.form_fields, req.body);
                    problems.extend(form_problems.into_iter().map(|p| (Breach::Body, format!("form: {p}"))));
                    Some(value)
                } else if is_json(media) {
                    match serde_json::from_slice::<Value>(req.body) {
                        Err(e) => {
                            problems.push((Breach::Json, format!("malformed JSON body: {e}")));
                            None
                        }
                        Ok(value) => Some(value),
                    }
                } else {
                    None
                };
                if let Some(value) = value {
                    for e in self.errors(key, &value) {
                        problems.push((Breach::Body, format!("body: {e}")));
                    }
                    call.body = value;
                }
            }
        }
        (call, problems)
    }
}

impl Scheme {
    fn satisfied(&self, headers: &HeaderMap) -> bool {
        match self {
            Scheme::Bearer => bearer(headers).is_some(),
            Scheme::Header(name) => headers.get(name.as_str()).is_some_and(|v| !v.is_empty()),
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}
