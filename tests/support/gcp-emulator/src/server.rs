//! The HTTP side: every request the server hands over runs through the same steps: the token
//! endpoint, route, contract (request), bearer token, injected throttling, the emulated API,
//! contract (response), log.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use sslprov_emulator_kit::{self as emulator_kit, Answer, Request, Serve};

use crate::discovery::{self, Contract};
use crate::state::{self, Reply, State};
use crate::{RequestRecord, Violation};

/// The access token the emulator's token endpoint hands out.
pub const ACCESS_TOKEN: &str = "ya29.sslprov-emulator";

pub(crate) struct Inner {
    pub state: State,
    pub log: Vec<RequestRecord>,
    pub violations: Vec<Violation>,
    contract: &'static Contract,
}

pub(crate) type Server = emulator_kit::Server<Inner>;

pub(crate) fn start() -> Server {
    let contract = discovery::get();
    Server::start("gcp", |_| Inner { state: State::new(), log: Vec::new(), violations: Vec::new(), contract })
}

impl Serve for Inner {
    fn serve(&mut self, request: &Request) -> Answer {
        let mut record =
            RequestRecord { method: request.method.clone(), path: request.path.clone(), method_id: None, status: 0 };
        let (status, body) = self.respond(request, &mut record);
        record.status = status;
        self.log.push(record);
        Answer {
            status,
            content_type: Some("application/json; charset=UTF-8"),
            headers: Vec::new(),
            body: Some(body),
            cut: false,
        }
    }

    /// globalOperations.wait answers when the operation is done (at most 2 s here).
    fn hold(&mut self, request: &Request) -> Option<Duration> {
        let path = &request.path;
        if request.method != "POST" || !path.ends_with("/wait") || !path.contains("/global/operations/") {
            return None;
        }
        let name = path.trim_end_matches("/wait").rsplit('/').next().unwrap_or_default();
        Some(self.state.operation_remaining(name).min(Duration::from_secs(2)))
    }
}

impl Inner {
    fn violation(&mut self, method: &str, path: &str, id: Option<&str>, detail: String) {
        self.violations.push(Violation {
            method: method.to_owned(),
            path: path.to_owned(),
            method_id: id.map(str::to_owned),
            detail,
        });
    }

    fn respond(&mut self, request: &Request, record: &mut RequestRecord) -> Reply {
        let (contract, method, path) = (self.contract, &request.method, &request.path);
        let (query, body) = (&request.query_pairs(), &request.body[..]);
        if path == "/token" && method == "POST" {
            // An OAuth 2.0 token endpoint, for `authorized_user` credentials whose `token_uri` is here.
            // google-cloud-auth sends it as JSON; OAuth's own form is a form.
            let grant = match serde_json::from_slice::<Value>(body) {
                Ok(json) => json["grant_type"].as_str().map(str::to_owned),
                Err(_) => {
                    form_urlencoded::parse(body).into_owned().collect::<BTreeMap<String, String>>().remove("grant_type")
                }
            };
            if grant.as_deref() != Some("refresh_token") {
                return (400, json!({"error": "unsupported_grant_type"}));
            }
            return (200, json!({"access_token": ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"}));
        }
        let Some((m, params)) = contract.route(method, path) else {
            self.violation(method, path, None, format!("no method of the discovery documents serves {method} {path}"));
            return state::error(404, "notFound", format!("no route for {method} {path}"));
        };
        record.method_id = Some(m.id.clone());
        let parsed: Option<Value> = if body.is_empty() { None } else { serde_json::from_slice(body).ok() };
        if !body.is_empty() && parsed.is_none() {
            self.violation(method, path, Some(&m.id), "the body is not JSON".into());
            return state::error(400, "parseError", "the body is not JSON");
        }
        let breaches = contract.check_request(m, query, parsed.as_ref());
        if !breaches.is_empty() {
            for b in &breaches {
                self.violation(method, path, Some(&m.id), b.clone());
            }
            return state::error(400, "invalid", breaches.join("; "));
        }
        let bearer = request.header("authorization").and_then(|v| v.strip_prefix("Bearer "));
        if bearer.is_none_or(|t| t.trim().is_empty()) {
            return state::error(401, "required", "Request is missing required authentication credential");
        }
        let compute = m.id.starts_with("compute.");
        if self.state.throttle > 0 {
            self.state.throttle -= 1;
            // Compute throttles with 403 rateLimitExceeded, Certificate Manager with 429.
            return if compute {
                state::error(403, "rateLimitExceeded", "Quota exceeded for quota metric 'Queries' (injected)")
            } else {
                state::error(429, "rateLimitExceeded", "Quota exceeded (injected)")
            };
        }
        let q: BTreeMap<String, String> = query.iter().cloned().collect();
        let id_parts: Vec<&str> = m.id.split('.').collect();
        let verb = id_parts.last().copied().unwrap_or_default();
        let resource = id_parts.get(id_parts.len().saturating_sub(2)).copied().unwrap_or_default();
        let reply = if compute {
            let project = params.get("project").cloned().unwrap_or_default();
            let after = path.split_once(&format!("/projects/{project}/")).map(|(_, r)| r).unwrap_or_default();
            let rest: Vec<&str> = after.trim_start_matches("global/").split('/').collect();
            self.state.compute(&project, resource, verb, &rest, &q, parsed.as_ref())
        } else {
            let name = path.trim_start_matches("/v1/").to_owned();
            self.state.certs(resource, verb, &name, &q, parsed.as_ref())
        };
        if (200..300).contains(&reply.0) {
            for b in contract.check_response(m, &reply.1) {
                self.violation(method, path, Some(&m.id), format!("response: {b}"));
            }
        }
        reply
    }
}
