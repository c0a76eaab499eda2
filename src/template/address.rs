//! Addresses: how plans and state name a resource. A part of one domain is `<domain key>.<part>`
//! (`acme.certificate`); a shared part, one object for every domain whose identity renders the
//! same, is `<part>@<identity>` (`url_map@lb`, `backend@spgo.io`). Domain keys and part names hold
//! neither `.` nor `@`, so the two never meet.

/// `<domain key>.<part>`.
pub fn address(domain: &str, part: &str) -> String {
    format!("{domain}.{part}")
}

/// `<part>@<identity>`.
pub fn shared_address(part: &str, identity: &str) -> String {
    format!("{part}@{identity}")
}

/// What an address names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addressed<'a> {
    /// A part of one domain.
    Domain { domain: &'a str, part: &'a str },
    /// A shared part, with its identity.
    Shared { part: &'a str, identity: &'a str },
}

impl<'a> Addressed<'a> {
    pub fn parse(address: &'a str) -> Option<Addressed<'a>> {
        if let Some((part, identity)) = address.split_once('@') {
            return Some(Addressed::Shared { part, identity });
        }
        let (domain, part) = address.split_once('.')?;
        Some(Addressed::Domain { domain, part })
    }

    /// The domain key, for a part of one domain.
    pub fn domain(self) -> Option<&'a str> {
        match self {
            Addressed::Domain { domain, .. } => Some(domain),
            Addressed::Shared { .. } => None,
        }
    }

    pub fn part(self) -> &'a str {
        match self {
            Addressed::Domain { part, .. } | Addressed::Shared { part, .. } => part,
        }
    }
}

/// Whether a rendered identity can stand in an address: not empty, no `@` or white space.
pub fn valid_identity(identity: &str) -> bool {
    !identity.is_empty() && !identity.chars().any(|c| c == '@' || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_and_shared_addresses_parse_apart() {
        assert_eq!(
            Addressed::parse("acme.certificate"),
            Some(Addressed::Domain { domain: "acme", part: "certificate" })
        );
        assert_eq!(
            Addressed::parse(&shared_address("backend", "r.us-east-1.awstrack.me")),
            Some(Addressed::Shared { part: "backend", identity: "r.us-east-1.awstrack.me" })
        );
        assert_eq!(Addressed::parse("url_map@lb").and_then(Addressed::domain), None);
        assert_eq!(Addressed::parse("nothing"), None);
        assert!(valid_identity("spgo.io") && !valid_identity("") && !valid_identity("a b") && !valid_identity("a@b"));
    }
}
