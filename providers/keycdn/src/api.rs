//! Sending requests: the one place sslprov talks HTTP to KeyCDN.
//!
//! Every request is counted as `keycdn:<Operation>` and waits for a slot of the shared budget.
//! KeyCDN reports its own remainder on answers (`X-Rate-Limit-Remaining`, of
//! `X-Rate-Limit-Limit`: 60, recorded): once it is down to the reserve, requests are held, one
//! second per request missing (the recorded remainder came back "moments later"; no source states
//! the window, so a second a request is the cautious reading). A 429 is retried after
//! `Retry-After` or a backoff. Server errors and lost connections are retried only for requests
//! that may be sent twice: reads, edits (a PUT sets the same fields again) and deletes.

use std::time::Duration;

use base64::Engine;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sslprov_provider::{Budget, ErrorKind, Hold, ProviderError, Result};

use crate::NAME;
use crate::error::{Failure, from_failure};

/// Requests left in KeyCDN's bucket at which sslprov holds its own.
const RESERVE: u64 = 5;

pub use sslprov_provider::Retry;

/// How failed requests are retried. No deadline: KeyCDN's bucket refills within seconds, so the
/// retry count bounds the wait.
pub(crate) const RETRY: Retry = Retry {
    min_delay: Duration::from_secs(1),
    max_delay: Duration::from_secs(30),
    max_retries: 6,
    max_total: Duration::MAX,
    lost_connection_retries: 2,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    Put,
    Delete,
}

/// One request.
pub(crate) struct Request<'a> {
    pub op: &'static str,
    pub method: Method,
    pub path: String,
    /// Form fields (POST, PUT).
    pub form: Vec<(&'a str, String)>,
}

impl Request<'_> {
    pub fn get(op: &'static str, path: impl Into<String>) -> Self {
        Request { op, method: Method::Get, path: path.into(), form: Vec::new() }
    }

    /// May it be sent twice? Not an add: a second one would make a twin (sslprov finds the first
    /// by name on the next run instead).
    fn repeatable(&self) -> bool {
        self.method != Method::Post
    }
}

pub(crate) struct Api {
    http: reqwest::Client,
    base_url: String,
    auth: HeaderValue,
    budget: Budget,
    retry: Retry,
    /// Until when requests are held while KeyCDN's bucket refills.
    held: Hold,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api").field("base_url", &self.base_url).field("retry", &self.retry).finish_non_exhaustive()
    }
}

impl Api {
    pub fn new(base_url: &str, api_key: &str, budget: Budget) -> Result<Api> {
        let invalid = |m: String| ProviderError::new(ErrorKind::InvalidRequest, NAME, "config", m);
        let base_url = base_url.trim_end_matches('/').to_owned();
        reqwest::Url::parse(&base_url).map_err(|e| invalid(format!("KeyCDN API base URL {base_url:?}: {e}")))?;
        // HTTP Basic: the API key is the user name, the password is empty.
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:", api_key.trim()));
        let mut auth = HeaderValue::from_str(&format!("Basic {basic}"))
            .map_err(|_| invalid("KEYCDN_API_KEY is not a valid header value".into()))?;
        auth.set_sensitive(true);
        let http = reqwest::Client::builder()
            .user_agent(concat!("sslprov/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(sslprov_provider::connect::CONNECT_TIMEOUT)
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| invalid(format!("HTTP client: {e}")))?;
        Ok(Api { http, base_url, auth, budget, retry: RETRY, held: Hold::default() })
    }

    pub fn set_retry(&mut self, retry: Retry) {
        self.retry = retry;
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends `request`; the envelope's `data`, read as `T`.
    pub async fn data<T: DeserializeOwned>(&self, request: &Request<'_>) -> Result<T> {
        let data = self.send(request).await?;
        serde_json::from_value(data)
            .map_err(|e| ProviderError::new(ErrorKind::Unexpected, NAME, request.op, format!("unreadable answer: {e}")))
    }

    /// Sends `request`, retrying as [`Retry`] says: the envelope's `data` (`null` when none).
    pub async fn send(&self, request: &Request<'_>) -> Result<Value> {
        sslprov_provider::retry::retry(&self.retry, NAME, request.op, request.repeatable(), || self.attempt(request))
            .await
            .map_err(|f| from_failure(request.op, f))
    }

    async fn attempt(&self, request: &Request<'_>) -> std::result::Result<Value, Failure> {
        self.held.wait().await;
        self.budget.acquire(NAME, request.op).await;
        let url = format!("{}{}", self.base_url, request.path);
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut builder = self.http.request(method, url).header(AUTHORIZATION, self.auth.clone());
        if matches!(request.method, Method::Post | Method::Put) {
            let form = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(request.form.iter().map(|(k, v)| (*k, v.as_str())))
                .finish();
            builder = builder.header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(form);
        }
        let transport = |e: reqwest::Error| Failure { source: Some(Box::new(e)), ..Failure::default() };
        let response = builder.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let retry_after = self.note_limit(response.headers(), status);
        let body = response.bytes().await.map_err(transport)?;
        let envelope: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let description = envelope.get("description").and_then(Value::as_str).map(str::to_owned);
        let success = envelope.get("status").and_then(Value::as_str) == Some("success");
        if (200..300).contains(&status) && success {
            return Ok(envelope.get("data").cloned().unwrap_or(Value::Null));
        }
        let description =
            description.or_else(|| (!body.is_empty()).then(|| String::from_utf8_lossy(&body).into_owned()));
        Err(Failure { status: Some(status), description, retry_after, source: None })
    }

    /// Reads KeyCDN's remainder: holds requests when it is low, and says how long a 429 waits.
    fn note_limit(&self, headers: &HeaderMap, status: u16) -> Option<Duration> {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
        let retry_after = sslprov_provider::retry::retry_after(headers);
        let remaining = number("x-rate-limit-remaining");
        let missing = match (status, remaining) {
            (429, r) => RESERVE + 1 - r.unwrap_or(0).min(RESERVE),
            (_, Some(r)) if r < RESERVE => RESERVE - r,
            _ => 0,
        };
        if missing > 0 {
            tracing::info!(?remaining, "keycdn: holding requests while KeyCDN's bucket refills");
            self.held.hold_for(retry_after.unwrap_or(Duration::from_secs(missing)));
        }
        retry_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sslprov_provider::Calls;
    use tokio::time::Instant;

    #[tokio::test(start_paused = true)]
    async fn a_low_remainder_holds_requests_a_second_each() {
        let api = Api::new("http://127.0.0.1:9", "k", Budget::per_second(1000, 1000, Calls::default())).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-rate-limit-remaining", HeaderValue::from_static("2"));
        api.note_limit(&headers, 200);
        let start = Instant::now();
        api.held.wait().await;
        assert_eq!(start.elapsed().as_secs(), 3, "three requests short of the reserve of five");
        headers.insert("x-rate-limit-remaining", HeaderValue::from_static("40"));
        api.note_limit(&headers, 200);
        let start = Instant::now();
        api.held.wait().await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[test]
    fn the_key_never_shows() {
        let api =
            Api::new("https://api.keycdn.com", "sk_prod_secret", Budget::per_second(1, 1, Calls::default())).unwrap();
        assert!(!format!("{api:?}").contains("sk_prod_secret"));
    }
}
