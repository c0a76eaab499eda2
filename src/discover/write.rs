//! The findings as a first spec: one domain per HTTP-era tracking CNAME, with a comment saying
//! what was found, and what sslprov cannot know marked `confirm`.

use std::collections::{BTreeMap, BTreeSet};

use super::{Finding, Scan, title};
use crate::spec::Region;

/// Comment lines are wrapped to this width.
const WIDTH: usize = 100;

/// The spec's text, and what it holds.
#[derive(Debug)]
pub struct Written {
    pub text: String,
    pub domains: usize,
    pub not_added: usize,
    pub at_cdn: usize,
}

/// A placeholder cluster of `region`. Braze clusters are numbered from 01 in each region; which
/// one a team is on cannot be read from DNS.
fn placeholder(region: Region) -> &'static str {
    match region {
        Region::Us => "US-01",
        Region::Eu => "EU-01",
    }
}

/// The spec for `findings` of `scan` (with no domain when none is to be adopted: the caller
/// decides).
pub fn write(scan: &Scan, findings: &[Finding]) -> Written {
    let tracking: Vec<&Finding> = findings.iter().filter(|f| matches!(f, Finding::Tracking { .. })).collect();
    let not_added: Vec<&Finding> = findings.iter().filter(|f| matches!(f, Finding::NotAdded { .. })).collect();
    let at_cdn: Vec<&Finding> = findings.iter().filter(|f| matches!(f, Finding::AtCdn { .. })).collect();
    let keys = keys(tracking.iter().map(|f| (f.cname().name.as_str(), f.cname().zone.as_str())));

    // The top-level cluster: the region most domains' targets tell; US when none does.
    let told: Vec<Region> = tracking
        .iter()
        .filter_map(|f| match f {
            Finding::Tracking { regions, .. } if regions.len() == 1 => Some(regions[0]),
            _ => None,
        })
        .collect();
    let count = |r: Region| told.iter().filter(|t| **t == r).count();
    let (us, eu) = (count(Region::Us), count(Region::Eu));
    let top = if eu > us { Region::Eu } else { Region::Us };
    let untold = tracking.len() - told.len();

    let mut out = String::new();
    let zones: usize = scan.zones.values().map(Vec::len).sum();
    let by_host: Vec<String> = scan
        .zones
        .iter()
        .map(|(h, z)| match z.as_slice() {
            [] => format!("{}: none", title(h)),
            z => format!("{}: {}", title(h), z.join(", ")),
        })
        .collect();
    comment(
        &mut out,
        "",
        &format!(
            "A first spec, written by `sslprov init` from {zones} zone(s) ({}): {} HTTP-era tracking domain(s) to \
             adopt{}. `sslprov plan` adopts each tracking CNAME and switches it to the CDN last, once the \
             certificate is issued and the CDN deployed. Before planning, check every line marked `confirm`, then \
             run `sslprov validate`.",
            by_host.join("; "),
            tracking.len(),
            match (not_added.len() + at_cdn.len(), scan.unread.len()) {
                (0, 0) => String::new(),
                (n, 0) => format!("; {n} other record(s) listed at the end, not added"),
                (n, u) => format!("; {n} other record(s) and {u} unread zone(s) listed at the end"),
            }
        ),
    );
    // Not wrapped: the line to copy must stay whole.
    out.push_str(
        "# Editor support (YAML language servers): run `sslprov schema > sslprov.schema.json` beside this\n\
         # file, then make this its first line:\n\
         # # yaml-language-server: $schema=./sslprov.schema.json\n",
    );
    out.push_str("version: 1\n");
    comment(
        &mut out,
        "",
        &format!(
            "confirm: your Braze cluster. DNS tells at most its region (US or EU), and only through regional \
             targets: here {us} US, {eu} EU, {untold} not told (the domains' comments say which). {} is a \
             placeholder: write your cluster as your Braze dashboard's address shows it (dashboard-05.braze.com \
             is US-05, dashboard-01.braze.eu is EU-01).",
            placeholder(top)
        ),
    );
    out.push_str(&format!("braze_cluster: {}\n", placeholder(top)));
    out.push_str("domains:\n");
    for f in &tracking {
        let Finding::Tracking { cname, esp, regions, means } = f else { continue };
        let region = match regions.as_slice() {
            [r] => format!("Braze region {}, from the target.", r.to_string().to_uppercase()),
            _ => "The target does not tell the Braze region: the top-level braze_cluster applies.".to_owned(),
        };
        comment(&mut out, "  ", &format!("{}: {means}. {region}", cname.shown()));
        out.push_str(&format!("  {}:\n", keys[&cname.name]));
        out.push_str(&format!("    tracking_domain: {}\n", cname.name));
        out.push_str(&format!("    esp: {esp}\n"));
        out.push_str(&format!("    zone: {}\n", cname.zone));
        out.push_str(&format!("    dns: {}\n", cname.dns));
        if let [r] = regions.as_slice()
            && *r != top
        {
            let cluster = placeholder(*r);
            out.push_str(&format!(
                "    braze_cluster: {cluster}  # confirm: a placeholder for your {} cluster\n",
                r.to_string().to_uppercase()
            ));
        }
    }
    if !not_added.is_empty() {
        out.push_str("\n# Found, and not added:\n");
        for f in &not_added {
            let Finding::NotAdded { cname, why } = f else { continue };
            item(&mut out, &format!("{}: {why}.", cname.shown()));
        }
    }
    if !at_cdn.is_empty() {
        out.push('\n');
        comment(
            &mut out,
            "",
            "CNAMEs to a CDN, not added: DNS does not tell whether one serves click tracking, nor for which ESP. \
             A tracking domain already on a CDN can be added by hand; plan then shows what it would change.",
        );
        for f in &at_cdn {
            let Finding::AtCdn { cname, cdn } = f else { continue };
            item(&mut out, &format!("{} → {cdn}", cname.shown()));
        }
    }
    if !scan.unread.is_empty() {
        out.push_str("\n# Zones listed but not read, so not searched:\n");
        for (dns, zone, why) in &scan.unread {
            item(&mut out, &format!("{} zone {zone}: {why}", title(dns)));
        }
    }
    Written { text: out, domains: tracking.len(), not_added: not_added.len(), at_cdn: at_cdn.len() }
}

/// A unique, valid domain key for each tracking name (given with its zone), by name: the zone's
/// first label (`acme` for acme.com); where two names share that, the zone (`acme-com`); where
/// they share the zone too, the whole name (`url1234-acme-com`); then a number.
pub fn keys<'a>(names: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> BTreeMap<String, String> {
    let dashed = |s: &str| s.replace('.', "-");
    let candidates =
        |name: &str, zone: &str| [zone.split('.').next().unwrap_or(zone).to_owned(), dashed(zone), dashed(name)];
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut keys = BTreeMap::new();
    for level in 0..3 {
        let mut wanted: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for (name, zone) in names.clone().filter(|(n, _)| !keys.contains_key(*n)) {
            wanted.entry(candidates(name, zone)[level].clone()).or_default().push(name);
        }
        for (key, names) in wanted {
            if let [name] = names.as_slice()
                && !used.contains(&key)
                && crate::spec::check_key(&key).is_ok()
            {
                used.insert(key.clone());
                keys.insert((*name).to_owned(), key);
            }
        }
    }
    for (name, zone) in names.filter(|(n, _)| !keys.contains_key(*n)).collect::<Vec<_>>() {
        let [.., base] = candidates(name, zone);
        let key = (2..).map(|n| format!("{base}-{n}")).find(|k| !used.contains(k)).unwrap_or(base);
        used.insert(key.clone());
        keys.insert(name.to_owned(), key);
    }
    keys
}

/// `text` as `# ` comment lines at `indent`, wrapped at [`WIDTH`].
fn comment(out: &mut String, indent: &str, text: &str) {
    wrap(out, &format!("{indent}# "), &format!("{indent}# "), text);
}

/// A `# - ` list item, its continuation lines indented under its text.
fn item(out: &mut String, text: &str) {
    wrap(out, "# - ", "#   ", text);
}

fn wrap(out: &mut String, first: &str, rest: &str, text: &str) {
    let mut line = first.to_owned();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = rest.to_owned();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::Cname;

    #[test]
    fn keys_are_the_zone_label_then_the_zone_then_the_name() {
        let names = [
            ("url1.acme.com", "acme.com"),
            ("url2.acme.com", "acme.com"),
            ("url1.acme.co.uk", "acme.co.uk"),
            ("click.beta.io", "beta.io"),
            ("url1-acme.com", "com"),
            ("9x.7even.org", "7even.org"),
        ];
        let keys = keys(names.iter().copied());
        assert_eq!(keys["click.beta.io"], "beta");
        assert_eq!(keys["url1.acme.co.uk"], "acme-co-uk");
        assert_eq!(keys["url1.acme.com"], "url1-acme-com");
        assert_eq!(keys["url2.acme.com"], "url2-acme-com");
        assert_eq!(keys["9x.7even.org"], "7even");
        let unique: BTreeSet<&String> = keys.values().collect();
        assert_eq!(unique.len(), names.len());
        assert!(keys.values().all(|k| crate::spec::check_key(k).is_ok()));
    }

    #[test]
    fn dashed_names_that_collide_get_a_number() {
        let names = [("a-b.c.com", "c.com"), ("a.b-c.com", "b-c.com"), ("a.b.c.com", "b.c.com"), ("x.c.com", "c.com")];
        let keys = keys(names.iter().copied());
        let unique: BTreeSet<&String> = keys.values().collect();
        assert_eq!(unique.len(), names.len(), "{keys:?}");
    }

    #[test]
    fn comments_wrap_and_the_spec_parses() {
        let dns = crate::registry::dns_hosts()[0].to_owned();
        let c = |name: &str, target: &str| Cname {
            dns: dns.clone(),
            zone: "acme.com".into(),
            name: name.into(),
            target: target.into(),
            proxied: false,
        };
        let scan = Scan { zones: BTreeMap::from([(dns.clone(), vec!["acme.com".into()])]), ..Scan::default() };
        let findings = crate::discover::classify(&[
            c("url1234.acme.com", "sendgrid.net"),
            c("7654321.acme.com", "sendgrid.net"),
            c("click.acme.com", "eu.spgo.io"),
            c("links.acme.com", "r.eu-central-1.awstrack.me"),
            c("links-us.acme.com", "r.us-east-1.awstrack.me"),
        ]);
        let w = write(&scan, &findings);
        assert!(w.text.lines().all(|l| l.chars().count() <= WIDTH), "{}", w.text);
        assert!(w.text.contains("braze_cluster: EU-01\n"), "EU is told twice, US once:\n{}", w.text);
        assert!(w.text.contains("    braze_cluster: US-01  # confirm"), "{}", w.text);
        let spec = crate::spec::Spec::parse(std::path::Path::new("sslprov.yaml"), &w.text)
            .unwrap_or_else(|e| panic!("{e}\n{}", w.text));
        assert_eq!(spec.domains.len(), 4);
        assert_eq!((w.domains, w.not_added, w.at_cdn), (4, 1, 0));
    }
}
