//! ACM certificates for CloudFront: DNS-validated, RSA 2048, always in us-east-1.
//!
//! Crash safety: every request carries the engine's idempotency token twice, as ACM's
//! `IdempotencyToken` (a retry within an hour returns the same ARN) and as the tag
//! `sslprov:token`, which [`Provider::list`] reports as [`Outputs::token`] so a certificate whose
//! create response was lost is found again after the hour has passed.
//!
//! [`Outputs::token`]: sslprov_provider::Outputs::token

mod error;
mod normalise;

use std::time::Duration;

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_acm::config::Region;
use aws_sdk_acm::types::{
    CertificateDetail, CertificateStatus, CertificateSummary, KeyAlgorithm, Tag, ValidationMethod,
};
use sslprov_provider::connect::aws;
use sslprov_provider::{
    Budget, Deletion, Desired, ErrorKind, IdempotencyToken, KindInfo, Live, Observed, Provider, ProviderError,
    ProviderInfo, Rate, Readiness, Registration, Result, Scope,
};

use crate::error::from_sdk;
pub use crate::normalise::CertificateSpec;

const NAME: &str = "acm";
/// The kind this provider holds.
pub const KIND: &str = "certificate";

pub static INFO: ProviderInfo = ProviderInfo {
    name: NAME,
    title: "AWS Certificate Manager",
    kinds: &[KindInfo {
        name: KIND,
        // A certificate's names never change after it is requested.
        replace_on: &["*"],
        // Only certificates carrying sslprov's token tag are ever taken for the spec's.
        adoptable: false,
        becomes_ready: true,
        repair_in_place: false,
    }],
    // ACM throttles per operation (ACM user guide, "Quotas", API rate quotas, requests per
    // second): the budget of each is its quota, with no burst beyond it.
    budget: Rate::per_second(5, 5),
    op_budgets: &[
        ("ListCertificates", Rate::per_second(1, 1)),
        ("DescribeCertificate", Rate::per_second(10, 10)),
        ("ListTagsForCertificate", Rate::per_second(10, 10)),
        ("RequestCertificate", Rate::per_second(5, 5)),
        ("DeleteCertificate", Rate::per_second(10, 10)),
    ],
    batches_writes: false,
};

pub static REGISTRATION: Registration = Registration {
    info: &INFO,
    connect: |cx| {
        Box::pin(async move {
            let (sdk, budget) = aws::service(&cx, &INFO, "ACM", "https://acm.us-east-1.amazonaws.com").await?;
            Ok(Arc::new(Acm::new(&sdk, budget)) as Arc<dyn Provider>)
        })
    },
};
/// The tag that records which idempotency token requested a certificate.
pub const TOKEN_TAG: &str = "sslprov:token";

/// Every status but the transient ones, so that a failed or expired certificate for a name is
/// reported rather than silently requested again next to it.
const STATUSES: [CertificateStatus; 7] = [
    CertificateStatus::PendingValidation,
    CertificateStatus::Issued,
    CertificateStatus::Inactive,
    CertificateStatus::Expired,
    CertificateStatus::ValidationTimedOut,
    CertificateStatus::Revoked,
    CertificateStatus::Failed,
];

/// ACM attaches the validation records a few seconds after RequestCertificate returns. `create`
/// describes up to this many times, this far apart, and then returns the certificate without
/// records; the next `list` describes it again, since it is not yet issued.
const RECORD_ATTEMPTS: u32 = 5;
const RECORD_DELAY: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct Acm {
    client: aws_sdk_acm::Client,
    budget: Budget,
}

impl Acm {
    /// The region of `sdk` is ignored: CloudFront only accepts certificates from us-east-1.
    pub fn new(sdk: &aws_config::SdkConfig, budget: Budget) -> Self {
        let conf = aws_sdk_acm::config::Builder::from(sdk).region(Region::new("us-east-1")).build();
        Acm { client: aws_sdk_acm::Client::from_conf(conf), budget }
    }

    /// Every certificate's list entry, page by page. A hand loop rather than the SDK paginator:
    /// the budget must be acquired before each page is requested, and the paginator's stream
    /// requests pages out of our sight.
    async fn summaries(&self) -> Result<Vec<CertificateSummary>> {
        let mut all = Vec::new();
        let mut next_token = None;
        loop {
            self.budget.acquire(NAME, "ListCertificates").await;
            let page = self
                .client
                .list_certificates()
                .set_certificate_statuses(Some(STATUSES.to_vec()))
                .max_items(1000)
                .set_next_token(next_token)
                .send()
                .await
                .map_err(|e| from_sdk("ListCertificates", e))?;
            next_token = page.next_token.clone().filter(|t| !t.is_empty());
            all.extend(page.certificate_summary_list.unwrap_or_default());
            if next_token.is_none() {
                return Ok(all);
            }
        }
    }

    async fn describe(&self, arn: &str) -> Result<CertificateDetail> {
        self.budget.acquire(NAME, "DescribeCertificate").await;
        let out = self
            .client
            .describe_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .map_err(|e| from_sdk("DescribeCertificate", e))?;
        out.certificate.ok_or_else(|| {
            ProviderError::new(ErrorKind::Unexpected, NAME, "DescribeCertificate", "no certificate in the answer")
        })
    }

    /// Description of one certificate, and its tags when `tags` (only a certificate the engine
    /// does not know needs its token tag read); `None` if it vanished since it was listed.
    async fn observe(&self, arn: &str, tags: bool) -> Result<Option<Live>> {
        let detail = match self.describe(arn).await {
            Err(e) if e.is(ErrorKind::NotFound) => return Ok(None),
            other => other?,
        };
        if !tags {
            return Ok(normalise::described(&detail, &[]));
        }
        self.budget.acquire(NAME, "ListTagsForCertificate").await;
        let tags = self
            .client
            .list_tags_for_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .map_err(|e| from_sdk("ListTagsForCertificate", e))?;
        Ok(normalise::described(&detail, tags.tags()))
    }
}

fn incomplete(op: &'static str, arn: &str) -> ProviderError {
    ProviderError::new(ErrorKind::Unexpected, NAME, op, format!("ACM described {arn} without its ARN or domain name"))
}

fn certificate(desired: &Desired, op: &'static str) -> Result<CertificateSpec> {
    if desired.kind != KIND {
        let message = format!("acm holds certificates, not a {}", desired.kind);
        return Err(ProviderError::new(ErrorKind::InvalidRequest, NAME, op, message));
    }
    Ok(desired.parse::<CertificateSpec>(NAME, op)?.normalised())
}

#[async_trait]
impl Provider for Acm {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    fn normalise(&self, desired: &Desired) -> Result<Desired> {
        Ok(Desired::of(KIND, &certificate(desired, "normalise")?))
    }

    fn key(&self, desired: &Desired) -> Option<String> {
        desired.str("domain_name").map(normalise::name)
    }

    /// One ListCertificates sweep, then DescribeCertificate for each certificate of a wanted name
    /// (every name when a wanted one is not known yet) except the issued ones the engine knows
    /// (their names cannot have changed), and ListTagsForCertificate only for those the engine
    /// does not know. A no-change plan is the list's pages and nothing else.
    async fn list(&self, scope: &Scope) -> Result<Vec<Live>> {
        let names = scope.field("domain_name").map(|n| n.iter().map(|d| normalise::name(d)).collect::<Vec<_>>());
        let mut found = Vec::new();
        let mut to_observe = Vec::new();
        for summary in self.summaries().await? {
            let (Some(arn), Some(domain)) = (summary.certificate_arn(), summary.domain_name()) else { continue };
            if names.as_ref().is_some_and(|n| !n.contains(&normalise::name(domain))) {
                continue;
            }
            match normalise::settled(&summary, &scope.known) {
                Some(live) => found.push(live),
                None => to_observe.push(arn.to_owned()),
            }
        }
        // Concurrently: the budget sets the pace, not one round trip after another.
        let observed = futures::future::try_join_all(
            to_observe.iter().map(|arn| self.observe(arn, !scope.known.contains_key(arn))),
        )
        .await?;
        found.extend(observed.into_iter().flatten());
        Ok(found)
    }

    /// RequestCertificate with the token, then DescribeCertificate until the validation records
    /// are there (bounded: [`RECORD_ATTEMPTS`]). The same token within an hour returns the
    /// certificate it first made, whatever names are sent; the returned `Live` shows the names
    /// that certificate really has.
    async fn create(&self, desired: &Desired, token: &IdempotencyToken) -> Result<Live> {
        let spec = certificate(desired, "RequestCertificate")?;
        let tag =
            Tag::builder().key(TOKEN_TAG).value(token.as_str()).build().map_err(|e| {
                ProviderError::new(ErrorKind::InvalidRequest, NAME, "RequestCertificate", e.to_string())
            })?;
        let sans = (!spec.subject_alternative_names.is_empty())
            .then(|| spec.subject_alternative_names.iter().cloned().collect());
        self.budget.acquire(NAME, "RequestCertificate").await;
        let out = self
            .client
            .request_certificate()
            .domain_name(&spec.domain_name)
            .set_subject_alternative_names(sans)
            .validation_method(ValidationMethod::Dns)
            .idempotency_token(token.as_str())
            .tags(tag)
            .key_algorithm(KeyAlgorithm::Rsa2048)
            .send()
            .await
            .map_err(|e| from_sdk("RequestCertificate", e))?;
        let arn = out.certificate_arn().ok_or_else(|| {
            ProviderError::new(ErrorKind::Unexpected, NAME, "RequestCertificate", "no certificate ARN in the answer")
        })?;
        let mut attempt = 1;
        loop {
            let detail = self.describe(arn).await?;
            let mut live = normalise::described(&detail, &[]).ok_or_else(|| incomplete("DescribeCertificate", arn))?;
            live.outputs.set("token", token.as_str());
            live.marked = true;
            if live.outputs.get("validation_records").is_some() || attempt == RECORD_ATTEMPTS {
                return Ok(live);
            }
            tracing::debug!(arn, attempt, "validation records not yet attached");
            attempt += 1;
            tokio::time::sleep(RECORD_DELAY).await;
        }
    }

    async fn update(&self, _live: &Live, _desired: &Desired) -> Result<Live> {
        Err(ProviderError::new(
            ErrorKind::Unsupported,
            NAME,
            "update",
            "a certificate's names cannot change; the engine replaces it",
        ))
    }

    /// The list's pages alone answer every wait (its entries carry the status): one
    /// ListCertificates for a hundred pending certificates. Only a certificate that failed is
    /// described, for the reason.
    async fn readiness(&self, lives: &[Live]) -> Result<Vec<Observed>> {
        let statuses: std::collections::HashMap<String, CertificateStatus> = self
            .summaries()
            .await?
            .into_iter()
            .filter_map(|s| Some((s.certificate_arn()?.to_owned(), s.status()?.clone())))
            .collect();
        let mut out = Vec::with_capacity(lives.len());
        for live in lives {
            let Some(status) = statuses.get(&live.id) else {
                out.push(Observed::gone());
                continue;
            };
            let readiness = match status {
                CertificateStatus::Issued => Readiness::Ready,
                CertificateStatus::PendingValidation => {
                    Readiness::Pending { detail: "PENDING_VALIDATION: waiting for the DNS validation record".into() }
                }
                _ => normalise::readiness(&self.describe(&live.id).await?),
            };
            out.push(Observed::new(readiness, status.as_str()));
        }
        Ok(out)
    }

    async fn delete(&self, live: &Live) -> Result<Deletion> {
        self.budget.acquire(NAME, "DeleteCertificate").await;
        match self.client.delete_certificate().certificate_arn(&live.id).send().await {
            Ok(_) => Ok(Deletion::Done),
            Err(e) => match from_sdk("DeleteCertificate", e) {
                e if e.is(ErrorKind::NotFound) => Ok(Deletion::Done),
                e => Err(e),
            },
        }
    }
}
