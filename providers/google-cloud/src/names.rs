//! Names sslprov gives Google Cloud objects. Compute names and Certificate Manager ids both
//! match `[a-z]([-a-z0-9]{0,61}[a-z0-9])?`; sslprov's all start with `sslprov-` (its mark) and
//! are derived from what the object is for, so that a create whose answer was lost is found by
//! its name.

use sslprov_provider::names::{derived_name, fnv};

/// The longest name either API takes.
const MAX: usize = 63;

/// `sslprov-<kind>-<text>` (see [`derived_name`]), at most 63 characters:
/// `resource_name("hr", "url1234.acme.com")` is `sslprov-hr-url1234-acme-com`.
pub fn resource_name(kind: &str, text: &str) -> String {
    derived_name(kind, text, MAX)
}

/// A Compute `requestId` (a UUID) for an idempotency token: the same token, the same id, so a
/// retried insert is not done twice.
pub fn request_id(token: &str) -> String {
    let a = fnv(token.as_bytes());
    let b = fnv(format!("{token}#2").as_bytes());
    let hex = format!("{a:016x}{b:016x}");
    // Version 4 and variant bits, so that the API takes it as a UUID.
    format!("{}-{}-4{}-8{}-{}", &hex[0..8], &hex[8..12], &hex[13..16], &hex[17..20], &hex[20..32])
}

/// Eight hex digits of a hash of `text`.
pub fn short_hash(text: &str) -> String {
    format!("{:08x}", fnv(text.as_bytes()) as u32)
}

/// The last segment of a resource URL or name: `…/urlMaps/sslprov-lb` → `sslprov-lb`.
pub fn last(link: &str) -> &str {
    link.rsplit('/').next().unwrap_or(link)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_and_distinct() {
        assert_eq!(resource_name("hr", "URL1234.Acme.com."), "sslprov-hr-url1234-acme-com");
        let long = "a-very-long-tracking-subdomain-name-for-a-brand.with.many.labels.example.com";
        let other = "a-very-long-tracking-subdomain-name-for-a-brand.with.many.labels.example.org";
        let (a, b) = (resource_name("cert", long), resource_name("cert", other));
        assert!(a.len() <= MAX && b.len() <= MAX && a != b, "{a} {b}");
        assert!(a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        assert!(!a.ends_with('-'));
    }

    #[test]
    fn request_ids_are_uuids_stable_per_token() {
        let id = request_id("tok-1");
        assert_eq!(id, request_id("tok-1"));
        assert_ne!(id, request_id("tok-2"));
        let parts: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12], "{id}");
    }
}
