//! What the emulator answers, in the two families the API has:
//! - classic endpoints (`/service…`, `/tokens/self`, `/current_user`): `application/json`,
//!   errors as `{msg, detail}`;
//! - JSON:API endpoints (`/tls/…`): `application/vnd.api+json`, errors as
//!   `{errors: [{title, detail}]}`, and `204` with no body for a delete.
//!
//! Messages marked "seen" appear in recorded API traffic or in public bug reports; the others
//! are this emulator's choice where no real answer could be found.

use serde_json::{Value, json};

pub(crate) const JSON: &str = "application/json";
pub(crate) const JSON_API: &str = "application/vnd.api+json";

/// Seen: the `msg` of a 404 on the classic endpoints.
pub const RECORD_NOT_FOUND: &str = "Record not found";
/// Seen: the `msg` of a 409 for a second object of the same name in a version.
pub const DUPLICATE_RECORD: &str = "Duplicate record";
/// Seen: the `msg` of a 422 for a write to a locked (activated) version.
pub const VERSION_LOCKED: &str = "Version locked";
/// Seen: the `msg` of a 400 (a domain already taken, a service with an active version deleted).
pub const BAD_REQUEST: &str = "Bad request";
/// Seen: the `msg` of a 401 for a missing or unknown token.
pub const BAD_CREDENTIALS: &str = "Provided credentials are missing or invalid";
/// Emulator's choice: the `msg` of a 403 for a token whose scope or services do not cover a call.
pub const FORBIDDEN: &str = "Forbidden";
/// Emulator's choice: the `msg` of a 429 past the hourly limit (the real body is not recorded).
pub const RATE_LIMITED: &str = "Too many requests";

/// How an answer ends, for injected connection faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    Complete,
    /// The connection is cut before a whole answer is sent.
    Cut,
}

#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: Option<Value>,
    pub content_type: Option<&'static str>,
    pub headers: Vec<(String, String)>,
    pub ending: Ending,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Reply {
        Reply { status, body: Some(body), content_type: Some(JSON), headers: Vec::new(), ending: Ending::Complete }
    }

    pub fn ok(body: Value) -> Reply {
        Reply::json(200, body)
    }

    /// `{"status":"ok"}`: what classic deletes answer.
    pub fn status_ok() -> Reply {
        Reply::ok(json!({"status": "ok"}))
    }

    pub fn error(status: u16, msg: &str, detail: impl Into<String>) -> Reply {
        Reply::json(status, json!({"msg": msg, "detail": detail.into()}))
    }

    pub fn not_found(detail: impl Into<String>) -> Reply {
        Reply::error(404, RECORD_NOT_FOUND, detail)
    }

    pub fn api(status: u16, body: Value) -> Reply {
        Reply { content_type: Some(JSON_API), ..Reply::json(status, body) }
    }

    pub fn api_error(status: u16, title: &str, detail: impl Into<String>) -> Reply {
        Reply::api(status, json!({"errors": [{"title": title, "detail": detail.into(), "status": status.to_string()}]}))
    }

    pub fn no_content() -> Reply {
        Reply { status: 204, body: None, content_type: None, headers: Vec::new(), ending: Ending::Complete }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

impl From<Reply> for sslprov_emulator_kit::Answer {
    fn from(reply: Reply) -> Self {
        let Reply { status, body, content_type, headers, ending } = reply;
        Self { status, content_type, headers, body, cut: ending == Ending::Cut }
    }
}
