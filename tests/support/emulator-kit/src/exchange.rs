//! A request as an emulator sees it, and its answer as the server sends it.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

/// A request, read whole.
pub struct Request {
    pub method: String,
    pub path: String,
    /// The raw query string, `""` if there is none.
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Request {
    pub(crate) async fn read(request: axum::extract::Request) -> Request {
        let (parts, body) = request.into_parts();
        // Larger than any API's own limit, so that an emulator can answer its vendor's 413 itself.
        let body = axum::body::to_bytes(body, 16 << 20).await.unwrap_or_default();
        Request {
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().unwrap_or("").to_owned(),
            headers: parts.headers,
            body,
        }
    }

    /// The query's parameters, decoded, in order (repeats kept).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.query.as_bytes()).into_owned().collect()
    }

    /// The value of header `name`, if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What the server sends back.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// Sent first, so that `headers` may override it.
    pub content_type: Option<&'static str>,
    /// Names and values that are not valid HTTP are left out.
    pub headers: Vec<(String, String)>,
    /// `None`: an empty body.
    pub body: Option<Value>,
    /// The headers go out, then the connection is cut before the body (an injected fault).
    pub cut: bool,
}

impl Answer {
    pub(crate) fn into_response(self, vendor: &'static str) -> Response {
        let mut headers = HeaderMap::new();
        if let Some(content_type) = self.content_type {
            headers.insert("content-type", HeaderValue::from_static(content_type));
        }
        for (name, value) in &self.headers {
            if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
                headers.insert(name, value);
            }
        }
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if self.cut {
            // A body that fails: hyper drops the connection mid-answer, which is what a client
            // sees of a reset.
            let broken = futures_util::stream::once(async move {
                Err::<Bytes, std::io::Error>(std::io::Error::other(format!(
                    "{vendor} emulator: connection cut (injected)"
                )))
            });
            return (status, headers, Body::from_stream(broken)).into_response();
        }
        let body = self.body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        (status, headers, body).into_response()
    }
}
