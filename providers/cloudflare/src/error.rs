//! Cloudflare failures → [`ProviderError`], in one place: by the codes in the answer's `errors`
//! list first (Cloudflare answers 400 for most of what it refuses), then by HTTP status.

use sslprov_provider::{ErrorKind, ProviderError};

use crate::NAME;
use crate::api::Failure;

/// "More than 1200 requests per 300 seconds reached" (10100) and the older "Please wait and
/// consider throttling your request speed" (971).
pub(crate) const RATE_LIMIT_CODES: &[u32] = &[10100, 971];

/// "Authentication error": Cloudflare's answer both to a token it does not know and to a token
/// that lacks the permission the call needs.
const AUTHENTICATION_ERROR: u32 = 10000;

fn kind_of_code(code: u32) -> Option<ErrorKind> {
    Some(match code {
        // An A/AAAA/CNAME (81053) or a CNAME (81054) already holds the name; the same record
        // exists (81057); a record with those settings exists (81058).
        81053 | 81054 | 81057 | 81058 => ErrorKind::AlreadyExists,
        // Record does not exist; "Could not route to …, perhaps your object identifier is invalid".
        81044 | 7003 => ErrorKind::NotFound,
        // Invalid API token (verify), malformed or missing credentials.
        AUTHENTICATION_ERROR | 1000 | 6003 | 6111 | 9103 | 9106 => ErrorKind::Unauthenticated,
        // "Unauthorized to access requested resource".
        9109 => ErrorKind::PermissionDenied,
        // The zone lacks Advanced Certificate Manager: a product, not a permission.
        1450 => ErrorKind::Unsupported,
        c if RATE_LIMIT_CODES.contains(&c) => ErrorKind::RateLimited,
        _ => return None,
    })
}

fn kind_of_status(status: Option<u16>) -> ErrorKind {
    match status {
        None => ErrorKind::Unavailable,
        Some(401) => ErrorKind::Unauthenticated,
        Some(403) => ErrorKind::PermissionDenied,
        Some(404) => ErrorKind::NotFound,
        Some(409) => ErrorKind::Conflict,
        Some(412) => ErrorKind::PreconditionFailed,
        Some(429) => ErrorKind::RateLimited,
        Some(400 | 405 | 413 | 415 | 422) => ErrorKind::InvalidRequest,
        Some(s) if s >= 500 => ErrorKind::Unavailable,
        Some(_) => ErrorKind::Unexpected,
    }
}

pub(crate) fn from_failure(op: &'static str, f: Failure) -> ProviderError {
    let kind = f.errors.iter().find_map(|e| kind_of_code(e.code)).unwrap_or_else(|| kind_of_status(f.status));
    let mut message = match (f.errors.is_empty(), f.status, &f.source) {
        (false, ..) => f.errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; "),
        (true, Some(status), _) => format!("HTTP {status}"),
        (true, None, Some(source)) => format!(
            "cannot reach the Cloudflare API: {}; check CLOUDFLARE_API_BASE_URL and the network",
            sslprov_provider::error::transport_cause(&**source)
        ),
        (true, None, None) => "no answer".to_owned(),
    };
    if f.errors.iter().any(|e| e.code == AUTHENTICATION_ERROR) {
        message.push_str(
            " (Cloudflare says this for an unknown token and for a token that lacks the permission \
             this call needs; a token check names which)",
        );
    }
    let mut e = ProviderError::new(kind, NAME, op, message);
    // The code that decided the kind, else the first.
    let code = f.errors.iter().find(|e| kind_of_code(e.code).is_some()).or(f.errors.first()).map(|e| e.code);
    if let Some(code) = code.filter(|c| *c != 0) {
        e = e.with_code(code.to_string());
    }
    e.source = f.source;
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ErrorInfo;

    fn failure(status: Option<u16>, codes: &[u32]) -> Failure {
        Failure {
            status,
            errors: codes.iter().map(|c| ErrorInfo { code: *c, message: format!("m{c}") }).collect(),
            ..Failure::default()
        }
    }

    fn kind(status: Option<u16>, codes: &[u32]) -> ErrorKind {
        from_failure("op", failure(status, codes)).kind
    }

    #[test]
    fn codes_decide_before_statuses() {
        assert_eq!(kind(Some(400), &[81057]), ErrorKind::AlreadyExists);
        assert_eq!(kind(Some(400), &[81053]), ErrorKind::AlreadyExists);
        assert_eq!(kind(Some(404), &[81044]), ErrorKind::NotFound);
        assert_eq!(kind(Some(400), &[7003, 7000]), ErrorKind::NotFound);
        assert_eq!(kind(Some(403), &[10000]), ErrorKind::Unauthenticated);
        assert_eq!(kind(Some(401), &[1000]), ErrorKind::Unauthenticated);
        assert_eq!(kind(Some(403), &[9109]), ErrorKind::PermissionDenied);
        assert_eq!(kind(Some(403), &[1450]), ErrorKind::Unsupported);
        assert_eq!(kind(Some(429), &[10100]), ErrorKind::RateLimited);
        assert_eq!(kind(Some(400), &[1004]), ErrorKind::InvalidRequest);
    }

    #[test]
    fn statuses_decide_when_no_code_is_known() {
        assert_eq!(kind(Some(429), &[]), ErrorKind::RateLimited);
        assert_eq!(kind(Some(503), &[10001]), ErrorKind::Unavailable);
        assert_eq!(kind(Some(404), &[10003]), ErrorKind::NotFound);
        assert_eq!(kind(Some(403), &[]), ErrorKind::PermissionDenied);
        assert_eq!(kind(None, &[]), ErrorKind::Unavailable);
    }

    #[test]
    fn message_and_code_come_from_the_answer() {
        let e = from_failure("CreateDnsRecord", failure(Some(400), &[1004, 81057]));
        assert_eq!(e.code.as_deref(), Some("81057"));
        assert_eq!(e.to_string(), "cloudflare CreateDnsRecord: already exists (81057): m1004; m81057");
        let auth = from_failure("ListZones", failure(Some(403), &[10000]));
        assert!(auth.message.contains("lacks the permission"), "{}", auth.message);
        assert_eq!(from_failure("op", failure(Some(502), &[])).message, "HTTP 502");
    }
}
