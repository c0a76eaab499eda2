//! Names sslprov derives for the objects it makes, where a vendor identifies objects by a name the
//! caller chooses (Google Cloud, Azure Resource Manager): derived from what the object is for, so
//! that a create whose answer was lost, or a run that was killed, finds the object again by name.

/// `sslprov-<kind>-<text>` with every run of characters other than `[a-z0-9]` made one `-`:
/// `derived_name("neg", "r.us-east-1.awstrack.me", 63)` is `sslprov-neg-r-us-east-1-awstrack-me`.
/// A name that would be longer than `max` keeps its start and ends in a hash of the whole text, so
/// two long texts never share one.
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
    if name.len() <= max {
        return name;
    }
    let hash = format!("{:016x}", fnv(text.as_bytes()));
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
        assert_eq!(derived_name("neg", "r.us-east-1.awstrack.me", 63), "sslprov-neg-r-us-east-1-awstrack-me");
        assert_eq!(derived_name("hr", "URL1234.Acme.com.", 63), "sslprov-hr-url1234-acme-com");
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
