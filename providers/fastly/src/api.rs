//! Sending requests: the one place sslprov talks HTTP to Fastly.
//!
//! Every request is counted in the shared [`Calls`] as `fastly:<Operation>`. Writes (non-GET)
//! also wait for a slot of the shared write [`Budget`] first, since Fastly limits non-read calls
//! per user per hour and reads not at all. Fastly reports what is left of its own window on each
//! classic write (`Fastly-RateLimit-Remaining`, `Fastly-RateLimit-Reset`): once the remainder
//! falls to the reserve, writes are held until the window resets, so a run that shares the user
//! with other clients still never asks past the limit. A 429 holds writes the same way.
//!
//! Failed attempts are retried by [`Retry`]: 429s always (Fastly refused them unserved), 5xx and
//! lost connections only for requests that may be sent twice.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sslprov_provider::{Budget, Calls, ErrorKind, Hold, ProviderError, Result, Transient};
use tokio::time::Instant;

use crate::NAME;
use crate::endpoints::{Body, Method, Request};
use crate::error;

const JSON: &str = "application/json";
/// Writes left in Fastly's window at which sslprov holds its own: room for those already in
/// flight when the remainder is read, so that they do not run into 429.
const DEFAULT_RESERVE: u64 = 10;
const JSON_API: &str = "application/vnd.api+json";

pub use sslprov_provider::Retry;

/// How failed requests are retried: 429s, 5xx and lost connections, with jittered exponential
/// backoff, never sooner than the rate-limit window's reset for a 429. Long enough to sit out one
/// hourly window: a 429 from Fastly lasts until the top of the hour.
pub(crate) const RETRY: Retry = Retry {
    min_delay: Duration::from_secs(1),
    max_delay: Duration::from_secs(60),
    max_retries: 8,
    max_total: Duration::from_secs(65 * 60),
    lost_connection_retries: 2,
};

/// A failed attempt, before it is mapped to a [`ProviderError`].
#[derive(Debug, Default)]
pub(crate) struct Failure {
    /// `None` when no whole answer came (connection refused, reset, timed out).
    pub status: Option<u16>,
    /// Classic `msg`, or the JSON:API error's `title`.
    pub msg: Option<String>,
    /// Classic `detail`, or the JSON:API error's `detail`.
    pub detail: Option<String>,
    /// When the rate-limit window resets, for a 429.
    pub reset: Option<Instant>,
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// A classic error body `{msg, detail}` or a JSON:API one `{errors: [{title, detail}]}`.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    msg: Option<String>,
    detail: Option<String>,
    #[serde(default)]
    errors: Vec<JsonApiError>,
}

#[derive(Debug, Default, Deserialize)]
struct JsonApiError {
    title: Option<String>,
    detail: Option<String>,
}

impl Transient for Failure {
    fn retry_after(&self) -> Option<Duration> {
        self.reset.map(|r| r.saturating_duration_since(Instant::now()))
    }

    fn status(&self) -> Option<u16> {
        self.status
    }
}

impl Failure {
    fn transport(e: reqwest::Error) -> Failure {
        Failure { source: Some(Box::new(e)), ..Failure::default() }
    }
}

/// A successful answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The URL of the `Link` header's `rel="next"`, if any (classic lists page with it).
    pub fn next_link(&self) -> Option<String> {
        let link = self.headers.get("link")?.to_str().ok()?;
        link.split(',').find_map(|part| {
            let (url, params) = part.split_once(';')?;
            params.contains("rel=\"next\"").then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
        })
    }
}

pub(crate) struct Api {
    http: reqwest::Client,
    base_url: String,
    /// The `Fastly-Key` header value, marked sensitive so that no debug output shows it.
    key: HeaderValue,
    budget: Budget,
    retry: Retry,
    /// Writes Fastly's window may still take before sslprov holds its own writes.
    reserve: u64,
    /// Until when writes are held: the window's reset, once it ran low or Fastly answered 429.
    writes_held: Hold,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not derived, to leave the key out even though its header is marked sensitive.
        f.debug_struct("Api").field("base_url", &self.base_url).field("retry", &self.retry).finish_non_exhaustive()
    }
}

impl Api {
    pub fn new(base_url: &str, token: &str, budget: Budget) -> Result<Api> {
        let invalid = |m: String| ProviderError::new(ErrorKind::InvalidRequest, NAME, "config", m);
        let base_url = base_url.trim_end_matches('/').to_owned();
        reqwest::Url::parse(&base_url).map_err(|e| invalid(format!("Fastly API base URL {base_url:?}: {e}")))?;
        if token.trim().is_empty() {
            return Err(invalid("the Fastly API token (FASTLY_API_TOKEN) is empty".to_owned()));
        }
        let mut key = HeaderValue::from_str(token.trim())
            .map_err(|_| invalid("the Fastly API token (FASTLY_API_TOKEN) is not a valid header value".to_owned()))?;
        key.set_sensitive(true);
        let http = reqwest::Client::builder()
            .user_agent(concat!("sslprov/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(sslprov_provider::connect::CONNECT_TIMEOUT)
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| invalid(format!("HTTP client: {e}")))?;
        Ok(Api { http, base_url, key, budget, retry: RETRY, reserve: DEFAULT_RESERVE, writes_held: Hold::default() })
    }

    pub fn set_retry(&mut self, retry: Retry) {
        self.retry = retry;
    }

    pub fn set_reserve(&mut self, reserve: u64) {
        self.reserve = reserve;
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn calls(&self) -> &Calls {
        self.budget.calls()
    }

    /// Send `request` and read its answer as `T`.
    pub async fn json<T: DeserializeOwned>(&self, request: &Request) -> Result<T> {
        let answer = self.send(request).await?;
        serde_json::from_slice(&answer.body).map_err(|e| {
            ProviderError::new(ErrorKind::Unexpected, NAME, request.op, format!("unreadable answer: {e}"))
                .with_source(e)
        })
    }

    /// Send `request`, retrying as [`Retry`] says; every write waits for the budget first.
    pub async fn send(&self, request: &Request) -> Result<Answer> {
        sslprov_provider::retry::retry(&self.retry, NAME, request.op, request.repeatable, || self.attempt(request))
            .await
            .map_err(|f| error::from_failure(request.op, f))
    }

    async fn attempt(&self, request: &Request) -> Result<Answer, Failure> {
        if request.is_write() {
            self.write_slot(request.op).await;
        } else {
            self.calls().count(NAME, request.op);
        }
        let url = format!("{}{}", self.base_url, request.path);
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        // The /tls filters work only with this Accept header (go-fastly: "required otherwise
        // the filters don't work").
        let accept = if request.is_json_api() { JSON_API } else { JSON };
        let mut builder = self
            .http
            .request(method, url)
            .query(&request.query)
            .header("Fastly-Key", self.key.clone())
            .header(ACCEPT, accept);
        builder = match &request.body {
            Body::None => builder,
            Body::Form(fields) => {
                let form: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
                builder.header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(form)
            }
            Body::JsonApi(doc) => builder.header(CONTENT_TYPE, JSON_API).body(doc.to_string()),
        };
        let response = builder.send().await.map_err(Failure::transport)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let reset = self.note_limit(&headers, status);
        let body = response.bytes().await.map_err(Failure::transport)?.to_vec();
        if (200..300).contains(&status) {
            return Ok(Answer { headers, body });
        }
        let parsed: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
        let first = parsed.errors.into_iter().next().unwrap_or_default();
        Err(Failure {
            status: Some(status),
            msg: parsed.msg.or(first.title),
            detail: parsed.detail.or(first.detail),
            reset: reset.filter(|_| status == 429),
            source: None,
        })
    }

    /// Read the rate-limit headers of an answer; hold writes until the window resets when it ran
    /// low or Fastly refused with 429. Returns the reset.
    fn note_limit(&self, headers: &HeaderMap, status: u16) -> Option<Instant> {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
        let remaining = number("fastly-ratelimit-remaining");
        let reset = number("fastly-ratelimit-reset").map(|epoch| {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
            // Fastly's windows are an hour long: a reset further off is not one to wait for.
            Instant::now() + Duration::from_secs(epoch).saturating_sub(now).min(Duration::from_secs(3_600))
        });
        let exhausted = status == 429 || remaining.is_some_and(|r| r <= self.reserve);
        if let Some(reset) = reset.filter(|_| exhausted) {
            tracing::info!(?remaining, "fastly: holding writes until the rate-limit window resets");
            self.writes_held.until(reset);
        }
        // A 429 without a reset still waits its backoff; one with a reset waits for it.
        reset.or_else(|| (status == 429).then(|| Instant::now() + self.retry.min_delay))
    }

    /// A budget slot, outside any hold.
    async fn write_slot(&self, op: &'static str) {
        self.writes_held.wait().await;
        self.budget.acquire(NAME, op).await;
        // A hold may have begun while this write waited for its slot.
        self.writes_held.wait().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: Option<u16>) -> Failure {
        Failure { status, source: status.is_none().then(|| "connection reset".into()), ..Failure::default() }
    }

    #[test]
    fn what_is_retried() {
        assert!(failure(Some(429)).retryable(false), "refused unserved");
        assert!(failure(Some(503)).retryable(true));
        assert!(!failure(Some(502)).retryable(false), "maybe served: only what may be sent twice");
        assert!(failure(None).retryable(true));
        assert!(!failure(None).retryable(false));
        assert!(!failure(Some(422)).retryable(true), "refused for what it is");
        assert!(!failure(Some(409)).retryable(true));
    }

    #[test]
    fn next_link_is_read_from_the_link_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "link",
            HeaderValue::from_static(
                "<https://api.fastly.com/service?page=1>; rel=\"first\", <https://api.fastly.com/service?page=3>; rel=\"next\"",
            ),
        );
        let answer = Answer { headers, body: Vec::new() };
        assert_eq!(answer.next_link().as_deref(), Some("https://api.fastly.com/service?page=3"));
        assert_eq!(Answer { headers: HeaderMap::new(), body: Vec::new() }.next_link(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_low_remainder_holds_writes_until_the_reset() {
        let mut api =
            Api::new("http://127.0.0.1:9", "t", Budget::per_second(1000, 1000, Calls::default())).expect("api");
        api.set_reserve(0);
        let mut headers = HeaderMap::new();
        let reset = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs() + 30;
        headers.insert("fastly-ratelimit-remaining", HeaderValue::from_static("0"));
        headers.insert("fastly-ratelimit-reset", HeaderValue::from_str(&reset.to_string()).expect("value"));
        api.note_limit(&headers, 200);
        let start = Instant::now();
        api.write_slot("CreateBackend").await;
        let waited = start.elapsed();
        assert!(waited >= Duration::from_secs(28) && waited <= Duration::from_secs(31), "{waited:?}");
        assert_eq!(api.calls().snapshot()["fastly:CreateBackend"], 1);
    }
}
