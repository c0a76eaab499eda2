//! The HTTP side: one axum fallback handler takes every request and runs it through the same
//! steps, in order: route, contract (request), rate limit, injected faults, token, the
//! emulated API, contract (response), log.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State as Shared};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::contract::{Breach, Contract, Incoming};
use crate::reply::{self, Reply};
use crate::state::State;
use crate::traffic::{RequestRecord, Traffic};

/// The path every operation lives under.
pub const BASE_PATH: &str = "/client/v4";

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
        let contract = Contract::get();
        let inner =
            Arc::new(Mutex::new(Inner { state: State::new(), traffic: Traffic::new(), violations: Vec::new() }));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("cloudflare emulator: bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("cloudflare emulator: non-blocking listener");
        let addr = listener.local_addr().expect("cloudflare emulator: local address");
        let (stop, stopped) = oneshot::channel::<()>();
        let shared = Arc::clone(&inner);
        let thread = std::thread::Builder::new()
            .name(format!("cf-emulator-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("cloudflare emulator: runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("cloudflare emulator: listener");
                    let app = Router::new().fallback(handle).with_state((contract, shared));
                    tokio::select! {
                        served = axum::serve(listener, app) => {
                            if let Err(e) = served {
                                tracing::error!(error = %e, "cloudflare emulator stopped serving");
                            }
                        }
                        _ = stopped => {}
                    }
                });
            })
            .expect("cloudflare emulator: spawn thread");
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
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    for (name, value) in reply.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, headers, Body::from(reply.body.to_string())).into_response()
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
        let at = Instant::now();
        let mut record = RequestRecord {
            at,
            time: SystemTime::now(),
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            operation: None,
            status: 0,
        };
        let reply = self.respond(contract, &mut record, headers, body);
        let reply = self.traffic.headers(at).into_iter().fold(reply, |r, (name, value)| r.header(name, value));
        record.status = reply.status;
        self.traffic.log.push(record);
        reply
    }

    fn respond(&mut self, contract: &Contract, record: &mut RequestRecord, headers: &HeaderMap, body: &[u8]) -> Reply {
        let (method, full_path) = (record.method.clone(), record.path.clone());
        let violation = |side, operation: Option<&str>, detail: String| Violation {
            side,
            method: method.clone(),
            path: full_path.clone(),
            operation: operation.map(str::to_owned),
            detail,
        };
        let routed = full_path.strip_prefix(BASE_PATH).and_then(|path| Some((path, contract.route(&method, path)?)));
        let Some((path, (op, path_params))) = routed else {
            self.record(violation(
                Side::Route,
                None,
                format!("no operation of the definition serves {method} {full_path}"),
            ));
            return Reply::not_routed(full_path.strip_prefix(BASE_PATH).unwrap_or(&full_path));
        };
        record.operation = Some(op.id.clone());
        let query: Vec<(String, String)> = form_urlencoded::parse(record.query.as_bytes()).into_owned().collect();
        let incoming = Incoming { query: &query, headers, body };
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
