//! The Fastly operations sslprov calls, as requests [`crate::api::Api::send`] can send: each
//! with its name (for call counts and errors), its body in the family's encoding, and whether
//! sending it twice does no more than sending it once.
//!
//! Classic endpoints take forms (booleans as `1`/`0`, as Fastly's own clients send them);
//! `/tls` endpoints take JSON:API documents.

use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

#[derive(Clone, Debug)]
pub(crate) enum Body {
    None,
    Form(Vec<(String, String)>),
    JsonApi(Value),
}

#[derive(Clone, Debug)]
pub(crate) struct Request {
    /// `CreateService`, counted as `fastly:CreateService`.
    pub op: &'static str,
    pub method: Method,
    /// Below the base URL, segments already encoded.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Body,
    /// Whether a second copy does no more than the first. One that is not is retried only when
    /// Fastly refused it unserved (429), never after a 5xx or a lost connection.
    pub repeatable: bool,
}

impl Request {
    fn new(op: &'static str, method: Method, path: String) -> Request {
        let repeatable = matches!(method, Method::Get | Method::Put | Method::Delete);
        Request { op, method, path, query: Vec::new(), body: Body::None, repeatable }
    }

    fn get(op: &'static str, path: String) -> Request {
        Request::new(op, Method::Get, path)
    }

    fn query(mut self, name: &str, value: impl Into<String>) -> Request {
        self.query.push((name.to_owned(), value.into()));
        self
    }

    fn form(mut self, fields: Vec<(&str, String)>) -> Request {
        self.body = Body::Form(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect());
        self
    }

    fn once(mut self) -> Request {
        self.repeatable = false;
        self
    }

    /// A non-read: what the hourly limit counts.
    pub fn is_write(&self) -> bool {
        self.method != Method::Get
    }

    /// A JSON:API endpoint (`/tls/…`).
    pub fn is_json_api(&self) -> bool {
        self.path.starts_with("/tls/")
    }
}

/// A path segment, percent-encoded (names are the user's: a backend may be called anything).
pub(crate) fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn flag(b: bool) -> String {
    if b { "1" } else { "0" }.to_owned()
}

fn version_path(service: &str, version: u32) -> String {
    format!("/service/{}/version/{version}", seg(service))
}

pub(crate) fn token_self() -> Request {
    Request::get("GetTokenSelf", "/tokens/self".to_owned())
}

pub(crate) fn list_services(page: u32, per_page: u32) -> Request {
    Request::get("ListServices", "/service".to_owned())
        .query("page", page.to_string())
        .query("per_page", per_page.to_string())
        .query("direction", "ascend")
}

pub(crate) fn search_service(name: &str) -> Request {
    Request::get("SearchService", "/service/search".to_owned()).query("name", name)
}

pub(crate) fn get_service(id: &str) -> Request {
    Request::get("GetService", format!("/service/{}", seg(id)))
}

pub(crate) fn create_service(name: &str, comment: &str) -> Request {
    Request::new("CreateService", Method::Post, "/service".to_owned())
        .form(vec![("name", name.to_owned()), ("comment", comment.to_owned()), ("type", "vcl".to_owned())])
        .once()
}

pub(crate) fn update_service(id: &str, name: &str, comment: &str) -> Request {
    Request::new("UpdateService", Method::Put, format!("/service/{}", seg(id)))
        .form(vec![("name", name.to_owned()), ("comment", comment.to_owned())])
}

pub(crate) fn delete_service(id: &str) -> Request {
    Request::new("DeleteService", Method::Delete, format!("/service/{}", seg(id)))
}

pub(crate) fn clone_version(service: &str, version: u32) -> Request {
    Request::new("CloneVersion", Method::Put, format!("{}/clone", version_path(service, version))).once()
}

pub(crate) fn validate_version(service: &str, version: u32) -> Request {
    Request::get("ValidateVersion", format!("{}/validate", version_path(service, version)))
}

pub(crate) fn activate_version(service: &str, version: u32) -> Request {
    Request::new("ActivateVersion", Method::Put, format!("{}/activate", version_path(service, version)))
}

pub(crate) fn deactivate_version(service: &str, version: u32) -> Request {
    // A second deactivation of the same version is refused: not repeatable.
    Request::new("DeactivateVersion", Method::Put, format!("{}/deactivate", version_path(service, version))).once()
}

/// The collections of named objects in a version, with their operation names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Collection {
    Domains,
    Backends,
    Headers,
    RequestSettings,
    CacheSettings,
}

impl Collection {
    fn segment(self) -> &'static str {
        match self {
            Collection::Domains => "domain",
            Collection::Backends => "backend",
            Collection::Headers => "header",
            Collection::RequestSettings => "request_settings",
            Collection::CacheSettings => "cache_settings",
        }
    }

    /// The operation names: list, create, update, delete.
    fn ops(self) -> [&'static str; 4] {
        match self {
            Collection::Domains => ["ListDomains", "CreateDomain", "UpdateDomain", "DeleteDomain"],
            Collection::Backends => ["ListBackends", "CreateBackend", "UpdateBackend", "DeleteBackend"],
            Collection::Headers => ["ListHeaders", "CreateHeader", "UpdateHeader", "DeleteHeader"],
            Collection::RequestSettings => {
                ["ListRequestSettings", "CreateRequestSettings", "UpdateRequestSettings", "DeleteRequestSettings"]
            }
            Collection::CacheSettings => {
                ["ListCacheSettings", "CreateCacheSettings", "UpdateCacheSettings", "DeleteCacheSettings"]
            }
        }
    }
}

pub(crate) fn list(service: &str, version: u32, c: Collection) -> Request {
    Request::get(c.ops()[0], format!("{}/{}", version_path(service, version), c.segment()))
}

pub(crate) fn create(service: &str, version: u32, c: Collection, fields: Vec<(&str, String)>) -> Request {
    Request::new(c.ops()[1], Method::Post, format!("{}/{}", version_path(service, version), c.segment()))
        .form(fields)
        .once()
}

pub(crate) fn update(service: &str, version: u32, c: Collection, name: &str, fields: Vec<(&str, String)>) -> Request {
    let path = format!("{}/{}/{}", version_path(service, version), c.segment(), seg(name));
    Request::new(c.ops()[2], Method::Put, path).form(fields)
}

pub(crate) fn delete(service: &str, version: u32, c: Collection, name: &str) -> Request {
    Request::new(
        c.ops()[3],
        Method::Delete,
        format!("{}/{}/{}", version_path(service, version), c.segment(), seg(name)),
    )
}

pub(crate) fn get_settings(service: &str, version: u32) -> Request {
    Request::get("GetSettings", format!("{}/settings", version_path(service, version)))
}

pub(crate) fn update_settings(service: &str, version: u32, fields: Vec<(&str, String)>) -> Request {
    Request::new("UpdateSettings", Method::Put, format!("{}/settings", version_path(service, version))).form(fields)
}

pub(crate) fn list_subscriptions_for(domain: &str, page: u32) -> Request {
    Request::get("ListTlsSubscriptions", "/tls/subscriptions".to_owned())
        .query("filter[tls_domains.id]", domain)
        .query("include", "tls_authorizations")
        .query("page[number]", page.to_string())
        .query("page[size]", "100")
}

pub(crate) fn get_subscription(id: &str) -> Request {
    Request::get("GetTlsSubscription", format!("/tls/subscriptions/{}", seg(id))).query("include", "tls_authorizations")
}

pub(crate) fn create_subscription(domain: &str, certificate_authority: &str) -> Request {
    let mut r = Request::new("CreateTlsSubscription", Method::Post, "/tls/subscriptions".to_owned()).once();
    r.body = Body::JsonApi(json!({"data": {
        "type": "tls_subscription",
        "attributes": {"certificate_authority": certificate_authority},
        "relationships": {"tls_domains": {"data": [{"type": "tls_domain", "id": domain}]}},
    }}));
    r
}

pub(crate) fn retry_subscription(id: &str) -> Request {
    let mut r = Request::new("PatchTlsSubscription", Method::Patch, format!("/tls/subscriptions/{}", seg(id))).once();
    r.body = Body::JsonApi(json!({"data": {"id": id, "type": "tls_subscription", "attributes": {"state": "retry"}}}));
    r
}

pub(crate) fn delete_subscription(id: &str, force: bool) -> Request {
    let r = Request::new("DeleteTlsSubscription", Method::Delete, format!("/tls/subscriptions/{}", seg(id)));
    if force { r.query("force", "true") } else { r }
}

pub(crate) fn get_configuration(id: &str) -> Request {
    Request::get("GetTlsConfiguration", format!("/tls/configurations/{}", seg(id))).query("include", "dns_records")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded() {
        assert_eq!(seg("click.example.com"), "click.example.com");
        assert_eq!(seg("my backend/1"), "my%20backend%2F1");
    }

    #[test]
    fn creates_are_sent_once_and_puts_are_repeatable() {
        assert!(!create_service("n", "c").repeatable);
        assert!(!clone_version("s", 1).repeatable);
        assert!(update_settings("s", 2, vec![]).repeatable);
        assert!(delete_service("s").repeatable);
        assert!(get_service("s").repeatable && !get_service("s").is_write());
        assert!(delete_subscription("x", true).is_json_api());
    }
}
