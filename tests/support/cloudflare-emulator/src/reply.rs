//! What the emulator answers: Cloudflare's envelope `{success, errors, messages, result,
//! result_info}`, and the error codes it uses.
//!
//! Codes marked "seen" appear in real API responses quoted in public bug reports; the others are
//! this emulator's choice where no real answer could be found (tests should match on the HTTP
//! status and on codes marked "seen" only).

use serde_json::{Value, json};

/// Seen: an identifier in the path names nothing (`Could not route to …`), with 7000.
pub const COULD_NOT_ROUTE: u32 = 7003;
/// Seen: no route for that URI.
pub const NO_ROUTE: u32 = 7000;
/// Seen: `Invalid request headers` (a credential of the wrong form).
pub const INVALID_HEADERS: u32 = 6003;
/// Seen: `Missing X-Auth-Key, X-Auth-Email or Authorization headers`.
pub const MISSING_AUTH: u32 = 9106;
/// Seen: `Content-type must be application/json.`
pub const CONTENT_TYPE: u32 = 9207;
/// Seen: `Malformed JSON in request body`.
pub const MALFORMED_JSON: u32 = 6007;
/// Seen: `Authentication error`, for a wrong token and for a token lacking the permission.
pub const AUTHENTICATION: u32 = 10000;
/// Seen: `Invalid API Token`, from the token verify endpoint.
pub const INVALID_TOKEN: u32 = 1000;
/// Seen: `More than 1200 requests per 300 seconds reached. …` with HTTP 429.
pub const RATE_LIMITED: u32 = 10100;
/// Seen: `An A, AAAA, or CNAME record with that host already exists.`
pub const NAME_TAKEN_BY_ADDRESS_OR_CNAME: u32 = 81053;
/// Seen: `A CNAME record with that host already exists.`
pub const NAME_TAKEN_BY_CNAME: u32 = 81054;
/// Emulator's choice: a CNAME was asked for at a name that holds records of other types.
pub const NAME_TAKEN: u32 = 81055;
/// Seen: `Record already exists.` (same type, name and content).
pub const RECORD_EXISTS: u32 = 81057;
/// Seen: `Record does not exist.` with HTTP 404.
pub const RECORD_NOT_FOUND: u32 = 81044;
/// Seen: `Access to configure this resource has not been granted for this zone. This feature is
/// available with the Advanced Certificate Manager.`
pub const NEEDS_ACM: u32 = 1450;
/// Seen: `Invalid value for zone setting …`.
pub const INVALID_SETTING_VALUE: u32 = 1007;
/// Emulator's choice: a request the contract rejects for its parameters or body.
pub const INVALID_REQUEST: u32 = 1004;
/// Emulator's choice: a record type that cannot be proxied was asked to be.
pub const NOT_PROXIABLE: u32 = 9004;
/// Emulator's choice: CNAME content that is not a host name.
pub const INVALID_CONTENT: u32 = 9007;
/// Emulator's choice: no entrypoint ruleset in that phase (message as the real API words it).
pub const NO_ENTRYPOINT: u32 = 10003;
/// Emulator's choice: a ruleset the API would refuse (plan entitlement, rule limits, ids).
pub const INVALID_RULESET: u32 = 20021;
/// Emulator's choice: an advanced certificate pack order the API would refuse.
pub const INVALID_PACK_ORDER: u32 = 1210;
/// Emulator's choice: no certificate pack with that id.
pub const PACK_NOT_FOUND: u32 = 1404;
/// Emulator's choice: an injected server error.
pub const SERVER_ERROR: u32 = 10001;

#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn ok(result: Value) -> Reply {
        Reply::with(200, json!({"success": true, "errors": [], "messages": [], "result": result}))
    }

    pub fn page(items: Vec<Value>, page: usize, per_page: usize, total: usize) -> Reply {
        let mut reply = Reply::ok(json!(items));
        reply.body["result_info"] = json!({
            "page": page,
            "per_page": per_page,
            "count": items_len(&reply.body),
            "total_count": total,
            "total_pages": total.div_ceil(per_page.max(1)),
        });
        reply
    }

    pub fn error(status: u16, code: u32, message: impl Into<String>) -> Reply {
        Reply::errors(status, vec![json!({"code": code, "message": message.into()})])
    }

    pub fn errors(status: u16, errors: Vec<Value>) -> Reply {
        Reply::with(status, json!({"success": false, "errors": errors, "messages": [], "result": null}))
    }

    /// `Could not route to <path>`: how the API answers an id that names nothing.
    pub fn not_routed(path: &str) -> Reply {
        Reply::errors(
            400,
            vec![
                json!({"code": COULD_NOT_ROUTE, "message": format!("Could not route to /client/v4{path}, perhaps your object identifier is invalid?")}),
                json!({"code": NO_ROUTE, "message": "No route for that URI"}),
            ],
        )
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    fn with(status: u16, body: Value) -> Reply {
        Reply { status, body, headers: Vec::new() }
    }
}

impl From<Reply> for sslprov_emulator_kit::Answer {
    fn from(reply: Reply) -> Self {
        let headers = reply.headers.into_iter().map(|(name, value)| (name.to_owned(), value)).collect();
        Self {
            status: reply.status,
            content_type: Some("application/json"),
            headers,
            body: Some(reply.body),
            cut: false,
        }
    }
}

fn items_len(body: &Value) -> usize {
    body["result"].as_array().map_or(0, Vec::len)
}
