//! What verify must know of each CDN: how its own error page looks, and what it does with a
//! client's `X-Forwarded-Host` (esp-cdn-facts §1.1, §1.2, gotchas 2, 10, 18).

use hyper::HeaderMap;

use crate::spec::CdnKind;

/// Whether an answer is the CDN's own error page rather than something from the origin.
pub fn is_error_page(cdn: CdnKind, status: u16, headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    match cdn {
        // CloudFront marks every answer it made up itself, 4xx and 5xx alike.
        CdnKind::Cloudfront => header("x-cache").contains("error from cloudfront"),
        // Cloudflare's own errors are its 52x codes, or 5xx pages it serves as `server: cloudflare`
        // without an origin answer; origin errors pass through with the origin's status.
        CdnKind::Cloudflare => {
            (520..=530).contains(&status)
                || (status >= 500 && header("server") == "cloudflare" && !headers.contains_key("cf-cache-status"))
        }
    }
}

/// Whether a plain-HTTP answer is the CDN sending the client to the same URL over HTTPS (viewer
/// policy "Redirect HTTP to HTTPS"): old `http://` links still work, one hop later (gotcha 6).
pub fn is_https_redirect(cdn: CdnKind, status: u16, headers: &HeaderMap, host: &str) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let to_https = header("location").starts_with(&format!("https://{host}/"));
    let from_cdn = match cdn {
        CdnKind::Cloudfront => header("x-cache").contains("redirect from cloudfront"),
        CdnKind::Cloudflare => header("server") == "cloudflare",
    };
    matches!(status, 301 | 302 | 307 | 308) && to_https && from_cdn
}

/// How to fix the CDN's error page with this status.
pub fn error_fix(cdn: CdnKind, status: u16) -> String {
    match (cdn, status) {
        (CdnKind::Cloudfront, 502) => "CloudFront got no usable answer from the ESP origin: check the origin domain and protocol; with HTTPS to the origin, its certificate must match the origin domain or the forwarded Host (gotcha 2). `sslprov plan` shows drift, `sslprov apply` restores the distribution".into(),
        (CdnKind::Cloudfront, 504) => "CloudFront timed out waiting for the ESP origin: check the origin domain (`sslprov plan` shows drift) and whether the ESP is up".into(),
        (CdnKind::Cloudfront, 403) => "CloudFront refused the request itself: a WAF rule, a geo restriction, an HTTPS-only viewer policy for plain HTTP (gotchas 6, 18), or the domain is not an alternate name of the distribution; `sslprov apply` restores viewer policy \"HTTP and HTTPS\" and the alias".into(),
        (CdnKind::Cloudfront, _) => "CloudFront answered with its own error page instead of the ESP's answer: check the distribution (`sslprov plan` shows drift)".into(),
        (CdnKind::Cloudflare, _) => "Cloudflare answered with its own error page instead of the ESP's answer: check the SSL mode (Full) and the origin (gotcha 11)".into(),
    }
}

/// Whether the CDN replaces a client's `X-Forwarded-Host` before the origin sees it, and what the
/// report says when it does not.
pub fn overwrites_forwarded_host(cdn: CdnKind) -> Result<&'static str, &'static str> {
    match cdn {
        CdnKind::Cloudfront => Ok("CloudFront replaces it with the distribution's origin header X-Forwarded-Host"),
        CdnKind::Cloudflare => Err(
            "Cloudflare passes a client's X-Forwarded-Host through to the origin and adds none (esp-cdn-facts §1.2)",
        ),
    }
}
