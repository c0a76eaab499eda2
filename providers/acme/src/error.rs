//! ACME failures → [`ProviderError`], in one place, each with what to do about it.
//!
//! The CA answers with RFC 8555 problem documents (`urn:ietf:params:acme:error:<type>`); the type
//! picks the kind, the CA's own `detail` is the message, and the fix is added: for rate limits
//! which limits Let's Encrypt has and that waiting loses nothing, for a refused account the
//! secret it is derived from, for an unreachable server the settings that name it.

use sslprov_provider::error::transport_cause;
use sslprov_provider::{ErrorKind, ProviderError};

use crate::NAME;

const PREFIX: &str = "urn:ietf:params:acme:error:";

/// What Let's Encrypt's rate limits are, said wherever the CA refuses for one.
pub(crate) const RATE_LIMITS: &str = "the CA limits how many certificates are ordered (Let's Encrypt: 300 new \
                                      orders per account every 3 hours, 50 certificates per registered domain and 5 \
                                      for the same name a week); nothing is lost: run `sslprov apply` again after \
                                      the time the CA names, and test against SSLPROV_ACME_DIRECTORY=letsencrypt-staging";

/// The problem type without its URN prefix (`rateLimited`).
pub(crate) fn problem_type(p: &instant_acme::Problem) -> &str {
    p.r#type.as_deref().map_or("", |t| t.strip_prefix(PREFIX).unwrap_or(t))
}

/// What a problem says, subproblems included, in one line.
pub(crate) fn problem_text(p: &instant_acme::Problem) -> String {
    let mut text = p.detail.clone().unwrap_or_else(|| problem_type(p).to_owned());
    for sub in &p.subproblems {
        if let Some(d) = &sub.detail
            && !text.contains(d.as_str())
        {
            text.push_str("; ");
            text.push_str(d);
        }
    }
    text.trim_end_matches('.').to_owned()
}

pub(crate) fn from_acme(op: &'static str, directory: &str, e: instant_acme::Error) -> ProviderError {
    use instant_acme::Error as E;
    let (kind, message) = match &e {
        E::Api(p) => {
            let t = problem_type(p);
            let text = problem_text(p);
            match t {
                "rateLimited" => (ErrorKind::RateLimited, format!("{text}; {RATE_LIMITS}")),
                _ if p.status == Some(429) => (ErrorKind::RateLimited, format!("{text}; {RATE_LIMITS}")),
                "unauthorized" | "accountDoesNotExist" | "userActionRequired" | "externalAccountRequired" => (
                    ErrorKind::PermissionDenied,
                    format!(
                        "{text} (the account is derived from SSLPROV_ACME_KEY for {directory}; a CA that needs an \
                         external account binding is not supported)"
                    ),
                ),
                "caa" => (
                    ErrorKind::InvalidRequest,
                    format!("{text}; a CAA record of the domain forbids this CA: add one that allows it"),
                ),
                "rejectedIdentifier" | "unsupportedIdentifier" => {
                    (ErrorKind::InvalidRequest, format!("{text}; the CA does not issue certificates for this name"))
                }
                "malformed" | "badCSR" | "badSignatureAlgorithm" | "badPublicKey" => (ErrorKind::InvalidRequest, text),
                "orderNotReady" => (ErrorKind::Conflict, text),
                "serverInternal" | "badNonce" => (ErrorKind::Unavailable, format!("{text}; run `sslprov apply` again")),
                _ => (ErrorKind::Unexpected, text),
            }
        }
        E::Other(source) => (
            ErrorKind::Unavailable,
            format!(
                "cannot reach the ACME server {directory}: {}; check SSLPROV_ACME_DIRECTORY (and SSLPROV_ACME_CA_FILE \
                 for a private CA) and the network",
                transport_cause(&**source)
            ),
        ),
        E::Json(j) => (ErrorKind::Unexpected, format!("unreadable answer from the ACME server {directory}: {j}")),
        other => (ErrorKind::Unexpected, other.to_string()),
    };
    let code = match &e {
        E::Api(p) if !problem_type(p).is_empty() => Some(problem_type(p).to_owned()),
        _ => None,
    };
    let mut err = ProviderError::new(kind, NAME, op, message);
    err.code = code;
    err.with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(t: &str, detail: &str, status: u16) -> instant_acme::Error {
        let json = serde_json::json!({"type": format!("{PREFIX}{t}"), "detail": detail, "status": status});
        instant_acme::Error::Api(serde_json::from_value(json).unwrap())
    }

    #[test]
    fn rate_limits_say_what_they_are_and_that_waiting_loses_nothing() {
        let e = from_acme(
            "NewOrder",
            "https://ca/dir",
            problem("rateLimited", "too many certificates (5) already issued for this exact set of identifiers", 429),
        );
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert_eq!(e.code.as_deref(), Some("rateLimited"));
        assert!(e.to_string().starts_with("acme NewOrder: rate limited (rateLimited): too many certificates"), "{e}");
        assert!(e.message.contains("5 for the same name a week") && e.message.contains("nothing is lost"), "{e}");
    }

    #[test]
    fn kinds_follow_the_problem_type() {
        let k = |t: &str| from_acme("op", "d", problem(t, "x", 400)).kind;
        assert_eq!(k("caa"), ErrorKind::InvalidRequest);
        assert_eq!(k("unauthorized"), ErrorKind::PermissionDenied);
        assert_eq!(k("serverInternal"), ErrorKind::Unavailable);
        assert_eq!(k("orderNotReady"), ErrorKind::Conflict);
        let gone = from_acme("op", "https://ca/dir", instant_acme::Error::Other("connection refused".into()));
        assert_eq!(gone.kind, ErrorKind::Unavailable);
        assert!(gone.message.contains("SSLPROV_ACME_DIRECTORY"), "{gone}");
    }
}
