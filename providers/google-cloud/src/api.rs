//! Sending requests: the one place sslprov talks HTTP to Google Cloud, and follows operations.
//!
//! Every request is counted in the shared [`Calls`] as `google-cloud:<op>` and waits for its
//! API's budget (Compute's per-minute rate quota; Certificate Manager's 300 per minute). A
//! throttled request (403 `rateLimitExceeded` or `userRateLimitExceeded` from Compute, 429 from
//! either) is retried with jittered exponential backoff, and so are 5xx answers and lost
//! connections: every request sslprov sends may be sent twice (reads; inserts carry a
//! `requestId` or an id, so a repeat finds the first; fingerprinted writes fail with 412 rather
//! than apply twice).

use std::time::Duration;

use serde_json::{Value, json};
use sslprov_provider::{Budget, ErrorKind, ProviderError, Result, Transient, retry};
use tokio::time::Instant;

use crate::NAME;
use crate::auth::Auth;

/// How failed requests are retried, and how often operations are polled.
#[derive(Clone, Debug)]
pub struct Retry {
    /// Each request. Every request sslprov sends to Google may be sent twice, so a lost
    /// connection is retried like any other transient failure.
    pub requests: retry::Retry,
    /// Between two reads of a Certificate Manager operation (Compute's are waited for by the
    /// API's own `wait`).
    pub operation_poll: Duration,
    /// An operation not done after this fails the step (the next run finds its object).
    pub operation_timeout: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            requests: retry::Retry {
                min_delay: Duration::from_secs(1),
                max_delay: Duration::from_secs(30),
                max_retries: 8,
                // A per-minute quota refills within a minute.
                max_total: Duration::from_secs(120),
                lost_connection_retries: 8,
            },
            operation_poll: Duration::from_secs(2),
            operation_timeout: Duration::from_secs(600),
        }
    }
}

/// Which API a request goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    Compute,
    CertificateManager,
}

/// A failed attempt, before it is mapped to a [`ProviderError`].
#[derive(Debug, Default)]
pub(crate) struct Failure {
    /// `None` when no whole answer came.
    pub status: Option<u16>,
    /// The first `errors[].reason` (`rateLimitExceeded`, `conditionNotMet`, `alreadyExists`, …),
    /// or the gRPC-style `status` (`ALREADY_EXISTS`).
    pub reason: Option<String>,
    pub message: Option<String>,
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Failure {
    fn throttled(&self) -> bool {
        self.status == Some(429)
            || (self.status == Some(403)
                && matches!(self.reason.as_deref(), Some("rateLimitExceeded" | "userRateLimitExceeded")))
    }

    /// Google's JSON error `{"error": {"code", "message", "status", "errors": [{"reason"}]}}`.
    fn from_answer(status: u16, body: &[u8]) -> Failure {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let e = &v["error"];
        let reason = e["errors"][0]["reason"].as_str().or(e["status"].as_str()).map(str::to_owned);
        Failure { status: Some(status), reason, message: e["message"].as_str().map(str::to_owned), source: None }
    }
}

impl Transient for Failure {
    fn retryable(&self, repeatable: bool) -> bool {
        self.throttled() || retry::by_status(self.status, repeatable)
    }

    fn status(&self) -> Option<u16> {
        self.status
    }

    fn code(&self) -> Option<&str> {
        self.reason.as_deref()
    }
}

fn kind(f: &Failure) -> ErrorKind {
    if f.throttled() {
        return ErrorKind::RateLimited;
    }
    match (f.status, f.reason.as_deref()) {
        (None, _) => ErrorKind::Unavailable,
        (Some(400), Some("resourceInUseByAnotherResource" | "FAILED_PRECONDITION")) => ErrorKind::Conflict,
        (Some(400), _) => ErrorKind::InvalidRequest,
        (Some(401), _) => ErrorKind::Unauthenticated,
        (Some(403), _) => ErrorKind::PermissionDenied,
        (Some(404), _) => ErrorKind::NotFound,
        (Some(409), _) => ErrorKind::AlreadyExists,
        (Some(412), _) => ErrorKind::PreconditionFailed,
        (Some(s), _) if s >= 500 => ErrorKind::Unavailable,
        (Some(_), _) => ErrorKind::Unexpected,
    }
}

pub(crate) fn error(op: &'static str, f: Failure) -> ProviderError {
    let kind = kind(&f);
    let mut message = match (&f.message, f.status, &f.source) {
        (Some(m), ..) => m.clone(),
        (None, Some(status), _) => format!("HTTP {status}"),
        (None, None, Some(source)) => format!(
            "cannot reach the Google Cloud API: {}; check GOOGLE_CLOUD_COMPUTE_URL, \
             GOOGLE_CLOUD_CERTIFICATE_MANAGER_URL and the network",
            sslprov_provider::error::transport_cause(&**source)
        ),
        (None, None, None) => "no answer".to_owned(),
    };
    match kind {
        ErrorKind::RateLimited => message.push_str(
            " (Compute's rate quotas are per project per minute, Certificate Manager allows 300 requests a minute; \
             retries ran out)",
        ),
        ErrorKind::PermissionDenied => message.push_str(
            " (the credentials need roles/compute.loadBalancerAdmin and roles/certificatemanager.editor on the project)",
        ),
        _ => {}
    }
    let mut e = ProviderError::new(kind, NAME, op, message);
    if let Some(reason) = f.reason {
        e = e.with_code(reason);
    }
    if let Some(source) = f.source {
        e.source = Some(source);
    }
    e
}

pub(crate) struct Api {
    http: reqwest::Client,
    auth: Auth,
    project: String,
    compute_url: String,
    certs_url: String,
    compute_budget: Budget,
    certs_budget: Budget,
    pub retry: Retry,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("project", &self.project)
            .field("compute_url", &self.compute_url)
            .field("certs_url", &self.certs_url)
            .finish_non_exhaustive()
    }
}

impl Api {
    pub fn new(config: &crate::GoogleCloudConfig, auth: Auth, compute: Budget, certs: Budget) -> Result<Api> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("sslprov/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(sslprov_provider::connect::CONNECT_TIMEOUT)
            .timeout(Duration::from_secs(150))
            .build()
            .map_err(|e| ProviderError::new(ErrorKind::InvalidRequest, NAME, "config", format!("HTTP client: {e}")))?;
        Ok(Api {
            http,
            auth,
            project: config.project.clone(),
            compute_url: config.compute_url.trim_end_matches('/').to_owned(),
            certs_url: config.certificate_manager_url.trim_end_matches('/').to_owned(),
            compute_budget: compute,
            certs_budget: certs,
            retry: Retry::default(),
        })
    }

    pub fn project(&self) -> &str {
        &self.project
    }

    /// The URL of `path`: below `projects/{p}/` for Compute (`global/urlMaps`), below
    /// `projects/{p}/locations/global/` for Certificate Manager (`certificateMaps/m`); a path that
    /// starts with `projects/` (an operation's name) is taken as it is.
    fn url(&self, service: Service, path: &str) -> String {
        let base = match service {
            Service::Compute => &self.compute_url,
            Service::CertificateManager => &self.certs_url,
        };
        match (service, path.starts_with("projects/")) {
            (_, true) => format!("{base}/{path}"),
            (Service::Compute, false) => format!("{base}/projects/{}/{path}", self.project),
            (Service::CertificateManager, false) => {
                format!("{base}/projects/{}/locations/global/{path}", self.project)
            }
        }
    }

    /// Sends one request and reads its JSON answer, retrying as [`Retry`] says.
    pub async fn call(
        &self,
        service: Service,
        op: &'static str,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value> {
        let url = self.url(service, path);
        let attempt = || self.attempt(service, op, method.clone(), &url, query, body);
        retry::retry(&self.retry.requests, NAME, op, true, attempt).await.map_err(|f| error(op, f))
    }

    async fn attempt(
        &self,
        service: Service,
        op: &'static str,
        method: reqwest::Method,
        url: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, Failure> {
        let budget = match service {
            Service::Compute => &self.compute_budget,
            Service::CertificateManager => &self.certs_budget,
        };
        budget.acquire(NAME, op).await;
        let headers = self.auth.headers().await.map_err(|e| Failure {
            status: Some(401),
            reason: Some("credentials".into()),
            message: Some(e.message),
            source: None,
        })?;
        let mut request = self.http.request(method, url).headers(headers).query(query);
        if let Some(body) = body {
            request = request.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.to_string());
        }
        let response = request.send().await.map_err(|e| Failure { source: Some(Box::new(e)), ..Failure::default() })?;
        let status = response.status().as_u16();
        let bytes =
            response.bytes().await.map_err(|e| Failure { source: Some(Box::new(e)), ..Failure::default() })?.to_vec();
        if !(200..300).contains(&status) {
            return Err(Failure::from_answer(status, &bytes));
        }
        if bytes.is_empty() {
            return Ok(json!({}));
        }
        serde_json::from_slice(&bytes).map_err(|e| Failure {
            status: Some(status),
            reason: Some("unreadable".into()),
            message: Some(format!("unreadable answer: {e}")),
            source: None,
        })
    }

    pub async fn get(&self, service: Service, op: &'static str, path: &str) -> Result<Value> {
        self.call(service, op, reqwest::Method::GET, path, &[], None).await
    }

    /// Every item of a paged list: `items` (Compute) or `field` (Certificate Manager), following
    /// `nextPageToken`.
    pub async fn list(&self, service: Service, op: &'static str, path: &str, field: &str) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![(if service == Service::Compute { "maxResults" } else { "pageSize" }, "500".into())];
            if let Some(t) = token.take() {
                query.push(("pageToken", t));
            }
            let page = self.call(service, op, reqwest::Method::GET, path, &query, None).await?;
            if let Some(items) = page[field].as_array() {
                out.extend(items.iter().cloned());
            }
            match page["nextPageToken"].as_str().filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t.to_owned()),
                None => return Ok(out),
            }
        }
    }

    /// Follows a Compute `Operation` to `DONE` with `globalOperations.wait` (which answers when
    /// it is done or after up to two minutes), and fails with its first error.
    pub async fn compute_done(&self, op: &'static str, mut operation: Value) -> Result<()> {
        let started = Instant::now();
        loop {
            if operation["status"] == "DONE" {
                let Some(first) = operation["error"]["errors"].get(0) else { return Ok(()) };
                let status = operation["httpErrorStatusCode"].as_u64().and_then(|s| u16::try_from(s).ok());
                return Err(error(
                    op,
                    Failure {
                        status: status.or(Some(400)),
                        reason: first["code"].as_str().map(str::to_owned),
                        message: first["message"].as_str().map(str::to_owned),
                        source: None,
                    },
                ));
            }
            if started.elapsed() > self.retry.operation_timeout {
                return Err(ProviderError::new(
                    ErrorKind::Unavailable,
                    NAME,
                    op,
                    format!("operation {} not done after {:?}", operation["name"], self.retry.operation_timeout),
                ));
            }
            let name = operation["name"].as_str().unwrap_or_default().to_owned();
            let path = format!("global/operations/{name}/wait");
            operation =
                self.call(Service::Compute, "globalOperations.wait", reqwest::Method::POST, &path, &[], None).await?;
        }
    }

    /// Follows a Certificate Manager operation to `done`, and returns its `response` (the
    /// object), or fails with its `error`.
    pub async fn certs_done(&self, op: &'static str, mut operation: Value) -> Result<Value> {
        let started = Instant::now();
        loop {
            if operation["done"] == true {
                if let Some(e) = operation.get("error").filter(|e| !e.is_null()) {
                    let code = e["code"].as_u64().unwrap_or(0);
                    // gRPC codes: 5 NOT_FOUND, 6 ALREADY_EXISTS, 7 PERMISSION_DENIED, 9 FAILED_PRECONDITION.
                    let status = match code {
                        5 => 404,
                        6 => 409,
                        7 => 403,
                        9 => 400,
                        _ => 500,
                    };
                    return Err(error(
                        op,
                        Failure {
                            status: Some(status),
                            reason: (code == 9).then(|| "FAILED_PRECONDITION".to_owned()),
                            message: e["message"].as_str().map(str::to_owned),
                            source: None,
                        },
                    ));
                }
                return Ok(operation["response"].clone());
            }
            if started.elapsed() > self.retry.operation_timeout {
                return Err(ProviderError::new(
                    ErrorKind::Unavailable,
                    NAME,
                    op,
                    format!("operation {} not done after {:?}", operation["name"], self.retry.operation_timeout),
                ));
            }
            tokio::time::sleep(self.retry.operation_poll).await;
            let name = operation["name"].as_str().unwrap_or_default().to_owned();
            operation = self.get(Service::CertificateManager, "operations.get", &name).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compute_throttles_with_403_and_that_is_retried() {
        let body = br#"{"error":{"code":403,"message":"Quota exceeded","errors":[{"domain":"usageLimits","reason":"rateLimitExceeded"}]}}"#;
        let f = Failure::from_answer(403, body);
        assert!(f.retryable(true));
        assert_eq!(kind(&f), ErrorKind::RateLimited);
        let denied = Failure::from_answer(403, br#"{"error":{"code":403,"errors":[{"reason":"forbidden"}]}}"#);
        assert!(!denied.retryable(true));
        assert_eq!(kind(&denied), ErrorKind::PermissionDenied);
        let stale = Failure::from_answer(412, br#"{"error":{"code":412,"errors":[{"reason":"conditionNotMet"}]}}"#);
        assert_eq!((kind(&stale), stale.retryable(true)), (ErrorKind::PreconditionFailed, false));
        let in_use = Failure::from_answer(
            400,
            br#"{"error":{"code":400,"errors":[{"reason":"resourceInUseByAnotherResource"}]}}"#,
        );
        assert_eq!(kind(&in_use), ErrorKind::Conflict);
    }
}
