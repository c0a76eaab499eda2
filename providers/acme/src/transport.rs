//! Sending ACME requests: the one place this provider talks HTTP.
//!
//! instant-acme builds and signs every request; this transport sends it. Every request is counted
//! as `acme:<Operation>` (named from its URL: `NewOrder`, `GetOrder`, `RespondChallenge`, …) and
//! waits for a slot of the provider's budget first. Failed attempts are retried when that cannot
//! do harm: a 429 whose `Retry-After` is short (a long one is the CA's rate limit speaking, and is
//! reported, not waited out), 502/503/504, and lost connections. Repeating an ACME request is safe:
//! a signed request whose nonce was spent is refused with `badNonce`, which instant-acme answers by
//! signing it again with a fresh one.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use instant_acme::{BodyWrapper, BytesResponse, HttpClient};
use sslprov_provider::{Budget, ErrorKind, ProviderError, Result};

use crate::NAME;

/// How failed requests are retried.
#[derive(Clone, Debug)]
pub struct Retry {
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// Attempts after the first, for 429 and 5xx answers.
    pub max_retries: u32,
    /// A 429 asking to wait longer than this is the CA's rate limit: it is reported.
    pub max_retry_after: Duration,
    /// Retries of a request that got no answer at all.
    pub lost_connection_retries: u32,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            min_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            max_retries: 5,
            max_retry_after: Duration::from_secs(60),
            lost_connection_retries: 2,
        }
    }
}

/// The HTTP client instant-acme sends through.
#[derive(Clone, Debug)]
pub(crate) struct Transport {
    http: reqwest::Client,
    budget: Budget,
    retry: Retry,
}

impl Transport {
    /// `ca_pem`: roots to trust besides the public ones (a private or test CA).
    pub fn new(budget: Budget, ca_pem: Option<&[u8]>, retry: Retry) -> Result<Transport> {
        let invalid = |m: String| ProviderError::new(ErrorKind::InvalidRequest, NAME, "config", m);
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("sslprov/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(sslprov_provider::connect::CONNECT_TIMEOUT)
            .timeout(Duration::from_secs(60));
        if let Some(pem) = ca_pem {
            let roots = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| invalid(format!("SSLPROV_ACME_CA_FILE holds no PEM certificates: {e}")))?;
            if roots.is_empty() {
                return Err(invalid("SSLPROV_ACME_CA_FILE holds no PEM certificates".into()));
            }
            for root in roots {
                builder = builder.add_root_certificate(root);
            }
        }
        let http = builder.build().map_err(|e| invalid(format!("HTTP client: {e}")))?;
        Ok(Transport { http, budget, retry })
    }

    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    async fn send(&self, request: http::Request<BodyWrapper<Bytes>>) -> Result<BytesResponse, instant_acme::Error> {
        let (parts, body) = request.into_parts();
        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let op = operation(&parts.method, parts.uri.path());
        let url = parts.uri.to_string();
        let mut answered_retries = 0;
        let mut lost = 0;
        let mut delay = self.retry.min_delay;
        loop {
            self.budget.acquire(NAME, op).await;
            let mut builder = self.http.request(parts.method.clone(), &url).headers(parts.headers.clone());
            if !body.is_empty() {
                builder = builder.body(body.clone());
            }
            let answer = match builder.send().await {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    response.bytes().await.map(|b| (status, headers, b))
                }
                Err(e) => Err(e),
            };
            let (status, headers, bytes) = match answer {
                Ok(a) => a,
                Err(e) if lost < self.retry.lost_connection_retries => {
                    lost += 1;
                    tracing::info!(op, error = %e, "acme: no answer; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.retry.max_delay);
                    continue;
                }
                Err(e) => return Err(instant_acme::Error::Other(Box::new(e))),
            };
            let retry_after = headers
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let retryable = match status.as_u16() {
                429 => retry_after.is_none_or(|w| w <= self.retry.max_retry_after),
                502..=504 => true,
                _ => false,
            };
            if retryable && answered_retries < self.retry.max_retries {
                answered_retries += 1;
                let wait = delay.max(retry_after.unwrap_or_default());
                tracing::info!(op, status = status.as_u16(), ?wait, "acme: retrying");
                tokio::time::sleep(wait).await;
                delay = (delay * 2).min(self.retry.max_delay);
                continue;
            }
            if status.as_u16() == 429 || status.is_server_error() {
                // Given up on: the CA's problem document (or one in its words), whichever
                // request it was; instant-acme reads none for a nonce.
                return Err(instant_acme::Error::Api(problem(status.as_u16(), &bytes)));
            }
            let mut response = http::Response::builder().status(status);
            if let Some(h) = response.headers_mut() {
                *h = headers;
            }
            let response = response.body(Full::new(bytes)).map_err(instant_acme::Error::Http)?;
            return Ok(BytesResponse::from(response));
        }
    }
}

/// The problem document of an answer, or one made from its status.
fn problem(status: u16, body: &[u8]) -> instant_acme::Problem {
    let parsed = serde_json::from_slice::<serde_json::Value>(body).ok().filter(|v| v.get("type").is_some());
    let mut doc = parsed.unwrap_or_else(|| {
        let kind = if status == 429 { "rateLimited" } else { "serverInternal" };
        serde_json::json!({"type": format!("urn:ietf:params:acme:error:{kind}"), "detail": format!("HTTP {status}")})
    });
    doc["status"] = status.into();
    serde_json::from_value(doc).unwrap_or_else(|_| {
        serde_json::from_value(serde_json::json!({"detail": format!("HTTP {status}"), "status": status}))
            .expect("a minimal problem document")
    })
}

impl HttpClient for Transport {
    fn request(
        &self,
        request: http::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let this = self.clone();
        Box::pin(async move { this.send(request).await })
    }
}

/// What a request does, from its URL as Let's Encrypt (`/acme/new-order`, `/acme/order/…`,
/// `/acme/chall/…`) and Pebble (`/order-plz`, `/my-order/…`, `/chalZ/…`) name them: the name
/// it is counted and budgeted under.
pub(crate) fn operation(method: &http::Method, path: &str) -> &'static str {
    let p = path.to_ascii_lowercase();
    let has = |s: &str| p.contains(s);
    if has("nonce") {
        "NewNonce"
    } else if has("new-acct") || has("new-account") || has("newaccount") || has("sign-me-up") {
        "NewAccount"
    } else if has("new-order") || has("neworder") || has("order-plz") {
        "NewOrder"
    } else if has("finalize") {
        "FinalizeOrder"
    } else if has("revoke") {
        "RevokeCertificate"
    } else if has("chal") {
        "RespondChallenge"
    } else if has("authz") {
        "GetAuthorization"
    } else if has("order") {
        "GetOrder"
    } else if has("cert") {
        "GetCertificate"
    } else if method == http::Method::GET && (has("dir") || p == "/") {
        "GetDirectory"
    } else {
        "Request"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_named_from_lets_encrypt_and_pebble_urls() {
        let post = http::Method::POST;
        for (path, op) in [
            ("/acme/new-nonce", "NewNonce"),
            ("/nonce-plz", "NewNonce"),
            ("/acme/new-acct", "NewAccount"),
            ("/sign-me-up", "NewAccount"),
            ("/acme/new-order", "NewOrder"),
            ("/order-plz", "NewOrder"),
            ("/acme/finalize/1/2", "FinalizeOrder"),
            ("/finalize-order/x", "FinalizeOrder"),
            ("/acme/chall/1/2/abc", "RespondChallenge"),
            ("/chalZ/x", "RespondChallenge"),
            ("/acme/authz/1/2", "GetAuthorization"),
            ("/authZ/x", "GetAuthorization"),
            ("/acme/order/1/2", "GetOrder"),
            ("/my-order/x", "GetOrder"),
            ("/acme/cert/abc", "GetCertificate"),
            ("/certZ/x", "GetCertificate"),
        ] {
            assert_eq!(operation(&post, path), op, "{path}");
        }
        assert_eq!(operation(&http::Method::GET, "/directory"), "GetDirectory");
        assert_eq!(operation(&http::Method::GET, "/dir"), "GetDirectory");
    }
}
