//! KeyCDN failures → [`ProviderError`], in one place.
//!
//! KeyCDN has no error codes: an error is its envelope's `description`, and the HTTP status
//! (which "not all errors map cleanly onto") picks the kind. A 403 on an object's path means the
//! object does not exist (exkeycdn recorded it for a deleted zone), so callers that address one
//! object turn it into "gone"; elsewhere it is a refused key.

use std::time::Duration;

use sslprov_provider::error::transport_cause;
use sslprov_provider::{ErrorKind, ProviderError, Transient};

use crate::NAME;

/// A failed attempt, before it is mapped.
#[derive(Debug, Default)]
pub(crate) struct Failure {
    /// `None` when no whole answer came.
    pub status: Option<u16>,
    pub description: Option<String>,
    /// `Retry-After`, when the answer had one.
    pub retry_after: Option<Duration>,
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Transient for Failure {
    fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    fn status(&self) -> Option<u16> {
        self.status
    }
}

pub(crate) fn kind(status: Option<u16>) -> ErrorKind {
    match status {
        None => ErrorKind::Unavailable,
        Some(400 | 413) => ErrorKind::InvalidRequest,
        Some(401) => ErrorKind::Unauthenticated,
        Some(403) => ErrorKind::PermissionDenied,
        Some(404) => ErrorKind::NotFound,
        Some(429) => ErrorKind::RateLimited,
        Some(s) if s >= 500 => ErrorKind::Unavailable,
        // An envelope with `status: error` on a 2xx.
        Some(200..=299) => ErrorKind::InvalidRequest,
        Some(_) => ErrorKind::Unexpected,
    }
}

pub(crate) fn from_failure(op: &'static str, f: Failure) -> ProviderError {
    let kind = kind(f.status);
    let mut message = match (&f.description, f.status, &f.source) {
        (Some(d), ..) => d.trim_end_matches('.').to_owned(),
        (None, Some(s), _) => format!("HTTP {s}"),
        (None, None, Some(source)) => format!(
            "cannot reach the KeyCDN API: {}; check KEYCDN_API_BASE_URL and the network",
            transport_cause(&**source)
        ),
        (None, None, None) => "no answer".to_owned(),
    };
    match kind {
        ErrorKind::Unauthenticated => message.push_str(" (check KEYCDN_API_KEY: KeyCDN does not accept it)"),
        ErrorKind::PermissionDenied => message.push_str(" (KeyCDN refused the key in KEYCDN_API_KEY)"),
        ErrorKind::RateLimited => message.push_str(
            " (KeyCDN limits API requests, 60 at a time by its X-Rate-Limit headers; retries ran out: run again \
             later, nothing is lost)",
        ),
        _ => {}
    }
    let mut e = ProviderError::new(kind, NAME, op, message);
    e.source = f.source;
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds_and_say_what_to_do() {
        let e =
            |status, d: &str| from_failure("op", Failure { status, description: Some(d.into()), ..Failure::default() });
        assert_eq!(e(Some(401), "Unauthorized").kind, ErrorKind::Unauthenticated);
        assert!(e(Some(401), "Unauthorized").message.contains("KEYCDN_API_KEY"));
        assert_eq!(e(Some(403), "Access denied").kind, ErrorKind::PermissionDenied);
        assert_eq!(e(Some(400), "Zone name x already exists").kind, ErrorKind::InvalidRequest);
        assert_eq!(e(Some(200), "Something failed").kind, ErrorKind::InvalidRequest);
        assert_eq!(e(Some(503), "down").kind, ErrorKind::Unavailable);
        let limited = e(Some(429), "Too Many Requests");
        assert_eq!(limited.kind, ErrorKind::RateLimited);
        assert_eq!(
            limited.to_string(),
            "keycdn op: rate limited: Too Many Requests (KeyCDN limits API requests, 60 at a time by its \
             X-Rate-Limit headers; retries ran out: run again later, nothing is lost)"
        );
        assert_eq!(from_failure("op", Failure::default()).kind, ErrorKind::Unavailable);
    }
}
