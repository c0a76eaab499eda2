//! Host-header safety (Braze: "enable X-Forwarded-Host to prevent host header attacks";
//! gotcha 10). verify sends a request carrying a forged `X-Forwarded-Host` and compares the answer
//! with the one without it. The forged value reached the origin when it comes back anywhere in
//! the answer (a header value, or the body: origins that trust the header build redirects and
//! links from it) or when the answer changes (an ESP that picks the customer by it, as SparkPost
//! does, answers differently for a domain it does not know).

use super::http::Fetched;
use super::report::{Check, CheckKind};
use crate::template::CdnVerify;

/// A value no origin can know: a `.invalid` name (RFC 2606), unique per run.
pub fn forged_value() -> String {
    format!("sslprov-forged-{}.invalid", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// Where `forged` came back in `answer`, if it did.
pub fn reflected(forged: &str, answer: &Fetched) -> Option<String> {
    let forged = forged.to_ascii_lowercase();
    for (name, value) in &answer.headers {
        if value.to_str().is_ok_and(|v| v.to_ascii_lowercase().contains(&forged)) {
            return Some(format!("the response header {name}"));
        }
    }
    String::from_utf8_lossy(&answer.body).to_ascii_lowercase().contains(&forged).then(|| "the response body".to_owned())
}

pub fn judge(cdn: &CdnVerify, tracking_domain: &str, forged: &str, baseline: &Fetched, probe: &Fetched) -> Check {
    let seen = match reflected(forged, probe) {
        Some(place) => {
            Some(format!("the forged X-Forwarded-Host {forged} reached the origin: it came back in {place}"))
        }
        None if probe.status != baseline.status => Some(format!(
            "the answer changed with a forged X-Forwarded-Host ({} → {}): the forged value reached the origin",
            baseline.status, probe.status
        )),
        None => None,
    };
    let fh = &cdn.forwarded_host;
    match (fh.overwritten, seen) {
        (true, None) => Check::pass(
            CheckKind::HostHeader,
            format!(
                "a forged X-Forwarded-Host changed nothing ({} both ways, not reflected): {} ({tracking_domain})",
                probe.status, fh.says
            ),
        ),
        (true, Some(seen)) => {
            let fix = fh.fix.as_deref().unwrap_or("`sslprov apply` restores what overwrites it at the CDN");
            Check::fail(CheckKind::HostHeader, seen, fix.replace("{tracking_domain}", tracking_domain))
        }
        (false, None) => Check::pass(
            CheckKind::HostHeader,
            format!("a forged X-Forwarded-Host changed nothing and was not reflected; note: {}", fh.says),
        ),
        (false, Some(seen)) => Check::warn(
            CheckKind::HostHeader,
            seen,
            match &fh.fix {
                Some(fix) => format!("{}: {}", fh.says, fix.replace("{tracking_domain}", tracking_domain)),
                None => format!(
                    "{}: set X-Forwarded-Host at the CDN (a transform rule) so the origin never sees a client's value",
                    fh.says
                ),
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::templates;

    fn cdn(name: &str) -> &'static CdnVerify {
        &templates().cdn[name].verify
    }
    use crate::verify::report::Status;
    use hyper::HeaderMap;
    use hyper::header::HeaderValue;

    fn answer(status: u16, echo: &str) -> Fetched {
        let mut headers = HeaderMap::new();
        headers.insert("x-echo-forwarded-host", HeaderValue::from_str(echo).unwrap());
        Fetched { status, headers, body: Vec::new() }
    }

    #[test]
    fn a_reflected_or_effective_forged_value_fails_on_cloudfront() {
        let forged = forged_value();
        assert!(forged.ends_with(".invalid") && forged.len() > 25);
        let base = answer(302, "url1234.acme.com");
        let ok = judge(cdn("cloudfront"), "url1234.acme.com", &forged, &base, &answer(302, "url1234.acme.com"));
        assert_eq!(ok.status, Status::Pass, "{ok:?}");
        let echoed = judge(cdn("cloudfront"), "url1234.acme.com", &forged, &base, &answer(302, &forged.to_uppercase()));
        assert_eq!(echoed.status, Status::Fail);
        assert!(echoed.saw.contains("came back in the response header x-echo-forwarded-host"), "{echoed:?}");
        let changed = judge(cdn("cloudfront"), "url1234.acme.com", &forged, &base, &answer(404, "x"));
        assert!(changed.saw.contains("the answer changed with a forged X-Forwarded-Host (302 → 404)"), "{changed:?}");
    }

    #[test]
    fn cloudflare_passing_it_through_is_a_warning_that_says_so() {
        let forged = forged_value();
        let c = judge(cdn("cloudflare"), "url1234.acme.com", &forged, &answer(302, ""), &answer(302, &forged));
        assert_eq!(c.status, Status::Warn);
        assert!(c.fix.unwrap().contains("Cloudflare passes a client's X-Forwarded-Host through"));
    }
}
