//! Fastly-managed certificates (TLS subscriptions), validated through the `managed-dns`
//! challenge: a CNAME `_acme-challenge.<domain>` → `<token>.fastly-validations.com` that can be
//! published before any traffic moves, and must stay for renewals.
//!
//! Subscriptions have no name or comment: each is found by its domain
//! (`filter[tls_domains.id]`), which is also how a create whose answer was lost finds its
//! subscription instead of ordering a second one. Answers are filtered by domain here too, since
//! Fastly ignores the filter without the JSON:API `Accept` header.
//!
//! The CNAME target the tracking domain must point at is read, never hard-coded: from the
//! subscription's TLS configuration (its `dns_records` CNAME in region `global`, one read per
//! configuration per run), else from the `managed-http-cname` challenge.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::try_join_all;
use serde::{Deserialize, Serialize};
use sslprov_provider::{ErrorKind, ProviderError, Result};

use crate::answers::{Document, Included, SubscriptionResource};
use crate::endpoints;
use crate::spec::SubscriptionSpec;
use crate::{Fastly, NAME};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriptionState {
    /// Waiting to be processed: the challenge is not (yet) seen.
    Pending,
    Processing,
    Issued,
    Renewing,
    /// Fastly gave up (7 days without validation); [`Fastly::retry_subscription`] restarts it.
    Failed,
}

impl SubscriptionState {
    fn parse(state: &str) -> Option<SubscriptionState> {
        Some(match state {
            "pending" => SubscriptionState::Pending,
            "processing" => SubscriptionState::Processing,
            "issued" => SubscriptionState::Issued,
            "renewing" => SubscriptionState::Renewing,
            "failed" => SubscriptionState::Failed,
            _ => return None,
        })
    }
}

/// A DNS record Fastly asks to be published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeRecord {
    /// `_acme-challenge.<domain>`, lower case, no trailing dot.
    pub name: String,
    /// `CNAME`.
    pub record_type: String,
    /// `<token>.fastly-validations.com`, lower case, no trailing dot.
    pub value: String,
}

/// A subscription as observed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedSubscription {
    pub id: String,
    /// The common name: the tracking domain.
    pub domain: String,
    pub domains: Vec<String>,
    pub certificate_authority: String,
    pub state: SubscriptionState,
    /// The `_acme-challenge` CNAME to publish for [`ObservedSubscription::domain`].
    pub challenge: Option<ChallengeRecord>,
    /// Where the tracking domain's CNAME must point to reach Fastly with this certificate.
    pub cname_target: Option<String>,
    /// A certificate was issued, so Fastly has enabled TLS on the domains.
    pub has_certificate: bool,
    /// What Fastly says is wrong, from the authorizations' warnings.
    pub warnings: Vec<String>,
}

fn normalised(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Fastly {
    /// The subscriptions that cover any of `domains`: one filtered list per domain, at once.
    pub async fn list_subscriptions(&self, domains: &BTreeSet<String>) -> Result<Vec<ObservedSubscription>> {
        let wanted: BTreeSet<String> = domains.iter().map(|d| normalised(d)).collect();
        let pages = try_join_all(wanted.iter().map(|d| self.subscriptions_for(d))).await?;
        let mut seen = BTreeMap::new();
        for (resource, included) in pages.into_iter().flatten() {
            let covers = resource.relationships.tls_domains.data.iter().any(|d| wanted.contains(&normalised(&d.id)));
            if covers {
                seen.entry(resource.id.clone()).or_insert((resource, included));
            }
        }
        try_join_all(seen.into_values().map(|(r, included)| self.observe_subscription(r, included))).await
    }

    /// Subscription `id`, if it exists (for polling until it is issued).
    pub async fn subscription(&self, id: &str) -> Result<Option<ObservedSubscription>> {
        match self.api.json::<Document<SubscriptionResource>>(&endpoints::get_subscription(id)).await {
            Ok(doc) => Ok(Some(self.observe_subscription(doc.data, doc.included).await?)),
            Err(e) if e.is(ErrorKind::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Order a certificate for `spec.domain`, unless a subscription already covers it (an
    /// earlier attempt's, whose answer was lost): then that one is returned as it is. The
    /// domain must already be on a Fastly service.
    pub async fn create_subscription(&self, spec: &SubscriptionSpec) -> Result<ObservedSubscription> {
        spec.check("CreateTlsSubscription")?;
        let domain = normalised(&spec.domain);
        let existing = self.list_subscriptions(&BTreeSet::from([domain.clone()])).await?;
        if let Some(found) = existing.into_iter().next() {
            return Ok(found);
        }
        let doc: Document<SubscriptionResource> =
            self.api.json(&endpoints::create_subscription(&domain, &spec.certificate_authority)).await?;
        self.observe_subscription(doc.data, doc.included).await
    }

    /// Delete subscription `id`; one already gone is deleted.
    ///
    /// Fastly enables TLS on a subscription's domains itself once it issues the certificate, and
    /// then refuses the delete unless it is forced, warning that forcing "may result in breaking
    /// TLS termination to that domain". So `force=true` is sent exactly when a certificate was
    /// issued: deleting the subscription is the caller's decision that the tracking domain
    /// leaves Fastly (its CNAME must already point elsewhere), so ending TLS there is what is
    /// asked. A subscription that never issued is deleted without it.
    pub async fn delete_subscription(&self, id: &str) -> Result<()> {
        let doc: Document<SubscriptionResource> = match self.api.json(&endpoints::get_subscription(id)).await {
            Err(e) if e.is(ErrorKind::NotFound) => return Ok(()),
            other => other?,
        };
        let force = !doc.data.relationships.tls_certificates.data.is_empty();
        match self.api.send(&endpoints::delete_subscription(id, force)).await {
            Err(e) if !e.is(ErrorKind::NotFound) => Err(e),
            _ => Ok(()),
        }
    }

    /// Restart a failed subscription (`state: retry`). One that is not failed (a retry whose
    /// answer was lost has already moved it on) is returned as it is.
    pub async fn retry_subscription(&self, id: &str) -> Result<ObservedSubscription> {
        let doc: Document<SubscriptionResource> = self.api.json(&endpoints::get_subscription(id)).await?;
        if doc.data.attributes.state != "failed" {
            return self.observe_subscription(doc.data, doc.included).await;
        }
        let doc: Document<SubscriptionResource> = self.api.json(&endpoints::retry_subscription(id)).await?;
        self.observe_subscription(doc.data, doc.included).await
    }

    /// Every subscription the API lists for `domain`, with the resources it included.
    async fn subscriptions_for(&self, domain: &str) -> Result<Vec<(SubscriptionResource, Vec<Included>)>> {
        let mut out = Vec::new();
        for page in 1.. {
            let doc: Document<Vec<SubscriptionResource>> =
                self.api.json(&endpoints::list_subscriptions_for(domain, page)).await?;
            let last = doc.data.is_empty() || doc.links.as_ref().and_then(|l| l.next.as_ref()).is_none();
            // Each keeps the whole included list: authorizations are matched by domain later.
            out.extend(doc.data.into_iter().map(|r| (r, doc.included.clone())));
            if last {
                break;
            }
        }
        Ok(out)
    }

    async fn observe_subscription(
        &self,
        resource: SubscriptionResource,
        included: Vec<Included>,
    ) -> Result<ObservedSubscription> {
        let state = SubscriptionState::parse(&resource.attributes.state).ok_or_else(|| {
            ProviderError::new(
                ErrorKind::Unexpected,
                NAME,
                "GetTlsSubscription",
                format!(
                    "subscription {} is in a state sslprov does not know: {}",
                    resource.id, resource.attributes.state
                ),
            )
        })?;
        let relationships = &resource.relationships;
        let domains: Vec<String> = relationships.tls_domains.data.iter().map(|d| normalised(&d.id)).collect();
        let domain = relationships
            .common_name
            .data
            .as_ref()
            .map(|d| normalised(&d.id))
            .or_else(|| domains.first().cloned())
            .unwrap_or_default();
        let ours: Vec<&Included> = included
            .iter()
            .filter(|i| match i {
                Included::Authorization(a) => relationships.tls_authorizations.data.iter().any(|m| m.id == a.id),
                _ => false,
            })
            .collect();
        let mut challenge = None;
        let mut http_cname = None;
        let mut warnings = Vec::new();
        for item in ours {
            let Included::Authorization(a) = item else { continue };
            let for_domain = a.relationships.tls_domain.data.as_ref().is_none_or(|d| normalised(&d.id) == domain);
            for w in a.attributes.warnings.iter().flatten() {
                warnings.push(
                    [w.kind.as_deref(), w.instructions.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(": "),
                );
            }
            if !for_domain {
                continue;
            }
            for c in &a.attributes.challenges {
                let Some(value) = c.values.first() else { continue };
                match c.kind.as_str() {
                    "managed-dns" => {
                        challenge = Some(ChallengeRecord {
                            name: normalised(&c.record_name),
                            record_type: c.record_type.to_ascii_uppercase(),
                            value: normalised(value),
                        });
                    }
                    "managed-http-cname" => http_cname = Some(normalised(value)),
                    _ => {}
                }
            }
        }
        let configuration = relationships.tls_configuration.data.as_ref().map(|c| c.id.clone());
        let cname_target = match configuration {
            Some(id) => self.configuration_target(&id).await?.or(http_cname),
            None => http_cname,
        };
        Ok(ObservedSubscription {
            id: resource.id.clone(),
            domain,
            domains,
            certificate_authority: resource.attributes.certificate_authority.clone().unwrap_or_default(),
            state,
            challenge,
            cname_target,
            has_certificate: !relationships.tls_certificates.data.is_empty(),
            warnings,
        })
    }

    /// The CNAME (region `global`) of TLS configuration `id`, read once per run.
    async fn configuration_target(&self, id: &str) -> Result<Option<String>> {
        if let Some(target) = self.targets.lock().unwrap_or_else(|e| e.into_inner()).get(id) {
            return Ok(target.clone());
        }
        let doc: Document<serde_json::Value> = self.api.json(&endpoints::get_configuration(id)).await?;
        let target = doc.included.iter().find_map(|i| match i {
            Included::DnsRecord(r)
                if r.attributes.record_type.eq_ignore_ascii_case("CNAME")
                    && r.attributes.region.as_deref().is_none_or(|g| g == "global") =>
            {
                Some(normalised(&r.id))
            }
            _ => None,
        });
        self.targets.lock().unwrap_or_else(|e| e.into_inner()).insert(id.to_owned(), target.clone());
        Ok(target)
    }
}
