//! The engine's view of Fastly: two kinds, `service` (one per tracking domain, found by its name)
//! and `tls_subscription` (a Fastly-managed certificate, found by its domain), on top of the
//! domain-level operations of this crate.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;
use sslprov_provider::connect;
use sslprov_provider::{
    Deletion, Desired, ErrorKind, IdempotencyToken, KindInfo, Live, Outputs, Provider, ProviderError, ProviderInfo,
    Rate, Readiness, Registration, Result, Scope,
};

use crate::{
    Fastly, FastlyConfig, NAME, ObservedService, ObservedSubscription, ServiceSpec, SubscriptionSpec,
    SubscriptionState, write_budget,
};

pub const SERVICE: &str = "service";
pub const TLS_SUBSCRIPTION: &str = "tls_subscription";
/// How sslprov names its services: `sslprov-<tracking domain>`. The name is its mark and how a
/// service whose create answer was lost is found again.
const MARK: &str = "sslprov-";

pub static INFO: ProviderInfo = ProviderInfo {
    name: NAME,
    title: "Fastly",
    kinds: &[
        // Everything of a service changes in place (clone, edit, activate); it is ready once a
        // version is active.
        KindInfo { name: SERVICE, replace_on: &[], adoptable: false, becomes_ready: true, repair_in_place: false },
        // A subscription's domain cannot change; one that failed is retried, since Fastly keeps
        // one subscription per domain. One that covers the domain already is used as it is.
        KindInfo {
            name: TLS_SUBSCRIPTION,
            replace_on: &["domain", "certificate_authority"],
            adoptable: true,
            becomes_ready: true,
            repair_in_place: true,
        },
    ],
    // 1,000 non-read requests per hour per user (reads are not limited): 900 an hour plus a burst
    // of 100, so that no clock hour sees more than 1,000.
    budget: Rate { requests: 900, per_seconds: 3600, burst: 100 },
    op_budgets: &[],
    batches_writes: false,
};

pub static REGISTRATION: Registration = Registration {
    info: &INFO,
    connect: |cx| {
        Box::pin(async move {
            let config = FastlyConfig::from_env()?;
            connect::reachable(NAME, &config.base_url, "FASTLY_API_BASE_URL").await?;
            let fastly = Fastly::new(config, write_budget(cx.calls.clone()))?;
            Ok(Arc::new(fastly) as Arc<dyn Provider>)
        })
    },
};

fn invalid(op: &'static str, message: String) -> ProviderError {
    ProviderError::new(ErrorKind::InvalidRequest, NAME, op, message)
}

fn service_spec(d: &Desired, op: &'static str) -> Result<ServiceSpec> {
    if d.kind != SERVICE {
        return Err(invalid(op, format!("not a service: {}", d.kind)));
    }
    let spec: ServiceSpec = d.parse(NAME, op)?;
    spec.check(op)?;
    Ok(spec)
}

fn subscription_spec(d: &Desired, op: &'static str) -> Result<SubscriptionSpec> {
    if d.kind != TLS_SUBSCRIPTION {
        return Err(invalid(op, format!("not a TLS subscription: {}", d.kind)));
    }
    let spec: SubscriptionSpec = d.parse(NAME, op)?;
    spec.check(op)?;
    Ok(SubscriptionSpec { domain: spec.domain.trim_end_matches('.').to_ascii_lowercase(), ..spec })
}

/// A service as the engine sees it: its active version as a spec. Without an active version (a
/// create killed before activation) only its name and comment; what the active version holds
/// beyond the spec shows as `strays`, so that the plan shows it and an update removes it.
fn service_live(s: ObservedService) -> Live {
    let mut desired = match &s.spec {
        Some(spec) => Desired::of(SERVICE, spec),
        None => Desired::of(SERVICE, &json!({ "name": s.name, "comment": s.comment })),
    };
    if !s.strays.is_empty() {
        desired.spec.insert("strays".into(), json!(s.strays));
    }
    let readiness = match s.active_version {
        Some(_) => Readiness::Ready,
        None => Readiness::Pending { detail: "no version of the service is active yet".into() },
    };
    Live {
        id: s.id,
        marked: s.name.starts_with(MARK),
        desired,
        outputs: Outputs::default().with("active_version", s.active_version).with("draft_version", s.draft_version),
        readiness,
    }
}

/// A subscription as the engine sees it: the challenge CNAME to publish (as a DNS record) and the
/// CNAME target of the tracking domain among its outputs.
fn subscription_live(s: ObservedSubscription) -> Live {
    let state = json!(s.state).as_str().unwrap_or_default().to_owned();
    let readiness = match s.state {
        SubscriptionState::Issued | SubscriptionState::Renewing => Readiness::Ready,
        SubscriptionState::Pending | SubscriptionState::Processing => {
            Readiness::Pending { detail: format!("{state}: Fastly is validating the _acme-challenge CNAME") }
        }
        SubscriptionState::Failed => {
            let why = if s.warnings.is_empty() { String::new() } else { format!(" ({})", s.warnings.join("; ")) };
            Readiness::Failed {
                reason: format!(
                    "Fastly gave up issuing the certificate for {}{why}: check that the validation record \
                     {} is published at the domain's DNS host and not replaced by another provider's \
                     _acme-challenge record (SendGrid Auto SSL uses the same name), then run apply again: \
                     sslprov asks Fastly to retry",
                    s.domain,
                    s.challenge.as_ref().map_or("_acme-challenge", |c| c.name.as_str())
                ),
            }
        }
    };
    let challenge = s.challenge.as_ref().map(|c| json!({ "name": c.name, "type": c.record_type, "values": [c.value] }));
    let spec = SubscriptionSpec { domain: s.domain.clone(), certificate_authority: s.certificate_authority.clone() };
    Live {
        id: s.id,
        desired: Desired::of(TLS_SUBSCRIPTION, &spec),
        outputs: Outputs::default()
            .with("status", &state)
            .with("challenge", challenge)
            .with("cname_target", s.cname_target)
            .with("warnings", (!s.warnings.is_empty()).then_some(s.warnings)),
        readiness,
        marked: false,
    }
}

#[async_trait]
impl Provider for Fastly {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    fn normalise(&self, desired: &Desired) -> Result<Desired> {
        match desired.kind.as_str() {
            SERVICE => Ok(Desired::of(SERVICE, &service_spec(desired, "normalise")?)),
            TLS_SUBSCRIPTION => Ok(Desired::of(TLS_SUBSCRIPTION, &subscription_spec(desired, "normalise")?)),
            other => {
                Err(ProviderError::new(ErrorKind::Unsupported, NAME, "normalise", format!("Fastly holds no {other}")))
            }
        }
    }

    fn key(&self, desired: &Desired) -> Option<String> {
        match desired.kind.as_str() {
            SERVICE => desired.str("name").map(str::to_owned),
            TLS_SUBSCRIPTION => desired.str("domain").map(|d| d.trim_end_matches('.').to_ascii_lowercase()),
            _ => None,
        }
    }

    /// The token may change configuration (`global` scope) and is not limited to some services.
    async fn preflight(&self, wanted: &[Desired]) -> Result<Vec<String>> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let check = self.check_token().await?;
        let problems = check.problems();
        if !problems.is_empty() {
            return Err(ProviderError::new(
                ErrorKind::PermissionDenied,
                NAME,
                "CheckToken",
                format!(
                    "{}. Create a token with the global scope for all services, then plan again.",
                    problems.join("; ")
                ),
            ));
        }
        Ok(Vec::new())
    }

    /// Services by name (one search each for a few, the account's list for more), then their
    /// active versions; subscriptions by domain.
    async fn list(&self, scope: &Scope) -> Result<Vec<Live>> {
        let field =
            |f: &str| -> BTreeSet<String> { scope.wanted.iter().filter_map(|d| d.str(f)).map(str::to_owned).collect() };
        match scope.kind.as_str() {
            SERVICE => Ok(self.list_services(&field("name")).await?.into_iter().map(service_live).collect()),
            TLS_SUBSCRIPTION => {
                Ok(self.list_subscriptions(&field("domain")).await?.into_iter().map(subscription_live).collect())
            }
            other => Err(ProviderError::new(ErrorKind::Unsupported, NAME, "list", format!("Fastly holds no {other}"))),
        }
    }

    /// No idempotency keys exist at Fastly: each create first looks for what an earlier attempt
    /// made (a service by name, a subscription by domain) and finishes it.
    async fn create(&self, desired: &Desired, _token: &IdempotencyToken) -> Result<Live> {
        match desired.kind.as_str() {
            SERVICE => Ok(service_live(self.create_service(&service_spec(desired, "create")?).await?)),
            _ => Ok(subscription_live(self.create_subscription(&subscription_spec(desired, "create")?).await?)),
        }
    }

    /// A service: clone, edit, activate. A subscription: restarted when it failed; its domain and
    /// authority never change in place (the engine replaces it).
    async fn update(&self, live: &Live, desired: &Desired) -> Result<Live> {
        match desired.kind.as_str() {
            SERVICE => Ok(service_live(self.update_service(&live.id, &service_spec(desired, "update")?).await?)),
            _ => {
                let spec = subscription_spec(desired, "update")?;
                let now = self.subscription(&live.id).await?.ok_or_else(|| {
                    ProviderError::new(ErrorKind::NotFound, NAME, "update", format!("subscription {} is gone", live.id))
                })?;
                if now.domain != spec.domain || now.certificate_authority != spec.certificate_authority {
                    return Err(invalid(
                        "update",
                        "a subscription's domain and authority cannot change; the engine replaces it".into(),
                    ));
                }
                match now.state {
                    SubscriptionState::Failed => Ok(subscription_live(self.retry_subscription(&live.id).await?)),
                    _ => Ok(subscription_live(now)),
                }
            }
        }
    }

    async fn delete(&self, live: &Live) -> Result<Deletion> {
        match live.desired.kind.as_str() {
            SERVICE => self.delete_service(&live.id).await?,
            _ => self.delete_subscription(&live.id).await?,
        }
        Ok(Deletion::Done)
    }
}
