//! What the spec's names mean: each domain resolved against the Braze clusters, the templates
//! (ESPs, CDNs) and the provider registry (DNS hosts). Every problem is reported, all at once: a
//! domain with one bad field still has its other fields checked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::error::Problem;
use super::names::{self, CLUSTER_ALLOWED, DNS_ALLOWED, KEY_ALLOWED, check_dns_name, check_key, parse_cluster};
use super::raw::{Field, Located, RawDomain, RawS3, RawSpec, STATE_PATH_ALLOWED};
use super::yaml::{Pos, shorten};
use super::{Domain, Region, TrackingRecord};
use crate::state::S3Location;
use crate::template::templates;

/// Domain options a CDN template may honour (`options:`).
const ADVANCED_CERTIFICATE: &str = "advanced_certificate";
const BRAND_GROUP: &str = "brand_group";
const TIER: &str = "tier";

pub struct Resolved {
    pub domains: BTreeMap<String, Domain>,
    /// Relative to the spec's directory, as written; `None`: the default.
    pub state_path: Option<PathBuf>,
    /// `state.s3`, checked; `None`: the state is local.
    pub state_s3: Option<S3Location>,
}

/// A setting a domain takes from the spec's top level unless it sets its own.
enum Inherited<T> {
    None,
    /// Wrong, and reported once where it is written, not again for every domain.
    Reported,
    Valid(T, Located<String>),
}

/// What the spec's top level gives every domain that sets none of its own.
struct Defaults {
    cluster: Inherited<Region>,
    cdn: Inherited<String>,
    dns: Inherited<String>,
    /// Domain options: only for domains whose CDN honours them.
    brand_group: Inherited<String>,
    tier: Inherited<String>,
}

pub fn resolve(raw: &RawSpec, spec_path: &Path, problems: &mut Vec<Problem>) -> Resolved {
    let mut r = Resolver { problems };
    let cluster = match &raw.braze_cluster {
        Field::Given(c) => match parse_cluster(&c.value) {
            Ok(region) => Inherited::Valid(region, c.clone()),
            Err(m) => {
                r.problem(c.at, &c.field, m, CLUSTER_ALLOWED);
                Inherited::Reported
            }
        },
        Field::Invalid => Inherited::Reported,
        Field::Absent => Inherited::None,
    };
    let defaults = Defaults {
        cluster,
        cdn: r.inherited(&raw.defaults_cdn, Resolver::cdn),
        dns: r.inherited(&raw.defaults_dns, Resolver::dns),
        brand_group: r.inherited(&raw.defaults_brand_group, Resolver::brand_group),
        tier: r.inherited(&raw.defaults_tier, Resolver::tier),
    };
    let state_path = raw.state_path.given().and_then(|p| r.state_path(p, spec_path));
    let state_s3 = raw.state_s3.given().and_then(|s3| r.s3(s3, raw.state_path.given().is_some()));

    let mut domains = BTreeMap::new();
    let mut seen: BTreeMap<String, (String, Pos)> = BTreeMap::new();
    match &raw.domains {
        Field::Given(list) if list.value.is_empty() => {
            r.problem(list.at, "domains", "no domains: the spec must list at least one".into(), "one or more domains");
        }
        Field::Given(list) => {
            let mut groups = BTreeMap::new();
            for d in &list.value {
                let before = r.problems.len();
                let resolved = r.domain(d, &defaults, &mut seen);
                if let Some(domain) = resolved.filter(|_| r.problems.len() == before) {
                    r.same_tier(d, &domain, &defaults, &mut groups);
                    domains.insert(domain.key.clone(), domain);
                }
            }
            for (option, default) in [(BRAND_GROUP, &defaults.brand_group), (TIER, &defaults.tier)] {
                if let Inherited::Valid(_, l) = default {
                    r.default_used(raw, &list.value, option, l);
                }
            }
        }
        Field::Invalid => {}
        Field::Absent => {
            r.problem(raw.at, "", "missing field `domains`".into(), "one or more domains under `domains`");
        }
    }
    Resolved { domains, state_path, state_s3 }
}

fn honours(cdn: &str, option: &str) -> bool {
    templates().cdn.get(cdn).is_some_and(|c| c.options.iter().any(|o| o == option))
}

struct Resolver<'p> {
    problems: &'p mut Vec<Problem>,
}

impl Resolver<'_> {
    fn problem(&mut self, at: Pos, field: &str, message: String, allowed: &str) {
        self.problems.push(Problem::new(at, field, message, Some(allowed.to_owned())));
    }

    fn inherited(
        &mut self,
        f: &Field<String>,
        check: impl FnOnce(&mut Self, &Located<String>) -> Option<String>,
    ) -> Inherited<String> {
        match f {
            Field::Given(l) => check(self, l).map_or(Inherited::Reported, |name| Inherited::Valid(name, l.clone())),
            Field::Invalid => Inherited::Reported,
            Field::Absent => Inherited::None,
        }
    }

    fn cdn(&mut self, l: &Located<String>) -> Option<String> {
        if templates().cdn.contains_key(&l.value) {
            return Some(l.value.clone());
        }
        self.problem(l.at, &l.field, format!("unknown CDN `{}`", shorten(&l.value)), &names::cdn_names());
        None
    }

    fn dns(&mut self, l: &Located<String>) -> Option<String> {
        if crate::registry::dns_hosts().contains(&l.value.as_str()) {
            return Some(l.value.clone());
        }
        self.problem(l.at, &l.field, format!("unknown DNS host `{}`", shorten(&l.value)), &names::dns_names());
        None
    }

    fn brand_group(&mut self, l: &Located<String>) -> Option<String> {
        match names::check_brand_group(&l.value) {
            Ok(()) => Some(l.value.clone()),
            Err(m) => {
                self.problem(l.at, &l.field, m, names::BRAND_GROUP_ALLOWED);
                None
            }
        }
    }

    fn tier(&mut self, l: &Located<String>) -> Option<String> {
        if names::TIERS.contains(&l.value.as_str()) {
            return Some(l.value.clone());
        }
        self.problem(l.at, &l.field, format!("unknown tier `{}`", shorten(&l.value)), names::TIER_ALLOWED);
        None
    }

    /// A domain option's value: the domain's own (an error on a CDN that does not honour it), else
    /// the spec's default where the domain's CDN honours the option (a default is for the domains
    /// it fits, so it is no error on any other). `otherwise`: what the domain may write instead.
    fn option(
        &mut self,
        (cdn, option, otherwise): (&str, &str, &str),
        own: &Field<String>,
        default: &Inherited<String>,
        check: fn(&mut Self, &Located<String>) -> Option<String>,
    ) -> Option<String> {
        match (own, default) {
            (Field::Given(l), _) => {
                let value = check(self, l)?;
                self.honoured(cdn, option, &l.at, &l.field, otherwise).then_some(value)
            }
            (Field::Absent, Inherited::Valid(value, _)) if honours(cdn, option) => Some(value.clone()),
            _ => None,
        }
    }

    /// A default option no domain's CDN honours would change nothing: it is refused, so that
    /// `defaults: { tier: premium }` on a spec of CloudFront domains is not read as done. A domain
    /// whose CDN is unknown (reported already) counts as one that may honour it.
    fn default_used(&mut self, raw: &RawSpec, domains: &[RawDomain], option: &str, l: &Located<String>) {
        let default_cdn = match &raw.defaults_cdn {
            Field::Given(c) => Some(c.value.as_str()),
            Field::Invalid => None,
            Field::Absent => Some(templates().defaults.cdn.as_str()),
        };
        let used = domains.iter().any(|d| {
            let cdn = match &d.cdn {
                Field::Given(c) => Some(c.value.as_str()),
                Field::Invalid => None,
                Field::Absent => default_cdn,
            };
            cdn.is_none_or(|c| !templates().cdn.contains_key(c) || honours(c, option))
        });
        if !used {
            let list = names::list(templates().cdn.keys().filter(|n| honours(n, option)));
            self.problem(
                l.at,
                &l.field,
                format!("{option} applies to cdn {list} only, and no domain of the spec is on it"),
                &format!("no {}, or a domain with cdn {list}", l.field),
            );
        }
    }

    fn s3(&mut self, written: &Located<RawS3>, path_too: bool) -> Option<S3Location> {
        let raw = &written.value;
        let given = |f: &Field<String>| f.given().map(|l| l.value.clone());
        let s3 = S3Location {
            bucket: raw.bucket.value.clone(),
            key: raw.key.value.clone(),
            region: given(&raw.region),
            endpoint: given(&raw.endpoint),
        };
        let mut ok = true;
        if path_too {
            let message = "a state is either local (`path`) or in S3 (`s3`), not both".into();
            self.problem(written.at, "state.s3", message, "`path` or `s3`");
            ok = false;
        }
        for (field, message) in s3.problems() {
            let at = match field {
                "bucket" => raw.bucket.at,
                "key" => raw.key.at,
                _ => raw.endpoint.given().map_or(raw.bucket.at, |l| l.at),
            };
            self.problem(at, &format!("state.s3.{field}"), message, "see the S3 naming rules");
            ok = false;
        }
        ok.then_some(s3)
    }

    fn state_path(&mut self, p: &Located<String>, spec_path: &Path) -> Option<PathBuf> {
        if p.value.is_empty() {
            self.problem(p.at, &p.field, "empty path".into(), STATE_PATH_ALLOWED);
            return None;
        }
        let state = PathBuf::from(&p.value);
        let base = spec_path.parent().unwrap_or(Path::new(""));
        // Writing the state would replace the spec with JSON.
        if base.join(&state) == spec_path {
            self.problem(p.at, &p.field, "the state path is the spec itself".into(), "a file other than the spec");
            return None;
        }
        Some(state)
    }

    /// A DNS name, or why not: `kind` is `domain` or `zone`.
    fn name(&mut self, l: &Located<String>, kind: &str) -> Option<String> {
        match check_dns_name(&l.value) {
            Ok(()) => Some(l.value.clone()),
            Err(why) => {
                let message = match l.value.as_str() {
                    "" => format!("empty {kind} name"),
                    name => format!("invalid {kind} name `{}`: {why}", shorten(name)),
                };
                self.problem(l.at, &l.field, message, DNS_ALLOWED);
                None
            }
        }
    }

    fn domain(
        &mut self,
        d: &RawDomain,
        defaults: &Defaults,
        seen: &mut BTreeMap<String, (String, Pos)>,
    ) -> Option<Domain> {
        let key = &d.key;
        if let Err(m) = check_key(&key.value) {
            self.problem(key.at, &key.field, m, KEY_ALLOWED);
        }
        let names = self.names(d, seen);
        let cluster = self.cluster(d, &defaults.cluster);
        let esp = d.esp.given().and_then(|e| {
            if templates().esp.contains_key(&e.value) {
                return Some(e.value.clone());
            }
            self.problem(e.at, &e.field, format!("unknown ESP `{}`", shorten(&e.value)), &names::esp_names());
            None
        });
        let at_key = |f: &str| Located { value: String::new(), at: key.at, field: format!("{}.{f}", key.field) };
        // Where the CDN and DNS host come from: the domain, the spec's defaults, or the templates'.
        let cdn = match (&d.cdn, &defaults.cdn) {
            (Field::Given(c), _) => self.cdn(c).map(|n| (n, c.clone())),
            (Field::Invalid, _) | (Field::Absent, Inherited::Reported) => None,
            (Field::Absent, Inherited::Valid(n, from)) => Some((n.clone(), from.clone())),
            (Field::Absent, Inherited::None) => Some((templates().defaults.cdn.clone(), at_key("cdn"))),
        };
        let dns = match (&d.dns, &defaults.dns) {
            (Field::Given(c), _) => self.dns(c).map(|n| (n, c.clone())),
            (Field::Invalid, _) | (Field::Absent, Inherited::Reported) => None,
            (Field::Absent, Inherited::Valid(n, from)) => Some((n.clone(), from.clone())),
            (Field::Absent, Inherited::None) => Some((templates().defaults.dns.clone(), at_key("dns"))),
        };
        let (Some((cdn, cdn_from)), Some((dns, dns_from))) = (cdn, dns) else { return None };
        let cdn_template = &templates().cdn[&cdn];
        // A proxying CDN serves only names it also resolves.
        let needs = &cdn_template.requires.dns;
        if !needs.is_empty() && !needs.contains(&dns) {
            // Blame the domain's own dns, else where its cdn comes from.
            let blamed = if d.dns.given().is_some() { &dns_from } else { &cdn_from };
            let titles: Vec<&str> =
                needs.iter().map(|n| crate::registry::get(n).map_or(n.as_str(), |r| r.info.title)).collect();
            self.problem(
                blamed.at,
                &blamed.field,
                format!("cdn `{cdn}` needs the zone's DNS at {}, but dns is `{dns}`", titles.join(" or ")),
                &format!("dns: {} with cdn: {cdn}", needs.join(" or ")),
            );
        }
        let advanced = d.advanced_certificate.given();
        if let Some(a) = advanced.filter(|a| a.value) {
            self.honoured(&cdn, ADVANCED_CERTIFICATE, &a.at, &a.field, "false");
        }
        let brand_group = self.option(
            (&cdn, BRAND_GROUP, "no brand_group"),
            &d.brand_group,
            &defaults.brand_group,
            Self::brand_group,
        );
        let tier = self.option((&cdn, TIER, "no tier"), &d.tier, &defaults.tier, Self::tier);
        let tracking_record = match d.tracking_record.given() {
            None => Some(TrackingRecord::default()),
            Some(t) => match t.value.as_str() {
                "alias" => Some(TrackingRecord::Alias),
                "cname" => Some(TrackingRecord::Cname),
                other => {
                    let what = format!("unknown tracking record form `{}`", shorten(other));
                    self.problem(t.at, &t.field, what, names::TRACKING_RECORD_ALLOWED);
                    None
                }
            },
        };
        let managed_https = self.managed_https(d, esp.as_deref(), (&cdn, &cdn_from));
        let ((tracking_domain, zone), (braze_cluster, region), esp) = (names?, cluster?, esp?);
        Some(Domain {
            key: key.value.clone(),
            tracking_domain,
            esp,
            braze_cluster,
            region,
            cdn,
            dns,
            zone,
            advanced_certificate: advanced.is_some_and(|a| a.value),
            brand_group,
            tier,
            tracking_record: tracking_record?,
            managed_https: managed_https?,
        })
    }

    /// The domains of a brand group share their CDN objects, so they must agree on the tier: the
    /// first domain of a group (in file order) sets it, and a later one that differs is reported
    /// in the domain, where it says so (its `tier`, else its `brand_group`, else its key), even
    /// when its tier is the spec's default: the fix is the domain's (its own `tier` or another
    /// `brand_group`), and the message names the default's line. `groups`: (CDN, group) → the
    /// tier, where it came from, and the domain that set it.
    fn same_tier(
        &mut self,
        raw: &RawDomain,
        d: &Domain,
        defaults: &Defaults,
        groups: &mut BTreeMap<(String, String), (String, String, String, Pos)>,
    ) {
        let t = &templates().cdn[&d.cdn];
        let (Some(group), Some(tier)) = (
            d.brand_group.clone().or_else(|| t.option_default(BRAND_GROUP)),
            d.tier.clone().or_else(|| t.option_default(TIER)),
        ) else {
            return;
        };
        let how = match (&raw.tier, &defaults.tier) {
            (Field::Given(_), _) => String::new(),
            (_, Inherited::Valid(_, from)) if d.tier.is_some() => {
                format!(" (from {}, line {})", from.field, from.at.line)
            }
            _ => " (the default)".to_owned(),
        };
        let at = raw.tier.given().or(raw.brand_group.given()).map_or(raw.key.at, |l| l.at);
        let Some((first, first_how, by, by_at)) = groups.get(&(d.cdn.clone(), group.clone())) else {
            groups.insert((d.cdn.clone(), group), (tier, how, raw.key.field.clone(), at));
            return;
        };
        if first == &tier {
            return;
        }
        let field = raw.tier.given().map_or_else(|| format!("{}.tier", raw.key.field), |l| l.field.clone());
        self.problem(
            at,
            &field,
            format!(
                "tier `{tier}`{how} differs from tier `{first}`{first_how} of {by} (line {}) in brand group `{group}`: \
                 the domains of a brand group share their CDN objects, of one tier",
                by_at.line
            ),
            &format!("`{first}`, as {by}, or another brand_group"),
        );
    }

    /// Whether `cdn`'s template honours the domain option `option` (written at `at`); if not, a
    /// problem that names the CDNs that do. `otherwise`: what the domain may write instead.
    fn honoured(&mut self, cdn: &str, option: &str, at: &Pos, field: &str, otherwise: &str) -> bool {
        if honours(cdn, option) {
            return true;
        }
        let list = names::list(templates().cdn.keys().filter(|n| honours(n, option)));
        self.problem(
            *at,
            field,
            format!("{option} applies to cdn {list} only; this domain's cdn is `{cdn}`"),
            &format!("{otherwise}, or cdn {list}"),
        );
        false
    }

    /// `managed_https:`: with a CDN template that is no CDN (the ESP serves HTTPS itself), the
    /// values the ESP's template asks for, each once; with any other, nothing.
    fn managed_https(
        &mut self,
        d: &RawDomain,
        esp: Option<&str>,
        (cdn, cdn_from): (&str, &Located<String>),
    ) -> Option<BTreeMap<String, String>> {
        let given = d.managed_https.given();
        let Some(t) = esp.and_then(|e| templates().esp.get(e)) else { return Some(BTreeMap::new()) };
        if !templates().cdn[cdn].requires.managed_https {
            let Some(g) = given else { return Some(BTreeMap::new()) };
            let none: Vec<&String> =
                templates().cdn.iter().filter(|(_, c)| c.requires.managed_https).map(|(n, _)| n).collect();
            let list = names::list(none);
            let message =
                format!("managed_https applies to cdn {list} only (the ESP's own HTTPS); this domain's cdn is `{cdn}`");
            self.problem(g.at, &g.field, message, &format!("no managed_https, or cdn {list}"));
            return None;
        }
        let Some(m) = &t.managed_https else {
            let able: Vec<&String> =
                templates().esp.iter().filter(|(_, e)| e.managed_https.is_some()).map(|(n, _)| n).collect();
            let message =
                format!("{} serves no HTTPS of its own, so it needs a CDN: cdn `{cdn}` cannot serve it", t.name);
            let allowed =
                format!("a CDN for esp `{}`, or cdn `{cdn}` with esp {}", esp.unwrap_or_default(), names::list(able));
            self.problem(cdn_from.at, &cdn_from.field, message, &allowed);
            return None;
        };
        let wanted = if m.values.is_empty() {
            "none: this ESP's HTTPS needs no values".to_owned()
        } else {
            m.values.iter().map(|(n, what)| format!("`{n}`: {what}")).collect::<Vec<_>>().join("; ")
        };
        let mut values = BTreeMap::new();
        let mut ok = true;
        for (name, l) in given.into_iter().flat_map(|g| &g.value) {
            if !m.values.contains_key(name) {
                let message = format!("unknown value `{}` for {}'s HTTPS", shorten(name), t.name);
                self.problem(l.at, &l.field, message, &wanted);
                ok = false;
            } else if l.value.trim().is_empty() {
                self.problem(l.at, &l.field, "empty value".into(), &wanted);
                ok = false;
            } else {
                values.insert(name.clone(), l.value.clone());
            }
        }
        let missing: Vec<&String> = m.values.keys().filter(|n| !values.contains_key(*n)).collect();
        if !missing.is_empty() {
            let (at, field) = given.map_or((d.key.at, d.key.field.clone()), |g| (g.at, g.field.clone()));
            let message = format!(
                "{}'s HTTPS needs {} (values from the ESP's console or API: sslprov does not call the ESP)",
                t.name,
                names::list(missing)
            );
            self.problem(at, &field, message, &wanted);
            ok = false;
        }
        ok.then_some(values)
    }

    /// The tracking domain and its zone.
    fn names(&mut self, d: &RawDomain, seen: &mut BTreeMap<String, (String, Pos)>) -> Option<(String, String)> {
        let t = d.tracking_domain.given()?;
        let tracking = self.name(t, "domain");
        let zone = match &d.zone {
            Field::Given(z) => self.name(z, "zone").map(|name| (name, z.clone())),
            Field::Invalid => None,
            Field::Absent => {
                let parent = tracking.as_ref().and_then(|t| t.split_once('.')).map(|(_, p)| p.to_owned());
                parent.map(|p| (p, t.clone()))
            }
        };
        let tracking = tracking?;
        if tracking.split('.').count() < 3 {
            self.problem(
                t.at,
                &t.field,
                format!("`{tracking}` is a zone apex; a tracking domain is a subdomain such as url1234.{tracking}"),
                "a subdomain of the zone",
            );
            return None;
        }
        if let Some((first, at)) = seen.get(&tracking) {
            self.problem(
                t.at,
                &t.field,
                format!("tracking domain `{tracking}` is already used by domain `{first}` at {at}"),
                "each tracking domain once",
            );
        } else {
            seen.insert(tracking.clone(), (d.key.value.clone(), t.at));
        }
        let (zone, z) = zone?;
        if tracking == zone {
            let message = format!("tracking domain `{tracking}` is the apex of its zone `{zone}`");
            self.problem(z.at, &z.field, message, "a zone that is a parent of the tracking domain");
            return None;
        }
        if !tracking.ends_with(&format!(".{zone}")) {
            let message = format!("tracking domain `{tracking}` is outside its zone `{zone}`");
            self.problem(z.at, &z.field, message, "a zone that is a parent of the tracking domain");
            return None;
        }
        Some((tracking, zone))
    }

    fn cluster(&mut self, d: &RawDomain, inherited: &Inherited<Region>) -> Option<(String, Region)> {
        match (&d.braze_cluster, inherited) {
            (Field::Given(c), _) => match parse_cluster(&c.value) {
                Ok(region) => Some((c.value.clone(), region)),
                Err(m) => {
                    self.problem(c.at, &c.field, m, CLUSTER_ALLOWED);
                    None
                }
            },
            (Field::Invalid, _) | (Field::Absent, Inherited::Reported) => None,
            (Field::Absent, Inherited::Valid(region, c)) => Some((c.value.clone(), *region)),
            (Field::Absent, Inherited::None) => {
                let message = "no braze_cluster: set it at the top level or on the domain".to_owned();
                self.problem(d.key.at, &d.key.field, message, CLUSTER_ALLOWED);
                None
            }
        }
    }
}
