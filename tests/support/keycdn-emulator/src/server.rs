//! The HTTP side: every request the server hands over goes through the same steps: route, credentials, body, rate
//! limit, injected faults, the emulated API, rate-limit headers, the answer's check, the log.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use sslprov_emulator_kit::{self as emulator_kit, Answer, Request, Serve};

use crate::contract::{self, Op};
use crate::state::State;

/// A request or answer that broke api.md's rules, or a request no endpoint serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub method: String,
    pub path: String,
    pub detail: String,
}

/// One request the emulator received, in arrival order.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub at: Instant,
    pub method: String,
    pub path: String,
    /// The endpoint's name (`add-zone`), if one serves it.
    pub operation: Option<&'static str>,
    /// The form or JSON fields sent (the custom key's value is never kept).
    pub fields: Vec<(String, String)>,
    pub status: u16,
    pub cut: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    Status(u16),
    /// Serve the request, then cut the connection before the answer is out.
    LoseAnswer,
}

/// The API's rate limit as recorded (exkeycdn, 2021): `X-Rate-Limit-Limit: 60` and
/// `X-Rate-Limit-Remaining` one lower after a call, back up moments later. No source states the
/// window; the emulator refills one request per `refill` (a second by default), up to the limit,
/// and answers 429 when none is left.
pub(crate) struct Bucket {
    pub limit: u32,
    pub refill: Duration,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new() -> Bucket {
        Bucket { limit: 60, refill: Duration::from_secs(1), tokens: 60.0, last: Instant::now() }
    }

    pub fn set(&mut self, limit: u32, refill: Duration) {
        *self = Bucket { limit, refill, tokens: f64::from(limit), last: Instant::now() };
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refilled = now.duration_since(self.last).as_secs_f64() / self.refill.as_secs_f64().max(1e-9);
        self.tokens = (self.tokens + refilled).min(f64::from(self.limit));
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn remaining(&self) -> u32 {
        self.tokens.floor().max(0.0) as u32
    }
}

pub(crate) struct Inner {
    pub state: State,
    pub log: Vec<RequestRecord>,
    pub violations: Vec<Violation>,
    pub faults: VecDeque<(Option<Op>, Fault)>,
    pub bucket: Bucket,
}

pub(crate) type Server = emulator_kit::Server<Inner>;

pub(crate) fn start() -> Server {
    Server::start("keycdn", |_| Inner {
        state: State::new(),
        log: Vec::new(),
        violations: Vec::new(),
        faults: VecDeque::new(),
        bucket: Bucket::new(),
    })
}

/// An answer, before the rate limit's headers.
struct Reply {
    status: u16,
    body: Value,
    cut: bool,
}

impl Serve for Inner {
    fn serve(&mut self, request: &Request) -> Answer {
        let (method, path, body) = (&request.method, &request.path, &request.body);
        let route = contract::route(method, path);
        let fields = contract::fields(request.header("content-type"), body);
        let mut record = RequestRecord {
            at: Instant::now(),
            method: method.into(),
            path: path.into(),
            operation: route.as_ref().map(|(op, _)| op.name()),
            fields: fields
                .as_ref()
                .map(|f| {
                    f.iter()
                        .map(|(k, v)| (k.clone(), if k == "customsslkey" { "(key)".into() } else { v.clone() }))
                        .collect()
                })
                .unwrap_or_default(),
            status: 0,
            cut: false,
        };
        let reply = self.respond(method, path, route, request.header("authorization"), body.len(), fields);
        record.status = reply.status;
        record.cut = reply.cut;
        self.log.push(record);
        let headers = vec![
            ("x-rate-limit-limit".to_owned(), self.bucket.limit.to_string()),
            ("x-rate-limit-remaining".to_owned(), self.bucket.remaining().to_string()),
        ];
        Answer {
            status: reply.status,
            content_type: Some("application/json"),
            headers,
            body: Some(reply.body),
            cut: reply.cut,
        }
    }
}

fn envelope_error(status: u16, description: &str) -> Reply {
    Reply { status, body: json!({"status": "error", "description": description}), cut: false }
}

impl Inner {
    fn violation(&mut self, method: &str, path: &str, detail: String) {
        tracing::warn!(%method, %path, %detail, "keycdn emulator: contract violation");
        self.violations.push(Violation { method: method.into(), path: path.into(), detail });
    }

    fn respond(
        &mut self,
        method: &str,
        path: &str,
        route: Option<(Op, Option<String>)>,
        auth: Option<&str>,
        len: usize,
        fields: Result<std::collections::BTreeMap<String, String>, String>,
    ) -> Reply {
        let Some((op, id)) = route else {
            self.violation(method, path, "no endpoint of api.md serves this".into());
            return envelope_error(404, "The requested item does not exist");
        };
        if !path.ends_with(".json") {
            self.violation(method, path, "paths end in .json".into());
        }
        let expected =
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:", self.state.api_key)));
        if auth != Some(expected.as_str()) {
            if auth.is_none_or(|a| !a.starts_with("Basic ")) {
                self.violation(method, path, "no HTTP Basic credentials (API key as user, empty password)".into());
            }
            return envelope_error(401, "Unauthorized");
        }
        if len > 64 * 1024 {
            return envelope_error(413, "Maximum body size is 64 KB.");
        }
        let fields = match fields {
            Ok(f) => f,
            Err(e) => {
                self.violation(method, path, e.clone());
                return envelope_error(400, &e);
            }
        };
        if !fields.is_empty() && !matches!(op, Op::AddZone | Op::EditZone | Op::AddAlias | Op::EditAlias) {
            self.violation(method, path, format!("{} takes no body", op.name()));
        }
        if !self.bucket.take() {
            return envelope_error(429, "Too Many Requests");
        }
        let fault = self.faults.iter().position(|(o, _)| o.is_none_or(|o| o == op)).and_then(|i| self.faults.remove(i));
        match fault {
            Some((_, Fault::Status(status))) => return envelope_error(status, "injected"),
            Some((_, Fault::LoseAnswer)) => {
                let answer = self.state.serve(op, id.as_deref(), &fields);
                return Reply { status: answer.status, body: answer.body, cut: true };
            }
            None => {}
        }
        let answer = self.state.serve(op, id.as_deref(), &fields);
        for detail in contract::check_answer(answer.status, &answer.body) {
            self.violation(method, path, format!("answer: {detail}"));
        }
        Reply { status: answer.status, body: answer.body, cut: false }
    }
}
