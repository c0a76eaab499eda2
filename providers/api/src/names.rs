//! Names sslprov derives for the objects it makes, where a vendor identifies objects by a name the
//! caller chooses (Google Cloud, Azure Resource Manager): derived from what the object is for, so
//! that a create whose answer was lost, or a run that was killed, finds the object again by name.

/// `sslprov-<kind>-<text>` with every run of characters other than `[a-z0-9]` made one `-`:
/// `derived_name("cd", "click.acme.com", 46)` is `sslprov-cd-click-acme-com`. A text that holds
/// a `-` ends in a hash of the text, since `.` becomes `-` too and `click.a-b.com` would
/// otherwise share its name with `click.a.b.com`: `derived_name("neg", "r.us-east-1.awstrack.me",
/// 63)` is `sslprov-neg-r-us-east-1-awstrack-me-<16 hex digits>`. A name that would be longer
/// than `max` keeps its start and ends in a hash of the whole text, so two long texts never share
/// one.
pub fn derived_name(kind: &str, text: &str, max: usize) -> String {
    let mut name = format!("sslprov-{kind}-");
    let mut dash = true;
    for c in text.to_ascii_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c);
            dash = false;
        } else if !dash {
            name.push('-');
            dash = true;
        }
    }
    let name = name.trim_end_matches('-').to_owned();
    // The DNS name as compared (case and a trailing dot do not make another name).
    let normal = text.to_ascii_lowercase();
    let normal = normal.trim_end_matches('.');
    let ambiguous = normal.contains('-');
    if name.len() <= max && !ambiguous {
        return name;
    }
    // A long name's hash is of the text as given, as it was before hyphens were hashed, so that
    // the names of existing objects change only where two texts could share one.
    let hash = format!("{:016x}", fnv(if ambiguous { normal.as_bytes() } else { text.as_bytes() }));
    if name.len() + hash.len() < max {
        return format!("{name}-{hash}");
    }
    let keep = max.saturating_sub(hash.len() + 1);
    format!("{}-{hash}", name[..keep].trim_end_matches('-'))
}

/// FNV-1a: a stable hash for names and tokens (not for secrets).
pub fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_bounded_and_distinct() {
        assert_eq!(derived_name("hr", "URL1234.Acme.com.", 63), "sslprov-hr-url1234-acme-com");
        // `-` and `.` both become `-`: a text with a `-` carries a hash of itself.
        let (hyphen, dots) = (derived_name("cd", "click.a-b.com", 46), derived_name("cd", "click.a.b.com", 46));
        assert_eq!(dots, "sslprov-cd-click-a-b-com");
        assert!(hyphen.starts_with("sslprov-cd-click-a-b-com-") && hyphen.len() == dots.len() + 17, "{hyphen}");
        assert_eq!(hyphen, derived_name("cd", "Click.A-B.com.", 46), "the same DNS name, the same name");
        let neg = derived_name("neg", "r.us-east-1.awstrack.me", 63);
        assert!(neg.starts_with("sslprov-neg-r-us-east-1-awstrack-me-"), "{neg}");
        let long = "a-very-long-tracking-subdomain-name-for-a-brand.with.many.labels.example.com";
        let other = "a-very-long-tracking-subdomain-name-for-a-brand.with.many.labels.example.org";
        for max in [46, 63] {
            let (a, b) = (derived_name("cert", long, max), derived_name("cert", other, max));
            assert!(a.len() <= max && b.len() <= max && a != b, "{a} {b}");
            assert!(a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            assert!(!a.ends_with('-'));
        }
    }
}
