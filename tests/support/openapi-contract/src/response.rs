//! Checking a response against its operation.

use serde_json::Value;

use crate::Contract;
use crate::operation::Operation;
use crate::schema::coerce;

/// A response an emulator is about to send.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// Headers beyond the content type, as sent.
    pub headers: &'a [(String, String)],
    /// `None` for an empty body.
    pub body: Option<&'a Value>,
}

impl Contract {
    /// Check a response: its status must be one the operation defines (exactly, by range such
    /// as `4XX`, or `default`); a response with content must come in a declared media type and
    /// match its schema, one without must be empty; declared headers that are sent must match
    /// theirs.
    pub fn check_response(&self, op: &Operation, out: &Outgoing<'_>) -> Vec<String> {
        let exact = out.status.to_string();
        let range = format!("{}XX", out.status / 100);
        let Some(response) = [exact.as_str(), range.as_str(), "default"].iter().find_map(|k| op.responses.get(*k))
        else {
            return vec![format!("status {} is not a response of {}", out.status, op.id)];
        };
        let mut problems = Vec::new();
        match (response.media.is_empty(), out.body) {
            (true, None) => {}
            (true, Some(_)) => {
                problems.push(format!("status {} of {} has no content, but a body was sent", out.status, op.id))
            }
            (false, None) => {
                problems.push(format!("status {} of {} has content, but no body was sent", out.status, op.id))
            }
            (false, Some(body)) => {
                let content_type = out.content_type.unwrap_or("");
                let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
                match response.media.get(&media) {
                    Some(key) => problems.extend(self.errors(key, body)),
                    None => {
                        let declared: Vec<&str> = response.media.keys().map(String::as_str).collect();
                        problems
                            .push(format!("content-type {content_type:?}, the response is {}", declared.join(" or ")));
                    }
                }
            }
        }
        for (name, value) in out.headers {
            if let Some((kind, key)) = response.headers.get(&name.to_ascii_lowercase()) {
                let typed = coerce(value, kind.as_deref(), false);
                problems.extend(self.errors(key, &typed).into_iter().map(|e| format!("header {name}: {e}")));
            }
        }
        problems
    }
}
