//! The HTTP side: every request the server hands over runs through the same steps, in order:
//! route, contract (request), token, rate limit, injected faults, the emulated API, rate-limit
//! headers, contract (response), log.

use std::time::{Instant, SystemTime};

use serde_json::{Value, json};
use sslprov_emulator_kit::{self as emulator_kit, Answer, Request, Serve};
use sslprov_openapi_contract::{Breach, Contract, Incoming, Outgoing, Side, Violation};

use crate::contract;
use crate::reply::{self, Ending, JSON_API, Reply};
use crate::state::State;
use crate::traffic::{self, Effect, RequestRecord, Traffic};

pub(crate) struct Inner {
    pub state: State,
    pub traffic: Traffic,
    pub violations: Vec<Violation>,
    contract: &'static Contract,
}

pub(crate) type Server = emulator_kit::Server<Inner>;

pub(crate) fn start() -> Server {
    let contract = contract::get();
    Server::start("fastly", |addr| Inner {
        state: State::new(format!("http://{addr}")),
        traffic: Traffic::new(),
        violations: Vec::new(),
        contract,
    })
}

impl Serve for Inner {
    fn serve(&mut self, request: &Request) -> Answer {
        let mut record = RequestRecord {
            at: Instant::now(),
            time: SystemTime::now(),
            method: request.method.clone(),
            path: request.path.clone(),
            query: request.query.clone(),
            operation: None,
            status: 0,
            cut: false,
        };
        let reply = self.respond(request, &mut record);
        record.status = reply.status;
        record.cut = reply.ending == Ending::Cut;
        self.traffic.log.push(record);
        reply.into()
    }
}

impl Inner {
    fn respond(&mut self, request: &Request, record: &mut RequestRecord) -> Reply {
        let (contract, method, path) = (self.contract, &request.method, &request.path);
        let violation = |side, operation: Option<&str>, detail: String| Violation {
            side,
            method: method.clone(),
            path: path.clone(),
            operation: operation.map(str::to_owned),
            detail,
        };
        let Some((op, path_params)) = contract.route(method, path) else {
            self.record(violation(Side::Route, None, format!("no operation of the definition serves {method} {path}")));
            return if path.starts_with("/tls") {
                Reply::api_error(404, "Not found", format!("no route for {method} {path}"))
            } else {
                Reply::not_found(format!("no route for {method} {path}"))
            };
        };
        record.operation = Some(op.id.clone());
        let json_api = op.path.starts_with("/tls");
        // Classic non-reads are what the hourly limit counts and what carry its headers.
        let limited = !json_api && method != "GET";
        let incoming = Incoming { query: &request.query_pairs(), headers: &request.headers, body: &request.body };
        let (mut call, breaches) = contract.check_request(op, path_params, &incoming);
        let accepts_json_api = request.header("accept").is_some_and(|a| a.contains(JSON_API));
        if json_api && !accepts_json_api && call.query.keys().any(|k| k.starts_with("filter[")) {
            // go-fastly: the Accept header "is required otherwise the filters don't work". A real
            // API answers as if no filter was given, which a client would not notice.
            self.record(violation(
                Side::Request,
                Some(&op.id),
                "filters are ignored without Accept: application/vnd.api+json".to_owned(),
            ));
            call.query.retain(|k, _| !k.starts_with("filter["));
        }
        let mut exempt = false;
        let mut reply = if !breaches.is_empty() {
            for (_, detail) in &breaches {
                self.record(violation(Side::Request, Some(&op.id), detail.clone()));
            }
            refusal(&breaches, json_api)
        } else if let Err(refused) = self.state.token.authorize(op, &call, json_api) {
            refused
        } else if let Some(limited) = limited.then(|| self.traffic.rate_limit(SystemTime::now())).flatten() {
            limited
        } else {
            match self.traffic.take_fault(&op.id) {
                Some(Effect::Status(429)) => {
                    let now = SystemTime::now();
                    let [_, (reset, at)] = self.traffic.headers(now);
                    // In the family of the endpoint: JSON:API errors under /tls.
                    let refused = if json_api {
                        Reply::api_error(429, reply::RATE_LIMITED, "injected")
                    } else {
                        Reply::error(429, reply::RATE_LIMITED, "injected")
                    };
                    refused.header("Fastly-RateLimit-Remaining", "0").header(reset, at)
                }
                Some(Effect::Status(status)) => {
                    // The definition has no 5XX responses; an injected server error is not checked.
                    exempt = true;
                    Reply::error(status, "Internal Server Error", "injected")
                }
                Some(Effect::Cut) => {
                    exempt = true;
                    traffic::cut(Reply::error(500, "Connection cut", "injected"))
                }
                Some(Effect::LoseAnswer) => {
                    exempt = true;
                    traffic::cut(self.state.dispatch(op, &call))
                }
                None => self.state.dispatch(op, &call),
            }
        };
        if limited {
            for (name, value) in self.traffic.headers(SystemTime::now()) {
                if !reply.headers.iter().any(|(n, _)| n == name) {
                    reply = reply.header(name, value);
                }
            }
        }
        if !exempt {
            let out = Outgoing {
                status: reply.status,
                content_type: reply.content_type,
                headers: &reply.headers,
                body: reply.body.as_ref(),
            };
            for detail in contract.check_response(op, &out) {
                self.record(violation(Side::Response, Some(&op.id), detail));
            }
        }
        reply
    }

    fn record(&mut self, v: Violation) {
        tracing::warn!(violation = %v, "fastly emulator: contract violation");
        self.violations.push(v);
    }
}

/// The answer to a request the contract rejects: 401 for missing credentials, else 400, in the
/// endpoint's error family.
fn refusal(breaches: &[(Breach, String)], json_api: bool) -> Reply {
    let unauthenticated = breaches.iter().any(|(b, _)| *b == Breach::Auth);
    match (json_api, unauthenticated) {
        (false, true) => Reply::json(401, json!({"msg": reply::BAD_CREDENTIALS})),
        (false, false) => {
            let details: Vec<&str> = breaches.iter().map(|(_, d)| d.as_str()).collect();
            Reply::error(400, reply::BAD_REQUEST, details.join("; "))
        }
        (true, true) => Reply::api_error(401, "Unauthorized", reply::BAD_CREDENTIALS),
        (true, false) => {
            let errors: Vec<Value> =
                breaches.iter().map(|(_, d)| json!({"title": "Bad Request", "detail": d, "status": "400"})).collect();
            Reply::api(400, json!({"errors": errors}))
        }
    }
}
