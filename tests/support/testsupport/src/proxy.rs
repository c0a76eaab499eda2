//! An in-process HTTP/1.1 reverse proxy in front of moto that injects faults and counts calls.
//!
//! It runs on a thread and runtime of its own, so it keeps answering whatever the test does with
//! its own runtime: block on a subprocess running the real binary, or use a current-thread
//! runtime that is busy elsewhere.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::oneshot;

use crate::classify::classify;
use crate::rule::{Action, Rule};

const ACCOUNT_HEADER: &str = "x-moto-account-id";

/// One request as the proxy saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// `service:Operation`.
    pub call: String,
    /// `forward`, or the action of the rule that fired: `error`, `delay`, `reset`,
    /// `forward_then_reset`, `hang`.
    pub action: &'static str,
    /// The status moto or the rule answered; `None` while in flight or when the connection was
    /// closed without an answer. For `forward_then_reset`, moto's status (the client saw none).
    pub status: Option<u16>,
}

/// A fault-injecting proxy on a free loopback port. Stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    shutdown: Option<oneshot::Sender<()>>,
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<Rule>,
    counts: BTreeMap<String, u64>,
    log: Vec<(u64, Exchange)>,
    seq: u64,
}

struct Shared {
    state: Arc<Mutex<State>>,
    upstream: SocketAddr,
    account: Option<HeaderValue>,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// Returned by the service to make hyper close the connection without an answer.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault rule")
    }
}

impl std::error::Error for Dropped {}

impl FaultProxy {
    /// Start a proxy to `upstream`, adding `x-moto-account-id: <account>` to every forwarded
    /// request when an account is given.
    ///
    /// # Panics
    /// If no loopback port can be bound or the thread cannot start.
    pub fn start(upstream: SocketAddr, account: Option<&str>) -> FaultProxy {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .expect("bind a loopback port for the fault proxy");
        let addr = listener.local_addr().expect("listener address");
        let state = Arc::new(Mutex::new(State::default()));
        let account = account.map(|a| HeaderValue::from_str(a).expect("account id is a header value"));
        let (shutdown, stop) = oneshot::channel();
        let for_thread = Arc::clone(&state);
        std::thread::Builder::new()
            .name(format!("fault-proxy-{}", addr.port()))
            .spawn(move || {
                let runtime =
                    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("fault proxy runtime");
                runtime.block_on(async move {
                    let mut connector = HttpConnector::new();
                    connector.set_nodelay(true);
                    // A connection per request: moto's server closes idle keep-alive connections,
                    // and a pooled one it closed under load reads as "moto unreachable" (a 502).
                    let client = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(0).build(connector);
                    let shared = Arc::new(Shared { state: for_thread, upstream, account, client });
                    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    serve(listener, shared, stop).await;
                });
                // Connections held by `hang` rules may never finish; don't wait for them.
                runtime.shutdown_background();
            })
            .expect("start the fault proxy thread");
        FaultProxy { addr, state, shutdown: Some(shutdown) }
    }

    /// `http://127.0.0.1:PORT`: the endpoint to give the SDK.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Add a rule after those already there (the first matching rule with budget left fires).
    pub fn add_rule(&self, rule: Rule) -> &Self {
        self.state().rules.push(rule);
        self
    }

    pub fn clear_rules(&self) {
        self.state().rules.clear();
    }

    /// Requests that reached the proxy, faulted or not, by `service:Operation`.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.state().counts.clone()
    }

    /// The count of one `service:Operation` (0 if never seen).
    pub fn count(&self, call: &str) -> u64 {
        self.state().counts.get(call).copied().unwrap_or(0)
    }

    /// Every request so far, in arrival order.
    pub fn log(&self) -> Vec<Exchange> {
        self.state().log.iter().map(|(_, e)| e.clone()).collect()
    }

    /// Forget counts and log (rules and their budgets stay).
    pub fn reset_counts(&self) {
        let mut state = self.state();
        state.counts.clear();
        state.log.clear();
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

// A test that panicked while holding the lock must not hide its own failure behind ours.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>, mut stop: oneshot::Receiver<()>) {
    loop {
        let stream = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        // Without it, Nagle and delayed ACKs add ~45 ms to every call (headers and body are
        // separate writes).
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(Arc::clone(&shared), req));
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Dropped> {
    let (parts, body) = req.into_parts();
    let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str()).to_owned();
    let (service, operation) = classify(&parts.method, &path_and_query, &parts.headers);
    let call = format!("{service}:{operation}");
    let (action, seq) = {
        let mut state = lock(&shared.state);
        *state.counts.entry(call.clone()).or_default() += 1;
        let path = path_and_query.split_once('?').map_or(path_and_query.as_str(), |(p, _)| p);
        let action = state.rules.iter_mut().find_map(|r| r.fire(&service, &operation, path).then(|| r.action.clone()));
        state.seq += 1;
        let seq = state.seq;
        let name = action.as_ref().map_or("forward", Action::name);
        state.log.push((seq, Exchange { call, action: name, status: None }));
        (action, seq)
    };
    let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
    let protocol = if parts.headers.contains_key("x-amz-target") {
        Protocol::Json
    } else if service == "s3" {
        Protocol::S3
    } else {
        Protocol::Xml
    };

    let req = upstream_request(&shared, parts, &path_and_query, body);

    let (response, drop_it) = match action {
        None => (upstream(&shared, req).await, false),
        Some(Action::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            (upstream(&shared, req).await, false)
        }
        Some(Action::Error { status, code, message, retry_after }) => {
            (error_response(protocol, status, &code, message.as_deref(), retry_after, seq), false)
        }
        Some(Action::ForwardThenReset) => (upstream(&shared, req).await, true),
        Some(Action::Reset) => return Err(Dropped),
        Some(Action::Hang(hold)) => {
            tokio::time::sleep(hold).await;
            return Err(Dropped);
        }
    };
    let mut state = lock(&shared.state);
    if let Some((_, exchange)) = state.log.iter_mut().rev().find(|(s, _)| *s == seq) {
        exchange.status = Some(response.status().as_u16());
    }
    if drop_it { Err(Dropped) } else { Ok(response) }
}

/// The request as moto gets it: in this proxy's account, with hop-by-hop headers left behind.
fn upstream_request(
    shared: &Shared,
    mut parts: http::request::Parts,
    path_and_query: &str,
    body: Bytes,
) -> Request<Full<Bytes>> {
    let uri = format!("http://{}{path_and_query}", shared.upstream);
    parts.uri = uri.parse().expect("a loopback address and a parsed path form a URI");
    for hop in [header::CONNECTION, header::TRANSFER_ENCODING, header::CONTENT_LENGTH, header::EXPECT] {
        parts.headers.remove(hop);
    }
    parts.headers.remove("keep-alive");
    if let Some(account) = &shared.account {
        parts.headers.insert(ACCOUNT_HEADER, account.clone());
    }
    Request::from_parts(parts, Full::new(body))
}

async fn upstream(shared: &Shared, req: Request<Full<Bytes>>) -> Response<Full<Bytes>> {
    let result = async {
        let response = shared.client.request(req).await.map_err(|e| e.to_string())?;
        let (mut parts, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        for hop in [header::CONNECTION, header::TRANSFER_ENCODING, header::CONTENT_LENGTH] {
            parts.headers.remove(hop);
        }
        parts.headers.remove("keep-alive");
        Ok::<_, String>(Response::from_parts(parts, Full::new(body)))
    }
    .await;
    result.unwrap_or_else(|e| {
        let mut response = Response::new(Full::new(Bytes::from(format!("fault proxy: moto unreachable: {e}"))));
        *response.status_mut() = StatusCode::BAD_GATEWAY;
        response
    })
}

/// How a service spells its errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    /// awsJson (ACM): `__type` and `x-amzn-ErrorType`.
    Json,
    /// restXml with an `ErrorResponse` envelope (CloudFront, Route 53).
    Xml,
    /// S3's restXml: a bare `Error` element.
    S3,
}

/// An error the way the service's protocol spells it, so the SDK parses its code.
fn error_response(
    protocol: Protocol,
    status: u16,
    code: &str,
    message: Option<&str>,
    retry_after: Option<u64>,
    seq: u64,
) -> Response<Full<Bytes>> {
    let message = message.unwrap_or("injected by the sslprov test fault proxy");
    let request_id = format!("00000000-0000-4000-8000-{seq:012}");
    let mut builder = Response::builder().status(status).header("x-amzn-RequestId", &request_id);
    let body = if protocol == Protocol::Json {
        builder = builder.header(header::CONTENT_TYPE, "application/x-amz-json-1.1").header("x-amzn-ErrorType", code);
        serde_json::json!({"__type": code, "message": message}).to_string()
    } else if protocol == Protocol::S3 {
        builder = builder.header(header::CONTENT_TYPE, "application/xml");
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>\
             <RequestId>{request_id}</RequestId></Error>",
            xml_escape(code),
            xml_escape(message)
        )
    } else {
        builder = builder.header(header::CONTENT_TYPE, "text/xml");
        let kind = if status >= 500 { "Receiver" } else { "Sender" };
        format!(
            "<?xml version=\"1.0\"?>\n<ErrorResponse><Error><Type>{kind}</Type><Code>{}</Code>\
             <Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
            xml_escape(code),
            xml_escape(message)
        )
    };
    if let Some(secs) = retry_after {
        builder = builder.header(header::RETRY_AFTER, secs.to_string());
    }
    builder.body(Full::new(Bytes::from(body))).unwrap_or_else(|_| {
        let mut response = Response::new(Full::new(Bytes::from_static(b"bad injected error")));
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        response
    })
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn error_bodies_follow_the_protocol() {
        let xml = error_response(Protocol::Xml, 409, "CNAMEAlreadyExists", Some("a<b"), Some(3), 7);
        assert_eq!(xml.status(), 409);
        assert_eq!(xml.headers()["retry-after"], "3");
        let body = xml.into_body().collect().await.unwrap().to_bytes();
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains("<Code>CNAMEAlreadyExists</Code><Message>a&lt;b</Message>"), "{body}");

        let json = error_response(Protocol::Json, 400, "ThrottlingException", None, None, 8);
        assert_eq!(json.headers()["x-amzn-errortype"], "ThrottlingException");
        let body = json.into_body().collect().await.unwrap().to_bytes();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["__type"], "ThrottlingException");

        let s3 = error_response(Protocol::S3, 412, "PreconditionFailed", None, None, 9);
        let body = s3.into_body().collect().await.unwrap().to_bytes();
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains("<Error><Code>PreconditionFailed</Code>"), "{body}");
        assert!(!body.contains("ErrorResponse"), "{body}");
    }
}
