//! The HTTP side: one axum fallback handler runs every request through the same steps: the
//! token endpoint, route, contract (request), bearer token, injected throttling, the emulated
//! API, contract (response), log.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State as Shared};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::discovery::{self, Contract};
use crate::state::{self, Reply, State};
use crate::{RequestRecord, Violation};

/// The access token the emulator's token endpoint hands out.
pub const ACCESS_TOKEN: &str = "ya29.sslprov-emulator";

pub(crate) struct Inner {
    pub state: State,
    pub log: Vec<RequestRecord>,
    pub violations: Vec<Violation>,
}

pub(crate) struct Server {
    pub inner: Arc<Mutex<Inner>>,
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

pub(crate) fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    inner.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Server {
    pub fn start() -> Server {
        let contract = discovery::get();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("gcp emulator: bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("gcp emulator: non-blocking listener");
        let addr = listener.local_addr().expect("gcp emulator: local address");
        let inner = Arc::new(Mutex::new(Inner { state: State::new(), log: Vec::new(), violations: Vec::new() }));
        let (stop, stopped) = oneshot::channel::<()>();
        let shared = Arc::clone(&inner);
        let thread = std::thread::Builder::new()
            .name(format!("gcp-emulator-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("gcp emulator: runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("gcp emulator: listener");
                    let app = Router::new().fallback(handle).with_state((contract, shared));
                    tokio::select! {
                        served = axum::serve(listener, app) => {
                            if let Err(e) = served {
                                tracing::error!(error = %e, "gcp emulator stopped serving");
                            }
                        }
                        _ = stopped => {}
                    }
                });
            })
            .expect("gcp emulator: spawn thread");
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

async fn handle(
    Shared((contract, inner)): Shared<(&'static Contract, Arc<Mutex<Inner>>)>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 16 << 20).await.unwrap_or_default();
    let method = parts.method.as_str().to_owned();
    let path = parts.uri.path().to_owned();
    let query: Vec<(String, String)> =
        form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned().collect();
    // globalOperations.wait answers when the operation is done (at most 2 s here): sleep outside
    // the lock.
    if method == "POST" && path.ends_with("/wait") && path.contains("/global/operations/") {
        let name = path.trim_end_matches("/wait").rsplit('/').next().unwrap_or_default().to_owned();
        let remaining = lock(&inner).state.operation_remaining(&name);
        tokio::time::sleep(remaining.min(Duration::from_secs(2))).await;
    }
    let (status, reply) = lock(&inner).serve(contract, &method, &path, &query, &parts.headers, &body);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [("content-type", "application/json; charset=UTF-8")], reply.to_string()).into_response()
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

    fn serve(
        &mut self,
        contract: &Contract,
        method: &str,
        path: &str,
        query: &[(String, String)],
        headers: &HeaderMap,
        body: &[u8],
    ) -> Reply {
        let mut record = RequestRecord { method: method.to_owned(), path: path.to_owned(), method_id: None, status: 0 };
        let reply = self.respond(contract, &mut record, query, headers, body);
        record.status = reply.0;
        self.log.push(record);
        reply
    }

    fn respond(
        &mut self,
        contract: &Contract,
        record: &mut RequestRecord,
        query: &[(String, String)],
        headers: &HeaderMap,
        body: &[u8],
    ) -> Reply {
        let (method, path) = (record.method.clone(), record.path.clone());
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
        let Some((m, params)) = contract.route(&method, &path) else {
            self.violation(
                &method,
                &path,
                None,
                format!("no method of the discovery documents serves {method} {path}"),
            );
            return state::error(404, "notFound", format!("no route for {method} {path}"));
        };
        record.method_id = Some(m.id.clone());
        let parsed: Option<Value> = if body.is_empty() { None } else { serde_json::from_slice(body).ok() };
        if !body.is_empty() && parsed.is_none() {
            self.violation(&method, &path, Some(&m.id), "the body is not JSON".into());
            return state::error(400, "parseError", "the body is not JSON");
        }
        let breaches = contract.check_request(m, query, parsed.as_ref());
        if !breaches.is_empty() {
            for b in &breaches {
                self.violation(&method, &path, Some(&m.id), b.clone());
            }
            return state::error(400, "invalid", breaches.join("; "));
        }
        let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
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
                self.violation(&method, &path, Some(&m.id), format!("response: {b}"));
            }
        }
        reply
    }
}
