//! The HTTP side: every request the server hands over runs through the same steps: the token
//! endpoint, operation polling, route, contract (request), bearer token, injected throttling,
//! ARM's token buckets, the emulated API, contract (response), log.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sslprov_emulator_kit::{self as emulator_kit, Answer, Request, Serve};

use crate::contract::{Contract, Incoming};
use crate::state::{self, Reply, State};
use crate::{RequestRecord, Violation};

/// The access token the emulator's token endpoint hands out, and the only one ARM accepts.
pub const ACCESS_TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.sslprov-emulator.";

/// The service principal the token endpoint knows.
pub(crate) struct Principal {
    pub tenant: String,
    pub client_id: String,
    pub secret: String,
    /// The federated token (workload identity) it accepts as a client assertion.
    pub assertion: String,
}

pub(crate) struct Inner {
    pub state: State,
    pub principal: Principal,
    pub log: Vec<RequestRecord>,
    pub violations: Vec<Violation>,
    pub tokens_issued: usize,
    contract: &'static Contract,
    /// `http://127.0.0.1:PORT`, which polling URLs point at.
    base: String,
}

pub(crate) type Server = emulator_kit::Server<Inner>;

pub(crate) fn start(principal: Principal) -> Server {
    let contract = Contract::get();
    Server::start("azure", |addr| Inner {
        state: State::new(),
        principal,
        log: Vec::new(),
        violations: Vec::new(),
        tokens_issued: 0,
        contract,
        base: format!("http://{addr}"),
    })
}

impl Serve for Inner {
    fn serve(&mut self, request: &Request) -> Answer {
        let mut record =
            RequestRecord { method: request.method.clone(), path: request.path.clone(), operation: None, status: 0 };
        let (status, headers, body) = self.respond(request, &mut record);
        record.status = status;
        self.log.push(record);
        let content_type = body.is_some().then_some("application/json; charset=utf-8");
        Answer { status, content_type, headers, body, cut: false }
    }
}

/// `/subscriptions/{s}/providers/Microsoft.Cdn/locations/global/operationresults/{id}`: the
/// operation's id.
fn operation_result(path: &str) -> Option<&str> {
    let (head, id) = path.rsplit_once("/operationresults/")?;
    (head.starts_with("/subscriptions/") && head.ends_with("/providers/Microsoft.Cdn/locations/global")).then_some(id)
}

fn bearer(request: &Request) -> Option<&str> {
    request.header("authorization")?.strip_prefix("Bearer ")
}

impl Inner {
    fn violation(&mut self, method: &str, path: &str, op: Option<&str>, detail: String) {
        self.violations.push(Violation {
            method: method.to_owned(),
            path: path.to_owned(),
            operation: op.map(str::to_owned),
            detail,
        });
    }

    fn respond(&mut self, request: &Request, record: &mut RequestRecord) -> Reply {
        let (contract, method, path) = (self.contract, &request.method, &request.path);
        let (query, body) = (&request.query_pairs(), &request.body[..]);
        if method == "POST" && path.ends_with("/oauth2/v2.0/token") {
            record.operation = Some("token".into());
            return self.token(path, body);
        }
        if method == "GET"
            && let Some(id) = operation_result(path)
        {
            record.operation = Some("operationresults".into());
            if bearer(request) != Some(ACCESS_TOKEN) {
                return state::error(401, "InvalidAuthenticationToken", "The access token is invalid.");
            }
            let location = query.iter().any(|(k, _)| k == "monitor");
            let reply = self.state.poll(id, location, &self.base, path);
            if !location && reply.0 == 200 {
                for e in contract.check_operation_status(reply.2.as_ref().unwrap_or(&Value::Null)) {
                    self.violation(method, path, Some("operationresults"), format!("response: {e}"));
                }
            }
            return reply;
        }
        let Some((op, params)) = contract.route(method, path) else {
            self.violation(method, path, None, format!("no operation of the ARM subset serves {method} {path}"));
            return state::error(404, "NoRegisteredProviderFound", format!("no route for {method} {path}"));
        };
        record.operation = Some(op.id.clone());
        let (call, breaches) =
            contract.check_request(op, params.clone(), &Incoming { query, headers: &request.headers, body });
        if !breaches.is_empty() {
            for b in &breaches {
                self.violation(method, path, Some(&op.id), b.clone());
            }
            return state::error(400, "InvalidRequestContent", breaches.join("; "));
        }
        if bearer(request) != Some(ACCESS_TOKEN) {
            return state::error(401, "InvalidAuthenticationToken", "The access token is invalid.");
        }
        if self.state.throttle > 0 {
            self.state.throttle -= 1;
            return self.throttled();
        }
        let Some((header, remaining)) = self.state.budget(method) else { return self.throttled() };
        let declared = |status: u16| contract.declared(op, status);
        let mut reply = self.state.arm(&op.id, path, &call.path, &call.body, &self.base, &declared);
        reply.1.push((header.to_owned(), remaining.to_string()));
        for e in contract.check_response(op, reply.0, &reply.1, reply.2.as_ref()) {
            self.violation(method, path, Some(&op.id), format!("response {}: {e}", reply.0));
        }
        reply
    }

    fn throttled(&self) -> Reply {
        let mut reply = state::error(429, "TooManyRequests", "The request is being throttled.");
        reply.1.push(("Retry-After".to_owned(), self.state.retry_after.to_string()));
        reply
    }

    /// Microsoft Entra ID's client-credentials grant, with a secret or a federated token.
    fn token(&mut self, path: &str, body: &[u8]) -> Reply {
        let form: BTreeMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
        let tenant = path.trim_start_matches('/').split('/').next().unwrap_or_default();
        let p = &self.principal;
        let refuse = |code: u16, error: &str, text: &str| {
            (code, Vec::new(), Some(json!({"error": error, "error_description": text})))
        };
        if tenant != p.tenant {
            return refuse(400, "invalid_request", "AADSTS90002: Tenant not found.");
        }
        if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
            return refuse(400, "unsupported_grant_type", "AADSTS70003: only client_credentials here");
        }
        if form.get("scope").map(String::as_str) != Some("https://management.azure.com/.default") {
            return refuse(
                400,
                "invalid_scope",
                "AADSTS70011: the scope must be https://management.azure.com/.default",
            );
        }
        if form.get("client_id") != Some(&p.client_id) {
            return refuse(400, "unauthorized_client", "AADSTS700016: Application not found in the directory.");
        }
        let by_secret = form.get("client_secret").is_some_and(|s| *s == p.secret);
        let by_assertion = form.get("client_assertion_type").map(String::as_str)
            == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            && form.get("client_assertion").is_some_and(|a| *a == p.assertion);
        if !by_secret && !by_assertion {
            return refuse(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
        }
        self.tokens_issued += 1;
        (200, Vec::new(), Some(json!({"token_type": "Bearer", "expires_in": 3599, "access_token": ACCESS_TOKEN})))
    }
}
