//! The planner: spec + state + inventory → changes. Pure: no I/O, same inputs give the same plan.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sslprov_provider::{Desired, EdgeCertificateSource, KNOWN_AFTER_APPLY, Live, RecordSpec};

use super::{Action, Change, FORMAT_VERSION, Part, Plan, Recovered, SpecRef, StateRef, Summary};
use crate::refresh::Inventory;
use crate::spec::{CdnKind, Domain, Spec};
use crate::state::{Op, ResourceState, State};
use crate::template;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Apply,
    Destroy,
}

pub struct PlanInput<'a> {
    pub spec: &'a Spec,
    pub state: Option<&'a State>,
    pub inventory: &'a Inventory,
    pub mode: Mode,
    /// Domain keys to limit the plan to; empty = all.
    pub targets: &'a [String],
    pub restore_adopted: bool,
    /// Lineage a state written by this plan's apply will get, when no state exists yet.
    pub new_lineage: &'a str,
    pub created: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("--target {0}: no such domain in the spec or the state")]
    UnknownTarget(String),
    #[error(
        "{address}: CloudFront distribution {id} already serves {alias} and was not created by sslprov. \
         Remove {alias} from its alternate domain names (or delete it), then plan again; sslprov does not take over distributions it did not make."
    )]
    ForeignDistribution { address: String, id: String, alias: String },
    #[error(
        "domains.{key}: {host} is more than one level below {zone}, and Cloudflare's Universal SSL certificate covers only {zone} and its first-level names. \
         Either set `advanced_certificate: true` on domain {key}, so sslprov orders an advanced certificate pack for it (Cloudflare's Advanced Certificate Manager, a paid add-on), \
         or use a first-level name such as url1234.{zone}."
    )]
    DeepName { key: String, host: String, zone: String },
    #[error(
        "domains.{key}: Universal SSL is off on zone {zone}, so Cloudflare has no edge certificate for the tracking domain. \
         Turn Universal SSL on for the zone, or set `advanced_certificate: true` on domain {key}."
    )]
    NoUniversalSsl { key: String, zone: String },
    #[error(
        "domains.{key}: the Universal SSL certificate of zone {zone} is not active yet ({status}), and the tracking record must not be proxied before it is. \
         Cloudflare issues it within minutes of a zone's activation; plan again then."
    )]
    UniversalNotActive { key: String, zone: String, status: String },
    #[error(
        "domains.{key}: tracking_domain changed from {was} to {now}. sslprov does not move a tracking domain in place: \
         links already delivered point at {was}. Put {now} under a new key, apply it, and remove `{key}` (or run \
         `sslprov destroy --target {key}`) once {was}'s links no longer matter."
    )]
    Renamed { key: String, was: String, now: String },
}

pub fn build(input: PlanInput<'_>) -> Result<Plan, Vec<PlanError>> {
    let empty = State::new(input.new_lineage.to_owned());
    let state = input.state.unwrap_or(&empty);
    let in_state: BTreeSet<String> = state.resources.values().map(|r| r.domain.clone()).collect();
    let mut errors = Vec::new();
    for t in input.targets {
        if !input.spec.domains.contains_key(t) && !in_state.contains(t) {
            errors.push(PlanError::UnknownTarget(t.clone()));
        }
    }
    let selected = |key: &str| input.targets.is_empty() || input.targets.iter().any(|t| t == key);

    let mut changes = Vec::new();
    let recovered = std::cell::RefCell::new(Vec::new());
    let mut validation_names = BTreeSet::new();
    for (key, domain) in &input.spec.domains {
        if !selected(key) {
            continue;
        }
        if let Some(was) =
            recorded_name(state, key).filter(|was| was != &domain.tracking_domain && input.mode == Mode::Apply)
        {
            errors.push(PlanError::Renamed { key: key.clone(), was, now: domain.tracking_domain.clone() });
            continue;
        }
        let cx = DomainCx { key, domain: Some(domain), state, inv: input.inventory, recovered: &recovered };
        match input.mode {
            Mode::Apply => cx.plan_apply(domain, &mut validation_names, &mut changes, &mut errors),
            Mode::Destroy => cx.plan_destroy(input.restore_adopted, &mut changes),
        }
    }
    // Domains in state but gone from the spec are destroyed, like any removed resource.
    for key in in_state.iter().filter(|k| !input.spec.domains.contains_key(k.as_str()) && selected(k)) {
        DomainCx { key, domain: None, state, inv: input.inventory, recovered: &recovered }
            .plan_destroy(input.restore_adopted, &mut changes);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let summary = Summary::of(&changes);
    Ok(Plan {
        format_version: FORMAT_VERSION.into(),
        sslprov_version: env!("CARGO_PKG_VERSION").into(),
        created: input.created,
        mode: input.mode,
        spec: SpecRef { path: input.spec.path.clone(), sha256: input.spec.hash.clone() },
        state: StateRef {
            path: input.spec.state_path.clone(),
            lineage: state.lineage.clone(),
            serial: input.state.map_or(0, |s| s.serial),
            exists: input.state.is_some(),
        },
        targets: input.targets.to_vec(),
        restore_adopted: input.restore_adopted,
        changes,
        recovered: recovered.into_inner(),
        warnings: Vec::new(),
        summary,
    })
}

struct DomainCx<'a> {
    key: &'a str,
    /// `None` for a domain gone from the spec (destroyed from what state says).
    domain: Option<&'a Domain>,
    state: &'a State,
    inv: &'a Inventory,
    recovered: &'a std::cell::RefCell<Vec<Recovered>>,
}

/// Certificate states a distribution cannot use; the certificate is replaced.
const DEAD_CERTIFICATE: [&str; 5] = ["FAILED", "VALIDATION_TIMED_OUT", "REVOKED", "EXPIRED", "INACTIVE"];

impl<'a> DomainCx<'a> {
    fn res(&self, part: Part) -> Option<&ResourceState> {
        self.state.resources.get(&part.address(self.key))
    }

    /// An object to record in state before anything else: one a run made but stopped before
    /// recording (no id yet, or an unfinished intent), one state lacks the validation records of,
    /// or one that carries sslprov's own mark (a distribution's comment, a rule's ref) but has no
    /// state entry at all.
    fn note(&self, part: Part, live: Option<&Live>) {
        let Some(live) = live else { return };
        let record = match self.res(part) {
            Some(r) => {
                r.id.as_deref() != Some(live.id.as_str())
                    || r.intent.is_some()
                    || (live.outputs.validation_records.is_some() && r.outputs.validation_records.is_none())
            }
            None => matches!(part, Part::Distribution | Part::ConfigRule),
        };
        if record {
            self.recovered.borrow_mut().push(Recovered {
                address: part.address(self.key),
                provider: self.provider(part),
                live: live.clone(),
            });
        }
    }

    fn change(&self, part: Part, action: Action, live: Option<&Live>, after: Option<Desired>) -> Change {
        Change {
            address: part.address(self.key),
            domain: self.key.to_owned(),
            part,
            provider: self.provider(part).into(),
            action,
            reason: None,
            id: live.map(|l| l.id.clone()).or_else(|| self.res(part).and_then(|r| r.id.clone())),
            before: live.map(|l| l.desired.clone()),
            after,
            adopt: false,
            deposed: false,
        }
    }

    /// Deletes of the certificates this domain's certificate replaced: after the distribution
    /// moved to the new one (apply runs them last), or forgotten if already gone.
    fn plan_deposed(&self, out: &mut Vec<Change>) {
        let Some(r) = self.res(Part::Certificate) else { return };
        for id in &r.deposed {
            let live = self.inv.certificates.iter().find(|l| &l.id == id);
            let action = if live.is_some() { Action::Delete } else { Action::Forget };
            let mut c = self.change(Part::Certificate, action, live, None);
            c.id = Some(id.clone());
            c.deposed = true;
            c.reason = Some("replaced; deleted once the distribution serves the new certificate".into());
            out.push(c);
        }
    }

    /// The provider of `part`: the one that made it, or the one the spec's domain says.
    fn provider(&self, part: Part) -> String {
        match (self.res(part), self.domain) {
            (Some(r), _) => r.provider.clone(),
            (None, Some(d)) => provider_of(part, d).to_owned(),
            (None, None) => "unknown".to_owned(),
        }
    }

    /// The certificate that is ours: by the id in state, or by the token of a create that was in
    /// flight when a run stopped (its response, and so its id, was never recorded).
    fn certificate(&self) -> Option<&Live> {
        let r = self.res(Part::Certificate)?;
        // A create in flight (a first one, or a replacement) wins over the id it would replace.
        let in_flight = r.intent.as_ref().filter(|i| i.op == Op::Create).map(|i| i.token.as_str());
        in_flight
            .and_then(|token| self.inv.certificates.iter().find(|l| l.outputs.token.as_deref() == Some(token)))
            .or_else(|| r.id.as_ref().and_then(|id| self.inv.certificates.iter().find(|l| &l.id == id)))
    }

    /// The distribution that is ours: by id, or — after an interrupted create — the one serving
    /// the alias with sslprov's comment for this domain key.
    fn distribution(&self, comment: Option<&str>) -> Option<&Live> {
        if let Some(id) = self.res(Part::Distribution).and_then(|r| r.id.as_ref()) {
            return self.inv.distributions.iter().find(|l| &l.id == id);
        }
        let comment = comment?;
        self.inv.distributions.iter().find(|l| matches!(&l.desired, Desired::Distribution(d) if d.comment == comment))
    }

    fn record(&self, zone: &str, name: &str, types: &[sslprov_provider::RecordType]) -> Option<&Live> {
        self.inv.records.iter().find(|l| {
            matches!(&l.desired, Desired::Record(r) if r.zone == zone && r.name == name && types.contains(&r.rtype))
        })
    }

    fn plan_apply(
        &self,
        d: &Domain,
        validation_names: &mut BTreeSet<String>,
        out: &mut Vec<Change>,
        errors: &mut Vec<PlanError>,
    ) {
        let target = match d.cdn {
            CdnKind::Cloudfront => match self.plan_cloudfront(d, validation_names, out, errors) {
                Some(target) => target,
                None => return,
            },
            CdnKind::Cloudflare => {
                if !self.plan_cloudflare_edge(d, out, errors) {
                    return;
                }
                None
            }
        };
        self.plan_tracking_record(d, target.as_deref(), out);
        self.plan_deposed(out);
    }

    /// Certificate, validation record and distribution; returns the distribution's domain name
    /// when it exists (`Some(None)` while it does not), `None` when planning must stop.
    fn plan_cloudfront(
        &self,
        d: &Domain,
        validation_names: &mut BTreeSet<String>,
        out: &mut Vec<Change>,
        errors: &mut Vec<PlanError>,
    ) -> Option<Option<String>> {
        use sslprov_provider::RecordType::*;

        // Certificate.
        let cert_desired = Desired::Certificate(template::certificate(d));
        let cert = self.certificate();
        self.note(Part::Certificate, cert);
        let cert_status = cert.and_then(|c| c.outputs.status.as_deref()).unwrap_or_default();
        let cert_settled = match cert {
            None => {
                out.push(self.change(Part::Certificate, Action::Create, None, Some(cert_desired)));
                false
            }
            Some(live) if DEAD_CERTIFICATE.contains(&cert_status) => {
                let mut c = self.change(Part::Certificate, Action::Replace, Some(live), Some(cert_desired));
                c.reason = Some(format!("the certificate is {cert_status} and cannot serve the domain"));
                out.push(c);
                false
            }
            Some(live) if live.desired != cert_desired => {
                let mut c = self.change(Part::Certificate, Action::Replace, Some(live), Some(cert_desired));
                c.reason = Some("a certificate's names cannot change in place".into());
                out.push(c);
                false
            }
            Some(_) => true,
        };

        // Validation record: known once the certificate exists and was described (now or before).
        // What the certificate asked for: as described now, as recorded, or (a settled
        // certificate the list answered for) the validation record sslprov already wrote.
        let asked: Option<RecordSpec> = cert.filter(|_| cert_settled).and_then(|c| {
            c.outputs
                .validation_records
                .clone()
                .or_else(|| self.res(Part::Certificate).and_then(|r| r.outputs.validation_records.clone()))
                .and_then(|v| v.into_iter().next())
                .or_else(|| match self.res(Part::ValidationRecord).and_then(|r| r.desired.clone()) {
                    Some(Desired::Record(r)) => Some(r),
                    _ => None,
                })
        });
        match asked.map(|a| template::validation_record(d, &a)) {
            None => {
                let mut r = template::validation_record(
                    d,
                    &RecordSpec {
                        zone: d.zone.clone(),
                        name: KNOWN_AFTER_APPLY.into(),
                        rtype: Cname,
                        ttl: 0,
                        values: vec![KNOWN_AFTER_APPLY.into()],
                        proxied: None,
                    },
                );
                r.zone = d.zone.clone();
                out.push(self.change(Part::ValidationRecord, Action::Create, None, Some(Desired::Record(r))));
            }
            Some(want) => {
                // Two certificates can ask for the same record; it is written once.
                if validation_names.insert(want.name.clone()) {
                    let live = self.record(&want.zone, &want.name, &[Cname]);
                    self.note(Part::ValidationRecord, live);
                    self.converge(Part::ValidationRecord, live, Desired::Record(want), out);
                }
            }
        }

        // Distribution.
        let comment = template::distribution_comment(d);
        let dist = self.distribution(Some(&comment));
        self.note(Part::Distribution, dist);
        let arn = cert.filter(|_| cert_settled).map(|c| c.id.as_str());
        let dist_desired = Desired::Distribution(template::distribution(d, arn));
        if dist.is_none() {
            if let Some(foreign) = self
                .inv
                .distributions
                .iter()
                .find(|l| matches!(&l.desired, Desired::Distribution(x) if x.aliases.contains(&d.tracking_domain)))
            {
                errors.push(PlanError::ForeignDistribution {
                    address: Part::Distribution.address(self.key),
                    id: foreign.id.clone(),
                    alias: d.tracking_domain.clone(),
                });
                return None;
            }
        }
        self.converge(Part::Distribution, dist, dist_desired, out);
        Some(dist.and_then(|l| l.outputs.domain_name.clone()))
    }

    /// Cloudflare as the CDN: the edge certificate (Universal SSL, checked, or an advanced pack
    /// when the spec allows one) and the per-host SSL rule. `false` when planning must stop.
    fn plan_cloudflare_edge(&self, d: &Domain, out: &mut Vec<Change>, errors: &mut Vec<PlanError>) -> bool {
        let edge = template::edge_certificate(d);
        let covering = |l: &&Live| matches!(&l.desired, Desired::EdgeCertificate(e) if e.zone == edge.zone && e.source == edge.source && e.hosts.is_superset(&edge.hosts));
        match edge.source {
            EdgeCertificateSource::Universal => match self
                .inv
                .edge_certificates
                .iter()
                .filter(|l| covering(l))
                .max_by_key(|l| serving(l.outputs.status.as_deref()))
            {
                None => {
                    errors.push(PlanError::NoUniversalSsl { key: self.key.to_owned(), zone: d.zone.clone() });
                    return false;
                }
                // Proxying the record before Cloudflare serves a certificate for it breaks HTTPS.
                Some(l) if !serving(l.outputs.status.as_deref()) => {
                    let status = l.outputs.status.clone().unwrap_or_else(|| "unknown".into());
                    errors.push(PlanError::UniversalNotActive {
                        key: self.key.to_owned(),
                        zone: d.zone.clone(),
                        status,
                    });
                    return false;
                }
                Some(_) => {}
            },
            EdgeCertificateSource::Advanced if !d.advanced_certificate => {
                errors.push(PlanError::DeepName {
                    key: self.key.to_owned(),
                    host: d.tracking_domain.clone(),
                    zone: d.zone.clone(),
                });
                return false;
            }
            EdgeCertificateSource::Advanced => {
                let mine = self.res(Part::EdgeCertificate).and_then(|r| r.id.as_ref());
                // A pack that failed validation or issuance never serves: order a new one.
                let usable = |l: &Live| !l.outputs.status.as_deref().is_some_and(sslprov_cloudflare::pack_failed);
                let live = self
                    .inv
                    .edge_certificates
                    .iter()
                    .find(|l| covering(l) && usable(l) && mine.is_none_or(|id| &l.id == id));
                self.note(Part::EdgeCertificate, live);
                if live.is_none() {
                    out.push(self.change(
                        Part::EdgeCertificate,
                        Action::Create,
                        None,
                        Some(Desired::EdgeCertificate(edge)),
                    ));
                }
            }
        }
        let want = Desired::ConfigRule(template::config_rule(d));
        let live =
            self.inv.config_rules.iter().find(
                |l| matches!(&l.desired, Desired::ConfigRule(r) if r.zone == d.zone && r.host == d.tracking_domain),
            );
        self.note(Part::ConfigRule, live);
        self.converge(Part::ConfigRule, live, want, out);
        true
    }

    /// The tracking record, last: it moves onto the CDN only once the CDN is ready.
    fn plan_tracking_record(&self, d: &Domain, target: Option<&str>, out: &mut Vec<Change>) {
        use sslprov_provider::RecordType::*;
        let want = Desired::Record(template::tracking_record(d, target));
        let live = self.record(&d.zone, &d.tracking_domain, &[Cname, A, Aaaa]);
        if live.is_some_and(|l| l.desired == want) {
            self.note(Part::TrackingRecord, live);
        }
        // Ours: made, adopted, or being made by a run that stopped (then it is not adopted).
        let ours =
            self.res(Part::TrackingRecord).is_some_and(|r| r.id.is_some() || r.adopted.is_some() || r.intent.is_some());
        match live {
            None => out.push(self.change(Part::TrackingRecord, Action::Create, None, Some(want))),
            Some(l) if !ours => {
                let mut c = self.change(Part::TrackingRecord, Action::Update, Some(l), Some(want));
                c.adopt = true;
                c.reason =
                    Some("adopts the existing record; it is switched to the CDN last, once the CDN is deployed".into());
                out.push(c);
            }
            Some(l) if l.desired != want => {
                let mut c = self.change(Part::TrackingRecord, Action::Update, Some(l), Some(want.clone()));
                c.reason = self.drift_reason(Part::TrackingRecord, &want);
                out.push(c);
            }
            Some(_) => {}
        }
    }

    /// Create what is missing, update what differs (saying so when it is drift), leave the rest.
    fn converge(&self, part: Part, live: Option<&Live>, want: Desired, out: &mut Vec<Change>) {
        match live {
            None => out.push(self.change(part, Action::Create, None, Some(want))),
            Some(l) if l.desired != want => {
                let mut c = self.change(part, Action::Update, Some(l), Some(want.clone()));
                c.reason = self.drift_reason(part, &want);
                // A validation record that was there before sslprov (another certificate of the
                // name asked for the same one) stays someone else's: destroy leaves it.
                if part == Part::ValidationRecord && self.res(part).is_none() {
                    c.adopt = true;
                    c.reason = Some("adopts the existing validation record; destroy leaves it in place".into());
                }
                out.push(c);
            }
            Some(_) => {}
        }
    }

    /// Drift: sslprov still wants what it last applied, yet the object differs.
    fn drift_reason(&self, part: Part, want: &Desired) -> Option<String> {
        let applied = self.res(part)?.desired.as_ref()?;
        (applied == want).then(|| "changed outside sslprov".to_owned())
    }

    fn plan_destroy(&self, restore_adopted: bool, out: &mut Vec<Change>) {
        // The tracking record goes first so it never points at a deleted distribution (whose
        // hostname someone else could then claim); the certificate goes before its record.
        for part in [
            Part::TrackingRecord,
            Part::Distribution,
            Part::ConfigRule,
            Part::EdgeCertificate,
            Part::Certificate,
            Part::ValidationRecord,
        ] {
            if part == Part::Certificate {
                self.plan_deposed(out);
            }
            let Some(r) = self.res(part) else { continue };
            // By id, or, for a create a run stopped in, by what the intent recorded it would be.
            let by_id = |lives: &'a [Live]| r.id.as_ref().and_then(|id| lives.iter().find(|l| &l.id == id));
            let live = match (part, &r.desired) {
                (Part::Certificate, _) => self.certificate(),
                (Part::Distribution, Some(Desired::Distribution(d))) => self.distribution(Some(&d.comment)),
                (Part::Distribution, _) => self.distribution(None),
                (Part::EdgeCertificate, Some(Desired::EdgeCertificate(e))) => by_id(&self.inv.edge_certificates).or_else(|| {
                    self.inv.edge_certificates.iter().find(|l| {
                        matches!(&l.desired, Desired::EdgeCertificate(x) if x.zone == e.zone && x.source == e.source && x.hosts.is_superset(&e.hosts))
                    })
                }),
                (Part::ConfigRule, Some(Desired::ConfigRule(c))) => by_id(&self.inv.config_rules).or_else(|| {
                    self.inv.config_rules.iter().find(|l| matches!(&l.desired, Desired::ConfigRule(x) if x.zone == c.zone && x.host == c.host))
                }),
                (Part::EdgeCertificate, _) => by_id(&self.inv.edge_certificates),
                (Part::ConfigRule, _) => by_id(&self.inv.config_rules),
                (Part::ValidationRecord | Part::TrackingRecord, _) => match &r.desired {
                    Some(Desired::Record(rec)) => self.record(&rec.zone, &rec.name, &[rec.rtype]),
                    _ => None,
                },
            };
            self.note(part, live);
            let Some(live) = live else {
                // Gone already (or never made): only the state entry is left to drop.
                out.push(self.change(part, Action::Forget, None, None));
                continue;
            };
            let c = match (&r.adopted, part) {
                (Some(original), Part::TrackingRecord) if restore_adopted => {
                    let mut c = self.change(part, Action::Update, Some(live), Some(original.clone()));
                    c.reason = Some("puts back the record sslprov found, as --restore-adopted asks".into());
                    c
                }
                // A validation record that was there before sslprov is someone else's to remove.
                (Some(_), Part::ValidationRecord) => {
                    let mut c = self.change(part, Action::Forget, Some(live), None);
                    c.reason = Some("existed before sslprov; left in place".into());
                    c
                }
                _ => self.change(part, Action::Delete, Some(live), None),
            };
            out.push(c);
        }
    }
}

/// Certificate pack statuses in which Cloudflare serves the certificate.
fn serving(status: Option<&str>) -> bool {
    matches!(status, Some("active" | "pending_expiration"))
}

/// The tracking domain the state says domain `key` was made for.
fn recorded_name(state: &State, key: &str) -> Option<String> {
    match state.resources.get(&Part::TrackingRecord.address(key)).and_then(|r| r.desired.as_ref()) {
        Some(Desired::Record(r)) => Some(r.name.clone()),
        _ => None,
    }
}

pub fn provider_of(part: Part, d: &Domain) -> &'static str {
    match part {
        Part::Certificate => "acm",
        Part::Distribution => "cloudfront",
        Part::EdgeCertificate | Part::ConfigRule => "cloudflare",
        Part::ValidationRecord | Part::TrackingRecord => d.dns.name(),
    }
}
