//! Provider errors: a small set of kinds every vendor error is mapped to, once, in the provider.

use std::error::Error as StdError;
use std::fmt;

pub type Result<T, E = ProviderError> = std::result::Result<T, E>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    AlreadyExists,
    /// The object is in a state that forbids the call (in use, not disabled, CNAME taken).
    Conflict,
    /// Optimistic concurrency lost: the object changed since it was read.
    PreconditionFailed,
    PermissionDenied,
    Unauthenticated,
    /// Throttled after the client's own retries ran out.
    RateLimited,
    InvalidRequest,
    Unsupported,
    /// Network or server failure after retries.
    Unavailable,
    Unexpected,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ErrorKind::NotFound => "not found",
            ErrorKind::AlreadyExists => "already exists",
            ErrorKind::Conflict => "conflict",
            ErrorKind::PreconditionFailed => "precondition failed",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::Unauthenticated => "not authenticated",
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::InvalidRequest => "invalid request",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Unavailable => "service unavailable",
            ErrorKind::Unexpected => "unexpected error",
        };
        f.write_str(s)
    }
}

/// An error from one provider operation, with what the engine needs to decide and report.
#[derive(Debug, thiserror::Error)]
#[error("{provider} {op}: {kind}{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
pub struct ProviderError {
    pub kind: ErrorKind,
    pub provider: &'static str,
    pub op: &'static str,
    /// The vendor's own error code, when it gave one (`CNAMEAlreadyExists`, `InvalidChangeBatch`).
    pub code: Option<String>,
    pub message: String,
    #[source]
    pub source: Option<Box<dyn StdError + Send + Sync>>,
}

impl ProviderError {
    pub fn new(kind: ErrorKind, provider: &'static str, op: &'static str, message: impl Into<String>) -> Self {
        ProviderError { kind, provider, op, code: None, message: message.into(), source: None }
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Maps an AWS error code and HTTP status to a kind. Shared by the AWS providers so that a
    /// code means the same everywhere; service-specific codes are matched first by the caller.
    pub fn from_aws(
        provider: &'static str,
        op: &'static str,
        code: Option<&str>,
        status: Option<u16>,
        message: impl Into<String>,
    ) -> Self {
        let kind = match (code, status) {
            (Some(c), _) if c.contains("NotFound") || c.starts_with("NoSuch") => ErrorKind::NotFound,
            // Before AlreadyExists: an alias held by another distribution is a conflict, not ours.
            (Some(c), _) if c.contains("InUse") || c.contains("NotDisabled") || c == "CNAMEAlreadyExists" => {
                ErrorKind::Conflict
            }
            (Some(c), _) if c.contains("AlreadyExists") => ErrorKind::AlreadyExists,
            (Some("PreconditionFailed" | "InvalidIfMatchVersion"), _) => ErrorKind::PreconditionFailed,
            (Some(c), _)
                if c.contains("Throttl") || c == "TooManyRequestsException" || c == "PriorRequestNotComplete" =>
            {
                ErrorKind::RateLimited
            }
            (Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation"), _) => {
                ErrorKind::PermissionDenied
            }
            (
                Some("InvalidClientTokenId" | "UnrecognizedClientException" | "ExpiredToken" | "SignatureDoesNotMatch"),
                _,
            ) => ErrorKind::Unauthenticated,
            (Some(c), _) if c.starts_with("Invalid") || c.contains("Validation") || c == "IllegalUpdate" => {
                ErrorKind::InvalidRequest
            }
            (_, Some(404)) => ErrorKind::NotFound,
            (_, Some(403)) => ErrorKind::PermissionDenied,
            (_, Some(429)) => ErrorKind::RateLimited,
            (_, Some(s)) if s >= 500 => ErrorKind::Unavailable,
            (None, None) => ErrorKind::Unavailable,
            _ => ErrorKind::Unexpected,
        };
        let mut e = ProviderError::new(kind, provider, op, message);
        e.code = code.map(str::to_owned);
        e
    }

    pub fn is(&self, kind: ErrorKind) -> bool {
        self.kind == kind
    }

    /// A failure that asking again later may not meet: the service was down or throttling.
    pub fn is_transient(&self) -> bool {
        matches!(self.kind, ErrorKind::Unavailable | ErrorKind::RateLimited)
    }

    /// Maps a failed AWS SDK call to one line a person can act on: a service error by its code and
    /// HTTP status, with the fix for refused permissions and credentials; a failure to reach the
    /// service by its cause in plain words. The SDK's own error (its Debug-laden chain) stays the
    /// source, for `--log debug`.
    #[cfg(feature = "aws")]
    pub fn from_sdk<E>(
        provider: &'static str,
        op: &'static str,
        err: aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>,
    ) -> Self
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        use aws_smithy_runtime_api::client::result::SdkError;
        use aws_smithy_types::error::metadata::ProvideErrorMetadata;
        let tries = crate::connect::aws::max_attempts();
        let status = err.raw_response().map(|r| r.status().as_u16());
        let unreadable = || {
            ProviderError::new(
                ErrorKind::Unavailable,
                provider,
                op,
                format!(
                    "unreadable answer{}: {}; check that AWS_ENDPOINT_URL names an AWS API",
                    status.map(|s| format!(" (HTTP {s})")).unwrap_or_default(),
                    transport_cause(&err)
                ),
            )
        };
        let e = match &err {
            // Every AWS error names its code. A refusal without one (an empty 404, a proxy's HTML
            // 403) came from something that is not the API; whether the SDK calls it a service
            // error or an unreadable response depends on the protocol (Route 53's XML or ACM's
            // JSON), so both read the same. Throttling and server errors stay what they are.
            SdkError::ServiceError(_)
                if err.code().is_none() && status.is_some_and(|s| (400..500).contains(&s) && s != 429) =>
            {
                unreadable()
            }
            SdkError::ServiceError(_) => {
                let message = err.message().map_or_else(|| transport_cause(&err), str::to_owned);
                let mut e = ProviderError::from_aws(provider, op, err.code(), status, message);
                let fix = match e.kind {
                    ErrorKind::PermissionDenied => {
                        format!("allow `{provider}:{op}` in the IAM policy of the identity sslprov runs as")
                    }
                    ErrorKind::Unauthenticated => CREDENTIALS_FIX.to_owned(),
                    ErrorKind::RateLimited => {
                        format!("still throttled after the SDK's retries (up to {tries} attempts); run again later")
                    }
                    _ => String::new(),
                };
                if !fix.is_empty() {
                    e.message = format!("{}; {fix}", e.message.trim_end_matches('.'));
                }
                e
            }
            SdkError::ConstructionFailure(_) => ProviderError::new(
                ErrorKind::Unexpected,
                provider,
                op,
                format!("could not build the request: {}", transport_cause(&err)),
            ),
            _ if chain_text(&err).contains("credentials") => ProviderError::new(
                ErrorKind::Unauthenticated,
                provider,
                op,
                format!("cannot load AWS credentials: {}; {CREDENTIALS_FIX}", transport_cause(&err)),
            ),
            SdkError::ResponseError(_) => unreadable(),
            _ => ProviderError::new(
                ErrorKind::Unavailable,
                provider,
                op,
                format!(
                    "cannot reach the service: {} (gave up after {tries} attempts); check AWS_ENDPOINT_URL and \
                     the network",
                    transport_cause(&err)
                ),
            ),
        };
        e.with_source(err)
    }
}

/// How to give sslprov AWS credentials, said wherever they are missing or refused.
pub const CREDENTIALS_FIX: &str = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE for a \
                                   profile (after `aws sso login` for SSO); on EC2, ECS or EKS the role \
                                   attached to the instance or task is used";

fn chain<'e>(err: &'e (dyn StdError + 'static)) -> impl Iterator<Item = &'e (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |e: &&'e (dyn StdError + 'static)| (*e).source())
}

fn chain_text(err: &(dyn StdError + 'static)) -> String {
    chain(err).map(|e| e.to_string().to_lowercase()).collect::<Vec<_>>().join(" / ")
}

/// Why a request got no answer, in the words a person would use: "connection refused", "DNS
/// lookup failed", "TLS handshake failed: …", "timed out"; else the innermost cause's own text.
/// Transport libraries nest the cause several layers deep and often print their Debug form on the
/// way; only the innermost layer says what happened.
pub fn transport_cause(err: &(dyn StdError + 'static)) -> String {
    use std::io::ErrorKind as Io;
    for e in chain(err) {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                Io::ConnectionRefused => return "connection refused".into(),
                Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe => return "connection reset".into(),
                Io::TimedOut => return "timed out".into(),
                _ => {}
            }
        }
    }
    let innermost = chain(err).last().map(ToString::to_string).unwrap_or_default();
    let text = chain_text(err);
    if text.contains("dns error") || text.contains("failed to lookup address") || text.contains("name or service") {
        format!("DNS lookup failed ({innermost})")
    } else if text.contains("connection closed") {
        "connection closed before the answer".into()
    } else if text.contains("certificate") || text.contains("tls") || text.contains("handshake") {
        format!("TLS handshake failed ({innermost})")
    } else if text.contains("timed out") || text.contains("timeout") {
        "timed out".into()
    } else {
        innermost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_codes_map_to_kinds() {
        let k = |code: Option<&str>, status| ProviderError::from_aws("p", "op", code, status, "m").kind;
        assert_eq!(k(Some("CNAMEAlreadyExists"), Some(409)), ErrorKind::Conflict);
        assert_eq!(k(Some("DistributionAlreadyExists"), Some(409)), ErrorKind::AlreadyExists);
        assert_eq!(k(Some("DistributionNotDisabled"), Some(409)), ErrorKind::Conflict);
        assert_eq!(k(Some("PreconditionFailed"), Some(412)), ErrorKind::PreconditionFailed);
        assert_eq!(k(Some("NoSuchDistribution"), Some(404)), ErrorKind::NotFound);
        assert_eq!(k(Some("ResourceNotFoundException"), Some(400)), ErrorKind::NotFound);
        assert_eq!(k(Some("Throttling"), Some(400)), ErrorKind::RateLimited);
        assert_eq!(k(Some("InvalidChangeBatch"), Some(400)), ErrorKind::InvalidRequest);
        assert_eq!(k(None, Some(503)), ErrorKind::Unavailable);
        assert_eq!(k(None, None), ErrorKind::Unavailable);
    }

    /// Route 53 reads an empty 404 as a service error with no code, ACM as an unreadable response:
    /// both must say the endpoint is not an AWS API, whichever call a run happens to make first.
    #[cfg(feature = "aws")]
    #[test]
    fn a_refusal_without_an_aws_error_code_is_not_an_aws_answer() {
        use aws_smithy_runtime_api::client::result::SdkError;
        use aws_smithy_runtime_api::http::{Response, StatusCode};
        use aws_smithy_types::{body::SdkBody, error::ErrorMetadata};
        let answer = |status: u16| Response::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
        let service = |status, meta: ErrorMetadata| {
            let e = SdkError::service_error(meta, answer(status));
            ProviderError::from_sdk("route53", "ListHostedZonesByName", e)
        };
        let codeless = service(404, ErrorMetadata::builder().message("error parsing XML: no root element").build());
        assert_eq!(codeless.kind, ErrorKind::Unavailable);
        assert!(codeless.message.starts_with("unreadable answer (HTTP 404): "), "{}", codeless.message);
        assert!(codeless.message.ends_with("check that AWS_ENDPOINT_URL names an AWS API"), "{}", codeless.message);

        let response = SdkError::<ErrorMetadata, _>::response_error("no JSON", answer(404));
        let response = ProviderError::from_sdk("acm", "ListCertificates", response);
        assert_eq!(response.kind, codeless.kind);
        assert!(response.message.starts_with("unreadable answer (HTTP 404): "), "{}", response.message);

        // An AWS answer keeps its meaning; a codeless 503 is still the service being down.
        let missing = service(404, ErrorMetadata::builder().code("NoSuchHostedZone").message("gone").build());
        assert_eq!(missing.kind, ErrorKind::NotFound);
        assert_eq!(service(503, ErrorMetadata::builder().build()).kind, ErrorKind::Unavailable);
        assert!(!service(503, ErrorMetadata::builder().build()).message.contains("unreadable"));
    }

    #[test]
    fn display_names_provider_op_and_code() {
        let e = ProviderError::new(ErrorKind::Conflict, "cloudfront", "create", "alias in use")
            .with_code("CNAMEAlreadyExists");
        assert_eq!(e.to_string(), "cloudfront create: conflict (CNAMEAlreadyExists): alias in use");
    }
}
