//! The CDN edge, played like CloudFront: HTTPS with a given certificate and plain HTTP, proxying
//! to the ESP origin with `X-Forwarded-Host` overwritten (an origin custom header) or passed
//! through, and CloudFront's own error page when it cannot (no origin: 502; plain HTTP refused
//! by an HTTPS-only viewer policy: 403).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HOST, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio_rustls::TlsAcceptor;

use crate::ca::Leaf;
use crate::thread::{Background, tcp_listener};

/// What the edge does with a client's `X-Forwarded-Host`.
#[derive(Clone, Debug)]
pub enum ForwardedHost {
    /// CloudFront with sslprov's origin custom header: the origin always sees this value.
    Overwrite(String),
    /// A CDN (or a distribution without the header) that lets the client's value through.
    PassThrough,
}

#[derive(Clone, Debug)]
pub struct EdgeConfig {
    pub certificate: Leaf,
    /// The ESP origin; `None`: the edge cannot get an answer from it and serves its 502 page.
    pub origin: Option<SocketAddr>,
    pub forwarded_host: ForwardedHost,
    /// Whether plain HTTP is served (CloudFront viewer policy "HTTP and HTTPS"); when not, plain
    /// HTTP gets CloudFront's 403 page.
    pub plain_http: bool,
}

impl EdgeConfig {
    /// A CloudFront distribution as sslprov makes it, in front of `origin`.
    pub fn cloudfront(certificate: Leaf, origin: SocketAddr, tracking_domain: &str) -> EdgeConfig {
        EdgeConfig {
            certificate,
            origin: Some(origin),
            forwarded_host: ForwardedHost::Overwrite(tracking_domain.into()),
            plain_http: true,
        }
    }
}

pub struct Edge {
    https: SocketAddr,
    http: SocketAddr,
    _background: Background,
}

impl Edge {
    /// # Panics
    /// If no loopback port can be bound or the certificate is unusable.
    pub fn start(config: EdgeConfig) -> Edge {
        let tls = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(config.certificate.chain.clone(), config.certificate.private_key())
            .expect("edge certificate");
        let acceptor = TlsAcceptor::from(Arc::new(tls));
        let (https, http) = (tcp_listener(), tcp_listener());
        let addrs = (https.local_addr().expect("https address"), http.local_addr().expect("http address"));
        let config = Arc::new(config);
        let background = Background::spawn("edge-fixture", move || async move {
            let https = tokio::net::TcpListener::from_std(https).expect("tokio listener");
            let http = tokio::net::TcpListener::from_std(http).expect("tokio listener");
            loop {
                let (stream, secure) = tokio::select! {
                    Ok((s, _)) = https.accept() => (s, true),
                    Ok((s, _)) = http.accept() => (s, false),
                    else => continue,
                };
                let (config, acceptor) = (Arc::clone(&config), acceptor.clone());
                tokio::task::spawn_local(async move {
                    let service = service_fn(move |req| {
                        let config = Arc::clone(&config);
                        async move { Ok::<_, Infallible>(handle(&config, secure, req).await) }
                    });
                    if secure {
                        if let Ok(tls) = acceptor.accept(stream).await {
                            let _ = http1::Builder::new().serve_connection(TokioIo::new(tls), service).await;
                        }
                    } else {
                        let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                    }
                });
            }
        });
        Edge { https: addrs.0, http: addrs.1, _background: background }
    }

    pub fn https_port(&self) -> u16 {
        self.https.port()
    }

    pub fn http_port(&self) -> u16 {
        self.http.port()
    }
}

async fn handle(config: &EdgeConfig, secure: bool, mut req: Request<Incoming>) -> Response<Full<Bytes>> {
    if !secure && !config.plain_http {
        return error_page(403, "Bad request.");
    }
    let Some(origin) = config.origin else {
        return error_page(502, "CloudFront wasn't able to connect to the origin.");
    };
    match &config.forwarded_host {
        ForwardedHost::Overwrite(v) => {
            req.headers_mut().insert("x-forwarded-host", HeaderValue::from_str(v).expect("header value"));
        }
        ForwardedHost::PassThrough => {}
    }
    match forward(origin, req).await {
        Ok(mut resp) => {
            resp.headers_mut().insert("x-cache", HeaderValue::from_static("Miss from cloudfront"));
            resp.headers_mut().insert("via", HeaderValue::from_static("1.1 fixture.cloudfront.net (CloudFront)"));
            resp
        }
        Err(_) => error_page(502, "CloudFront wasn't able to connect to the origin."),
    }
}

async fn forward(
    origin: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Box<dyn std::error::Error + Send + Sync>> {
    let stream = tokio::net::TcpStream::connect(origin).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::task::spawn_local(conn);
    let host = req.headers().get(HOST).cloned();
    let (mut parts, body) = req.into_parts();
    if let Some(h) = host {
        parts.headers.insert(HOST, h);
    }
    let resp = sender.send_request(Request::from_parts(parts, body)).await?;
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await?.to_bytes();
    Ok(Response::from_parts(parts, Full::new(bytes)))
}

/// CloudFront's error page, as it looks to a client.
fn error_page(status: u16, why: &str) -> Response<Full<Bytes>> {
    let body = format!(
        "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\"><HTML><HEAD><TITLE>ERROR: The request could not be satisfied</TITLE></HEAD><BODY>\n<H1>{status} ERROR</H1>\n<H2>The request could not be satisfied.</H2>\n<HR noshade size=\"1px\">\n{why}\n<BR clear=\"all\">\n<HR noshade size=\"1px\">\n<PRE>\nGenerated by cloudfront (CloudFront)\n</PRE>\n</BODY></HTML>"
    );
    Response::builder()
        .status(status)
        .header("server", "CloudFront")
        .header("content-type", "text/html")
        .header("x-cache", "Error from cloudfront")
        .body(Full::new(Bytes::from(body)))
        .expect("error page")
}
