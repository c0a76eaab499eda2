//! What each CNAME found is, from the templates alone: an ESP's `discover` rules say which
//! targets are HTTP-era tracking records (and which look like one but are not), a CDN's
//! `dns_targets` which records already point at a CDN.

use std::collections::BTreeMap;

use super::{Cname, title};
use crate::spec::{Region, check_dns_name};
use crate::template::templates;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// An HTTP-era tracking CNAME: the spec adopts it.
    Tracking {
        cname: Cname,
        /// The ESP template's name.
        esp: String,
        /// The Braze regions whose origin the target is: one, or every region when the ESP's
        /// host is global and the target says nothing of the region.
        regions: Vec<Region>,
        /// What the template says the record is.
        means: String,
    },
    /// A CNAME to an ESP that the spec does not add, and why.
    NotAdded { cname: Cname, why: String },
    /// A CNAME to a CDN: maybe a tracking domain already on HTTPS, maybe any other site.
    AtCdn { cname: Cname, cdn: String },
}

impl Finding {
    pub fn cname(&self) -> &Cname {
        match self {
            Finding::Tracking { cname, .. } | Finding::NotAdded { cname, .. } | Finding::AtCdn { cname, .. } => cname,
        }
    }
}

/// Every finding among `cnames`, in their order; CNAMEs that are neither an ESP's nor a CDN's are
/// left out. A name found in more than one zone is adopted once (see [`one_per_name`]).
pub fn classify(cnames: &[Cname]) -> Vec<Finding> {
    let findings: Vec<Finding> = cnames.iter().filter_map(one).collect();
    one_per_name(findings)
}

fn one(cname: &Cname) -> Option<Finding> {
    let t = templates();
    let not_added = |why: String| Some(Finding::NotAdded { cname: cname.clone(), why });
    let rule = t.esp.iter().find_map(|(name, esp)| esp.discovery(&cname.name, &cname.target).map(|d| (name, esp, d)));
    let Some((esp_name, esp, rule)) = rule else {
        let under = |targets: &[String]| targets.iter().any(|t| is_under(&cname.target, t));
        if let Some(esp) = t.esp.values().find(|e| under(&e.verify.dns_targets)) {
            return not_added(format!(
                "points at a {} host that no rule of sslprov's {} template knows: not added",
                esp.name, esp.name
            ));
        }
        let cdn = t.cdn.values().find(|c| under(&c.dns_targets))?;
        return Some(Finding::AtCdn { cname: cname.clone(), cdn: cdn.name.clone() });
    };
    if cname.proxied {
        return not_added(format!(
            "{}; {} already serves it through its own proxy, a CDN, so it is not HTTP-era",
            rule.means,
            title(&cname.dns)
        ));
    }
    if !rule.adopt {
        return not_added(rule.means.clone());
    }
    if let Err(why) = check_dns_name(&cname.name) {
        return not_added(format!("{}, but its name is not one a spec takes: {why}", rule.means));
    }
    if cname.name == cname.zone || cname.name.split('.').count() < 3 {
        return not_added(format!("{}, but at a zone apex, which sslprov does not serve", rule.means));
    }
    Some(Finding::Tracking {
        cname: cname.clone(),
        esp: esp_name.clone(),
        regions: esp.regions_of(&cname.target),
        means: rule.means.clone(),
    })
}

/// `name` is `parent` or below it.
fn is_under(name: &str, parent: &str) -> bool {
    name == parent || name.strip_suffix(parent).is_some_and(|rest| rest.ends_with('.'))
}

/// A tracking name found more than once (one zone at two DNS hosts, mid-migration; or a parent
/// zone still holding a name its delegated child zone holds too) is adopted from the most
/// specific zone (what resolvers reach), then from the host listed first in the registry; the
/// others are reported. Which host is delegated cannot be told from the APIs: the comment says
/// to check the zone's NS records.
fn one_per_name(findings: Vec<Finding>) -> Vec<Finding> {
    let hosts = crate::registry::dns_hosts();
    let rank = |c: &Cname| {
        let host = hosts.iter().position(|h| *h == c.dns).unwrap_or(usize::MAX);
        (usize::MAX - c.zone.split('.').count(), host, c.zone.clone())
    };
    let mut chosen: BTreeMap<String, Cname> = BTreeMap::new();
    for f in &findings {
        if let Finding::Tracking { cname, .. } = f {
            let best = chosen.entry(cname.name.clone()).or_insert_with(|| cname.clone());
            if rank(cname) < rank(best) {
                *best = cname.clone();
            }
        }
    }
    findings
        .into_iter()
        .map(|f| match f {
            Finding::Tracking { cname, means, .. } if chosen.get(&cname.name).is_some_and(|c| *c != cname) => {
                let first = &chosen[&cname.name];
                let why = format!(
                    "{means}; the same name is also in {} zone {}, which the spec uses. Check the zone's NS \
                     records for which host answers, and change `dns`/`zone` in the spec if it is this one",
                    title(&first.dns),
                    first.zone
                );
                Finding::NotAdded { cname, why }
            }
            f => f,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cname(dns: &str, zone: &str, name: &str, target: &str) -> Cname {
        Cname { dns: dns.into(), zone: zone.into(), name: name.into(), target: target.into(), proxied: false }
    }

    fn kinds(findings: &[Finding]) -> Vec<(&str, &str)> {
        findings
            .iter()
            .map(|f| {
                let kind = match f {
                    Finding::Tracking { esp, .. } => esp.as_str(),
                    Finding::NotAdded { .. } => "not added",
                    Finding::AtCdn { .. } => "at a CDN",
                };
                (f.cname().name.as_str(), kind)
            })
            .collect()
    }

    #[test]
    fn each_esps_http_era_targets_are_adopted_and_the_rest_reported() {
        let dns = crate::registry::dns_hosts()[0];
        let found = classify(&[
            cname(dns, "acme.com", "url1234.acme.com", "sendgrid.net"),
            cname(dns, "acme.com", "7654321.acme.com", "sendgrid.net"),
            cname(dns, "acme.com", "click.acme.com", "spgo.io"),
            cname(dns, "acme.com", "click-eu.acme.com", "eu.spgo.io"),
            cname(dns, "acme.com", "v2.acme.com", "v2.spgo.io"),
            cname(dns, "acme.com", "ent.acme.com", "acme.et.e.sparkpost.com"),
            cname(dns, "acme.com", "links.acme.com", "r.us-east-1.awstrack.me"),
            cname(dns, "acme.com", "links-eu.acme.com", "r.eu-central-1.awstrack.me"),
            cname(dns, "acme.com", "links-w.acme.com", "r.us-west-2.awstrack.me"),
            cname(dns, "acme.com", "odd.acme.com", "x.sendgrid.net"),
            cname(dns, "acme.com", "www.acme.com", "d111111abcdef8.cloudfront.net"),
            cname(dns, "acme.com", "blog.acme.com", "example.org"),
        ]);
        assert_eq!(
            kinds(&found),
            [
                ("url1234.acme.com", "sendgrid"),
                ("7654321.acme.com", "not added"),
                ("click.acme.com", "sparkpost"),
                ("click-eu.acme.com", "sparkpost"),
                ("v2.acme.com", "not added"),
                ("ent.acme.com", "not added"),
                ("links.acme.com", "ses"),
                ("links-eu.acme.com", "ses"),
                ("links-w.acme.com", "not added"),
                ("odd.acme.com", "not added"),
                ("www.acme.com", "at a CDN"),
            ]
        );
        let regions = |i: usize| match &found[i] {
            Finding::Tracking { regions, .. } => regions.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(regions(0), [Region::Us, Region::Eu], "sendgrid.net says nothing of the region");
        assert_eq!(regions(3), [Region::Eu]);
        assert_eq!(regions(6), [Region::Us]);
    }

    #[test]
    fn a_proxied_record_is_already_behind_a_cdn() {
        let mut c = cname(crate::registry::dns_hosts()[0], "acme.com", "url1.acme.com", "sendgrid.net");
        c.proxied = true;
        let found = classify(&[c]);
        let Finding::NotAdded { why, .. } = &found[0] else { panic!("{found:?}") };
        assert!(why.contains("already serves it through its own proxy, a CDN"), "{why}");
    }

    #[test]
    fn a_name_in_two_zones_is_adopted_once_from_the_most_specific_zone() {
        let hosts = crate::registry::dns_hosts();
        let (a, b) = (hosts[0], hosts[1]);
        let found = classify(&[
            cname(a, "acme.com", "url1.mail.acme.com", "sendgrid.net"),
            cname(a, "mail.acme.com", "url1.mail.acme.com", "sendgrid.net"),
            cname(b, "beta.io", "url2.beta.io", "sendgrid.net"),
            cname(a, "beta.io", "url2.beta.io", "sendgrid.net"),
        ]);
        let adopted: Vec<_> = found
            .iter()
            .filter_map(|f| match f {
                Finding::Tracking { cname, .. } => Some((cname.dns.as_str(), cname.zone.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(adopted, [(a, "mail.acme.com"), (a, "beta.io")]);
        assert!(matches!(&found[2], Finding::NotAdded { why, .. } if why.contains("Check the zone's NS records")));
    }

    #[test]
    fn names_a_spec_refuses_are_reported() {
        let dns = crate::registry::dns_hosts()[0];
        let found = classify(&[cname(dns, "acme.com", "url_1.acme.com", "sendgrid.net")]);
        assert!(matches!(&found[0], Finding::NotAdded { why, .. } if why.contains("not one a spec takes")));
    }
}
