//! The rules for names a spec writes: DNS names (tracking domains and zones), Braze clusters and
//! domain keys. Each check says what is wrong with the name; the caller says which field it is.

use super::Region;
use super::yaml::shorten;
use crate::template::templates;

/// What a tracking domain or zone may be.
pub const DNS_ALLOWED: &str = "lower-case letters, digits and `-` in labels of 1 to 63 characters separated by dots, \
     no label starting or ending with `-`, the last label not all digits, at most 253 characters, no trailing dot";

pub const CLUSTER_ALLOWED: &str = "US-nn or EU-nn, numbered from 01, e.g. US-05, EU-01";

pub const KEY_ALLOWED: &str = "lower-case letters, digits, `-` and `_`, starting with a letter or digit";

/// `` `a`, `b`, `c` ``.
pub fn list<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> String {
    names.into_iter().map(|n| format!("`{}`", n.as_ref())).collect::<Vec<_>>().join(", ")
}

/// The ESPs there are templates for.
pub fn esp_names() -> String {
    list(templates().esp.keys())
}

/// The CDNs there are templates for.
pub fn cdn_names() -> String {
    list(templates().cdn.keys())
}

/// The providers that hold DNS records.
pub fn dns_names() -> String {
    list(crate::registry::dns_hosts())
}

/// A host name as CDNs accept it for an alias (RFC 1035 letters, digits and hyphens; RFC 3696
/// §2: a top-level label is never all-numeric, which also keeps IPv4 addresses out), in the one
/// spelling sslprov compares names in: lower case, without the root's trailing dot.
pub fn check_dns_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty".into());
    }
    if let Some(bare) = name.strip_suffix('.')
        && !bare.is_empty()
    {
        // One spelling per name: state, plans and the CDN's alias all hold it without the dot,
        // so a spec that writes it must too (a silent trim hid the difference before).
        return Err(format!("ends with a dot; write it without: `{}`", shorten(bare)));
    }
    if name.len() > 253 {
        return Err(format!("{} characters long, more than 253", name.len()));
    }
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!("upper-case letters; write it in lower case: `{}`", shorten(&name.to_ascii_lowercase())));
    }
    if !name.contains('.') {
        return Err("a single label; expected a fully qualified name".into());
    }
    let labels: Vec<&str> = name.split('.').collect();
    for label in &labels {
        if label.is_empty() {
            return Err("empty label (a leading dot, or two dots in a row)".into());
        }
        if label.len() > 63 {
            return Err(format!("label `{}` is {} characters long, more than 63", shorten(label), label.len()));
        }
        if !label.is_ascii() {
            return Err(format!(
                "label `{}` is not ASCII; write an internationalised name in its punycode form (xn--…)",
                shorten(label)
            ));
        }
        if !label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(format!("label `{}` has characters other than letters, digits and `-`", shorten(label)));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label `{label}` starts or ends with `-`"));
        }
    }
    let last = labels[labels.len() - 1];
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("the last label `{last}` is all digits (an IP address is not a domain name)"));
    }
    Ok(())
}

/// `US-05` → US. Braze numbers clusters from 01.
pub fn parse_cluster(c: &str) -> Result<Region, String> {
    let invalid = || format!("invalid Braze cluster `{}`", shorten(c));
    let (prefix, num) = c.split_once('-').ok_or_else(invalid)?;
    if num.len() != 2 || !num.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    if num == "00" {
        return Err(format!("invalid Braze cluster `{}`: clusters are numbered from 01", shorten(c)));
    }
    match prefix {
        "US" => Ok(Region::Us),
        "EU" => Ok(Region::Eu),
        _ if prefix.eq_ignore_ascii_case("us") || prefix.eq_ignore_ascii_case("eu") => {
            Err(format!("unknown Braze cluster `{c}`; write it in upper case: `{}`", c.to_ascii_uppercase()))
        }
        _ => Err(format!("unknown Braze cluster `{}`", shorten(c))),
    }
}

/// A domain key is an address prefix (`acme.distribution`) and a `--target` value.
pub fn check_key(k: &str) -> Result<(), String> {
    let mut chars = k.chars();
    let valid = matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    match (valid, k.is_empty()) {
        (true, _) => Ok(()),
        (false, true) => Err("empty domain key".into()),
        (false, false) => Err(format!("invalid domain key `{}`", super::yaml::shorten(k))),
    }
}

/// A brand group names the CDN objects its domains share (a profile `sslprov-<group>`),
/// so it is written as a CDN resource name takes it.
pub const BRAND_GROUP_ALLOWED: &str = "lower-case letters, digits and inner `-`, at most 32 characters, e.g. `retail`";

pub fn check_brand_group(g: &str) -> Result<(), String> {
    let ok = !g.is_empty()
        && g.len() <= 32
        && g.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !g.starts_with('-')
        && !g.ends_with('-');
    if ok { Ok(()) } else { Err(format!("invalid brand group `{}`", super::yaml::shorten(g))) }
}

/// The tiers a CDN may offer a brand group (`tier`).
pub const TIERS: &[&str] = &["standard", "premium"];
pub const TIER_ALLOWED: &str = "`standard` (the default) or `premium`, the same for every domain of a brand group";

/// The forms of a tracking record (`tracking_record`).
pub const TRACKING_RECORD_ALLOWED: &str =
    "`alias` (the default: an alias pair where the DNS host and CDN offer one, else a CNAME) or `cname`";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names_each_rule() {
        let long_label = "a".repeat(64);
        let long_name = format!("{}.com", vec!["a".repeat(63); 4].join("."));
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("url.acme.com.", "ends with a dot; write it without: `url.acme.com`"),
            (&long_name, "259 characters long, more than 253"),
            ("Url.acme.com", "upper-case letters; write it in lower case: `url.acme.com`"),
            ("localhost", "a single label; expected a fully qualified name"),
            ("url..acme.com", "empty label (a leading dot, or two dots in a row)"),
            (".acme.com", "empty label (a leading dot, or two dots in a row)"),
            (&format!("{long_label}.com"), &format!("label `{long_label}` is 64 characters long, more than 63")),
            ("bücher.de", "label `bücher` is not ASCII; write an internationalised name in its punycode form (xn--…)"),
            ("url_1.acme.com", "label `url_1` has characters other than letters, digits and `-`"),
            ("-url.acme.com", "label `-url` starts or ends with `-`"),
            ("10.0.0.1", "the last label `1` is all digits (an IP address is not a domain name)"),
        ];
        for (name, why) in cases {
            assert_eq!(check_dns_name(name).unwrap_err(), *why, "{name}");
        }
    }

    #[test]
    fn dns_names_at_the_limits_pass() {
        let label = "a".repeat(63);
        let longest = format!("{}.{}", [label.as_str()].repeat(3).join("."), "b".repeat(61));
        assert_eq!(longest.len(), 253);
        for ok in [longest.as_str(), "url1234.acme.com", "1.2.example", "xn--bcher-kva.de", "a-b.c0m", "x.io1"] {
            assert_eq!(check_dns_name(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn clusters() {
        assert_eq!(parse_cluster("US-01"), Ok(Region::Us));
        assert_eq!(parse_cluster("EU-02"), Ok(Region::Eu));
        assert_eq!(parse_cluster("US-00").unwrap_err(), "invalid Braze cluster `US-00`: clusters are numbered from 01");
        assert_eq!(
            parse_cluster("us-05").unwrap_err(),
            "unknown Braze cluster `us-05`; write it in upper case: `US-05`"
        );
        assert_eq!(parse_cluster("AP-01").unwrap_err(), "unknown Braze cluster `AP-01`");
        assert_eq!(parse_cluster("-01").unwrap_err(), "unknown Braze cluster `-01`");
        for bad in ["US5", "US-5", "US-005", "US-0a", "US-"] {
            assert_eq!(parse_cluster(bad).unwrap_err(), format!("invalid Braze cluster `{bad}`"));
        }
    }

    #[test]
    fn keys() {
        for ok in ["acme", "1st", "a_b-c"] {
            assert_eq!(check_key(ok), Ok(()));
        }
        assert_eq!(check_key("").unwrap_err(), "empty domain key");
        for bad in ["Acme", "_a", "-a", "a.b", "a b"] {
            assert_eq!(check_key(bad).unwrap_err(), format!("invalid domain key `{bad}`"));
        }
    }
}
