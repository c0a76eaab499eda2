//! Sending requests: the budget, the retry policy and the one place sslprov goes around the
//! `cloudflare` crate.
//!
//! The crate's endpoint framework, credentials, environment and success envelope are used as
//! they are; its `Client::request` is not, for two reasons found in 0.14.0:
//! - it never shows response headers, so `Retry-After` on a 429 cannot be honoured
//!   (cloudflare.md §1, limitation 4);
//! - it reads error codes as `u16`, so the DNS codes that tell "record exists" (81053, 81057)
//!   and "record not found" (81044) fail to parse and the whole error list comes back empty.
//!
//! So [`Api::send`] builds the request from the crate's `EndpointSpec` and `Credentials` and sends
//! it with the same reqwest the crate uses.

use std::time::Duration;

use cloudflare::framework::Environment;
use cloudflare::framework::auth::Credentials;
use cloudflare::framework::endpoint::spec::EndpointSpec;
use cloudflare::framework::response::{ApiResult, ApiSuccess};
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use sslprov_provider::{Budget, ErrorKind, Hold, ProviderError, Result, Transient, retry};

use crate::NAME;
use crate::endpoints::Endpoint;
use crate::error;

pub use sslprov_provider::Retry;

/// How failed requests are retried: 429s, 5xx and lost connections, with jittered exponential
/// backoff, never sooner than a `Retry-After` says. Long enough to sit out one lock-out:
/// Cloudflare blocks a token that went over its limit for five minutes.
pub(crate) const RETRY: Retry = Retry {
    min_delay: Duration::from_secs(1),
    max_delay: Duration::from_secs(60),
    max_retries: 8,
    max_total: Duration::from_secs(6 * 60),
    lost_connection_retries: 2,
};

/// A failed attempt, before it is mapped to a [`ProviderError`].
#[derive(Debug, Default)]
pub(crate) struct Failure {
    /// `None` when no response came (connection refused, reset, timed out).
    pub status: Option<u16>,
    pub errors: Vec<ErrorInfo>,
    pub retry_after: Option<Duration>,
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// One entry of Cloudflare's `errors` list.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorInfo {
    #[serde(default)]
    pub code: u32,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorEnvelope {
    #[serde(default)]
    errors: Vec<ErrorInfo>,
}

impl Transient for Failure {
    /// Besides the statuses, a 4xx with a rate-limit code (Cloudflare throttles some APIs with
    /// 403 and a code).
    fn retryable(&self, repeatable: bool) -> bool {
        match self.status {
            Some(s) if s != 429 && s < 500 => self.errors.iter().any(|e| error::RATE_LIMIT_CODES.contains(&e.code)),
            _ => retry::by_status(self.status, repeatable),
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    fn status(&self) -> Option<u16> {
        self.status
    }
}

pub(crate) struct Api {
    http: reqwest::Client,
    environment: Environment,
    /// The crate's `Credentials` header, marked sensitive so that no debug output shows it.
    auth: (&'static str, HeaderValue),
    budget: Budget,
    retry: Retry,
    /// Until when Cloudflare asked (`Retry-After`) that nothing be sent. Shared by every request
    /// of this token: one 429 holds them all, since each request sent into a lock-out counts
    /// against the next window too.
    quiet: Hold,
    /// Requests take their budget slot one at a time, so that when a hold begins no crowd of
    /// requests already granted slots is left waiting to send all at once when it ends.
    turn: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not derived, to leave the token out even though its header is marked sensitive.
        f.debug_struct("Api").field("environment", &self.environment).field("retry", &self.retry).finish()
    }
}

impl Api {
    pub fn new(base_url: &str, token: &str, budget: Budget) -> Result<Api> {
        let invalid = |m: String| ProviderError::new(ErrorKind::InvalidRequest, NAME, "new", m);
        // The crate joins relative paths onto the base, which drops its last segment unless the
        // base ends in a slash (…/client/v4 would lose v4), and it panics on a URL it cannot parse.
        let base = format!("{}/", base_url.trim_end_matches('/'));
        reqwest::Url::parse(&base).map_err(|e| invalid(format!("Cloudflare API base URL {base_url:?}: {e}")))?;
        let credentials = Credentials::UserAuthToken { token: token.to_owned() };
        let auth = match credentials.headers().pop() {
            Some((name, value)) if !token.is_empty() => {
                let mut value = HeaderValue::from_str(&value)
                    .map_err(|_| invalid("the Cloudflare API token is not a valid header value".into()))?;
                value.set_sensitive(true);
                (name, value)
            }
            _ => return Err(invalid("the Cloudflare API token is empty".into())),
        };
        let http = reqwest::Client::builder()
            .user_agent(concat!("sslprov/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(sslprov_provider::connect::CONNECT_TIMEOUT)
            // A zone's records come in one page; a large zone's page takes a while.
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| invalid(format!("HTTP client: {e}")))?;
        Ok(Api {
            http,
            environment: Environment::Custom(base),
            auth,
            budget,
            retry: RETRY,
            quiet: Hold::default(),
            turn: tokio::sync::Mutex::new(()),
        })
    }

    pub fn set_retry(&mut self, retry: Retry) {
        self.retry = retry;
    }

    /// Send `endpoint`, retrying as [`Retry`] says; every attempt waits for the budget first.
    pub async fn send<T: ApiResult>(&self, endpoint: &Endpoint<T>) -> Result<ApiSuccess<T>> {
        retry::retry(&self.retry, NAME, endpoint.op, endpoint.repeatable, || self.attempt(endpoint))
            .await
            .map_err(|f| error::from_failure(endpoint.op, f))
    }

    async fn attempt<T: ApiResult>(&self, endpoint: &Endpoint<T>) -> Result<ApiSuccess<T>, Failure> {
        self.slot(endpoint.op).await;
        let mut request = self.http.request(endpoint.method(), endpoint.url(&self.environment));
        if let Some(json) = endpoint.json() {
            request = request.header(CONTENT_TYPE, "application/json").body(json);
        }
        request = request.header(self.auth.0, self.auth.1.clone());
        let response = request.send().await.map_err(Failure::transport)?;
        let status = response.status().as_u16();
        let retry_after = retry::retry_after(response.headers());
        if let Some(wait) = retry_after.filter(|_| status == 429) {
            self.quiet.hold_for(wait);
        }
        let body = response.bytes().await.map_err(Failure::transport)?;
        if (200..300).contains(&status) {
            return serde_json::from_slice::<ApiSuccess<T>>(&body).map_err(|e| Failure {
                status: Some(status),
                errors: vec![ErrorInfo { code: 0, message: format!("unreadable answer: {e}") }],
                ..Failure::default()
            });
        }
        let envelope: ErrorEnvelope = serde_json::from_slice(&body).unwrap_or_default();
        Err(Failure { status: Some(status), errors: envelope.errors, retry_after, source: None })
    }

    /// A budget slot outside any hold. A slot granted after a hold began falls inside it and is
    /// let go (it still counts as a call): sending it when the hold ends would add to the burst.
    async fn slot(&self, op: &'static str) {
        let _turn = self.turn.lock().await;
        loop {
            self.quiet.wait().await;
            self.budget.acquire(NAME, op).await;
            if self.quiet.held_until().is_none() {
                return;
            }
        }
    }
}

impl Failure {
    fn transport(e: reqwest::Error) -> Failure {
        Failure { source: Some(Box::new(e)), ..Failure::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: Option<u16>, codes: &[u32]) -> Failure {
        Failure {
            status,
            errors: codes.iter().map(|c| ErrorInfo { code: *c, message: String::new() }).collect(),
            source: status.is_none().then(|| "connection reset".into()),
            ..Failure::default()
        }
    }

    #[test]
    fn what_is_retried() {
        // Refused unserved: always.
        assert!(failure(Some(429), &[10100]).retryable(false));
        assert!(failure(Some(403), &[971]).retryable(false));
        // Maybe served: only what may be sent twice.
        assert!(failure(Some(503), &[]).retryable(true));
        assert!(!failure(Some(502), &[]).retryable(false));
        assert!(failure(None, &[]).retryable(true));
        assert!(!failure(None, &[]).retryable(false));
        // Refused for what it is: never.
        assert!(!failure(Some(400), &[81057]).retryable(true));
        assert!(!failure(Some(403), &[10000]).retryable(true));
    }
}
