//! A TLS proxy in front of Pebble: it logs every request and fails the next ones on demand.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use sslprov_netfixtures::Leaf;
use tokio_rustls::TlsAcceptor;

/// One request the proxy passed on (or failed).
#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub at: Instant,
}

#[derive(Default)]
pub(crate) struct Shared {
    pub log: Mutex<Vec<Logged>>,
    /// Statuses to answer the next requests with, instead of passing them on.
    pub failures: Mutex<VecDeque<u16>>,
}

pub(crate) struct Proxy {
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn problem(status: u16) -> Response<Full<Bytes>> {
    let (t, detail) = match status {
        429 => ("rateLimited", "injected by the test proxy: slow down"),
        _ => ("serverInternal", "injected by the test proxy: unavailable"),
    };
    let body =
        serde_json::json!({"type": format!("urn:ietf:params:acme:error:{t}"), "detail": detail, "status": status});
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::SERVICE_UNAVAILABLE);
    r.headers_mut().insert("content-type", "application/problem+json".parse().expect("header"));
    if status == 429 {
        r.headers_mut().insert("retry-after", "0".parse().expect("header"));
    }
    r
}

async fn forward(
    req: Request<Incoming>,
    upstream: SocketAddr,
    client: reqwest::Client,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().clone();
    let path_q = req.uri().path_and_query().map_or_else(|| "/".to_owned(), |p| p.to_string());
    let path = req.uri().path().to_owned();
    let injected = shared.failures.lock().unwrap().pop_front();
    let response = match injected {
        Some(status) => problem(status),
        None => {
            let headers = req.headers().clone();
            let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            let sent = client
                .request(method.clone(), format!("https://{upstream}{path_q}"))
                .headers(headers)
                .body(body)
                .send()
                .await;
            match sent {
                Ok(r) => {
                    let status = r.status();
                    let headers = r.headers().clone();
                    let body = r.bytes().await.unwrap_or_default();
                    let mut out = Response::new(Full::new(body));
                    *out.status_mut() = status;
                    *out.headers_mut() = headers;
                    out.headers_mut().remove("transfer-encoding");
                    out.headers_mut().remove("content-length");
                    out
                }
                Err(_) => problem(502),
            }
        }
    };
    shared.log.lock().unwrap().push(Logged {
        method: method.to_string(),
        path,
        status: response.status().as_u16(),
        at: Instant::now(),
    });
    Ok(response)
}

impl Proxy {
    pub fn start(leaf: &Leaf, ca_pem: &[u8], upstream: SocketAddr) -> Proxy {
        let tls = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(leaf.chain.clone(), leaf.private_key())
            .expect("proxy certificate");
        let acceptor = TlsAcceptor::from(Arc::new(tls));
        let client = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(ca_pem).expect("test CA"))
            .build()
            .expect("client");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("address");
        let shared = Arc::new(Shared::default());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("acme-proxy".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    let serve = async move {
                        loop {
                            let Ok((stream, _)) = listener.accept().await else { continue };
                            let (acceptor, client, shared) = (acceptor.clone(), client.clone(), s.clone());
                            tokio::spawn(async move {
                                let Ok(tls) = acceptor.accept(stream).await else { return };
                                let service =
                                    service_fn(move |req| forward(req, upstream, client.clone(), shared.clone()));
                                let _ = http1::Builder::new().serve_connection(TokioIo::new(tls), service).await;
                            });
                        }
                    };
                    tokio::select! {
                        () = serve => {}
                        _ = stopped => {}
                    }
                });
            })
            .expect("start the proxy thread");
        Proxy { addr, shared, stop: Some(stop), thread: Some(thread) }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
