//! CloudFront distributions in front of an ESP's click-tracking origin.
//!
//! One distribution per tracking domain (or set of domains sharing a certificate): one custom
//! origin, the default cache behaviour in the legacy `ForwardedValues` form, an ACM certificate.
//! `CallerReference` is the engine's idempotency token, so a create whose answer was lost is
//! found again instead of duplicated.

mod config;
mod error;
mod spec;
#[cfg(test)]
mod specs;

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::types::{Distribution, DistributionConfig};
use sslprov_provider::connect::aws;
use sslprov_provider::{
    Budget, Deletion, Desired, ErrorKind, IdempotencyToken, KindInfo, Live, Observed, Outputs, Provider, ProviderError,
    ProviderInfo, Rate, Readiness, Registration, Result, Review, Scope, Wanted,
};

pub use config::{ORIGIN_ID, View, overlay, project, to_config};
pub use spec::{BehaviorSpec, DistributionSpec, Forward, OriginSpec};

pub(crate) const NAME: &str = "cloudfront";
/// The kind this provider holds.
pub const KIND: &str = "distribution";
/// How sslprov's comments start: the mark of a distribution sslprov made.
const MARK: &str = "sslprov:";

pub static INFO: ProviderInfo = ProviderInfo {
    name: NAME,
    title: "Amazon CloudFront",
    kinds: &[KindInfo {
        name: KIND,
        replace_on: &[],
        // A distribution serving the tracking domain that sslprov did not make is someone
        // else's: the plan stops (see `review`) rather than take it over.
        adoptable: false,
        becomes_ready: true,
        repair_in_place: false,
    }],
    // CloudFront's control plane: conservative, shared by reads and writes.
    budget: Rate::per_second(5, 5),
    op_budgets: &[],
    batches_writes: false,
};

pub static REGISTRATION: Registration = Registration {
    info: &INFO,
    connect: |cx| {
        Box::pin(async move {
            let (sdk, budget) = aws::service(&cx, &INFO, "CloudFront", "https://cloudfront.amazonaws.com").await?;
            Ok(Arc::new(CloudFront::new(&sdk, budget)) as Arc<dyn Provider>)
        })
    },
};
const DEPLOYED: &str = "Deployed";
/// Page size of ListDistributions (CloudFront's maximum).
const PAGE_SIZE: i32 = 100;
/// Writes one update may spend on losing ETag races before it reports the conflict.
const MAX_WRITES: u32 = 3;

#[derive(Clone, Debug)]
pub struct CloudFront {
    client: Client,
    budget: Budget,
}

impl CloudFront {
    /// A provider on `sdk`'s credentials, endpoint and retry settings (CloudFront is global; the
    /// region only signs).
    pub fn new(sdk: &aws_config::SdkConfig, budget: Budget) -> Self {
        CloudFront { client: Client::new(sdk), budget }
    }

    async fn distribution(&self, id: &str) -> Result<(Distribution, String)> {
        const OP: &str = "GetDistribution";
        self.budget.acquire(NAME, OP).await;
        let out = self.client.get_distribution().id(id).send().await.map_err(|e| error::from_sdk(OP, e))?;
        let etag = out.e_tag().ok_or_else(|| unexpected(OP, "answer without an ETag"))?.to_owned();
        let d = out.distribution.ok_or_else(|| unexpected(OP, "answer without a distribution"))?;
        Ok((d, etag))
    }

    async fn config(&self, id: &str) -> Result<(DistributionConfig, String)> {
        const OP: &str = "GetDistributionConfig";
        self.budget.acquire(NAME, OP).await;
        let out = self.client.get_distribution_config().id(id).send().await.map_err(|e| error::from_sdk(OP, e))?;
        let etag = out.e_tag().ok_or_else(|| unexpected(OP, "answer without an ETag"))?.to_owned();
        let config = out.distribution_config.ok_or_else(|| unexpected(OP, "answer without a config"))?;
        Ok((config, etag))
    }

    async fn write(&self, id: &str, config: DistributionConfig, etag: &str) -> Result<Live> {
        const OP: &str = "UpdateDistribution";
        self.budget.acquire(NAME, OP).await;
        let out = self
            .client
            .update_distribution()
            .id(id)
            .if_match(etag)
            .distribution_config(config)
            .send()
            .await
            .map_err(|e| error::from_sdk(OP, e))?;
        live_of(OP, out.distribution())
    }

    /// Reads the distribution and disables it if it is enabled; `None` when it was enabled and is
    /// now being taken out of service. GetDistribution rather than GetDistributionConfig: it
    /// carries the config, the ETag and the status, so each delete step needs one read.
    async fn disabled(&self, id: &str) -> Result<Option<(Distribution, String)>> {
        let (d, etag) = self.distribution(id).await?;
        match d.distribution_config {
            Some(mut config) if config.enabled => {
                config.enabled = false;
                self.write(id, config, &etag).await?;
                Ok(None)
            }
            _ => Ok(Some((d, etag))),
        }
    }

    async fn delete_step(&self, id: &str) -> Result<Deletion> {
        const OP: &str = "DeleteDistribution";
        let Some((d, etag)) = self.disabled(id).await? else { return Ok(Deletion::InProgress) };
        if d.status != DEPLOYED {
            return Ok(Deletion::InProgress);
        }
        self.budget.acquire(NAME, OP).await;
        match self.client.delete_distribution().id(id).if_match(etag).send().await {
            Ok(_) => Ok(Deletion::Done),
            Err(e) => {
                let err = error::from_sdk(OP, e);
                if !error::has_code(&err, "DistributionNotDisabled") {
                    return Err(err);
                }
                // Enabled again since we read it, or CloudFront has not settled the disable yet.
                self.disabled(id).await?;
                Ok(Deletion::InProgress)
            }
        }
    }
}

#[async_trait]
impl Provider for CloudFront {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    fn normalise(&self, desired: &Desired) -> Result<Desired> {
        let spec = spec_of("normalise", desired)?;
        let config = to_config(&spec, "normalise").map_err(|e| error::from_build("normalise", e))?;
        Ok(Desired::of(KIND, &project(&config)))
    }

    fn key(&self, desired: &Desired) -> Option<String> {
        desired.str("comment").map(str::to_owned)
    }

    /// A distribution to create must not find its alias taken: CloudFront would refuse it
    /// (CNAMEAlreadyExists), and sslprov does not take over distributions it did not make.
    fn review(&self, wanted: &[Wanted<'_>], inventory: &[Live]) -> Review {
        let mut review = Review::default();
        for w in wanted.iter().filter(|w| w.live.is_none()) {
            let aliases = aliases_of(w.desired);
            let taken = inventory.iter().find(|l| !aliases_of(&l.desired).is_disjoint(&aliases));
            if let Some(foreign) = taken {
                let alias = aliases.iter().next().cloned().unwrap_or_default();
                review.errors.push(format!(
                    "{}: CloudFront distribution {} already serves {alias} and was not created by sslprov. \
                     Remove {alias} from its alternate domain names (or delete it), then plan again; sslprov does not \
                     take over distributions it did not make.",
                    w.address, foreign.id
                ));
            }
        }
        review
    }

    async fn list(&self, scope: &Scope) -> Result<Vec<Live>> {
        const OP: &str = "ListDistributions";
        if scope.kind != KIND {
            return Err(unsupported(OP, &scope.kind));
        }
        let names: BTreeSet<String> = scope.wanted.iter().flat_map(aliases_of).collect();
        let mut pages = self.client.list_distributions().max_items(PAGE_SIZE).into_paginator().send();
        let mut found = Vec::new();
        self.budget.acquire(NAME, OP).await;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| error::from_sdk(OP, e))?;
            let Some(list) = page.distribution_list() else { break };
            for s in list.items() {
                let spec = project(s);
                if names.is_empty() || !spec.aliases.is_disjoint(&names) || scope.known.contains_key(s.id()) {
                    found.push(live(s.id(), s.arn(), s.domain_name(), s.status(), spec));
                }
            }
            // The paginator asks for another page exactly when there is a marker.
            if list.next_marker().is_some_and(|m| !m.is_empty()) {
                self.budget.acquire(NAME, OP).await;
            }
        }
        Ok(found)
    }

    async fn create(&self, desired: &Desired, token: &IdempotencyToken) -> Result<Live> {
        const OP: &str = "CreateDistribution";
        let spec = spec_of(OP, desired)?;
        let config = to_config(&spec, token.as_str()).map_err(|e| error::from_build(OP, e))?;
        self.budget.acquire(NAME, OP).await;
        let err = match self.client.create_distribution().distribution_config(config).send().await {
            Ok(out) => return live_of(OP, out.distribution()),
            Err(e) => error::from_sdk(OP, e),
        };
        if error::has_code(&err, "DistributionAlreadyExists") {
            // This CallerReference was used before, by an earlier attempt whose answer was lost
            // (AWS says so when the config differs, moto even when it is the same). That earlier
            // distribution serves our aliases under our comment; anything else is not ours.
            let scope = Scope { wanted: vec![desired.clone()], ..Scope::new(KIND) };
            let ours = self.list(&scope).await?.into_iter().find(|l| l.desired.str("comment") == Some(&spec.comment));
            return ours.ok_or(err);
        }
        if error::has_code(&err, "CNAMEAlreadyExists") {
            let names = spec.aliases.iter().map(String::as_str).collect::<Vec<_>>().join(" or ");
            // Conflict, not AlreadyExists: our distribution does not exist; another one holds the name.
            let message = format!("another distribution already serves {names}");
            return Err(ProviderError { kind: ErrorKind::Conflict, message, ..err });
        }
        Err(err)
    }

    async fn update(&self, live: &Live, desired: &Desired) -> Result<Live> {
        const OP: &str = "UpdateDistribution";
        let spec = spec_of(OP, desired)?;
        let mut writes = 1;
        loop {
            let (current, etag) = self.config(&live.id).await?;
            let config = overlay(current, &spec).map_err(|e| error::from_build(OP, e))?;
            match self.write(&live.id, config, &etag).await {
                // The ETag changed between our read and our write: someone else wrote the
                // distribution. Re-read so that their unowned changes survive ours.
                Err(e) if e.is(ErrorKind::PreconditionFailed) && writes < MAX_WRITES => {
                    tracing::debug!(id = %live.id, writes, "distribution changed under us; re-reading");
                    writes += 1;
                }
                r => return r,
            }
        }
    }

    async fn delete(&self, live: &Live) -> Result<Deletion> {
        match self.delete_step(&live.id).await {
            Err(e) if error::has_code(&e, "NoSuchDistribution") => Ok(Deletion::Done),
            r => r,
        }
    }

    /// One GetDistribution for a single wait (it carries the status), one ListDistributions
    /// sweep for several.
    async fn readiness(&self, lives: &[Live]) -> Result<Vec<Observed>> {
        if let [one] = lives {
            return match self.distribution(&one.id).await {
                Ok((d, _)) => Ok(vec![Observed::new(readiness(&d.status), &d.status)]),
                Err(e) if error::has_code(&e, "NoSuchDistribution") => Ok(vec![Observed::gone()]),
                Err(e) => Err(e),
            };
        }
        let found = self.list(&Scope::of(lives)).await?;
        Ok(lives
            .iter()
            .map(|l| {
                found.iter().find(|f| f.id == l.id).map_or_else(Observed::gone, |f| Observed {
                    readiness: f.readiness.clone(),
                    outputs: f.outputs.clone(),
                })
            })
            .collect())
    }
}

fn readiness(status: &str) -> Readiness {
    if status == DEPLOYED {
        Readiness::Ready
    } else {
        Readiness::Pending { detail: format!("{status}: CloudFront is deploying to edge locations") }
    }
}

fn aliases_of(d: &Desired) -> BTreeSet<String> {
    d.get("aliases").and_then(|a| serde_json::from_value(a.clone()).ok()).unwrap_or_default()
}

fn live(id: &str, arn: &str, domain_name: &str, status: &str, spec: DistributionSpec) -> Live {
    Live {
        id: id.to_owned(),
        marked: spec.comment.starts_with(MARK),
        desired: Desired::of(KIND, &spec),
        outputs: Outputs::default()
            .with("arn", arn)
            .with("domain_name", config::dns_name(domain_name))
            .with("status", status),
        readiness: readiness(status),
    }
}

fn live_of(op: &'static str, d: Option<&Distribution>) -> Result<Live> {
    let d = d.ok_or_else(|| unexpected(op, "answer without a distribution"))?;
    let config = d.distribution_config().ok_or_else(|| unexpected(op, "answer without a config"))?;
    Ok(live(d.id(), d.arn(), d.domain_name(), d.status(), project(config)))
}

fn spec_of(op: &'static str, desired: &Desired) -> Result<DistributionSpec> {
    if desired.kind != KIND {
        return Err(unsupported(op, &desired.kind));
    }
    desired.parse(NAME, op)
}

fn unsupported(op: &'static str, kind: &str) -> ProviderError {
    ProviderError::new(ErrorKind::Unsupported, NAME, op, format!("cloudfront manages distributions, not {kind}s"))
}

fn unexpected(op: &'static str, message: &str) -> ProviderError {
    ProviderError::new(ErrorKind::Unexpected, NAME, op, message)
}
