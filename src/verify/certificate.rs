//! The certificate the CDN serves: which names it covers and how long it lasts. Pure, so the
//! rules (one wildcard level, the 21-day warning) are tested without a network.

use std::time::{Duration, SystemTime};

use super::report::{CertificateInfo, Check, CheckKind};
use crate::template::CertificateFixes;

/// Warn this many days before expiry: ACM starts renewing 60 days ahead, so a certificate this
/// close to its end is one whose renewal is stuck (gotcha 19: an expired one drops open rates).
pub const WARN_DAYS: i64 = 21;

const DAY: i64 = 86_400;

/// What verify needs of a leaf certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaf {
    /// DNS names from the subject alternative names, lower case.
    pub names: Vec<String>,
    pub common_name: Option<String>,
    pub issuer: String,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
}

impl Leaf {
    pub fn parse(der: &[u8]) -> Result<Leaf, String> {
        let (_, cert) =
            x509_parser::parse_x509_certificate(der).map_err(|e| format!("cannot parse the certificate: {e}"))?;
        let names = match cert.subject_alternative_name() {
            Ok(Some(san)) => san
                .value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    x509_parser::extensions::GeneralName::DNSName(s) => Some(s.to_ascii_lowercase()),
                    _ => None,
                })
                .collect(),
            Ok(None) => Vec::new(),
            Err(e) => return Err(format!("cannot read the certificate's names: {e}")),
        };
        let common_name = cert.subject().iter_common_name().next().and_then(|a| a.as_str().ok()).map(str::to_owned);
        Ok(Leaf {
            names,
            common_name,
            issuer: cert.issuer().to_string(),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
        })
    }

    pub fn info(&self, now: i64) -> CertificateInfo {
        CertificateInfo {
            names: self.names.clone(),
            issuer: self.issuer.clone(),
            not_after: rfc3339(self.not_after),
            days_left: days_left(self.not_after, now),
        }
    }
}

/// Whether certificate name `pattern` covers `host`: equal, or a wildcard `*.parent` for a host
/// exactly one label below `parent` (RFC 6125 §6.4.3, as browsers apply it).
pub fn covers(pattern: &str, host: &str) -> bool {
    let (pattern, host) = (normal(pattern), normal(host));
    if pattern == host {
        return true;
    }
    match pattern.strip_prefix("*.") {
        // `*.com` would cover a whole TLD; no authority issues that and no client accepts it.
        Some(parent) if parent.contains('.') => {
            host.split_once('.').is_some_and(|(label, rest)| !label.is_empty() && rest == parent)
        }
        _ => false,
    }
}

fn normal(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Whole days from `now` to `not_after`, rounded down (negative once expired).
pub fn days_left(not_after: i64, now: i64) -> i64 {
    (not_after - now).div_euclid(DAY)
}

pub fn rfc3339(unix: i64) -> String {
    let t = if unix >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(unix.unsigned_abs())
    } else {
        SystemTime::UNIX_EPOCH
    };
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The certificate check: the name is covered, it is in date, and not close to its end.
pub fn judge(leaf: &Leaf, host: &str, now: i64, cdn: &CertificateFixes) -> Check {
    let mut fixes: Vec<String> = Vec::new();
    let names = if leaf.names.is_empty() {
        format!("no DNS names (subject CN={}, which clients ignore)", leaf.common_name.as_deref().unwrap_or("none"))
    } else {
        leaf.names.join(", ")
    };
    let covered = leaf.names.iter().any(|n| covers(n, host));
    let mut saw = if covered {
        format!("covers {host} (names: {names})")
    } else {
        format!("does not cover {host} (names: {names})")
    };
    if !covered {
        if let Some(w) = leaf.names.iter().find(|n| n.starts_with("*.") && host.ends_with(&n[1..])) {
            saw.push_str(&format!(": a wildcard covers one level only, and {w} is two or more levels above {host}"));
        }
        fixes
            .push(format!("the CDN serves a certificate for other names: {}", cdn.wrong_names.replace("{host}", host)));
    }
    let days = days_left(leaf.not_after, now);
    let until = rfc3339(leaf.not_after);
    let warn = if now > leaf.not_after {
        saw.push_str(&format!("; expired on {until} ({} days ago)", (now - leaf.not_after).div_euclid(DAY)));
        fixes.push(cdn.expired.replace("{host}", host));
        false
    } else if now < leaf.not_before {
        saw.push_str(&format!("; not valid before {}", rfc3339(leaf.not_before)));
        fixes.push("the certificate is not valid yet: check the clock of this machine, or wait".into());
        false
    } else {
        saw.push_str(&format!("; expires on {until} ({days} days left)"));
        days < WARN_DAYS
    };
    if !fixes.is_empty() {
        Check::fail(CheckKind::Certificate, saw, fixes.join("; "))
    } else if warn {
        Check::warn(
            CheckKind::Certificate,
            saw,
            format!(
                "{}; under {WARN_DAYS} days is a warning, expiry breaks every link",
                cdn.renewal.replace("{host}", host)
            ),
        )
    } else {
        Check::pass(CheckKind::Certificate, saw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixes() -> &'static CertificateFixes {
        &crate::template::templates().cdn["cloudfront"].verify.certificate
    }
    use crate::verify::report::Status;

    #[test]
    fn a_wildcard_covers_one_level_only() {
        assert!(covers("url1234.acme.com", "url1234.acme.com"));
        assert!(covers("URL1234.Acme.com.", "url1234.acme.com"));
        assert!(covers("*.acme.com", "url1234.acme.com"));
        assert!(!covers("*.acme.com", "url1234.click.acme.com"), "two levels down");
        assert!(!covers("*.acme.com", "acme.com"), "the parent itself");
        assert!(!covers("*.click.acme.com", "url1234.acme.com"));
        assert!(!covers("*.com", "acme.com"), "a whole TLD");
        assert!(!covers("u*.acme.com", "url1234.acme.com"), "partial wildcards are not honoured");
        assert!(!covers("other.example.com", "url1234.acme.com"));
    }

    #[test]
    fn days_left_rounds_down_and_goes_negative() {
        assert_eq!(days_left(10 * DAY, 0), 10);
        assert_eq!(days_left(10 * DAY - 1, 0), 9);
        assert_eq!(days_left(0, 1), -1);
        assert_eq!(days_left(0, 3 * DAY), -3);
    }

    fn leaf(names: &[&str], days: i64) -> Leaf {
        let now = 1_800_000_000;
        Leaf {
            names: names.iter().map(|s| s.to_string()).collect(),
            common_name: None,
            issuer: "CN=test".into(),
            not_before: now - 60 * DAY,
            not_after: now + days * DAY,
        }
    }
    const NOW: i64 = 1_800_000_000;

    #[test]
    fn expiry_passes_warns_under_21_days_and_fails_once_expired() {
        assert_eq!(judge(&leaf(&["a.acme.com"], 90), "a.acme.com", NOW, fixes()).status, Status::Pass);
        assert_eq!(judge(&leaf(&["a.acme.com"], 21), "a.acme.com", NOW, fixes()).status, Status::Pass);
        let soon = judge(&leaf(&["a.acme.com"], 20), "a.acme.com", NOW, fixes());
        assert_eq!(soon.status, Status::Warn);
        assert!(soon.saw.contains("(20 days left)"), "{soon:?}");
        let expired = judge(&leaf(&["a.acme.com"], -3), "a.acme.com", NOW, fixes());
        assert_eq!(expired.status, Status::Fail);
        assert!(expired.saw.contains("expired on") && expired.saw.contains("(3 days ago)"), "{expired:?}");
    }

    #[test]
    fn a_name_not_covered_fails_and_says_why() {
        let wrong = judge(&leaf(&["other.example.com"], 90), "url1234.acme.com", NOW, fixes());
        assert_eq!(wrong.status, Status::Fail);
        assert!(wrong.saw.starts_with("does not cover url1234.acme.com (names: other.example.com)"), "{wrong:?}");
        let deep = judge(&leaf(&["*.acme.com"], 90), "url1234.click.acme.com", NOW, fixes());
        assert!(
            deep.saw.contains("a wildcard covers one level only, and *.acme.com is two or more levels above"),
            "{deep:?}"
        );
        assert_eq!(judge(&leaf(&["*.acme.com"], 90), "url1234.acme.com", NOW, fixes()).status, Status::Pass);
    }
}
