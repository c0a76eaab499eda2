//! Fastly failures → [`ProviderError`], in one place.
//!
//! Fastly has no error codes: a classic error is `{msg, detail}` with a short `msg` that works as
//! one ("Record not found", "Duplicate record", "Version locked", "Bad request"), and a JSON:API
//! error has a `title`. That word is kept as the error's code and the `detail` as its message.
//! The kind comes from the HTTP status, except for two 400s that mean a conflict and can only be
//! told apart by their text: a domain already taken by another service, and a service that still
//! has an active version.

use sslprov_provider::{ErrorKind, ProviderError};

use crate::NAME;
use crate::api::Failure;

fn kind(f: &Failure) -> ErrorKind {
    let detail = f.detail.as_deref().unwrap_or("");
    match f.status {
        None => ErrorKind::Unavailable,
        Some(400) if detail.contains("already taken") || detail.contains("with active version") => ErrorKind::Conflict,
        Some(400 | 405 | 413 | 415) => ErrorKind::InvalidRequest,
        Some(401) => ErrorKind::Unauthenticated,
        Some(403) => ErrorKind::PermissionDenied,
        Some(404) => ErrorKind::NotFound,
        Some(409) => ErrorKind::AlreadyExists,
        // "Version locked": a write to an activated version.
        Some(422) if f.msg.as_deref() == Some("Version locked") => ErrorKind::Conflict,
        Some(422) => ErrorKind::InvalidRequest,
        Some(429) => ErrorKind::RateLimited,
        Some(s) if s >= 500 => ErrorKind::Unavailable,
        Some(_) => ErrorKind::Unexpected,
    }
}

pub(crate) fn from_failure(op: &'static str, f: Failure) -> ProviderError {
    let kind = kind(&f);
    let mut message = match (&f.detail, &f.msg, f.status, &f.source) {
        (Some(detail), ..) => detail.clone(),
        (None, Some(msg), ..) => msg.clone(),
        (None, None, Some(status), _) => format!("HTTP {status}"),
        (None, None, None, Some(source)) => format!(
            "cannot reach the Fastly API: {}; check FASTLY_API_BASE_URL and the network",
            sslprov_provider::error::transport_cause(&**source)
        ),
        (None, None, None, None) => "no answer".to_owned(),
    };
    match kind {
        ErrorKind::Conflict if f.msg.as_deref() == Some("Version locked") => message.push_str(
            " (an activated version cannot change: sslprov writes only to a draft it cloned, so something \
             else activated this one meanwhile)",
        ),
        ErrorKind::Unauthenticated => message.push_str(" (check FASTLY_API_TOKEN: Fastly does not accept it)"),
        ErrorKind::PermissionDenied => message
            .push_str(" (the token in FASTLY_API_TOKEN lacks the `global` scope, or is limited to other services)"),
        ErrorKind::RateLimited => {
            message.push_str(" (Fastly allows 1,000 non-read requests per hour per user; retries ran out)")
        }
        _ => {}
    }
    let mut e = ProviderError::new(kind, NAME, op, message);
    if let Some(code) = f.msg.filter(|m| !m.is_empty()) {
        e = e.with_code(code);
    }
    e.source = f.source;
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: Option<u16>, msg: &str, detail: &str) -> Failure {
        Failure {
            status,
            msg: (!msg.is_empty()).then(|| msg.to_owned()),
            detail: (!detail.is_empty()).then(|| detail.to_owned()),
            ..Failure::default()
        }
    }

    fn kind_of(status: u16, msg: &str, detail: &str) -> ErrorKind {
        from_failure("op", failure(Some(status), msg, detail)).kind
    }

    #[test]
    fn statuses_and_the_two_conflicting_400s() {
        assert_eq!(kind_of(404, "Record not found", "Couldn't find Service 'x'"), ErrorKind::NotFound);
        assert_eq!(kind_of(409, "Duplicate record", "Duplicate backend: 'b'"), ErrorKind::AlreadyExists);
        assert_eq!(kind_of(422, "Version locked", "Version '3' for service 'x' is locked"), ErrorKind::Conflict);
        assert_eq!(kind_of(400, "Bad request", "Domain 'a.b' is already taken by service 'x'"), ErrorKind::Conflict);
        assert_eq!(kind_of(400, "Bad request", "Cannot delete service with active version"), ErrorKind::Conflict);
        assert_eq!(kind_of(400, "Bad request", "Name can't be blank"), ErrorKind::InvalidRequest);
        assert_eq!(kind_of(401, "Provided credentials are missing or invalid", ""), ErrorKind::Unauthenticated);
        assert_eq!(kind_of(403, "Forbidden", ""), ErrorKind::PermissionDenied);
        assert_eq!(kind_of(429, "Too many requests", ""), ErrorKind::RateLimited);
        assert_eq!(kind_of(503, "", ""), ErrorKind::Unavailable);
        assert_eq!(from_failure("op", Failure::default()).kind, ErrorKind::Unavailable);
    }

    #[test]
    fn the_message_is_fastlys_and_says_what_to_do() {
        let locked = from_failure(
            "CreateBackend",
            failure(Some(422), "Version locked", "Version '3' for service 'x' is locked"),
        );
        assert_eq!(locked.code.as_deref(), Some("Version locked"));
        assert!(
            locked
                .to_string()
                .starts_with("fastly CreateBackend: conflict (Version locked): Version '3' for service 'x' is locked")
        );
        let auth = from_failure("GetTokenSelf", failure(Some(401), "Provided credentials are missing or invalid", ""));
        assert!(auth.message.contains("FASTLY_API_TOKEN"), "{}", auth.message);
        let tls = from_failure(
            "GetTlsSubscription",
            failure(Some(404), "Not found", "The subscription you requested was not found"),
        );
        assert_eq!(tls.message, "The subscription you requested was not found");
    }
}
