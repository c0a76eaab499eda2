//! What crosses the boundary between the engine and a provider: a kind name and a JSON value.
//!
//! Inside a provider, specs are typed (each provider crate defines its own); across the boundary
//! they are a [`Desired`]: the kind name plus the spec as JSON, which the provider validates and
//! normalises ([`crate::Provider::normalise`]). A provider's `list` projects what it finds onto
//! the same normalised form, so a plain `==` is the whole drift check and fields sslprov does not
//! own can never cause a perpetual diff. The one type every DNS host shares, [`RecordSpec`], lives
//! here, since the templates declare a record once and whichever DNS provider the domain uses
//! writes it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{ErrorKind, ProviderError};

/// An object sslprov wants to exist, as the provider that holds it sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Desired {
    /// One of the provider's kinds ([`KindInfo::name`]).
    pub kind: String,
    /// The fields sslprov owns. A field a plan cannot know yet (an output of a step that has not
    /// run) is absent from the spec a provider is given to list with.
    #[serde(flatten)]
    pub spec: Map<String, Value>,
}

impl Desired {
    /// A desired object of `kind` from a typed spec.
    pub fn of(kind: &str, spec: &impl Serialize) -> Desired {
        let spec = match serde_json::to_value(spec) {
            Ok(Value::Object(m)) => m,
            // Specs are structs; anything else is a provider defect caught by its tests.
            other => panic!("a {kind} spec must serialize to an object, not {other:?}"),
        };
        Desired { kind: kind.to_owned(), spec }
    }

    /// The typed spec, or an error naming what is wrong with it.
    pub fn parse<T: DeserializeOwned>(&self, provider: &'static str, op: &'static str) -> Result<T, ProviderError> {
        serde_json::from_value(Value::Object(self.spec.clone())).map_err(|e| {
            ProviderError::new(ErrorKind::InvalidRequest, provider, op, format!("invalid {} spec: {e}", self.kind))
        })
    }

    pub fn get(&self, field: &str) -> Option<&Value> {
        self.spec.get(field)
    }

    pub fn str(&self, field: &str) -> Option<&str> {
        self.spec.get(field).and_then(Value::as_str)
    }
}

/// How a provider's kind behaves, as data the engine and the tests branch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindInfo {
    pub name: &'static str,
    /// Fields a change of which the provider cannot make in place: the engine replaces the
    /// object (new one first). `"*"`: any change.
    pub replace_on: &'static [&'static str],
    /// Whether an object without sslprov's mark may be matched to a desired one by its key, and so
    /// be adopted or shared as a template allows (DNS records: yes; a certificate requested by
    /// hand: never).
    pub adoptable: bool,
    /// Whether objects of this kind take time after they are written before what depends on them
    /// may use them (a certificate issued, a distribution deployed). Such objects are waited for.
    pub becomes_ready: bool,
    /// What the engine does with an object that will never become ready (`Readiness::Failed`) or
    /// is due for renewal (`Readiness::Expiring`): `false` replaces it (a new one first), `true`
    /// updates it in place, which restarts it (a Fastly subscription is retried, a Front Door
    /// custom domain gets a new validation token: a second one for the same domain is not
    /// possible). A restarted object's outputs count as unknown until it has restarted, so what
    /// references them is rendered again in the same run.
    pub repair_in_place: bool,
}

/// A request budget, as documented by the vendor: `requests` per `per_seconds`, with bursts of up
/// to `burst`. For the README, the benchmark's floor, and the provider's own [`crate::Budget`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub requests: u32,
    pub per_seconds: u32,
    pub burst: u32,
}

impl Rate {
    pub const fn per_second(requests: u32, burst: u32) -> Rate {
        Rate { requests, per_seconds: 1, burst }
    }
}

/// What a provider is, as data: its name, its kinds and its request budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProviderInfo {
    /// Used in specs (`dns: <name>`), templates, addresses, state and call counts.
    pub name: &'static str,
    /// What people call it: `Amazon Route 53`.
    pub title: &'static str,
    pub kinds: &'static [KindInfo],
    /// The request budget of every operation without one of its own below.
    pub budget: Rate,
    /// Operations the vendor limits separately (ACM: ListCertificates 1/s, DescribeCertificate
    /// 10/s, …), by the operation name the provider counts calls under.
    pub op_budgets: &'static [(&'static str, Rate)],
    /// The provider gathers concurrent writes into batch requests (one per zone at a time): the
    /// engine lets every call through at once rather than hold each to `--parallelism`.
    pub batches_writes: bool,
}

impl ProviderInfo {
    pub fn kind(&self, name: &str) -> Option<&'static KindInfo> {
        self.kinds.iter().find(|k| k.name == name)
    }
}

/// The kind every DNS host implements.
pub const RECORD: &str = "record";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecordType {
    Cname,
    A,
    Aaaa,
    Txt,
    /// The name answers with the addresses of the one name in `values`, as the DNS host best can:
    /// Route 53 writes an alias pair (A and AAAA), a host without aliases a CNAME. For a name
    /// in front of a CDN that is the same traffic, and some ESPs want the alias (Braze: SES behind
    /// CloudFront "can return HTTP 400 errors" through a plain CNAME).
    Alias,
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecordType::Cname => "CNAME",
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Txt => "TXT",
            RecordType::Alias => "ALIAS",
        })
    }
}

/// One DNS record set: a name and type in a zone. Kind [`RECORD`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSpec {
    /// Zone apex, lower case, no trailing dot: `acme.com`.
    pub zone: String,
    /// Fully qualified name, lower case, no trailing dot.
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: RecordType,
    pub ttl: u32,
    /// Values, normalised (lower case, no trailing dot for names), sorted. A TXT value is its text,
    /// unquoted: each DNS host writes it in its own form (Route 53's quoted strings).
    pub values: Vec<String>,
    /// Whether a proxying DNS host serves the name through its edge. `None` where the DNS host
    /// has no proxy; a host that has one normalises `None` to `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxied: Option<bool>,
}

impl RecordSpec {
    /// The identity of a record set in its zone. A name holds either a CNAME or address records,
    /// never both, so CNAME, A and AAAA share one identity: an HTTP-era A record at a tracking
    /// name is what the tracking CNAME replaces.
    pub fn key(zone: &str, name: &str, rtype: Option<RecordType>) -> String {
        let class = match rtype {
            Some(RecordType::Txt) => "TXT",
            _ => "ADDRESS",
        };
        format!("{zone}/{name}/{class}")
    }
}

/// What `list` is asked about.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    pub kind: String,
    /// The objects the engine wants to know about (from the spec and from the state). A field the
    /// engine cannot know yet is absent: it matches anything. Providers derive what to sweep from
    /// these (zones, names, aliases) and must not read one object at a time.
    pub wanted: Vec<Desired>,
    /// Objects the engine already knows from state, by id, with what was last applied to them
    /// (`None` for an object only known by id: one replaced and still to be deleted). A provider
    /// may skip describing these when its list says they are settled: what cannot have changed
    /// comes from here (an ACM certificate's names never change after it is requested).
    pub known: BTreeMap<String, Option<Desired>>,
    /// What the state recorded of those objects' outputs, by id. A provider whose vendor offers
    /// no list (an ACME server only fetches an order by its URL) reports from these what needs no
    /// request: an issued certificate's expiry, without fetching it again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, Outputs>,
}

impl Scope {
    pub fn new(kind: &str) -> Self {
        Scope { kind: kind.to_owned(), ..Scope::default() }
    }

    /// Every record of `zone`: a wanted record that names only its zone (discovery).
    pub fn zone(zone: &str) -> Self {
        let mut spec = Map::new();
        spec.insert("zone".into(), Value::String(zone.to_owned()));
        Scope { kind: RECORD.to_owned(), wanted: vec![Desired { kind: RECORD.to_owned(), spec }], ..Scope::default() }
    }

    /// What `readiness` of these objects lists with: their specs and ids.
    pub fn of(lives: &[Live]) -> Self {
        Scope {
            kind: lives.first().map(|l| l.desired.kind.clone()).unwrap_or_default(),
            wanted: lives.iter().map(|l| l.desired.clone()).collect(),
            known: lives.iter().map(|l| (l.id.clone(), Some(l.desired.clone()))).collect(),
            outputs: lives.iter().map(|l| (l.id.clone(), l.outputs.clone())).collect(),
        }
    }

    /// The typed specs of `wanted` that parse as `T`; a spec lacking a field `T` needs is left
    /// out (the caller reads the partial ones with [`Scope::field`]).
    pub fn specs<T: DeserializeOwned>(&self) -> Vec<T> {
        self.wanted.iter().filter_map(|d| serde_json::from_value(Value::Object(d.spec.clone())).ok()).collect()
    }

    /// Every value the wanted objects give `field`, as strings; `None` if some wanted object does
    /// not know it yet (so a provider must not filter on it).
    pub fn field(&self, field: &str) -> Option<BTreeSet<String>> {
        self.wanted.iter().map(|d| d.str(field).map(str::to_owned)).collect()
    }
}

/// An object that exists, as a provider observed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Live {
    /// Provider id: certificate ARN, distribution id, `<zone id>/<name>/<type>` for records.
    pub id: String,
    /// The owned fields, normalised.
    pub desired: Desired,
    #[serde(default, skip_serializing_if = "Outputs::is_empty")]
    pub outputs: Outputs,
    /// Whether what depends on it may use it, normalised by the provider.
    #[serde(default)]
    pub readiness: Readiness,
    /// The object carries sslprov's own mark (a distribution's comment, a rule's ref, a
    /// certificate's token tag): a run made it, even if no state says so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub marked: bool,
}

/// What other steps need from an object, by name: what templates reference as `${part.name}`.
///
/// Names every provider uses the same way:
/// - `token`: the idempotency token the object was created with, where the vendor shows it (ACM
///   tag `sslprov:token`): how an object whose create answer was lost is found again.
/// - `status`: the vendor's own status word, for people (`PENDING_VALIDATION`, `Deployed`).
/// - `warnings`: what a person should know before applying; shown in the plan, never compared.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Outputs(pub BTreeMap<String, Value>);

impl Outputs {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    pub fn set(&mut self, name: &str, value: impl Serialize) -> &mut Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        if value.is_null() {
            self.0.remove(name);
        } else {
            self.0.insert(name.to_owned(), value);
        }
        self
    }

    pub fn with(mut self, name: &str, value: impl Serialize) -> Self {
        self.set(name, value);
        self
    }

    pub fn token(&self) -> Option<&str> {
        self.str("token")
    }

    pub fn status(&self) -> Option<&str> {
        self.str("status")
    }

    pub fn warnings(&self) -> Vec<String> {
        self.0.get("warnings").and_then(|w| serde_json::from_value(w.clone()).ok()).unwrap_or_default()
    }

    /// These outputs, with what `newer` reports replacing them; what `newer` does not report is
    /// kept (a settled object the provider did not describe again). Warnings are never kept.
    pub fn merged(&self, newer: &Outputs) -> Outputs {
        let mut out = self.0.clone();
        out.remove("warnings");
        out.extend(newer.0.iter().map(|(k, v)| (k.clone(), v.clone())));
        Outputs(out)
    }
}

/// A stable token for one intended create. Derived from the intent recorded in state before the
/// call, so a re-run of the same intent sends the same token (ACM IdempotencyToken, CloudFront
/// CallerReference).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdempotencyToken(pub String);

impl IdempotencyToken {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Readiness {
    #[default]
    Ready,
    Pending {
        detail: String,
    },
    /// Usable now, and due for replacement before it stops being (a certificate close to its
    /// expiry): waits treat it as ready, and the engine replaces it, a new one first (or renews
    /// it in place, for a kind repaired in place).
    Expiring {
        reason: String,
    },
    /// It will never become ready (a certificate that failed validation): the engine replaces it.
    Failed {
        reason: String,
    },
}

/// What a readiness check saw of an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    pub readiness: Readiness,
    /// What it reported (its status word, at least), for the state.
    pub outputs: Outputs,
}

impl Observed {
    pub fn new(readiness: Readiness, status: &str) -> Observed {
        Observed { readiness, outputs: Outputs::default().with("status", status) }
    }

    /// An object no longer there.
    pub fn gone() -> Observed {
        Observed { readiness: Readiness::Failed { reason: "it no longer exists".into() }, outputs: Outputs::default() }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deletion {
    Done,
    /// Taken out of service; wait for readiness, then call `delete` again.
    InProgress,
}

/// One object a plan wants, shown to its provider's [`crate::Provider::review`].
#[derive(Clone, Copy, Debug)]
pub struct Wanted<'a> {
    pub address: &'a str,
    pub desired: &'a Desired,
    /// The existing object the plan matched it to; `None`: the plan creates it.
    pub live: Option<&'a Live>,
}

/// What a provider has to say about a plan before anyone applies it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Review {
    /// Reasons the plan cannot be carried out as it stands, each saying what to do.
    pub errors: Vec<String>,
    /// What a person should know before applying.
    pub warnings: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desired_serializes_flat_with_its_kind() {
        let r = RecordSpec {
            zone: "acme.com".into(),
            name: "url1234.acme.com".into(),
            rtype: RecordType::Cname,
            ttl: 300,
            values: vec!["sendgrid.net".into()],
            proxied: None,
        };
        let d = Desired::of(RECORD, &r);
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["kind"], "record");
        assert_eq!(json["type"], "CNAME");
        let back: Desired = serde_json::from_value(json).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.parse::<RecordSpec>("p", "op").unwrap(), r);
    }

    #[test]
    fn a_partial_scope_field_is_unknown() {
        let mut s = Scope::new(RECORD);
        let mut known = Map::new();
        known.insert("name".into(), "a.acme.com".into());
        s.wanted.push(Desired { kind: RECORD.into(), spec: known });
        assert_eq!(s.field("name"), Some(BTreeSet::from(["a.acme.com".to_owned()])));
        s.wanted.push(Desired { kind: RECORD.into(), spec: Map::new() });
        assert_eq!(s.field("name"), None);
    }

    #[test]
    fn merged_outputs_keep_what_was_not_reported_again() {
        let old = Outputs::default().with("arn", "a").with("validation_records", ["r"]).with("warnings", ["w"]);
        let new = Outputs::default().with("status", "ISSUED");
        let m = old.merged(&new);
        assert_eq!(m.str("arn"), Some("a"));
        assert_eq!(m.status(), Some("ISSUED"));
        assert!(m.get("validation_records").is_some());
        assert!(m.warnings().is_empty());
    }
}
