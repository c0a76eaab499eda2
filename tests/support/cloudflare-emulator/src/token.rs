//! The account's one API token: its value, status and permissions, and the check every
//! operation passes before it is served.
//!
//! `GET /user/tokens/verify` reports only the token's id and status, never its permissions (the
//! real API does the same; reading a token's policies takes `GET /user/tokens/{id}` and the
//! "API Tokens Read" permission, outside the subset). A client learns what a token may do by
//! calling and reading `403 Authentication error (10000)`, which is what this emulator answers
//! when the token lacks the permission an operation needs.
//!
//! Needs come from the subset's `x-cfPermissionsRequired` (the `:edit` one where both are
//! listed), except where the subset is silent or wrong:
//! - ruleset entrypoints need the phase's group: `#config_settings` for
//!   `http_config_settings`, `#origin` for `http_request_origin`, `#zone_rulesets` otherwise
//!   (`:read` to GET, `:edit` to PUT);
//! - the single-setting PATCH needs `#zone_settings:edit` (the subset lists only `:read`);
//! - listing zones needs nothing, but a token without `#zone:read` sees an empty list.
//!
//! A token that is not the emulator's answers 403 (10000) everywhere and 401 (1000) at verify; a
//! token that is disabled or expired is refused everywhere but verify, which reports its status.

use std::collections::BTreeSet;

use serde_json::json;

use crate::contract::{Call, Operation};
use crate::reply::{self, Reply};
use crate::state::new_id;

/// Every permission the emulator knows, in the subset's `#group:level` notation. An `:edit`
/// permission also grants `:read` of the same group.
pub const ALL_PERMISSIONS: &[&str] = &[
    "#zone:read",
    "#dns_records:read",
    "#dns_records:edit",
    "#zone_settings:read",
    "#zone_settings:edit",
    "#ssl:read",
    "#ssl:edit",
    "#config_settings:read",
    "#config_settings:edit",
    "#origin:read",
    "#origin:edit",
    "#zone_rulesets:read",
    "#zone_rulesets:edit",
];

pub(crate) struct Token {
    pub value: String,
    pub id: String,
    pub status: String,
    pub permissions: BTreeSet<String>,
}

impl Token {
    pub fn new() -> Token {
        Token {
            value: format!("cfemu{}{}", new_id(), &new_id()[..3]),
            id: new_id(),
            status: "active".to_owned(),
            permissions: ALL_PERMISSIONS.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    pub fn has(&self, permission: &str) -> bool {
        self.permissions.contains(permission)
            || permission.strip_suffix(":read").is_some_and(|group| self.permissions.contains(&format!("{group}:edit")))
    }

    /// Is this caller allowed to run `op`? The verify endpoint is open to any valid token.
    pub fn authorize(&self, op: &Operation, call: &Call) -> Result<(), Reply> {
        let verify = op.id == "user-api-tokens-verify-token";
        let Some(bearer) = &call.bearer else {
            // The contract let a global-key pair through; sslprov only ever uses tokens.
            return Err(Reply::errors(
                400,
                vec![json!({"code": reply::INVALID_HEADERS, "message": "Invalid request headers",
                    "error_chain": [{"code": 6103, "message": "Invalid format for X-Auth-Key header"}]})],
            ));
        };
        if *bearer != self.value {
            return Err(if verify {
                Reply::error(401, reply::INVALID_TOKEN, "Invalid API Token")
            } else {
                Reply::error(403, reply::AUTHENTICATION, "Authentication error")
            });
        }
        if verify {
            return Ok(());
        }
        if self.status != "active" {
            return Err(Reply::error(403, reply::AUTHENTICATION, "Authentication error"));
        }
        match required(op, call) {
            Some(p) if !self.has(&p) => Err(Reply::error(403, reply::AUTHENTICATION, "Authentication error")),
            _ => Ok(()),
        }
    }

    pub fn verify(&self) -> Reply {
        let mut r = Reply::ok(json!({"id": self.id, "status": self.status}));
        if self.status == "active" {
            r.body["messages"] =
                json!([{"code": 10000, "message": "This API Token is valid and active", "type": null}]);
        }
        r
    }
}

/// The permission `op` needs (see the module docs).
pub(crate) fn required(op: &Operation, call: &Call) -> Option<String> {
    match op.id.as_str() {
        "getZoneEntrypointRuleset" | "updateZoneEntrypointRuleset" => {
            let group = match call.path("ruleset_phase") {
                "http_config_settings" => "config_settings",
                "http_request_origin" => "origin",
                _ => "zone_rulesets",
            };
            let level = if op.method == "GET" { "read" } else { "edit" };
            Some(format!("#{group}:{level}"))
        }
        "zone-settings-edit-single-setting" => Some("#zone_settings:edit".to_owned()),
        _ => crate::contract::permission(op),
    }
}
