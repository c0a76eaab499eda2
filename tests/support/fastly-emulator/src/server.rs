//! The HTTP side: one axum fallback handler takes every request and runs it through the same
//! steps, in order: route, contract (request), token, rate limit, injected faults, the emulated
//! API, rate-limit headers, contract (response), log.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State as Shared};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sslprov_openapi_contract::{Breach, Contract, Incoming, Outgoing};
use tokio::sync::oneshot;

use crate::contract;
use crate::reply::{self, Ending, JSON_API, Reply};
use crate::state::State;
use crate::traffic::{self, Effect, RequestRecord, Traffic};

/// A way a request or response broke the contract, or a request that matched no operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub side: Side,
    pub method: String,
    pub path: String,
    pub operation: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// No operation of the definition serves this method and path.
    Route,
    Request,
    Response,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = self.operation.as_deref().unwrap_or("no operation");
        write!(f, "{:?} {} {} ({op}): {}", self.side, self.method, self.path, self.detail)
    }
}

pub(crate) struct Inner {
    pub state: State,
    pub traffic: Traffic,
    pub violations: Vec<Violation>,
}

pub(crate) struct Server {
    pub inner: Arc<Mutex<Inner>>,
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Bind a free loopback port and serve from a thread with its own runtime, so that tests on
    /// any runtime (or none) and child processes can all call it.
    pub fn start() -> Server {
        let contract = contract::get();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("fastly emulator: bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("fastly emulator: non-blocking listener");
        let addr = listener.local_addr().expect("fastly emulator: local address");
        let inner = Arc::new(Mutex::new(Inner {
            state: State::new(format!("http://{addr}")),
            traffic: Traffic::new(),
            violations: Vec::new(),
        }));
        let (stop, stopped) = oneshot::channel::<()>();
        let shared = Arc::clone(&inner);
        let thread = std::thread::Builder::new()
            .name(format!("fastly-emulator-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("fastly emulator: runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("fastly emulator: listener");
                    let app = Router::new().fallback(handle).with_state((contract, shared));
                    tokio::select! {
                        served = axum::serve(listener, app) => {
                            if let Err(e) = served {
                                tracing::error!(error = %e, "fastly emulator stopped serving");
                            }
                        }
                        _ = stopped => {}
                    }
                });
            })
            .expect("fastly emulator: spawn thread");
        Server { inner, addr, stop: Some(stop), thread: Some(thread) }
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    // A panic in a test thread holding the lock must not hide the emulator's state.
    inner.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn handle(
    Shared((contract, inner)): Shared<(&'static Contract, Arc<Mutex<Inner>>)>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 16 << 20).await.unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    let reply = lock(&inner).serve(contract, parts.method.as_str(), &path, &query, &parts.headers, &body);
    let mut headers = HeaderMap::new();
    if let Some(content_type) = reply.content_type {
        headers.insert("content-type", HeaderValue::from_static(content_type));
    }
    for (name, value) in &reply.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            headers.insert(name, value);
        }
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if reply.ending == Ending::Cut {
        // Headers go out, then the body fails: hyper drops the connection mid-answer, which is
        // what a client sees of a reset.
        let broken = futures_util::stream::once(async {
            Err::<bytes::Bytes, std::io::Error>(std::io::Error::other("fastly emulator: connection cut (injected)"))
        });
        return (status, headers, Body::from_stream(broken)).into_response();
    }
    let body = reply.body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    (status, headers, body).into_response()
}

impl Inner {
    fn serve(
        &mut self,
        contract: &Contract,
        method: &str,
        path: &str,
        query: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Reply {
        let mut record = RequestRecord {
            at: Instant::now(),
            time: SystemTime::now(),
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            operation: None,
            status: 0,
            cut: false,
        };
        let reply = self.respond(contract, &mut record, headers, body);
        record.status = reply.status;
        record.cut = reply.ending == Ending::Cut;
        self.traffic.log.push(record);
        reply
    }

    fn respond(&mut self, contract: &Contract, record: &mut RequestRecord, headers: &HeaderMap, body: &[u8]) -> Reply {
        let (method, path) = (record.method.clone(), record.path.clone());
        let violation = |side, operation: Option<&str>, detail: String| Violation {
            side,
            method: method.clone(),
            path: path.clone(),
            operation: operation.map(str::to_owned),
            detail,
        };
        let Some((op, path_params)) = contract.route(&method, &path) else {
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
        let query: Vec<(String, String)> = form_urlencoded::parse(record.query.as_bytes()).into_owned().collect();
        let (mut call, breaches) = contract.check_request(op, path_params, &Incoming { query: &query, headers, body });
        let accepts_json_api =
            headers.get("accept").and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains(JSON_API));
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
