//! The account's one API token (sent as `Fastly-Key`), its user, and the check every operation
//! passes before it is served.
//!
//! - A missing, unknown or revoked token answers 401 "Provided credentials are missing or
//!   invalid" (seen), in the endpoint's error family.
//! - Scopes (space-delimited, as the API writes them): reading configuration needs `global` or
//!   `global:read`; anything else needs `global`. A token that lacks it answers 403 (the
//!   emulator's choice of wording: the real answer is not recorded).
//! - A token restricted to some services (`services` non-empty) answers 403 for any other
//!   service and for creating one, and lists only its own.

use serde_json::json;
use sslprov_openapi_contract::{Call, Operation};

use crate::reply::{self, Reply};
use crate::state::{new_id, now};

pub(crate) struct Token {
    pub value: String,
    pub id: String,
    pub user_id: String,
    pub customer_id: String,
    pub scope: String,
    pub services: Vec<String>,
    pub revoked: bool,
    pub created_at: String,
}

impl Token {
    pub fn new(customer_id: &str) -> Token {
        Token {
            value: format!("fastlyemu{}", new_id()),
            id: new_id(),
            user_id: new_id(),
            customer_id: customer_id.to_owned(),
            scope: "global".to_owned(),
            services: Vec::new(),
            revoked: false,
            created_at: now(),
        }
    }

    fn has(&self, scope: &str) -> bool {
        self.scope.split_whitespace().any(|s| s == scope)
    }

    /// May this caller run `op`? `json_api` picks the error family of the answer.
    pub fn authorize(&self, op: &Operation, call: &Call, json_api: bool) -> Result<(), Reply> {
        let refuse = |status: u16, msg: &str, detail: &str| {
            Err(if json_api {
                Reply::api_error(status, if status == 401 { "Unauthorized" } else { "Forbidden" }, detail)
            } else if status == 401 {
                // The token endpoints declare `{msg}` alone for 401 and 403.
                Reply::json(401, json!({"msg": msg}))
            } else {
                Reply::error(status, msg, detail)
            })
        };
        if self.revoked || call.api_keys.get("fastly-key") != Some(&self.value) {
            return refuse(401, reply::BAD_CREDENTIALS, reply::BAD_CREDENTIALS);
        }
        if op.id == "get-token-current" || op.id == "get-current-user" {
            return Ok(());
        }
        let reads = op.method == "GET";
        if !(self.has("global") || (reads && self.has("global:read"))) {
            let detail = format!("the token's scope ({}) does not allow {} {}", self.scope, op.method, op.path);
            return refuse(403, reply::FORBIDDEN, &detail);
        }
        if !self.services.is_empty() {
            let service = call.path("service_id");
            if op.id == "create-service" || (!service.is_empty() && !self.services.iter().any(|s| s == service)) {
                return refuse(403, reply::FORBIDDEN, "the token is restricted to other services");
            }
        }
        Ok(())
    }
}

/// `GET /tokens/self`.
pub(crate) fn token_self(token: &Token) -> Reply {
    Reply::ok(json!({
        "id": token.id,
        "user_id": token.user_id,
        "customer_id": token.customer_id,
        "name": "sslprov test token",
        "scope": token.scope,
        "scopes": token.scope.split_whitespace().collect::<Vec<_>>(),
        "services": token.services,
        "created_at": token.created_at,
        "last_used_at": now(),
        "expires_at": null,
        "sudo_expires_at": null,
        "ip": "127.0.0.1",
        "user_agent": "sslprov",
    }))
}

/// `GET /current_user`.
pub(crate) fn current_user(token: &Token) -> Reply {
    Reply::ok(json!({
        "id": token.user_id,
        "login": "sslprov@example.com",
        "name": "sslprov tests",
        "role": "engineer",
        "customer_id": token.customer_id,
        "email_hash": "0".repeat(32),
        "limit_services": !token.services.is_empty(),
        "locked": false,
        "require_new_password": false,
        "two_factor_auth_enabled": null,
        "two_factor_setup_required": false,
        "created_at": token.created_at,
        "updated_at": token.created_at,
        "deleted_at": null,
    }))
}
