//! Property tests of the spec parser on generated input: valid specs, valid specs mutated as
//! text, random YAML and random bytes. For every input, no panic, and either a spec or errors
//! that each have a position and a one-line message. Every spec accepted round-trips: written out
//! again it parses to the same domains, and every domain renders all its templates' resources
//! into what refresh would ask the providers for (the planner's first step; the planner itself
//! needs connected providers).
//!
//! Seeded and deterministic: a failure prints the seed and the smallest failing input, and the
//! same `cargo test -p sslprov --lib spec::fuzz` reproduces it. `SSLPROV_FUZZ_SEED=<n>` runs
//! other inputs, `SSLPROV_FUZZ_CASES=<n>` more (or fewer) cases per property. The 11,000 cases
//! take about 11 s of CPU in a debug build.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use serde_json::Value as Json;

use super::{Domain, Spec, SpecErrors, names};
use crate::template::{DomainTemplate, Lookup, TRACKING, templates};

/// Absolute, so that a state path written back out resolves to itself.
const PATH: &str = "/specs/sslprov.yaml";
const SEED: u64 = 0x5eed_2026;

fn seed() -> u64 {
    std::env::var("SSLPROV_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(SEED)
}

/// Runs `property` on `cases` inputs (or `SSLPROV_FUZZ_CASES`), from a seed of its own.
fn run<S: Strategy>(name: &str, cases: u32, strategy: S, property: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let cases = std::env::var("SSLPROV_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(cases);
    let seed = seed();
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..8 + name.len().min(24)].copy_from_slice(&name.as_bytes()[..name.len().min(24)]);
    let config = Config { cases, failure_persistence: None, max_shrink_time: 60_000, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
    match runner.run(&strategy, property) {
        Ok(()) => {}
        Err(TestError::Fail(why, input)) => panic!(
            "spec fuzz `{name}` failed with seed {seed}: {why}\nsmallest failing input: {input:#?}\n\
             reproduce: SSLPROV_FUZZ_SEED={seed} cargo test -p sslprov --lib spec::fuzz::{name}"
        ),
        Err(e) => panic!("spec fuzz `{name}` (seed {seed}): {e}"),
    }
}

#[test]
fn valid_specs_are_accepted_as_written() {
    run("valid_specs_are_accepted_as_written", 3_000, spec_model(), |m| {
        let text = m.render();
        let spec = Spec::parse(Path::new(PATH), &text).map_err(|e| fail(&text, &e))?;
        prop_assert_eq!(&spec.domains, &m.expected());
        round_trip(&spec)
    });
}

#[test]
fn mutated_specs_are_accepted_or_refused_with_positions() {
    let strategy = (spec_model(), prop::collection::vec(edit(), 1..5));
    let (accepted, refused) = (Cell::new(0), Cell::new(0));
    run("mutated_specs_are_accepted_or_refused_with_positions", 4_000, strategy, |(m, edits)| {
        let mut text = m.render();
        for e in &edits {
            text = e.apply(&text);
        }
        let result = Spec::parse(Path::new(PATH), &text);
        let count = if result.is_ok() { &accepted } else { &refused };
        count.set(count.get() + 1);
        check(result)
    });
    eprintln!("mutated specs: {} accepted, {} refused", accepted.get(), refused.get());
    // Both ways out are taken, or the mutations (or the model) are broken.
    assert!(accepted.get() > 100 && refused.get() > 1_000, "{} accepted, {} refused", accepted.get(), refused.get());
}

#[test]
fn random_yaml_is_accepted_or_refused_with_positions() {
    let past_syntax = Cell::new(0);
    run("random_yaml_is_accepted_or_refused_with_positions", 2_000, yaml_document(), |doc| {
        let result = Spec::parse(Path::new(PATH), &doc);
        if let Err(e) = &result
            && !e.0.iter().any(|e| e.message.starts_with("invalid YAML"))
        {
            past_syntax.set(past_syntax.get() + 1);
        }
        check(result)
    });
    eprintln!("random YAML: {} of 2,000 past the YAML syntax", past_syntax.get());
    // The generator writes YAML: nearly every document gets as far as its fields.
    assert!(past_syntax.get() > 1_800, "{} of 2,000 past the YAML syntax", past_syntax.get());
}

#[test]
fn random_bytes_are_refused_with_positions() {
    let bytes = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..400),
        "[a-z0-9:\\-{}\\[\\],#&*!|>'\"%@` \n\t.~?]{0,300}".prop_map(String::into_bytes),
    ];
    run("random_bytes_are_refused_with_positions", 2_000, bytes, |b| check(Spec::from_bytes(Path::new(PATH), &b)));
}

fn fail(text: &str, e: &SpecErrors) -> TestCaseError {
    TestCaseError::fail(format!("refused:\n{e}\n--- spec\n{text}"))
}

/// The invariant of every input.
fn check(result: Result<Spec, SpecErrors>) -> Result<(), TestCaseError> {
    match result {
        Ok(spec) => round_trip(&spec),
        Err(errors) => {
            prop_assert!(!errors.0.is_empty());
            for e in &errors.0 {
                prop_assert!(e.line >= 1 && e.column >= 1, "no position: {e}");
                prop_assert!(!e.message.trim().is_empty(), "no message: {e:?}");
                prop_assert!(!e.to_string().contains(['\n', '\r']), "not one line: {e:?}");
                prop_assert_eq!(&e.file, Path::new(PATH));
            }
            let positions: Vec<_> = errors.0.iter().map(|e| (e.line, e.column)).collect();
            prop_assert!(positions.is_sorted(), "not in file order: {errors}");
            Ok(())
        }
    }
}

/// An accepted spec, written out field by field, parses to itself; and every domain renders
/// every resource of its CDN template into a scope refresh asks its provider about.
fn round_trip(spec: &Spec) -> Result<(), TestCaseError> {
    let text = canonical(spec);
    let again = Spec::parse(&spec.path, &text).map_err(|e| fail(&text, &e))?;
    prop_assert_eq!(&again.domains, &spec.domains);
    prop_assert_eq!(&again.state_path, &spec.state_path);

    let scopes = crate::refresh::scopes(spec, None, &[]);
    for d in spec.domains.values() {
        let t = DomainTemplate::of(d).ok_or_else(|| TestCaseError::fail(format!("no template for {d:?}")))?;
        for r in t.parts() {
            let provider = t.provider(r);
            let info = crate::registry::get(provider).map(|reg| reg.info);
            prop_assert!(info.and_then(|i| i.kind(&r.kind)).is_some(), "{provider} has no {}", r.kind);
            let rendered = t.render(r, &|_| Lookup::Unknown).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let wanted = &scopes.get(&(provider.to_owned(), r.kind.clone())).expect("a scope").wanted;
            prop_assert!(wanted.contains(&rendered.known_desired(&r.kind)), "{}.{} not in scope", d.key, r.part);
            if r.part == TRACKING {
                prop_assert_eq!(rendered.spec.get("name"), Some(&Json::from(d.tracking_domain.as_str())));
                prop_assert_eq!(rendered.spec.get("zone"), Some(&Json::from(d.zone.as_str())));
            }
        }
    }
    Ok(())
}

/// Every field explicit, every value quoted.
fn canonical(spec: &Spec) -> String {
    let q = |s: &str| serde_json::to_string(s).expect("a string");
    let mut out = format!("version: 1\nstate: {{ path: {} }}\ndomains:\n", q(&spec.state_path.display().to_string()));
    for d in spec.domains.values() {
        let _ = write!(
            out,
            "  {}:\n    tracking_domain: {}\n    esp: {}\n    zone: {}\n    braze_cluster: {}\n    cdn: {}\n    \
             dns: {}\n    advanced_certificate: {}\n",
            q(&d.key),
            q(&d.tracking_domain),
            q(&d.esp),
            q(&d.zone),
            q(&d.braze_cluster),
            q(&d.cdn),
            q(&d.dns),
            d.advanced_certificate
        );
        for (field, value) in [("brand_group", &d.brand_group), ("tier", &d.tier)] {
            if let Some(v) = value {
                let _ = writeln!(out, "    {field}: {}", q(v));
            }
        }
    }
    out
}

// ---- valid specs

#[derive(Clone, Debug)]
struct SpecModel {
    cluster: Option<String>,
    state: Option<String>,
    defaults: (Option<String>, Option<String>),
    /// `defaults.brand_group`, written with its tier (`tier_of`), only when a domain's CDN honours
    /// it (a default no domain can take is refused).
    default_group: Option<String>,
    domains: Vec<DomainModel>,
    /// Per scalar written: plain, single- or double-quoted.
    quotes: Vec<u8>,
    flow: bool,
    comments: bool,
}

#[derive(Clone, Debug)]
struct DomainModel {
    key: String,
    /// Labels of the tracking domain below its zone, and the zone's.
    below: Vec<String>,
    zone: Vec<String>,
    write_zone: bool,
    esp: String,
    cluster: Option<String>,
    cdn: String,
    dns: String,
    write_cdn: bool,
    write_dns: bool,
    advanced: Option<bool>,
    /// A brand group, where the CDN honours one; its tier follows from its name, so that the
    /// domains of one group agree.
    group: Option<String>,
}

/// The tier a model group is written with.
fn tier_of(group: &str) -> &'static str {
    if group.len().is_multiple_of(2) { "premium" } else { "standard" }
}

fn label() -> impl Strategy<Value = String> {
    prop_oneof![8 => "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", 1 => "[a-z]{63}", 1 => "xn--[a-z0-9]{4,8}"]
}

fn cluster() -> impl Strategy<Value = String> {
    (select(vec!["US", "EU"]), 1..=99u8).prop_map(|(p, n)| format!("{p}-{n:02}"))
}

/// The (cdn, dns) pairs the templates allow.
fn pairs() -> Vec<(String, String)> {
    let hosts = crate::registry::dns_hosts();
    let mut out = Vec::new();
    for (cdn, t) in &templates().cdn {
        for dns in hosts.iter().filter(|h| t.requires.dns.is_empty() || t.requires.dns.iter().any(|d| d == *h)) {
            out.push((cdn.clone(), (*dns).to_owned()));
        }
    }
    out
}

fn honours(cdn: &str, option: &str) -> bool {
    templates().cdn[cdn].options.iter().any(|o| o == option)
}

fn honours_advanced(cdn: &str) -> bool {
    honours(cdn, "advanced_certificate")
}

fn domain_model() -> impl Strategy<Value = DomainModel> {
    let esps: Vec<String> = templates().esp.keys().cloned().collect();
    (
        ("[a-z0-9][a-z0-9_-]{0,12}", prop::collection::vec(label(), 1..3), label(), "[a-z][a-z0-9]{1,5}"),
        (any::<bool>(), select(esps), prop::option::of(cluster()), select(pairs())),
        (any::<bool>(), any::<bool>(), prop::option::of(any::<bool>()), prop::option::of(label())),
        prop::option::of(select(vec!["retail", "news", "b2b-mail"])),
    )
        .prop_map(
            |((key, below, zone, tld), (write_zone, esp, cluster, (cdn, dns)), (wc, wd, advanced, sub), group)| {
                let group = group.filter(|_| honours(&cdn, "brand_group") && honours(&cdn, "tier")).map(str::to_owned);
                let zone = sub.into_iter().chain([zone, tld]).collect();
                let advanced = advanced.map(|a| a && honours_advanced(&cdn));
                // No CDN only for an ESP that serves HTTPS itself and needs no values from the spec.
                let esp = match templates().cdn[&cdn].requires.managed_https {
                    true => templates()
                        .esp
                        .iter()
                        .find(|(_, e)| e.managed_https.as_ref().is_some_and(|m| m.values.is_empty()))
                        .map_or(esp, |(name, _)| name.clone()),
                    false => esp,
                };
                let mut d = DomainModel {
                    key,
                    below,
                    zone,
                    write_zone,
                    esp,
                    cluster,
                    cdn,
                    dns,
                    write_cdn: wc,
                    write_dns: wd,
                    advanced,
                    group,
                };
                // Four 63-character labels make a name longer than DNS allows.
                if d.tracking().len() > 240 {
                    for l in d.below.iter_mut().chain(&mut d.zone) {
                        l.truncate(40);
                    }
                }
                d
            },
        )
}

fn spec_model() -> impl Strategy<Value = SpecModel> {
    let cdns: Vec<String> = templates().cdn.keys().cloned().collect();
    let dns: Vec<String> = crate::registry::dns_hosts().into_iter().map(str::to_owned).collect();
    (
        prop::option::of(cluster()),
        prop::option::of("[a-z]{1,8}\\.json"),
        (prop::option::of(select(cdns)), prop::option::of(select(dns))),
        prop::collection::vec(domain_model(), 1..5),
        (prop::collection::vec(0..3u8, 16), any::<bool>(), any::<bool>(), cluster()),
        prop::option::of(select(vec!["retail", "promo"])),
    )
        .prop_map(|(cluster, state, defaults, mut domains, (quotes, flow, comments, fallback), default_group)| {
            // Keys and tracking domains each once; a domain has a cluster if the spec has none.
            for (i, d) in domains.iter_mut().enumerate() {
                d.key = format!("{}{i}", d.key);
                let first = &d.below[0];
                d.below[0] = format!("{}{i}", &first[..first.len().min(60)]);
                if cluster.is_none() && d.cluster.is_none() {
                    d.cluster = Some(fallback.clone());
                }
            }
            let default_group =
                default_group.filter(|_| domains.iter().any(|d| honours(&d.cdn, "brand_group"))).map(str::to_owned);
            SpecModel { cluster, state, defaults, default_group, domains, quotes, flow, comments }
        })
}

impl DomainModel {
    fn tracking(&self) -> String {
        self.below.iter().chain(&self.zone).cloned().collect::<Vec<_>>().join(".")
    }

    fn zone_name(&self) -> String {
        if self.write_zone { self.zone.join(".") } else { self.tracking().split_once('.').expect("dots").1.to_owned() }
    }
}

impl SpecModel {
    fn inherited(&self) -> (String, String) {
        let t = templates();
        (
            self.defaults.0.clone().unwrap_or_else(|| t.defaults.cdn.clone()),
            self.defaults.1.clone().unwrap_or_else(|| t.defaults.dns.clone()),
        )
    }

    /// A domain's brand group and tier: its own, else the spec's default where its CDN honours
    /// brand groups.
    fn group(&self, d: &DomainModel) -> Option<String> {
        d.group.clone().or_else(|| self.default_group.clone().filter(|_| honours(&d.cdn, "brand_group")))
    }

    fn expected(&self) -> BTreeMap<String, Domain> {
        self.domains
            .iter()
            .map(|d| {
                let group = self.group(d);
                let cluster = d.cluster.clone().or_else(|| self.cluster.clone()).expect("a cluster");
                let region = names::parse_cluster(&cluster).expect("a valid cluster");
                let domain = Domain {
                    key: d.key.clone(),
                    tracking_domain: d.tracking(),
                    esp: d.esp.clone(),
                    braze_cluster: cluster,
                    region,
                    cdn: d.cdn.clone(),
                    dns: d.dns.clone(),
                    zone: d.zone_name(),
                    advanced_certificate: d.advanced == Some(true),
                    tier: group.as_deref().map(|g| tier_of(g).to_owned()),
                    brand_group: group,
                    tracking_record: Default::default(),
                    managed_https: BTreeMap::new(),
                };
                (d.key.clone(), domain)
            })
            .collect()
    }

    /// The spec as someone might write it: plain or quoted scalars, block or flow domains,
    /// comments, defaults used where they fit.
    fn render(&self) -> String {
        let mut n = 0;
        let mut q = |s: &str| {
            n += 1;
            match self.quotes[n % self.quotes.len()] {
                0 => s.to_owned(),
                1 => format!("'{s}'"),
                _ => format!("\"{s}\""),
            }
        };
        let comment = if self.comments { "  # a comment" } else { "" };
        let mut out = String::new();
        if self.comments {
            out.push_str("# sslprov spec\n\n");
        }
        out.push_str(&format!("version: 1{comment}\n"));
        if let Some(c) = &self.cluster {
            out.push_str(&format!("braze_cluster: {}\n", q(c)));
        }
        if let Some(s) = &self.state {
            out.push_str(&format!("state:\n  path: {}{comment}\n", q(s)));
        }
        if self.defaults.0.is_some() || self.defaults.1.is_some() || self.default_group.is_some() {
            out.push_str("defaults:\n");
            if let Some(c) = &self.defaults.0 {
                out.push_str(&format!("  cdn: {}\n", q(c)));
            }
            if let Some(d) = &self.defaults.1 {
                out.push_str(&format!("  dns: {}\n", q(d)));
            }
            if let Some(g) = &self.default_group {
                out.push_str(&format!("  brand_group: {}\n  tier: {}\n", q(g), q(tier_of(g))));
            }
        }
        out.push_str("domains:\n");
        let (cdn, dns) = self.inherited();
        for d in &self.domains {
            let mut fields = vec![("tracking_domain", q(&d.tracking())), ("esp", q(&d.esp))];
            if d.write_zone {
                fields.push(("zone", q(&d.zone_name())));
            }
            if let Some(c) = &d.cluster {
                fields.push(("braze_cluster", q(c)));
            }
            if d.write_cdn || d.cdn != cdn {
                fields.push(("cdn", q(&d.cdn)));
            }
            if d.write_dns || d.dns != dns {
                fields.push(("dns", q(&d.dns)));
            }
            if let Some(a) = d.advanced {
                fields.push(("advanced_certificate", a.to_string()));
            }
            // The tier is left to the default where that one is the group's.
            if let Some(g) = &d.group {
                fields.push(("brand_group", q(g)));
                if self.default_group.as_deref().is_none_or(|dg| tier_of(dg) != tier_of(g)) {
                    fields.push(("tier", q(tier_of(g))));
                }
            }
            let key = q(&d.key);
            if self.flow {
                let inner: Vec<String> = fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                out.push_str(&format!("  {key}: {{ {} }}{comment}\n", inner.join(", ")));
            } else {
                out.push_str(&format!("  {key}:{comment}\n"));
                for (k, v) in fields {
                    out.push_str(&format!("    {k}: {v}\n"));
                }
            }
        }
        out
    }
}

// ---- mutations

/// What can go wrong in an edit of a valid spec: YAML's own characters, names that break one
/// rule each, and lines a copy-paste repeats.
const TOKENS: &[&str] = &[
    ":",
    ": ",
    "- ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "\"",
    "'",
    "#",
    "&a ",
    "*a",
    "!!str ",
    "!x ",
    "|",
    ">",
    "\t",
    "  ",
    "\n",
    ".",
    "A",
    "0",
    "~",
    "null",
    "true",
    "10.0.0.1",
    "US-00",
    "EU-01",
    "us-05",
    "acme.com.",
    "xn--",
    "-",
    "_",
    "\u{feff}",
    "é",
    "\0",
    "\r",
    "<<: ",
    "? ",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "  acme:\n",
    "    zone: acme.org\n",
    "mailgun",
    "advanced_certificate: true",
    "brand_group: retail",
    "tier: premium",
    "url1234.acme.com",
];

/// The names the templates and the registry know (the engine names none itself), and the
/// field of a domain that takes each.
fn known_names() -> Vec<String> {
    let t = templates();
    let dns = crate::registry::dns_hosts().into_iter().map(str::to_owned);
    let names: Vec<String> = t.esp.keys().chain(t.cdn.keys()).cloned().chain(dns).collect();
    let esp = t.esp.keys().map(|e| format!("esp: {e}\n"));
    names.iter().cloned().chain(esp).collect()
}

/// [`TOKENS`] and [`known_names`].
fn tokens() -> Vec<String> {
    TOKENS.iter().map(|t| (*t).to_owned()).chain(known_names()).collect()
}

#[derive(Clone, Debug)]
enum Edit {
    Delete(Index, usize),
    Insert(Index, String),
    RepeatLine(Index),
    SwapLines(Index, Index),
    Indent(Index, bool),
    ReplaceValue(Index, String),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<Index>(), 1..8usize).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<Index>(), select(tokens())).prop_map(|(i, t)| Edit::Insert(i, t)),
        any::<Index>().prop_map(Edit::RepeatLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        (any::<Index>(), any::<bool>()).prop_map(|(i, more)| Edit::Indent(i, more)),
        (any::<Index>(), select(tokens())).prop_map(|(i, t)| Edit::ReplaceValue(i, t)),
    ]
}

impl Edit {
    fn apply(&self, text: &str) -> String {
        let chars: Vec<char> = text.chars().collect();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        if chars.is_empty() || lines.is_empty() {
            return text.to_owned();
        }
        match self {
            Edit::Delete(at, n) => {
                let from = at.index(chars.len());
                chars[..from].iter().chain(chars[(from + n).min(chars.len())..].iter()).collect()
            }
            Edit::Insert(at, token) => {
                let at = at.index(chars.len() + 1);
                chars[..at].iter().copied().chain(token.chars()).chain(chars[at..].iter().copied()).collect()
            }
            Edit::RepeatLine(at) => {
                let i = at.index(lines.len());
                lines.insert(i, lines[i].clone());
                lines.join("\n") + "\n"
            }
            Edit::SwapLines(a, b) => {
                let n = lines.len();
                lines.swap(a.index(n), b.index(n));
                lines.join("\n") + "\n"
            }
            Edit::Indent(at, more) => {
                let i = at.index(lines.len());
                lines[i] = if *more { format!("  {}", lines[i]) } else { lines[i].trim_start().to_owned() };
                lines.join("\n") + "\n"
            }
            Edit::ReplaceValue(at, token) => {
                let i = at.index(lines.len());
                if let Some((key, _)) = lines[i].split_once(": ") {
                    lines[i] = format!("{key}: {token}");
                }
                lines.join("\n") + "\n"
            }
        }
    }
}

// ---- random YAML

#[derive(Clone, Debug)]
enum Yaml {
    Scalar(String),
    List(Vec<Yaml>),
    Map(Vec<(String, Yaml)>),
}

const KEYS: &[&str] = &[
    "version",
    "braze_cluster",
    "state",
    "path",
    "defaults",
    "cdn",
    "dns",
    "domains",
    "acme",
    "beta",
    "tracking_domain",
    "esp",
    "zone",
    "advanced_certificate",
    "brand_group",
    "tier",
    "Acme",
    "1",
    "",
];

const SCALARS: &[&str] = &[
    "1",
    "2",
    "US-05",
    "US-00",
    "EU-01",
    "url1234.acme.com",
    "click.beta.io",
    "acme.com",
    "acme.com.",
    "10.0.0.1",
    "true",
    "false",
    "~",
    "",
    "yes",
    "sslprov.yaml",
    "x.json",
    "-1",
    "1e3",
    ".inf",
];

fn yaml_node() -> impl Strategy<Value = Yaml> {
    let scalars: Vec<String> = SCALARS.iter().map(|s| (*s).to_owned()).chain(known_names()).collect();
    let leaf = prop_oneof![3 => select(scalars), 1 => "[a-zA-Z0-9._ -]{0,12}"].prop_map(Yaml::Scalar);
    let key = prop_oneof![4 => select(KEYS).prop_map(str::to_owned), 1 => "[a-z_.]{0,8}"];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Yaml::List),
            prop::collection::vec((key.clone(), inner), 0..6).prop_map(Yaml::Map),
        ]
    })
}

fn yaml_document() -> impl Strategy<Value = String> {
    (prop::collection::vec((select(KEYS), yaml_node()), 0..6), any::<bool>()).prop_map(|(entries, flow)| {
        entries.iter().map(|(k, v)| format!("{}:{}", scalar(k), block(v, 2, flow))).collect()
    })
}

/// `y` as the value after `key:`, its lines indented by `indent`; `flow`: collections inline.
fn block(y: &Yaml, indent: usize, flow: bool) -> String {
    let pad = " ".repeat(indent);
    match y {
        Yaml::List(items) if !flow && !items.is_empty() => {
            items
                .iter()
                .map(|i| format!("\n{pad}-{}", block(i, indent + 2, flow).trim_end_matches('\n')))
                .collect::<String>()
                + "\n"
        }
        Yaml::Map(entries) if !flow && !entries.is_empty() => {
            let lines: String = entries
                .iter()
                .map(|(k, v)| format!("\n{pad}{}:{}", scalar(k), block(v, indent + 2, flow).trim_end_matches('\n')))
                .collect();
            lines + "\n"
        }
        _ => format!(" {}\n", inline(y)),
    }
}

fn inline(y: &Yaml) -> String {
    match y {
        Yaml::Scalar(s) => scalar(s),
        Yaml::List(items) => format!("[{}]", items.iter().map(inline).collect::<Vec<_>>().join(", ")),
        Yaml::Map(entries) => {
            let parts: Vec<String> = entries.iter().map(|(k, v)| format!("{}: {}", scalar(k), inline(v))).collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// Plain when that reads back as the same text, double-quoted otherwise.
fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-~".contains(c))
        && !s.starts_with(['-', '.'])
        || s == ".inf";
    if plain { s.to_owned() } else { serde_json::to_string(s).expect("a string") }
}
