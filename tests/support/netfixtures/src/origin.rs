//! The ESP origin behind the CDN: plain HTTP, one answer for every request, and an echo of the
//! `Host` and `X-Forwarded-Host` it received so a test (and `verify`'s Host-header check, which
//! looks for its forged value anywhere in the answer) can see what got through the edge.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use crate::thread::{Background, tcp_listener};
use crate::{ECHO_FORWARDED_HOST, ECHO_HOST};

/// What the ESP answers.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    /// The `server` header.
    pub server: String,
    pub body: String,
}

impl Answer {
    /// SparkPost's click path: 302 from `msys-http` (esp-cdn-facts §0.4).
    pub fn sparkpost() -> Answer {
        Answer { status: 302, server: "msys-http".into(), body: String::new() }
    }

    /// A redirect from some other web server (SendGrid's and SES's answers are not documented).
    pub fn redirect(server: &str) -> Answer {
        Answer { status: 302, server: server.into(), body: String::new() }
    }
}

pub struct Origin {
    addr: SocketAddr,
    _background: Background,
}

impl Origin {
    /// # Panics
    /// If no loopback port can be bound.
    pub fn start(answer: Answer) -> Origin {
        let listener = tcp_listener();
        let addr = listener.local_addr().expect("origin address");
        let background = Background::spawn("origin-fixture", move || async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let answer = answer.clone();
                tokio::task::spawn_local(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let answer = answer.clone();
                        async move { Ok::<_, Infallible>(respond(&answer, &req)) }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Origin { addr, _background: background }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

fn respond(answer: &Answer, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    Response::builder()
        .status(answer.status)
        .header("server", &answer.server)
        .header("location", "https://www.example.com/")
        .header(ECHO_HOST, header("host"))
        .header(ECHO_FORWARDED_HOST, header("x-forwarded-host"))
        .body(Full::new(Bytes::from(answer.body.clone())))
        .expect("origin response")
}
