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

    /// Maps a failed AWS SDK call by its error code and HTTP status, keeping the SDK error as the
    /// source. Dispatch failures and timeouts carry no vendor message; their error chain is what
    /// explains them.
    #[cfg(feature = "aws")]
    pub fn from_sdk<E>(
        provider: &'static str,
        op: &'static str,
        err: aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>,
    ) -> Self
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        use aws_smithy_types::error::metadata::ProvideErrorMetadata;
        let status = err.raw_response().map(|r| r.status().as_u16());
        let message = err
            .message()
            .map_or_else(|| aws_smithy_types::error::display::DisplayErrorContext(&err).to_string(), str::to_owned);
        let code = err.code().map(str::to_owned);
        ProviderError::from_aws(provider, op, code.as_deref(), status, message).with_source(err)
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

    #[test]
    fn display_names_provider_op_and_code() {
        let e = ProviderError::new(ErrorKind::Conflict, "cloudfront", "create", "alias in use")
            .with_code("CNAMEAlreadyExists");
        assert_eq!(e.to_string(), "cloudfront create: conflict (CNAMEAlreadyExists): alias in use");
    }
}
