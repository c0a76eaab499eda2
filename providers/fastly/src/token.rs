//! What the API token may do, checked before planning, with `GET /tokens/self` (which works for
//! automation tokens too, unlike `/current_user`).
//!
//! Configuration writes need the `global` scope (`global:read` only reads, the purge scopes
//! neither). A token limited to some services can neither create a service nor touch any other,
//! and sslprov creates one per tracking domain.

use serde::Serialize;
use sslprov_provider::{ErrorKind, ProviderError, Result};

use crate::answers::TokenAnswer;
use crate::{Fastly, NAME, endpoints};

/// The token as Fastly describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenCheck {
    /// `global`, `global:read`, `purge_select`, `purge_all`.
    pub scopes: Vec<String>,
    /// The services the token is limited to; empty: all of the account's.
    pub services: Vec<String>,
    pub expires_at: Option<String>,
}

impl TokenCheck {
    /// May the token change configuration (`global` scope)?
    pub fn can_write(&self) -> bool {
        self.scopes.iter().any(|s| s == "global")
    }

    pub fn is_restricted(&self) -> bool {
        !self.services.is_empty()
    }

    /// What stops sslprov from working with this token, as sentences for a person.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.can_write() {
            out.push(format!(
                "FASTLY_API_TOKEN has scope {:?}: sslprov changes configuration, which needs the `global` scope",
                self.scopes.join(" ")
            ));
        }
        if self.is_restricted() {
            out.push(format!(
                "FASTLY_API_TOKEN is limited to {} service(s): sslprov creates a service per tracking domain, \
                 which needs a token not limited to services",
                self.services.len()
            ));
        }
        out
    }
}

impl Fastly {
    /// Describe the token. A token Fastly does not accept is an `Unauthenticated` error naming
    /// `FASTLY_API_TOKEN`.
    pub async fn check_token(&self) -> Result<TokenCheck> {
        let token: TokenAnswer = self.api.json(&endpoints::token_self()).await.map_err(|e| {
            if e.is(ErrorKind::Unauthenticated) {
                let mut refused = ProviderError::new(
                    ErrorKind::Unauthenticated,
                    NAME,
                    "GetTokenSelf",
                    "Fastly does not accept the token in FASTLY_API_TOKEN (missing, mistyped, expired or revoked): \
                     create an API token with the global scope in Fastly's web interface (Account → API tokens)",
                );
                refused.code = e.code;
                refused
            } else {
                e
            }
        })?;
        Ok(TokenCheck {
            scopes: token.scope.unwrap_or_default().split_whitespace().map(str::to_owned).collect(),
            services: token.services,
            expires_at: token.expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_and_limited_tokens_are_problems() {
        let check = |scopes: &[&str], services: &[&str]| TokenCheck {
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            services: services.iter().map(|s| (*s).to_owned()).collect(),
            expires_at: None,
        };
        assert!(check(&["global"], &[]).problems().is_empty());
        assert_eq!(check(&["global:read"], &[]).problems().len(), 1);
        assert_eq!(check(&["global"], &["SU1Z0isxPaozGVKXdv0eY"]).problems().len(), 1);
    }
}
