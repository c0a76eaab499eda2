//! The ESP's own tracking paths through the CDN, over HTTPS and plain HTTP: the answer must come
//! from the ESP (as the template describes it), not from the CDN's error page. Plain HTTP matters
//! because mail already delivered carries `http://` links (gotcha 6).

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::header::{HOST, HeaderValue, USER_AGENT};
use hyper::{HeaderMap, Request};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use super::cdn;
use super::report::{Check, CheckKind};
use crate::template::{CdnVerify, EspTemplate};

/// How much of a body is kept: enough for an error page or a reflected header value.
const BODY_LIMIT: usize = 64 * 1024;

/// An answer, as far as verify reads it.
#[derive(Clone, Debug)]
pub struct Fetched {
    pub status: u16,
    pub headers: HeaderMap,
    /// The first [`BODY_LIMIT`] bytes.
    pub body: Vec<u8>,
}

impl Fetched {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `302 (server: msys-http, location: …)`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for name in ["server", "location", "x-cache"] {
            if let Some(v) = self.header(name) {
                let v: String = v.chars().take(80).collect();
                parts.push(format!("{name}: {v}"));
            }
        }
        if parts.is_empty() { self.status.to_string() } else { format!("{} ({})", self.status, parts.join(", ")) }
    }
}

/// `GET path` over `io` (HTTP/1.1, one request), with `Host: host` and the extra headers.
pub async fn get<S>(io: S, host: &str, path: &str, extra: &[(&str, &str)], timeout: Duration) -> Result<Fetched, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let attempt = async {
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(io)).await.map_err(|e| e.to_string())?;
        let driver = tokio::spawn(conn);
        let mut req = Request::get(path)
            .header(HOST, host)
            .header(USER_AGENT, concat!("sslprov/", env!("CARGO_PKG_VERSION"), " verify"));
        for (name, value) in extra {
            req = req.header(*name, HeaderValue::from_str(value).map_err(|e| e.to_string())?);
        }
        let req = req.body(Empty::<Bytes>::new()).map_err(|e| e.to_string())?;
        let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let (parts, mut body) = resp.into_parts();
        let mut kept = Vec::new();
        while kept.len() < BODY_LIMIT {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        kept.extend_from_slice(&data[..data.len().min(BODY_LIMIT - kept.len())]);
                    }
                }
                Some(Err(e)) => return Err(e.to_string()),
                None => break,
            }
        }
        driver.abort();
        Ok(Fetched { status: parts.status.as_u16(), headers: parts.headers, body: kept })
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {}", humantime::format_duration(timeout))))
}

/// Whether `answer` to `GET path` is the ESP's, through `cdn`. `Err` carries what is wrong and
/// the fix.
pub fn judge(t: &EspTemplate, cdn: &CdnVerify, answer: &Fetched) -> Result<(), (String, String)> {
    let expect = &t.verify.answer;
    if cdn::is_error_page(cdn, answer.status, &answer.headers, &answer.body) {
        return Err((
            format!("the CDN's own error page, not {}: {}", t.name, answer.summary()),
            cdn::error_fix(cdn, answer.status),
        ));
    }
    let body = String::from_utf8_lossy(&answer.body);
    if let Some(w) = expect.wrong.iter().find(|w| body.contains(&w.body_contains)) {
        return Err((format!("{} answered \"{}\": {}", t.name, w.body_contains, answer.summary()), w.means.clone()));
    }
    let server = answer.header("server").unwrap_or("").to_ascii_lowercase();
    let status_ok = expect.status.is_empty() || expect.status.contains(&answer.status);
    let server_ok = expect.server.as_ref().is_none_or(|s| server.contains(&s.to_ascii_lowercase()));
    if !status_ok || !server_ok {
        let mut want = Vec::new();
        if !expect.status.is_empty() {
            want.push(expect.status.iter().map(ToString::to_string).collect::<Vec<_>>().join(" or "));
        }
        if let Some(s) = &expect.server {
            want.push(format!("server: {s}"));
        }
        return Err((
            format!("{}, where {} answers {}", answer.summary(), t.name, want.join(" with ")),
            format!(
                "the request reached something other than {}: check that the distribution's origin is {}'s (`sslprov plan` shows drift)",
                t.name, t.name
            ),
        ));
    }
    if answer.status >= 500 {
        return Err((
            format!("{} answered with an error: {}", t.name, answer.summary()),
            format!("{} itself failed; try again later, and check the ESP's status page", t.name),
        ));
    }
    Ok(())
}

/// One check from the answers on each path (`Err`: no answer at all).
pub fn check(
    kind: CheckKind,
    esp: &EspTemplate,
    cdn: &CdnVerify,
    host: &str,
    answers: &[(String, Result<Fetched, String>)],
) -> Check {
    let scheme = if kind == CheckKind::Http { "http" } else { "https" };
    let mut saw = Vec::new();
    let mut fixes = Vec::new();
    let mut warnings = Vec::new();
    for (path, answer) in answers {
        match answer {
            Ok(a) if kind == CheckKind::Http && cdn::is_https_redirect(cdn, a.status, &a.headers, host) => {
                saw.push(format!("{scheme}://…{path} → {}: the CDN redirects plain HTTP to HTTPS", a.summary()));
                warnings.push("old http:// links still work, one redirect later; sslprov sets the viewer policy \"HTTP and HTTPS\" (`sslprov plan` shows drift)".to_owned());
            }
            Ok(a) => match judge(esp, cdn, a) {
                Ok(()) => saw.push(format!("{scheme}://…{path} → {}", a.summary())),
                Err((what, fix)) => {
                    saw.push(format!("{scheme}://…{path} → {what}"));
                    fixes.push(fix);
                }
            },
            Err(e) => {
                saw.push(format!("{scheme}://…{path} → no answer: {e}"));
                fixes.push(if kind == CheckKind::Http {
                    "the CDN must serve plain HTTP too (viewer policy \"HTTP and HTTPS\"): links in mail already delivered are http:// (gotcha 6)".into()
                } else {
                    "check that the CDN answers HTTPS for this name".into()
                });
            }
        }
    }
    let saw = saw.join("; ");
    match (fixes.is_empty(), warnings.is_empty()) {
        (false, _) => Check::fail(kind, saw, fixes.join("; ")),
        (true, false) => Check::warn(kind, saw, warnings.join("; ")),
        (true, true) => Check::pass(kind, saw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::templates;

    fn esp(name: &str) -> &'static EspTemplate {
        &templates().esp[name]
    }

    fn cdn(name: &str) -> &'static CdnVerify {
        &templates().cdn[name].verify
    }

    fn answer(status: u16, headers: &[(&'static str, &'static str)], body: &str) -> Fetched {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(*k, HeaderValue::from_static(v));
        }
        Fetched { status, headers: h, body: body.as_bytes().to_vec() }
    }

    #[test]
    fn sparkpost_must_answer_302_from_msys_http() {
        let cf = cdn("cloudfront");
        assert!(judge(esp("sparkpost"), cf, &answer(302, &[("server", "msys-http")], "")).is_ok());
        let (what, _) = judge(esp("sparkpost"), cf, &answer(200, &[("server", "nginx")], "")).unwrap_err();
        assert_eq!(what, "200 (server: nginx), where SparkPost answers 302 with server: msys-http");
    }

    #[test]
    fn a_cloudfront_error_page_is_not_the_esp() {
        let page = answer(502, &[("server", "CloudFront"), ("x-cache", "Error from cloudfront")], "<H1>502 ERROR</H1>");
        for e in ["sendgrid", "sparkpost", "ses"] {
            let (what, fix) = judge(esp(e), cdn("cloudfront"), &page).unwrap_err();
            assert!(what.starts_with("the CDN's own error page"), "{what}");
            assert!(fix.contains("gotcha 2"), "{fix}");
        }
        // The same status from the origin, passed through, is the ESP's answer.
        assert!(judge(esp("ses"), cdn("cloudfront"), &answer(403, &[("x-cache", "Miss from cloudfront")], "")).is_ok());
    }

    #[test]
    fn a_cdn_redirect_of_plain_http_to_https_is_a_warning() {
        let redirect =
            answer(301, &[("location", "https://url1.acme.com/f/a"), ("x-cache", "Redirect from cloudfront")], "");
        let c = check(
            CheckKind::Http,
            esp("sparkpost"),
            cdn("cloudfront"),
            "url1.acme.com",
            &[("/f/a".into(), Ok(redirect.clone()))],
        );
        assert_eq!(c.status, crate::verify::Status::Warn, "{c:?}");
        let elsewhere =
            answer(301, &[("location", "https://evil.example/"), ("x-cache", "Redirect from cloudfront")], "");
        let c = check(
            CheckKind::Http,
            esp("sparkpost"),
            cdn("cloudfront"),
            "url1.acme.com",
            &[("/f/a".into(), Ok(elsewhere))],
        );
        assert_eq!(c.status, crate::verify::Status::Fail, "{c:?}");
        let c = check(
            CheckKind::Https,
            esp("sparkpost"),
            cdn("cloudfront"),
            "url1.acme.com",
            &[("/f/a".into(), Ok(redirect))],
        );
        assert_eq!(c.status, crate::verify::Status::Fail, "only plain HTTP may be redirected: {c:?}");
    }

    #[test]
    fn sendgrid_bad_hostname_means_host_is_not_forwarded() {
        let (what, fix) =
            judge(esp("sendgrid"), cdn("cloudfront"), &answer(400, &[], "Bad Hostname in Link")).unwrap_err();
        assert!(what.contains("Bad Hostname in Link"));
        assert!(fix.contains("forward Host"), "{fix}");
    }
}
