//! The spec's fields as written, read from the YAML tree with their positions. Every problem of
//! shape is reported, all at once: an unknown or missing field, a list where a name belongs, a
//! mapping that is not one. What the names mean is `resolve`'s.

use super::error::Problem;
use super::names;
use super::yaml::{Node, Pos, Value, join, shorten};

/// A value and the key it was written under.
#[derive(Clone, Debug)]
pub struct Located<T> {
    pub value: T,
    /// The key's position: errors about a field point at its name.
    pub at: Pos,
    /// Dotted path, e.g. `domains.acme.zone`.
    pub field: String,
}

#[derive(Clone, Debug)]
pub enum Field<T> {
    /// Not written, or written empty (`zone:` or `zone: ~`).
    Absent,
    /// Written, but wrong in a way already reported.
    Invalid,
    Given(Located<T>),
}

impl<T> Field<T> {
    pub fn given(&self) -> Option<&Located<T>> {
        match self {
            Field::Given(l) => Some(l),
            _ => None,
        }
    }
}

pub struct RawSpec {
    /// Where the document starts: errors about the whole spec point here.
    pub at: Pos,
    pub braze_cluster: Field<String>,
    pub state_path: Field<String>,
    pub state_s3: Field<RawS3>,
    pub defaults_cdn: Field<String>,
    pub defaults_dns: Field<String>,
    /// Domain options, for the domains whose CDN honours them and that set none.
    pub defaults_brand_group: Field<String>,
    pub defaults_tier: Field<String>,
    /// In document order; `Absent` only when there is no `domains` key at all.
    pub domains: Field<Vec<RawDomain>>,
}

/// `state.s3`: remote state in an S3 bucket. `Given` only with its required fields.
pub struct RawS3 {
    pub bucket: Located<String>,
    pub key: Located<String>,
    pub region: Field<String>,
    pub endpoint: Field<String>,
}

pub struct RawDomain {
    /// The key as written; `field` is `domains.<key>`.
    pub key: Located<String>,
    pub tracking_domain: Field<String>,
    pub esp: Field<String>,
    pub zone: Field<String>,
    pub braze_cluster: Field<String>,
    pub cdn: Field<String>,
    pub dns: Field<String>,
    pub advanced_certificate: Field<bool>,
    pub brand_group: Field<String>,
    pub tier: Field<String>,
    pub tracking_record: Field<String>,
    /// `managed_https:`: values the ESP's own HTTPS needs, by name, as written.
    pub managed_https: Field<Vec<(String, Located<String>)>>,
}

pub(super) const TOP: &[&str] = &["version", "braze_cluster", "state", "defaults", "domains"];
pub(super) const STATE: &[&str] = &["path", "s3"];
pub(super) const S3: &[&str] = &["bucket", "key", "region", "endpoint"];
pub(super) const DEFAULTS: &[&str] = &["cdn", "dns", "brand_group", "tier"];
pub(super) const DOMAIN: &[&str] = &[
    "tracking_domain",
    "esp",
    "zone",
    "braze_cluster",
    "cdn",
    "dns",
    "advanced_certificate",
    "brand_group",
    "tier",
    "tracking_record",
    "managed_https",
];
const MANAGED_HTTPS_ALLOWED: &str = "a mapping of the values the ESP's HTTPS needs to text, e.g. `acme_challenge: …`";

pub const STATE_PATH_ALLOWED: &str = "a file path, relative to the spec";
const S3_ALLOWED: &str = "`{ bucket: …, key: …, region: …, endpoint: … }`; bucket and key required";
const BOOL_ALLOWED: &str = "true or false";
const TRACKING_ALLOWED: &str = "the tracking subdomain, e.g. url1234.acme.com";

/// Reads the document; `None` for an empty one.
pub fn read(root: Option<&Node>, problems: &mut Vec<Problem>) -> Option<RawSpec> {
    let mut r = Reader { problems };
    let Some(root) = root.filter(|n| !n.is_null()) else {
        r.problems.push(Problem::new(Pos::START, "", "the spec is empty", fields_allowed(TOP)));
        return None;
    };
    let map = r.mapping(root, root.at, "", "the spec", TOP)?;
    let mut spec = RawSpec {
        at: root.at,
        braze_cluster: Field::Absent,
        state_path: Field::Absent,
        state_s3: Field::Absent,
        defaults_cdn: Field::Absent,
        defaults_dns: Field::Absent,
        defaults_brand_group: Field::Absent,
        defaults_tier: Field::Absent,
        domains: Field::Absent,
    };
    let mut version = false;
    for (name, key, value) in map {
        let field = name.to_owned();
        match name {
            "version" => {
                version = true;
                r.version(key, value);
            }
            "braze_cluster" => spec.braze_cluster = r.text(key, value, &field, names::CLUSTER_ALLOWED),
            "state" | "defaults" if value.is_null() => {}
            "state" => {
                let Some(state) = r.mapping(value, key.at, &field, "state", STATE) else { continue };
                for (name, k, v) in state {
                    match name {
                        "path" => spec.state_path = r.text(k, v, "state.path", STATE_PATH_ALLOWED),
                        _ => spec.state_s3 = r.s3(k, v),
                    }
                }
            }
            "defaults" => {
                let Some(defaults) = r.mapping(value, key.at, &field, "defaults", DEFAULTS) else { continue };
                for (name, k, v) in defaults {
                    let field = join("defaults", name);
                    match name {
                        "cdn" => spec.defaults_cdn = r.text(k, v, &field, &names::cdn_names()),
                        "dns" => spec.defaults_dns = r.text(k, v, &field, &names::dns_names()),
                        "brand_group" => {
                            spec.defaults_brand_group = r.text(k, v, &field, names::BRAND_GROUP_ALLOWED);
                        }
                        _ => spec.defaults_tier = r.text(k, v, &field, names::TIER_ALLOWED),
                    }
                }
            }
            _ => spec.domains = r.domains(key, value),
        }
    }
    if !version {
        r.problems.push(Problem::new(root.at, "", "missing field `version`", Some("`version: 1`".to_owned())));
    }
    Some(spec)
}

struct Reader<'p> {
    problems: &'p mut Vec<Problem>,
}

impl Reader<'_> {
    /// The known fields of a mapping, as `(name, key, value)`; each unknown field is reported.
    /// `None` (reported) when `node` is not a mapping.
    fn mapping<'n>(
        &mut self,
        node: &'n Node,
        at: Pos,
        field: &str,
        what: &str,
        known: &[&'static str],
    ) -> Option<Vec<(&'static str, &'n Node, &'n Node)>> {
        let Value::Map(entries) = &*node.value else {
            let message = format!("expected {what} as a mapping, found {}", node.describe());
            self.problems.push(Problem::new(at, field, message, fields_allowed(known)));
            return None;
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            match k.scalar().and_then(|text| known.iter().find(|f| **f == text)) {
                Some(name) => out.push((*name, k, v)),
                None => {
                    let (path, message) = match k.scalar() {
                        Some(text) => (join(field, text), format!("unknown field `{}`", shorten(text))),
                        None => (field.to_owned(), format!("unknown field: {} as a key", k.describe())),
                    };
                    self.problems.push(Problem::new(k.at, &path, message, fields_allowed(known)));
                }
            }
        }
        Some(out)
    }

    /// A name or path: any scalar, as written. `1e3` is the text `1e3`, as a YAML loader that
    /// reads it into a string field would give it.
    fn text(&mut self, key: &Node, value: &Node, field: &str, allowed: &str) -> Field<String> {
        if value.is_null() {
            return Field::Absent;
        }
        match value.scalar() {
            Some(text) => Field::Given(Located { value: text.to_owned(), at: key.at, field: field.to_owned() }),
            None => {
                let message = format!("expected a single value, found {}", value.describe());
                self.problems.push(Problem::new(key.at, field, message, Some(allowed.to_owned())));
                Field::Invalid
            }
        }
    }

    fn s3(&mut self, key: &Node, value: &Node) -> Field<RawS3> {
        if value.is_null() {
            return Field::Absent;
        }
        let Some(fields) = self.mapping(value, key.at, "state.s3", "state.s3", S3) else { return Field::Invalid };
        let (mut bucket, mut s3_key, mut region, mut endpoint) =
            (Field::Absent, Field::Absent, Field::Absent, Field::Absent);
        for (name, k, v) in fields {
            let field = join("state.s3", name);
            let f = match name {
                "bucket" => &mut bucket,
                "key" => &mut s3_key,
                "region" => &mut region,
                _ => &mut endpoint,
            };
            *f = self.text(k, v, &field, S3_ALLOWED);
        }
        let mut required = |f: Field<String>, name: &str| match f {
            Field::Given(l) => Some(l),
            Field::Absent => {
                let message = format!("missing field `{name}`");
                self.problems.push(Problem::new(key.at, "state.s3", message, Some(S3_ALLOWED.to_owned())));
                None
            }
            Field::Invalid => None,
        };
        match (required(bucket, "bucket"), required(s3_key, "key")) {
            (Some(bucket), Some(object)) => {
                let value = RawS3 { bucket, key: object, region, endpoint };
                Field::Given(Located { value, at: key.at, field: "state.s3".to_owned() })
            }
            _ => Field::Invalid,
        }
    }

    /// A mapping of names to text, every name kept (which names fit is `resolve`'s).
    fn values(&mut self, key: &Node, value: &Node, field: &str) -> Field<Vec<(String, Located<String>)>> {
        if value.is_null() {
            return Field::Absent;
        }
        let Value::Map(entries) = &*value.value else {
            let message = format!("expected a mapping, found {}", value.describe());
            self.problems.push(Problem::new(key.at, field, message, Some(MANAGED_HTTPS_ALLOWED.to_owned())));
            return Field::Invalid;
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let Some(name) = k.scalar() else {
                let message = format!("expected a name, found {}", k.describe());
                self.problems.push(Problem::new(k.at, field, message, Some(MANAGED_HTTPS_ALLOWED.to_owned())));
                continue;
            };
            if let Field::Given(l) = self.text(k, v, &join(field, name), MANAGED_HTTPS_ALLOWED) {
                out.push((name.to_owned(), l));
            }
        }
        Field::Given(Located { value: out, at: key.at, field: field.to_owned() })
    }

    fn boolean(&mut self, key: &Node, value: &Node, field: &str) -> Field<bool> {
        let b = match &*value.value {
            _ if value.is_null() => return Field::Absent,
            Value::Scalar { text, plain: true } => match text.as_str() {
                "true" | "True" | "TRUE" => Some(true),
                "false" | "False" | "FALSE" => Some(false),
                _ => None,
            },
            _ => None,
        };
        match b {
            Some(b) => Field::Given(Located { value: b, at: key.at, field: field.to_owned() }),
            None => {
                let message = format!("expected true or false, found {}", value.describe());
                self.problems.push(Problem::new(key.at, field, message, Some(BOOL_ALLOWED.to_owned())));
                Field::Invalid
            }
        }
    }

    fn version(&mut self, key: &Node, value: &Node) {
        let message = match &*value.value {
            Value::Scalar { text, plain: true } if text == "1" => return,
            Value::Scalar { text, plain: true } if !value.is_null() => {
                format!("unsupported spec version `{}`", shorten(text))
            }
            _ => format!("expected the spec version as a number, found {}", value.describe()),
        };
        self.problems.push(Problem::new(key.at, "version", message, Some("1".to_owned())));
    }

    fn domains(&mut self, key: &Node, value: &Node) -> Field<Vec<RawDomain>> {
        let listed = |domains| Field::Given(Located { value: domains, at: key.at, field: "domains".to_owned() });
        if value.is_null() {
            return listed(Vec::new());
        }
        let Value::Map(entries) = &*value.value else {
            let message = format!("expected a mapping of domain keys to domains, found {}", value.describe());
            let allowed = "`<key>: { tracking_domain: …, esp: … }` entries".to_owned();
            self.problems.push(Problem::new(key.at, "domains", message, Some(allowed)));
            return Field::Invalid;
        };
        let mut domains = Vec::new();
        for (k, v) in entries {
            let Some(name) = k.scalar() else {
                let message = format!("expected a domain key, found {}", k.describe());
                self.problems.push(Problem::new(k.at, "domains", message, Some(names::KEY_ALLOWED.to_owned())));
                continue;
            };
            let key = Located { value: name.to_owned(), at: k.at, field: join("domains", name) };
            domains.push(self.domain(key, v));
        }
        // Entries that are all wrong are reported as such, not as no domains at all.
        if domains.is_empty() && !entries.is_empty() {
            return Field::Invalid;
        }
        listed(domains)
    }

    fn domain(&mut self, key: Located<String>, value: &Node) -> RawDomain {
        let mut d = RawDomain {
            key,
            tracking_domain: Field::Absent,
            esp: Field::Absent,
            zone: Field::Absent,
            braze_cluster: Field::Absent,
            cdn: Field::Absent,
            dns: Field::Absent,
            advanced_certificate: Field::Absent,
            brand_group: Field::Absent,
            tier: Field::Absent,
            tracking_record: Field::Absent,
            managed_https: Field::Absent,
        };
        let path = d.key.field.clone();
        let Some(fields) = self.mapping(value, d.key.at, &path, "a domain", DOMAIN) else {
            d.tracking_domain = Field::Invalid;
            d.esp = Field::Invalid;
            return d;
        };
        for (name, k, v) in fields {
            let field = join(&path, name);
            match name {
                "tracking_domain" | "esp" if v.is_null() => {
                    let allowed = if name == "esp" { names::esp_names() } else { TRACKING_ALLOWED.to_owned() };
                    self.problems.push(Problem::new(k.at, &field, "no value", Some(allowed)));
                    let f = if name == "esp" { &mut d.esp } else { &mut d.tracking_domain };
                    *f = Field::Invalid;
                }
                "tracking_domain" => d.tracking_domain = self.text(k, v, &field, names::DNS_ALLOWED),
                "esp" => d.esp = self.text(k, v, &field, &names::esp_names()),
                "zone" => d.zone = self.text(k, v, &field, names::DNS_ALLOWED),
                "braze_cluster" => d.braze_cluster = self.text(k, v, &field, names::CLUSTER_ALLOWED),
                "cdn" => d.cdn = self.text(k, v, &field, &names::cdn_names()),
                "dns" => d.dns = self.text(k, v, &field, &names::dns_names()),
                "tracking_record" => d.tracking_record = self.text(k, v, &field, names::TRACKING_RECORD_ALLOWED),
                "brand_group" => d.brand_group = self.text(k, v, &field, names::BRAND_GROUP_ALLOWED),
                "tier" => d.tier = self.text(k, v, &field, names::TIER_ALLOWED),
                "managed_https" => d.managed_https = self.values(k, v, &field),
                _ => d.advanced_certificate = self.boolean(k, v, &field),
            }
        }
        for (name, f, allowed) in [
            ("tracking_domain", &mut d.tracking_domain, TRACKING_ALLOWED.to_owned()),
            ("esp", &mut d.esp, names::esp_names()),
        ] {
            if matches!(f, Field::Absent) {
                self.problems.push(Problem::new(d.key.at, &path, format!("missing field `{name}`"), Some(allowed)));
                *f = Field::Invalid;
            }
        }
        d
    }
}

/// `` `a`, `b` `` for a mapping's fields.
fn fields_allowed(known: &[&str]) -> Option<String> {
    Some(names::list(known))
}
