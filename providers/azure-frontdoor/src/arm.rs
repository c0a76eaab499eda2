//! Sending requests to Azure Resource Manager: the one place sslprov talks HTTP to Azure, waits
//! for ARM's token buckets, retries, and follows long-running operations.
//!
//! Every request is counted as `azure-frontdoor:<operation>` and first takes a token from the
//! bucket of its class (reads, writes, deletes; ARM's own sizes and refill rates). A 429 is
//! retried after its `Retry-After`, and holds every other request of its bucket until then; a 5xx or a lost connection after a backoff; a 409 that says
//! another operation is in progress on the resource after a backoff too. Every PUT, PATCH, DELETE
//! and POST action is long-running: its `Azure-AsyncOperation` (preferred) or `Location` is
//! followed, honouring `Retry-After`, until it ends, and only URLs on the ARM endpoint itself are
//! followed (they carry the bearer token).

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use sslprov_provider::{Budget, Calls, ErrorKind, Hold, ProviderError, Rate, Result, Transient, retry};
use tokio::time::Instant;

use crate::NAME;
use crate::auth::Auth;

pub const API_VERSION: &str = "2026-10-01";

/// ARM's buckets per subscription and principal (request-limits-and-throttling, since 2024).
pub const READS: Rate = Rate { requests: 25, per_seconds: 1, burst: 250 };
pub const WRITES: Rate = Rate { requests: 10, per_seconds: 1, burst: 200 };
pub const DELETES: Rate = Rate { requests: 10, per_seconds: 1, burst: 200 };

/// How failed requests are retried, and how operations are polled.
#[derive(Clone, Debug)]
pub struct Retry {
    /// Each request. Every request sslprov sends to ARM may be sent twice (a PUT sets the whole
    /// resource, a DELETE of what is gone is a success), so a lost connection is retried like any
    /// other transient failure.
    pub requests: retry::Retry,
    /// The shortest wait between two polls, whatever `Retry-After` says (it may say 0).
    pub poll_floor: Duration,
    /// Used when an operation sends no `Retry-After`.
    pub poll_default: Duration,
    /// An operation not done after this fails the step; the next run finds its object by name.
    pub operation_timeout: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            requests: retry::Retry {
                min_delay: Duration::from_secs(1),
                max_delay: Duration::from_secs(30),
                max_retries: 8,
                // As long as an operation may take.
                max_total: Duration::from_secs(30 * 60),
                lost_connection_retries: 8,
            },
            poll_floor: Duration::from_secs(1),
            poll_default: Duration::from_secs(10),
            operation_timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// A failed attempt, before it is mapped to a [`ProviderError`].
#[derive(Debug, thiserror::Error)]
#[error("{}", message.as_deref().unwrap_or("no answer"))]
pub(crate) struct Failure {
    /// `None` when no whole answer came.
    pub status: Option<u16>,
    /// ARM's `error.code`.
    pub code: Option<String>,
    pub message: Option<String>,
    /// `Retry-After`, when the answer had one.
    pub retry_after: Option<Duration>,
    #[source]
    pub source: Option<reqwest::Error>,
}

impl Failure {
    fn transport(e: reqwest::Error) -> Failure {
        Failure { status: None, code: None, message: None, retry_after: None, source: Some(e) }
    }

    /// ARM's error body `{"error": {"code", "message"}}`.
    fn from_answer(status: u16, body: &[u8], retry_after: Option<Duration>) -> Failure {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let e = &v["error"];
        Failure {
            status: Some(status),
            code: e["code"].as_str().map(str::to_owned),
            message: e["message"].as_str().map(str::to_owned),
            retry_after,
            source: None,
        }
    }

    /// Another write to the same resource is running: ARM answers 409 until it ends.
    fn busy(&self) -> bool {
        self.status == Some(409)
            && (self.code.as_deref() == Some("AnotherOperationInProgress")
                || self.message.as_deref().is_some_and(|m| m.to_ascii_lowercase().contains("in progress")))
    }
}

impl Transient for Failure {
    fn retryable(&self, repeatable: bool) -> bool {
        self.busy() || retry::by_status(self.status, repeatable)
    }

    fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    fn status(&self) -> Option<u16> {
        self.status
    }

    fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }
}

fn kind(f: &Failure) -> ErrorKind {
    match f.status {
        None => ErrorKind::Unavailable,
        Some(429) => ErrorKind::RateLimited,
        Some(400) => ErrorKind::InvalidRequest,
        Some(401) => ErrorKind::Unauthenticated,
        Some(403) => ErrorKind::PermissionDenied,
        Some(404) => ErrorKind::NotFound,
        Some(409) => ErrorKind::Conflict,
        Some(412) => ErrorKind::PreconditionFailed,
        Some(s) if s >= 500 => ErrorKind::Unavailable,
        Some(_) => ErrorKind::Unexpected,
    }
}

pub(crate) fn error(op: &'static str, f: Failure) -> ProviderError {
    let kind = kind(&f);
    let mut message = match (&f.message, f.status, &f.source) {
        (Some(m), ..) => m.clone(),
        (None, Some(status), _) => format!("HTTP {status}"),
        (None, None, Some(source)) => format!(
            "cannot reach Azure Resource Manager: {}; check AZURE_RESOURCE_MANAGER_URL and the network",
            sslprov_provider::error::transport_cause(source)
        ),
        (None, None, None) => "no answer".to_owned(),
    };
    match kind {
        ErrorKind::RateLimited => message.push_str(
            " (ARM's buckets per subscription and principal: reads 250 refilling 25/s, writes and deletes 200 \
             refilling 10/s; retries ran out)",
        ),
        ErrorKind::PermissionDenied => message.push_str(
            " (the principal needs a role that may write Microsoft.Cdn/profiles/* in the resource group, such as \
             CDN Profile Contributor)",
        ),
        ErrorKind::Unauthenticated => message.push_str(&format!("; {}", crate::auth::HOW)),
        _ => {}
    }
    let mut e = ProviderError::new(kind, NAME, op, message);
    if let Some(code) = f.code.clone() {
        e = e.with_code(code);
    }
    e.with_source(f)
}

/// An answer: status, the headers sslprov reads, body.
struct Answer {
    status: u16,
    async_operation: Option<String>,
    location: Option<String>,
    retry_after: Option<Duration>,
    body: Value,
}

/// ARM's `Retry-After`, at most five minutes.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    retry::retry_after(headers).map(|d| d.min(Duration::from_secs(300)))
}

pub(crate) struct Arm {
    http: reqwest::Client,
    auth: Auth,
    base: String,
    /// `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Cdn`
    scope: String,
    reads: Budget,
    writes: Budget,
    deletes: Budget,
    /// Per bucket (reads, writes, deletes): until when ARM asked that nothing more be sent. A 429
    /// (or a bucket nearly empty) holds every request of that bucket, not only the one that met
    /// it: each request sent into an empty bucket is refused and counts against it again.
    paused: [Hold; 3],
    pub retry: Retry,
}

/// The bucket a request draws on: ARM counts reads, writes and deletes apart.
fn bucket(method: &Method) -> usize {
    match *method {
        Method::GET => 0,
        Method::DELETE => 2,
        _ => 1,
    }
}

impl std::fmt::Debug for Arm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Arm").field("base", &self.base).field("scope", &self.scope).finish_non_exhaustive()
    }
}

pub(crate) fn http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("sslprov/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(sslprov_provider::connect::CONNECT_TIMEOUT)
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| ProviderError::new(ErrorKind::InvalidRequest, NAME, "config", format!("HTTP client: {e}")))
}

impl Arm {
    pub fn new(config: &crate::AzureConfig, auth: Auth, http: reqwest::Client, calls: Calls) -> Arm {
        Arm {
            http,
            auth,
            base: config.resource_manager_url.trim_end_matches('/').to_owned(),
            scope: format!(
                "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Cdn",
                config.subscription, config.resource_group
            ),
            reads: Budget::of(READS, calls.clone()),
            writes: Budget::of(WRITES, calls.clone()),
            deletes: Budget::of(DELETES, calls),
            paused: Default::default(),
            retry: Retry::default(),
        }
    }

    /// The id of a resource below the resource group's `Microsoft.Cdn` provider
    /// (`profiles/p/customDomains/d`).
    pub fn id(&self, path: &str) -> String {
        format!("{}/{path}", self.scope)
    }

    /// Sends one request, retrying as [`Retry`] says.
    async fn send(&self, op: &'static str, method: Method, url: &str, body: Option<&Value>) -> Result<Answer> {
        let attempt = || self.attempt(op, method.clone(), url, body);
        retry::retry(&self.retry.requests, NAME, op, true, attempt).await.map_err(|f| error(op, f))
    }

    async fn attempt(
        &self,
        op: &'static str,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Answer, Failure> {
        let budget = match method {
            Method::GET => &self.reads,
            Method::DELETE => &self.deletes,
            _ => &self.writes,
        };
        let paused = &self.paused[bucket(&method)];
        paused.wait().await;
        budget.acquire(NAME, op).await;
        paused.wait().await;
        let token = self.auth.token().await.map_err(|e| Failure {
            status: Some(401),
            code: Some("credentials".into()),
            message: Some(e.message),
            retry_after: None,
            source: None,
        })?;
        let mut request = self.http.request(method, url).bearer_auth(token);
        if let Some(body) = body {
            request = request.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.to_string());
        }
        let response = request.send().await.map_err(Failure::transport)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        for (class, method) in [("reads", Method::GET), ("writes", Method::PUT), ("deletes", Method::DELETE)] {
            if let Some(left) =
                header(&format!("x-ms-ratelimit-remaining-subscription-{class}")).and_then(|v| v.parse::<u32>().ok())
                && left < 5
            {
                // The bucket refills at 10 or more a second: a second's pause keeps the run under it.
                tracing::info!(op, class, left, "azure-frontdoor: ARM's bucket is nearly empty, pausing");
                self.paused[bucket(&method)].hold_for(Duration::from_secs(1));
            }
        }
        let bytes = response.bytes().await.map_err(Failure::transport)?;
        if !(200..300).contains(&status) {
            let retry_after = retry_after(&headers);
            if status == 429 {
                // Until the bucket's Retry-After (never less than the poll floor: ARM may say 0).
                paused.hold_for(retry_after.map_or(self.retry.requests.min_delay, |r| r.max(self.retry.poll_floor)));
            }
            return Err(Failure::from_answer(status, &bytes, retry_after));
        }
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|e| Failure {
                status: Some(status),
                code: Some("unreadable".into()),
                message: Some(format!("unreadable answer: {e}")),
                retry_after: None,
                source: None,
            })?
        };
        Ok(Answer {
            status,
            async_operation: header("azure-asyncoperation"),
            location: header("location"),
            retry_after: retry_after(&headers),
            body,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}/{path}?api-version={API_VERSION}", self.base, self.scope)
    }

    /// GET a resource; `None` if it does not exist.
    pub async fn get(&self, op: &'static str, path: &str) -> Result<Option<Value>> {
        match self.send(op, Method::GET, &self.url(path), None).await {
            Ok(a) => Ok(Some(a.body)),
            Err(e) if e.is(ErrorKind::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every item of a list (`value`, following `nextLink`); empty if its parent does not exist.
    pub async fn list(&self, op: &'static str, path: &str) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut url = self.url(path);
        loop {
            let page = match self.send(op, Method::GET, &url, None).await {
                Ok(a) => a.body,
                Err(e) if e.is(ErrorKind::NotFound) => return Ok(out),
                Err(e) => return Err(e),
            };
            out.extend(page["value"].as_array().into_iter().flatten().cloned());
            match page["nextLink"].as_str().filter(|l| !l.is_empty()) {
                Some(next) => url = self.own(op, next)?,
                None => return Ok(out),
            }
        }
    }

    /// A URL ARM handed out (a next page, a polling URL), if it is on the ARM endpoint: the
    /// bearer token goes nowhere else.
    fn own(&self, op: &'static str, url: &str) -> Result<String> {
        if url.starts_with(&format!("{}/", self.base)) {
            return Ok(url.to_owned());
        }
        Err(ProviderError::new(
            ErrorKind::Unexpected,
            NAME,
            op,
            format!("ARM answered with a URL outside {} ({url}); not followed", self.base),
        ))
    }

    /// A long-running write (`PUT`, `PATCH`, `DELETE`, `POST` action), followed to its end. For
    /// a PUT or PATCH, the resource as it is then; `None` for the rest, and for a DELETE of what is
    /// gone already.
    pub async fn write(
        &self,
        op: &'static str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Option<Value>> {
        let reads_back = matches!(method, Method::PUT | Method::PATCH);
        let deleting = method == Method::DELETE;
        let answer = match self.send(op, method, &self.url(path), body).await {
            Ok(a) => a,
            Err(e) if deleting && e.is(ErrorKind::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        if deleting && answer.status == 204 {
            return Ok(None);
        }
        if answer.status == 201 || answer.status == 202 {
            // A delete accepted without a polling header is followed on the resource itself: its
            // parent's delete would meet a 409 while it is still going.
            self.follow(op, &answer, path, reads_back || deleting).await?;
        } else if reads_back
            && answer.body["properties"]["provisioningState"].as_str().is_some_and(|s| s != "Succeeded")
        {
            // A 200 for a write still being carried out: the resource's own state is the poll.
            self.follow(op, &answer, path, true).await?;
        }
        if !reads_back {
            return Ok(None);
        }
        self.get(op_get(op), path).await?.map(Some).ok_or_else(|| {
            ProviderError::new(ErrorKind::Unexpected, NAME, op, format!("{path} is gone right after it was written"))
        })
    }

    /// Polls an operation until it ends: its `Azure-AsyncOperation` status, else its `Location`,
    /// else the resource's `provisioningState`.
    async fn follow(&self, op: &'static str, first: &Answer, path: &str, resource: bool) -> Result<()> {
        let started = Instant::now();
        let poll_op = op_poll(op);
        let mut wait = first.retry_after;
        let mut location = first.location.clone();
        loop {
            if started.elapsed() > self.retry.operation_timeout {
                return Err(ProviderError::new(
                    ErrorKind::Unavailable,
                    NAME,
                    op,
                    format!(
                        "the operation on {path} was not done after {} s; the next run finds its object and goes on",
                        self.retry.operation_timeout.as_secs()
                    ),
                ));
            }
            let pause = wait.unwrap_or(self.retry.poll_default).max(self.retry.poll_floor);
            tokio::time::sleep(pause).await;
            if let Some(url) = &first.async_operation {
                let a = self.send(poll_op, Method::GET, &self.own(op, url)?, None).await?;
                match a.body["status"].as_str().unwrap_or("InProgress") {
                    "Succeeded" => return Ok(()),
                    s @ ("Failed" | "Canceled") => return Err(failed(op, path, s, &a.body["error"])),
                    _ => wait = a.retry_after,
                }
            } else if let Some(url) = location.clone() {
                let a = self.send(poll_op, Method::GET, &self.own(op, &url)?, None).await?;
                if a.status != 202 {
                    return Ok(());
                }
                wait = a.retry_after;
                location = a.location.or(location);
            } else if resource {
                let Some(now) = self.get(op_get(op), path).await? else { return Ok(()) };
                match now["properties"]["provisioningState"].as_str().unwrap_or("Succeeded") {
                    "Succeeded" => return Ok(()),
                    s @ ("Failed" | "Canceled") => return Err(failed(op, path, s, &Value::Null)),
                    _ => wait = None,
                }
            } else {
                return Ok(());
            }
        }
    }
}

fn failed(op: &'static str, path: &str, status: &str, e: &Value) -> ProviderError {
    let why = e["message"].as_str().unwrap_or("no reason given");
    let mut err =
        ProviderError::new(ErrorKind::Unexpected, NAME, op, format!("the operation on {path} ended {status}: {why}"));
    if let Some(code) = e["code"].as_str() {
        err = err.with_code(code);
    }
    err
}

/// The read that goes with a write, for call counts: `Routes_Create` → `Routes_Get`.
fn op_get(op: &'static str) -> &'static str {
    match op.split('_').next() {
        Some("Profiles") => "Profiles_Get",
        Some("AFDEndpoints") => "AFDEndpoints_Get",
        Some("AFDOriginGroups") => "AFDOriginGroups_Get",
        Some("AFDOrigins") => "AFDOrigins_Get",
        Some("AFDCustomDomains") => "AFDCustomDomains_Get",
        Some("Routes") => "Routes_Get",
        _ => "Get",
    }
}

/// Polls of an operation are counted apart: `Routes_Update.poll`.
fn op_poll(op: &'static str) -> &'static str {
    match op {
        "Profiles_Create" => "Profiles_Create.poll",
        "Profiles_Delete" => "Profiles_Delete.poll",
        "AFDEndpoints_Create" => "AFDEndpoints_Create.poll",
        "AFDEndpoints_Delete" => "AFDEndpoints_Delete.poll",
        "AFDOriginGroups_Create" => "AFDOriginGroups_Create.poll",
        "AFDOriginGroups_Delete" => "AFDOriginGroups_Delete.poll",
        "AFDOrigins_Create" => "AFDOrigins_Create.poll",
        "AFDOrigins_Delete" => "AFDOrigins_Delete.poll",
        "AFDCustomDomains_Create" => "AFDCustomDomains_Create.poll",
        "AFDCustomDomains_Delete" => "AFDCustomDomains_Delete.poll",
        "AFDCustomDomains_RefreshValidationToken" => "AFDCustomDomains_RefreshValidationToken.poll",
        "Routes_Create" => "Routes_Create.poll",
        "Routes_Update" => "Routes_Update.poll",
        "Routes_Delete" => "Routes_Delete.poll",
        _ => "operation.poll",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_retried() {
        let f = |s, body: &str| Failure::from_answer(s, body.as_bytes(), None);
        assert!(f(429, "{}").retryable(true));
        assert!(f(503, "{}").retryable(true));
        assert!(
            f(409, r#"{"error":{"code":"Conflict","message":"Another operation is in progress on this resource"}}"#)
                .retryable(true)
        );
        let taken = f(409, r#"{"error":{"code":"Conflict","message":"the host name is already used"}}"#);
        assert!(!taken.retryable(true));
        assert_eq!(kind(&taken), ErrorKind::Conflict);
        assert_eq!(kind(&f(404, "{}")), ErrorKind::NotFound);
        assert!(!f(400, "{}").retryable(true));
    }
}
