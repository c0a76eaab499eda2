//! What verify must know of each CDN, from its template's `verify:` section: how its own error
//! page and its own HTTPS redirect look, and how to fix them (esp-cdn-facts §1.1, §1.2,
//! gotchas 2, 10, 18).

use hyper::HeaderMap;

use crate::template::CdnVerify;

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Whether an answer is the CDN's own error page rather than something from the origin.
pub fn is_error_page(cdn: &CdnVerify, status: u16, headers: &HeaderMap, body: &[u8]) -> bool {
    cdn.error_page.iter().any(|m| m.matches(status, |n| header(headers, n), body))
}

/// Whether a plain-HTTP answer is the CDN sending the client to the same URL over HTTPS (viewer
/// policy "Redirect HTTP to HTTPS"): old `http://` links still work, one hop later (gotcha 6).
pub fn is_https_redirect(cdn: &CdnVerify, status: u16, headers: &HeaderMap, host: &str) -> bool {
    let to_https =
        header(headers, "location").is_some_and(|l| l.to_ascii_lowercase().starts_with(&format!("https://{host}/")));
    matches!(status, 301 | 302 | 307 | 308)
        && to_https
        && cdn.https_redirect.iter().any(|m| m.matches(status, |n| header(headers, n), &[]))
}

/// How to fix the CDN's error page with this status.
pub fn error_fix(cdn: &CdnVerify, status: u16) -> String {
    cdn.error_fix.get(&status.to_string()).or_else(|| cdn.error_fix.get("other")).cloned().unwrap_or_else(|| {
        "the CDN answered with its own error page instead of the ESP's answer: `sslprov plan` shows drift".into()
    })
}
