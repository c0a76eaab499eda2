//! The HTTP side: every request the server hands over runs through the same steps, in order:
//! route, contract (request), rate limit, injected faults, token, the emulated API, contract
//! (response), log.

use std::time::{Instant, SystemTime};

use serde_json::{Value, json};
use sslprov_emulator_kit::{self as emulator_kit, Answer, Request, Serve};
use sslprov_openapi_contract::{Side, Violation};

use crate::contract::{Breach, Contract, Incoming};
use crate::reply::{self, Reply};
use crate::state::State;
use crate::traffic::{RequestRecord, Traffic};

/// The path every operation lives under.
pub const BASE_PATH: &str = "/client/v4";

pub(crate) struct Inner {
    pub state: State,
    pub traffic: Traffic,
    pub violations: Vec<Violation>,
    contract: &'static Contract,
}

pub(crate) type Server = emulator_kit::Server<Inner>;

pub(crate) fn start() -> Server {
    let contract = Contract::get();
    Server::start("cloudflare", |_| Inner {
        state: State::new(),
        traffic: Traffic::new(),
        violations: Vec::new(),
        contract,
    })
}

impl Serve for Inner {
    fn serve(&mut self, request: &Request) -> Answer {
        let at = Instant::now();
        let mut record = RequestRecord {
            at,
            time: SystemTime::now(),
            method: request.method.clone(),
            path: request.path.clone(),
            query: request.query.clone(),
            operation: None,
            status: 0,
        };
        let reply = self.respond(request, &mut record);
        let reply = self.traffic.headers(at).into_iter().fold(reply, |r, (name, value)| r.header(name, value));
        record.status = reply.status;
        self.traffic.log.push(record);
        reply.into()
    }
}

impl Inner {
    fn respond(&mut self, request: &Request, record: &mut RequestRecord) -> Reply {
        let contract = self.contract;
        let (method, full_path) = (&request.method, &request.path);
        let violation = |side, operation: Option<&str>, detail: String| Violation {
            side,
            method: method.clone(),
            path: full_path.clone(),
            operation: operation.map(str::to_owned),
            detail,
        };
        let routed = full_path.strip_prefix(BASE_PATH).and_then(|path| Some((path, contract.route(method, path)?)));
        let Some((path, (op, path_params))) = routed else {
            self.record(violation(
                Side::Route,
                None,
                format!("no operation of the definition serves {method} {full_path}"),
            ));
            return Reply::not_routed(full_path.strip_prefix(BASE_PATH).unwrap_or(full_path));
        };
        record.operation = Some(op.id.clone());
        let query = request.query_pairs();
        let incoming = Incoming { query: &query, headers: &request.headers, body: &request.body };
        let (call, breaches) = contract.check_request(op, path_params, &incoming);
        let mut exempt = false;
        let reply = if !breaches.is_empty() {
            for (_, detail) in &breaches {
                self.record(violation(Side::Request, Some(&op.id), detail.clone()));
            }
            refusal(path, &breaches)
        } else if let Some(limited) = self.traffic.rate_limit(record.at) {
            limited
        } else if let Some(fault) = self.traffic.take_fault() {
            // The definition has no 5XX responses; an injected server error is not checked.
            exempt = fault.status >= 500;
            fault
        } else {
            match self.state.token.authorize(op, &call) {
                Err(refused) => refused,
                Ok(()) => self.state.dispatch(op, &call),
            }
        };
        if !exempt {
            for detail in contract.check_response(op, reply.status, &reply.body) {
                self.record(violation(Side::Response, Some(&op.id), detail));
            }
        }
        reply
    }

    fn record(&mut self, v: Violation) {
        tracing::warn!(violation = %v, "cloudflare emulator: contract violation");
        self.violations.push(v);
    }
}

/// A 400 for a request the contract rejects, with the code the API uses for that kind of fault.
fn refusal(path: &str, breaches: &[(Breach, String)]) -> Reply {
    if breaches.iter().any(|(b, _)| *b == Breach::Path) {
        return Reply::not_routed(path);
    }
    let mut errors: Vec<Value> = Vec::new();
    for (breach, detail) in breaches {
        let (code, message) = match breach {
            Breach::Auth => {
                (reply::MISSING_AUTH, "Missing X-Auth-Key, X-Auth-Email or Authorization headers".to_owned())
            }
            Breach::ContentType => (reply::CONTENT_TYPE, "Content-type must be application/json.".to_owned()),
            Breach::Json => (reply::MALFORMED_JSON, "Malformed JSON in request body".to_owned()),
            Breach::Setting => (reply::INVALID_SETTING_VALUE, format!("Invalid value for zone setting: {detail}")),
            Breach::Path | Breach::Query | Breach::Body => (reply::INVALID_REQUEST, detail.clone()),
        };
        let error = json!({"code": code, "message": message});
        if !errors.contains(&error) {
            errors.push(error);
        }
    }
    Reply::errors(400, errors)
}
