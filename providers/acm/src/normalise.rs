//! ACM's certificate shapes projected onto [`CertificateSpec`], normalised so that a certificate
//! created from a spec lists as exactly that spec.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_acm::types::{CertificateDetail, CertificateStatus, CertificateSummary, Tag};
use serde::{Deserialize, Serialize};
use sslprov_provider::{Desired, Live, Outputs, Readiness, RecordSpec, RecordType};

use crate::{KIND, TOKEN_TAG};

/// A DNS-validated certificate for CloudFront (in us-east-1). Kind `certificate`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateSpec {
    pub domain_name: String,
    /// Names beyond `domain_name`.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub subject_alternative_names: BTreeSet<String>,
}

impl CertificateSpec {
    /// As ACM lists it: lower case, no trailing dots, the domain name not repeated in the SANs.
    pub fn normalised(&self) -> CertificateSpec {
        let domain_name = name(&self.domain_name);
        let subject_alternative_names = extra_names(&domain_name, &self.subject_alternative_names);
        CertificateSpec { domain_name, subject_alternative_names }
    }
}

fn certificate(arn: &str, spec: &CertificateSpec, outputs: Outputs, readiness: Readiness) -> Live {
    let marked = outputs.token().is_some();
    Live { id: arn.to_owned(), desired: Desired::of(KIND, spec), outputs, readiness, marked }
}

/// The TTL sslprov gives validation records; ACM does not say, and any value works.
const VALIDATION_TTL: u32 = 300;

/// Lower case, no trailing dot.
pub(crate) fn name(s: &str) -> String {
    s.trim_end_matches('.').to_ascii_lowercase()
}

/// The SANs sslprov owns: every name on the certificate except its domain name, which ACM
/// always repeats in the list.
fn extra_names<'a>(domain: &str, names: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
    names.into_iter().map(|n| name(n)).filter(|n| n != domain).collect()
}

/// A certificate from a full description and its tags.
pub(crate) fn described(detail: &CertificateDetail, tags: &[Tag]) -> Option<Live> {
    let arn = detail.certificate_arn()?;
    let domain_name = name(detail.domain_name()?);
    let subject_alternative_names = extra_names(&domain_name, detail.subject_alternative_names());
    let outputs = Outputs::default()
        .with("arn", arn)
        .with("status", detail.status().map(CertificateStatus::as_str))
        .with("validation_records", validation_records(detail))
        .with("token", tags.iter().find(|t| t.key() == TOKEN_TAG).and_then(|t| t.value()));
    let spec = CertificateSpec { domain_name, subject_alternative_names };
    Some(certificate(arn, &spec, outputs, readiness(detail)))
}

/// The validation CNAMEs, one per distinct record (a name and its wildcard share one). `None`
/// until ACM has produced a record for every name, so that a partial set never looks complete.
fn validation_records(detail: &CertificateDetail) -> Option<Vec<RecordSpec>> {
    let records = detail
        .domain_validation_options()
        .iter()
        .map(|v| v.resource_record().map(|r| (name(r.name()), name(r.value()))))
        .collect::<Option<BTreeSet<_>>>()?;
    if records.is_empty() {
        return None;
    }
    Some(
        records
            .into_iter()
            .map(|(name, value)| RecordSpec {
                // The engine knows which of its zones holds the name; ACM does not.
                zone: String::new(),
                name,
                rtype: RecordType::Cname,
                ttl: VALIDATION_TTL,
                values: vec![value],
                proxied: None,
            })
            .collect(),
    )
}

/// A certificate from its list entry alone, when the engine already knows it and it is issued:
/// nothing about it can change any more except by replacement. Its names come from the entry
/// when it lists them all, else from what the engine last applied (`known`): an ACM
/// certificate's names never change after it is requested. `None` when neither can tell (the
/// caller describes it).
pub(crate) fn settled(summary: &CertificateSummary, known: &BTreeMap<String, Option<Desired>>) -> Option<Live> {
    let arn = summary.certificate_arn()?;
    let applied = known.get(arn)?;
    if summary.status() != Some(&CertificateStatus::Issued) {
        return None;
    }
    let names = summary.subject_alternative_name_summaries();
    let listed = !names.is_empty() && summary.has_additional_subject_alternative_names() != Some(true);
    let spec = if listed {
        let domain_name = name(summary.domain_name()?);
        let subject_alternative_names = extra_names(&domain_name, names);
        CertificateSpec { domain_name, subject_alternative_names }
    } else {
        let spec: CertificateSpec =
            serde_json::from_value(serde_json::Value::Object(applied.as_ref()?.spec.clone())).ok()?;
        spec.normalised()
    };
    let outputs = Outputs::default().with("arn", arn).with("status", CertificateStatus::Issued.as_str());
    Some(certificate(arn, &spec, outputs, Readiness::Ready))
}

pub(crate) fn readiness(detail: &CertificateDetail) -> Readiness {
    match detail.status() {
        Some(CertificateStatus::Issued) => Readiness::Ready,
        Some(CertificateStatus::PendingValidation) => {
            Readiness::Pending { detail: "PENDING_VALIDATION: waiting for the DNS validation record".into() }
        }
        Some(
            s @ (CertificateStatus::Failed
            | CertificateStatus::ValidationTimedOut
            | CertificateStatus::Revoked
            | CertificateStatus::Expired
            | CertificateStatus::Inactive),
        ) => {
            let why = detail.failure_reason().map_or("no failure reason given", |r| r.as_str());
            Readiness::Failed { reason: format!("{}: {why}", s.as_str()) }
        }
        // A status added after this SDK was built: keep waiting; the engine's wait has a deadline.
        Some(other) => Readiness::Pending { detail: format!("{}: unknown certificate status", other.as_str()) },
        None => Readiness::Pending { detail: "ACM reported no status".into() },
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_acm::types::{DomainValidation, FailureReason, ResourceRecord};

    use super::*;

    fn validation(domain: &str, record: Option<&str>) -> DomainValidation {
        let mut b = DomainValidation::builder().domain_name(domain);
        if let Some(r) = record {
            b = b.resource_record(
                ResourceRecord::builder()
                    .name(format!("_abc.{r}."))
                    .r#type(aws_sdk_acm::types::RecordType::Cname)
                    .value("_XYZ.acm-validations.aws.")
                    .build()
                    .expect("complete"),
            );
        }
        b.build().expect("complete")
    }

    fn detail(status: CertificateStatus, validations: Vec<DomainValidation>) -> CertificateDetail {
        CertificateDetail::builder()
            .certificate_arn("arn:aws:acm:us-east-1:1:certificate/a")
            .domain_name("Click.Acme.com.")
            .subject_alternative_names("click.acme.com")
            .subject_alternative_names("*.click.acme.com")
            .subject_alternative_names("Links.acme.com")
            .status(status)
            .set_domain_validation_options(Some(validations))
            .build()
    }

    #[test]
    fn description_projects_to_the_spec_with_records_and_token() {
        let d = detail(
            CertificateStatus::PendingValidation,
            vec![
                validation("click.acme.com", Some("click.acme.com")),
                validation("*.click.acme.com", Some("click.acme.com")),
                validation("links.acme.com", Some("Links.acme.com")),
            ],
        );
        let tags = [
            Tag::builder().key("team").value("x").build().expect("key"),
            Tag::builder().key(TOKEN_TAG).value("tok_1").build().expect("key"),
        ];
        let live = described(&d, &tags).expect("complete");
        assert_eq!(
            live.desired,
            Desired::of(
                KIND,
                &CertificateSpec {
                    domain_name: "click.acme.com".into(),
                    subject_alternative_names: ["*.click.acme.com".to_owned(), "links.acme.com".to_owned()].into(),
                }
            )
        );
        assert_eq!(live.outputs.token(), Some("tok_1"));
        assert!(live.marked, "the token tag is sslprov's mark");
        assert_eq!(live.outputs.status(), Some("PENDING_VALIDATION"));
        assert!(matches!(live.readiness, Readiness::Pending { .. }));
        let records: Vec<RecordSpec> =
            serde_json::from_value(live.outputs.get("validation_records").expect("all names have records").clone())
                .unwrap();
        let names: Vec<_> = records.iter().map(|r| (r.name.as_str(), r.values[0].as_str())).collect();
        assert_eq!(
            names,
            [("_abc.click.acme.com", "_xyz.acm-validations.aws"), ("_abc.links.acme.com", "_xyz.acm-validations.aws")]
        );
        assert!(records.iter().all(|r| r.rtype == RecordType::Cname && r.ttl == 300 && r.zone.is_empty()));
    }

    #[test]
    fn records_are_none_until_every_name_has_one() {
        let d = detail(
            CertificateStatus::PendingValidation,
            vec![validation("click.acme.com", Some("click.acme.com")), validation("links.acme.com", None)],
        );
        assert_eq!(described(&d, &[]).expect("complete").outputs.get("validation_records"), None);
        assert_eq!(
            described(&detail(CertificateStatus::PendingValidation, vec![]), &[])
                .expect("x")
                .outputs
                .get("validation_records"),
            None
        );
    }

    #[test]
    fn settled_only_for_known_issued_certificates_with_complete_names() {
        let arn = "arn:aws:acm:us-east-1:1:certificate/a";
        let known: BTreeMap<String, Option<Desired>> = [(arn.to_owned(), None)].into();
        let summary = |status, names: &[&str], more| {
            CertificateSummary::builder()
                .certificate_arn(arn)
                .domain_name("click.acme.com")
                .set_subject_alternative_name_summaries(Some(names.iter().map(|s| s.to_string()).collect()))
                .has_additional_subject_alternative_names(more)
                .status(status)
                .build()
        };
        let live = settled(&summary(CertificateStatus::Issued, &["click.acme.com", "links.acme.com"], false), &known)
            .expect("settled");
        assert_eq!(
            live.desired,
            Desired::of(
                KIND,
                &CertificateSpec {
                    domain_name: "click.acme.com".into(),
                    subject_alternative_names: ["links.acme.com".to_owned()].into(),
                }
            )
        );
        assert_eq!((live.outputs.get("validation_records"), live.outputs.token()), (None, None));
        assert_eq!(live.readiness, Readiness::Ready);

        let names = ["click.acme.com"];
        assert!(settled(&summary(CertificateStatus::Issued, &names, false), &BTreeMap::new()).is_none(), "unknown id");
        assert!(settled(&summary(CertificateStatus::PendingValidation, &names, false), &known).is_none(), "pending");
        assert!(settled(&summary(CertificateStatus::Issued, &names, true), &known).is_none(), "truncated names");
        assert!(settled(&summary(CertificateStatus::Issued, &[], false), &known).is_none(), "no names listed");

        // A list that does not tell the names (moto's, or more than 100): what was applied does.
        let applied = Desired::of(
            KIND,
            &CertificateSpec {
                domain_name: "Click.acme.com".into(),
                subject_alternative_names: ["links.acme.com".to_owned()].into(),
            },
        );
        let known = [(arn.to_owned(), Some(applied))].into();
        let live = settled(&summary(CertificateStatus::Issued, &[], false), &known).expect("from the state");
        assert_eq!(live.desired.str("domain_name"), Some("click.acme.com"));
        assert_eq!(live.desired.get("subject_alternative_names"), Some(&serde_json::json!(["links.acme.com"])));
        assert!(settled(&summary(CertificateStatus::PendingValidation, &[], false), &known).is_none());
    }

    #[test]
    fn readiness_by_status() {
        assert_eq!(readiness(&detail(CertificateStatus::Issued, vec![])), Readiness::Ready);
        assert!(matches!(readiness(&detail(CertificateStatus::PendingValidation, vec![])), Readiness::Pending { .. }));
        let failed = CertificateDetail::builder()
            .status(CertificateStatus::Failed)
            .failure_reason(FailureReason::CaaError)
            .build();
        assert_eq!(readiness(&failed), Readiness::Failed { reason: "FAILED: CAA_ERROR".into() });
        let timed_out = CertificateDetail::builder().status(CertificateStatus::ValidationTimedOut).build();
        assert_eq!(
            readiness(&timed_out),
            Readiness::Failed { reason: "VALIDATION_TIMED_OUT: no failure reason given".into() }
        );
    }
}
