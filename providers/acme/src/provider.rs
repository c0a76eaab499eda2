//! The engine's view of ACME: one kind, `certificate`, whose readiness wait carries its order
//! through validation, finalization and download (the crate docs say why and how).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use instant_acme::{
    Account, AuthorizationStatus, ChallengeStatus, ChallengeType, Identifier, Key, NewOrder, Order, OrderStatus,
};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sslprov_provider::connect;
use sslprov_provider::{
    Budget, Deletion, Desired, ErrorKind, IdempotencyToken, KindInfo, Live, Observed, Outputs, Provider, ProviderError,
    ProviderInfo, Rate, Readiness, Registration, Result, Review, Scope, Wanted,
};
use tokio::sync::OnceCell;

use crate::error::{from_acme, problem_text};
use crate::transport::{Retry, Transport};
use crate::{AcmeConfig, LETS_ENCRYPT_STAGING, NAME, Sealer, cert, dns, sealed};

/// The kind this provider holds.
pub const KIND: &str = "certificate";

pub static INFO: ProviderInfo = ProviderInfo {
    name: NAME,
    title: "ACME",
    kinds: &[KindInfo {
        name: KIND,
        // An issued certificate never changes: a new name or CA is a new certificate.
        replace_on: &["*"],
        adoptable: false,
        becomes_ready: true,
        repair_in_place: false,
    }],
    // Let's Encrypt documents per-IP request limits per endpoint, from 20 a second for nonces up;
    // 10 a second stays under every one of them.
    budget: Rate::per_second(10, 10),
    // 300 new orders per account every 3 hours: 270 plus a burst of 30.
    op_budgets: &[("NewOrder", Rate { requests: 270, per_seconds: 3 * 3600, burst: 30 })],
    batches_writes: false,
};

pub static REGISTRATION: Registration = Registration {
    info: &INFO,
    connect: |cx| {
        Box::pin(async move {
            let config = AcmeConfig::from_env()?;
            let sealer = Sealer::from_env()?;
            connect::reachable(NAME, &config.directory, "SSLPROV_ACME_DIRECTORY").await?;
            let acme = Acme::new(config, sealer, Budget::for_provider(&INFO, cx.calls.clone()))?;
            Ok(Arc::new(acme) as Arc<dyn Provider>)
        })
    },
};

/// A certificate for one name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateSpec {
    /// The DNS name it is for: a tracking domain.
    pub domain: String,
    /// The ACME directory it comes from; normalising fills in the configured one, so that a change
    /// of CA shows in the plan (and replaces the certificate).
    #[serde(default)]
    pub directory: String,
}

/// The ACME provider, connected to one directory.
pub struct Acme {
    config: AcmeConfig,
    sealer: Sealer,
    transport: Transport,
    account: OnceCell<Account>,
    /// Orders this process made, by the token they were made with: a create repeated with the same
    /// token (an answer lost and retried) returns the same order.
    made: Mutex<Vec<(String, Live)>>,
    /// When this process first waited for an order's challenge record to show.
    waiting: Mutex<HashMap<String, Instant>>,
}

impl fmt::Debug for Acme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acme").field("config", &self.config).field("sealer", &self.sealer).finish_non_exhaustive()
    }
}

fn invalid(op: &'static str, message: String) -> ProviderError {
    ProviderError::new(ErrorKind::InvalidRequest, NAME, op, message)
}

/// The name the DNS-01 challenge record of `domain` goes at.
pub fn challenge_name(domain: &str) -> String {
    format!("_acme-challenge.{domain}")
}

fn status_word(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::Pending => "pending",
        OrderStatus::Ready => "ready",
        OrderStatus::Processing => "processing",
        OrderStatus::Valid => "valid",
        OrderStatus::Invalid => "invalid",
    }
}

fn days(d: Duration) -> u64 {
    d.as_secs() / 86_400
}

impl Acme {
    pub fn new(config: AcmeConfig, sealer: Sealer, budget: Budget) -> Result<Acme> {
        let transport = Transport::new(budget, config.ca_pem.as_deref(), Retry::default())?;
        Ok(Acme {
            config,
            sealer,
            transport,
            account: OnceCell::new(),
            made: Mutex::default(),
            waiting: Mutex::default(),
        })
    }

    /// How failed requests are retried (tests make it fast).
    pub fn with_retry(mut self, retry: Retry) -> Result<Self> {
        self.transport = Transport::new(self.transport.budget().clone(), self.config.ca_pem.as_deref(), retry)?;
        Ok(self)
    }

    pub fn config(&self) -> &AcmeConfig {
        &self.config
    }

    fn err(&self, op: &'static str) -> impl Fn(instant_acme::Error) -> ProviderError + '_ {
        move |e| from_acme(op, &self.config.directory, e)
    }

    /// The account, registered (or found: the CA knows it by its key) once per run.
    async fn account(&self) -> Result<&Account> {
        self.account
            .get_or_try_init(|| async {
                let pkcs8 = self.sealer.account_key(&self.config.directory);
                let key =
                    Key::from_pkcs8_der(PrivatePkcs8KeyDer::from(pkcs8.as_slice())).map_err(self.err("NewAccount"))?;
                let (account, _) = Account::builder_with_http(Box::new(self.transport.clone()))
                    .create_from_key(
                        (key, PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8))),
                        self.config.directory.clone(),
                    )
                    .await
                    .map_err(self.err("NewAccount"))?;
                Ok(account)
            })
            .await
    }

    fn spec(&self, d: &Desired, op: &'static str) -> Result<CertificateSpec> {
        if d.kind != KIND {
            return Err(ProviderError::new(ErrorKind::Unsupported, NAME, op, format!("ACME holds no {}", d.kind)));
        }
        let mut spec: CertificateSpec = d.parse(NAME, op)?;
        spec.domain = spec.domain.trim_end_matches('.').to_ascii_lowercase();
        let valid = spec.domain.contains('.')
            && spec
                .domain
                .split('.')
                .all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        if !valid {
            return Err(invalid(op, format!("`{}` is not a DNS name a certificate can be ordered for", spec.domain)));
        }
        if spec.directory.is_empty() {
            spec.directory.clone_from(&self.config.directory);
        }
        Ok(spec)
    }

    /// The DNS-01 challenge value of the order's one authorization.
    async fn challenge(&self, order: &mut Order, domain: &str) -> Result<String> {
        let mut authorizations = order.authorizations();
        let Some(authz) = authorizations.next().await else {
            return Err(ProviderError::new(ErrorKind::Unexpected, NAME, "NewOrder", "the order has no authorization"));
        };
        let mut authz = authz.map_err(self.err("GetAuthorization"))?;
        let status = authz.status;
        match authz.challenge(ChallengeType::Dns01) {
            Some(ch) => Ok(ch.key_authorization().dns_value()),
            // Validated already (an authorization the CA reuses): the record is not asked for.
            None if status == AuthorizationStatus::Valid => Ok("sslprov: authorization already valid".into()),
            None => Err(invalid(
                "NewOrder",
                format!("the CA at {} offers no DNS-01 challenge for {domain}", self.config.directory),
            )),
        }
    }

    /// What an issued certificate (its outputs as recorded) is now: ready, due for renewal,
    /// expired, or unusable because its key cannot be opened.
    fn issued_readiness(&self, outputs: &Outputs) -> Option<Readiness> {
        let not_after = humantime::parse_rfc3339_weak(outputs.str("not_after")?).ok()?;
        outputs.str("certificate")?;
        if let Err(e) =
            outputs.str("key").map_or_else(|| Err(invalid("list", "no sealed key".into())), |k| self.sealer.open(k))
        {
            return Some(Readiness::Failed { reason: format!("its private key cannot be opened: {}", e.message) });
        }
        let now = self.config.now();
        let expiry = cert::rfc3339(not_after);
        Some(match not_after.duration_since(now) {
            Err(_) => Readiness::Failed { reason: format!("it expired on {expiry}") },
            Ok(left) if left < self.config.renew_before => Readiness::Expiring {
                reason: format!(
                    "it expires on {expiry} ({} days left; sslprov renews from {} days before expiry)",
                    days(left),
                    days(self.config.renew_before)
                ),
            },
            Ok(_) => Readiness::Ready,
        })
    }

    /// Why the CA gave up on an order, with what to do: from its authorization's challenge.
    async fn failure(&self, order: &mut Order, domain: &str) -> String {
        let mut detail = order.state().error.as_ref().map(problem_text);
        let mut authorizations = order.authorizations();
        if let Some(Ok(mut authz)) = authorizations.next().await
            && let Ok(state) = authz.refresh().await
            && let Some(p) = state.challenges.iter().find_map(|c| c.error.as_ref())
        {
            detail = Some(problem_text(p));
        }
        format!(
            "the CA could not validate {domain} ({}): check that the TXT record {} is published at the domain's DNS \
             host and that the zone's name servers serve it, and that no CAA record forbids the CA; nothing points \
             at the CDN yet, and the next `sslprov apply` orders a new certificate",
            detail.unwrap_or_else(|| "the order became invalid".into()),
            challenge_name(domain)
        )
    }

    /// An order as it is now, read only (`list`): pending, failed, or issued but not fetched yet.
    async fn look(&self, id: &str, desired: &Desired) -> Result<Option<Live>> {
        let account = self.account().await?;
        let mut order = match account.order(id.to_owned()).await {
            Ok(o) => o,
            Err(instant_acme::Error::Api(p)) if p.status == Some(404) => return Ok(None),
            Err(e) => return Err(from_acme("GetOrder", &self.config.directory, e)),
        };
        let status = order.state().status;
        let domain = desired.str("domain").unwrap_or_default().to_owned();
        let readiness = match status {
            OrderStatus::Invalid => Readiness::Failed { reason: self.failure(&mut order, &domain).await },
            OrderStatus::Valid => Readiness::Pending { detail: "issued; fetched when apply waits for it".into() },
            other => Readiness::Pending { detail: format!("order {}", status_word(other)) },
        };
        Ok(Some(Live {
            id: id.to_owned(),
            desired: desired.clone(),
            outputs: Outputs::default().with("status", status_word(status)),
            readiness,
            marked: true,
        }))
    }

    /// Moves an order on by one step (apply's wait): ask for validation once the challenge
    /// record shows, finalize once ready, fetch the chain once valid.
    async fn advance(&self, live: &Live) -> Result<Observed> {
        if let Some(readiness) = self.issued_readiness(&live.outputs) {
            return Ok(Observed { readiness, outputs: Outputs::default().with("status", "valid") });
        }
        let domain = live.desired.str("domain").unwrap_or_default().to_owned();
        let account = self.account().await?;
        let mut order = match account.order(live.id.clone()).await {
            Ok(o) => o,
            Err(instant_acme::Error::Api(p)) if p.status == Some(404) => return Ok(Observed::gone()),
            Err(e) => return Err(from_acme("GetOrder", &self.config.directory, e)),
        };
        let status = order.state().status;
        let pending = |detail: String| Observed {
            readiness: Readiness::Pending { detail },
            outputs: Outputs::default().with("status", status_word(status)),
        };
        match status {
            OrderStatus::Pending => self.validate(&mut order, live, &domain).await,
            OrderStatus::Ready => {
                let key = self.opened_key(live, "FinalizeOrder")?;
                let csr = csr(&key, &domain)?;
                match order.finalize_csr(&csr).await {
                    Ok(()) => {}
                    // Finalized already, by a run that stopped before it heard back.
                    Err(instant_acme::Error::Api(p)) if crate::error::problem_type(&p) == "orderNotReady" => {}
                    Err(e) => return Err(from_acme("FinalizeOrder", &self.config.directory, e)),
                }
                Ok(pending("finalized; the CA is issuing it".into()))
            }
            OrderStatus::Processing => Ok(pending("the CA is issuing it".into())),
            OrderStatus::Invalid => Ok(Observed {
                readiness: Readiness::Failed { reason: self.failure(&mut order, &domain).await },
                outputs: Outputs::default().with("status", "invalid"),
            }),
            OrderStatus::Valid => {
                let Some(chain) = order.certificate().await.map_err(self.err("GetCertificate"))? else {
                    return Ok(pending("the CA is issuing it".into()));
                };
                let key = self.opened_key(live, "GetCertificate")?;
                let issued = cert::read(&chain, Some(&key))
                    .map_err(|e| ProviderError::new(ErrorKind::Unexpected, NAME, "GetCertificate", e))?;
                if !issued.names.contains(&domain) {
                    return Err(ProviderError::new(
                        ErrorKind::Unexpected,
                        NAME,
                        "GetCertificate",
                        format!("the CA's certificate is for {:?}, not {domain}", issued.names),
                    ));
                }
                let outputs = Outputs::default()
                    .with("status", "valid")
                    .with("certificate", &chain)
                    .with("not_after", cert::rfc3339(issued.not_after))
                    .with("sha256", &issued.sha256);
                let mut all = live.outputs.merged(&outputs);
                all.set("status", "valid");
                let readiness = self.issued_readiness(&all).unwrap_or(Readiness::Ready);
                Ok(Observed { readiness, outputs })
            }
        }
    }

    /// A pending order: ask the CA to validate once the record shows at the name servers (or once
    /// `dns_wait` has passed, when the CA may see what sslprov cannot).
    async fn validate(&self, order: &mut Order, live: &Live, domain: &str) -> Result<Observed> {
        let value = live.outputs.get("challenge").and_then(|c| c["values"][0].as_str()).unwrap_or_default().to_owned();
        let name = challenge_name(domain);
        let pending = |detail: String| Observed {
            readiness: Readiness::Pending { detail },
            outputs: Outputs::default().with("status", "pending"),
        };
        let mut authorizations = order.authorizations();
        let Some(authz) = authorizations.next().await else { return Ok(pending("no authorization yet".into())) };
        let mut authz = authz.map_err(self.err("GetAuthorization"))?;
        if authz.status != AuthorizationStatus::Pending {
            return Ok(pending(format!("authorization {:?}", authz.status).to_lowercase()));
        }
        let Some(mut ch) = authz.challenge(ChallengeType::Dns01) else {
            return Err(invalid("RespondChallenge", format!("the CA offers no DNS-01 challenge for {domain}")));
        };
        match ch.status {
            ChallengeStatus::Pending => {}
            ChallengeStatus::Processing => return Ok(pending(format!("the CA is validating {name}"))),
            ChallengeStatus::Valid | ChallengeStatus::Invalid => return Ok(pending("validated".into())),
        }
        let since =
            *self.waiting.lock().unwrap_or_else(|e| e.into_inner()).entry(live.id.clone()).or_insert_with(Instant::now);
        if let Err(why) = dns::visible(self.config.resolvers.as_deref(), &name, &value).await {
            if since.elapsed() < self.config.dns_wait {
                return Ok(pending(format!("waiting for the TXT record {name} to show at the name servers: {why}")));
            }
            tracing::warn!(%name, %why, "acme: the challenge record still does not show; asking the CA anyway");
        }
        if let Err(e) = ch.set_ready().await {
            // Asked already (a round that did not hear back, or another waiter of this order):
            // the CA refuses a challenge that is no longer pending, which is what was wanted.
            let mut again = order.authorizations();
            let moved_on = match again.next().await {
                // The order holds the authorization as it was read above: read it again.
                Some(Ok(mut a)) => a.refresh().await.ok().and_then(|state| {
                    state
                        .challenges
                        .iter()
                        .find(|c| c.r#type == ChallengeType::Dns01)
                        .map(|c| c.status != ChallengeStatus::Pending)
                }),
                _ => None,
            };
            if moved_on != Some(true) {
                return Err(from_acme("RespondChallenge", &self.config.directory, e));
            }
        }
        Ok(pending(format!("the CA is validating {name}")))
    }

    /// The certificate key the order was made with, opened.
    fn opened_key(&self, live: &Live, op: &'static str) -> Result<Vec<u8>> {
        let sealed = live.outputs.str("key").ok_or_else(|| {
            ProviderError::new(ErrorKind::Unexpected, NAME, op, "the order's sealed key was not recorded")
        })?;
        self.sealer.open(sealed).map_err(|e| ProviderError::new(e.kind, NAME, op, e.message))
    }

    fn made(&self) -> std::sync::MutexGuard<'_, Vec<(String, Live)>> {
        self.made.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A CSR for `domain`, signed with the certificate's key.
fn csr(key_pkcs8: &[u8], domain: &str) -> Result<Vec<u8>> {
    let fail = |e: rcgen::Error| ProviderError::new(ErrorKind::Unexpected, NAME, "FinalizeOrder", format!("CSR: {e}"));
    let pair = rcgen::KeyPair::try_from(key_pkcs8).map_err(fail)?;
    let mut params = rcgen::CertificateParams::new(vec![domain.to_owned()]).map_err(fail)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    Ok(params.serialize_request(&pair).map_err(fail)?.der().to_vec())
}

#[async_trait]
impl Provider for Acme {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    fn normalise(&self, desired: &Desired) -> Result<Desired> {
        Ok(Desired::of(KIND, &self.spec(desired, "normalise")?))
    }

    fn key(&self, desired: &Desired) -> Option<String> {
        desired.str("domain").map(|d| d.trim_end_matches('.').to_ascii_lowercase())
    }

    /// The account: registered with the CA (its terms of service agreed), or found by its key.
    async fn preflight(&self, wanted: &[Desired]) -> Result<Vec<String>> {
        if !wanted.is_empty() {
            self.account().await?;
        }
        Ok(Vec::new())
    }

    fn review(&self, wanted: &[Wanted<'_>], _inventory: &[Live]) -> Review {
        let mut review = Review::default();
        if self.config.directory == LETS_ENCRYPT_STAGING && !wanted.is_empty() {
            review.warnings.push(
                "SSLPROV_ACME_DIRECTORY is Let's Encrypt's staging CA: browsers do not trust its certificates".into(),
            );
        }
        review
    }

    /// What the state knows (an issued certificate: no request; an order in progress: one read),
    /// and the orders this process made. The CA keeps no list sslprov could sweep.
    async fn list(&self, scope: &Scope) -> Result<Vec<Live>> {
        let mut out = Vec::new();
        for (id, desired) in &scope.known {
            let Some(desired) = desired.as_ref().filter(|d| d.kind == KIND) else { continue };
            let outputs = scope.outputs.get(id).cloned().unwrap_or_default();
            match self.issued_readiness(&outputs) {
                Some(readiness) => out.push(Live {
                    id: id.clone(),
                    desired: desired.clone(),
                    outputs: Outputs::default(),
                    readiness,
                    marked: true,
                }),
                None => out.extend(self.look(id, desired).await?),
            }
        }
        let domains: Vec<String> = scope.wanted.iter().filter_map(|d| Provider::key(self, d)).collect();
        let made = self.made();
        out.extend(
            made.iter()
                .map(|(_, l)| l)
                .filter(|l| !scope.known.contains_key(&l.id))
                .filter(|l| Provider::key(self, &l.desired).is_some_and(|k| domains.contains(&k)))
                .cloned(),
        );
        Ok(out)
    }

    /// A new order, the certificate's key generated and sealed, the challenge to publish.
    async fn create(&self, desired: &Desired, token: &IdempotencyToken) -> Result<Live> {
        let spec = self.spec(desired, "create")?;
        if let Some((_, live)) = self.made().iter().find(|(t, _)| t == token.as_str()) {
            return Ok(live.clone());
        }
        if spec.directory != self.config.directory {
            return Err(invalid(
                "create",
                format!(
                    "the spec asks for {}, but SSLPROV_ACME_DIRECTORY is {}",
                    spec.directory, self.config.directory
                ),
            ));
        }
        let account = self.account().await?;
        let identifiers = [Identifier::Dns(spec.domain.clone())];
        let mut order = account.new_order(&NewOrder::new(&identifiers)).await.map_err(self.err("NewOrder"))?;
        let value = self.challenge(&mut order, &spec.domain).await?;
        let key = sealed::new_certificate_key()?;
        let status = order.state().status;
        let live = Live {
            id: order.url().to_owned(),
            desired: Desired::of(KIND, &spec),
            outputs: Outputs::default()
                .with("token", token.as_str())
                .with("status", status_word(status))
                .with("challenge", json!({"name": challenge_name(&spec.domain), "type": "TXT", "values": [value]}))
                .with("key", self.sealer.seal(&key)),
            readiness: Readiness::Pending { detail: "the challenge record is to be published".into() },
            marked: true,
        };
        self.made().push((token.as_str().to_owned(), live.clone()));
        Ok(live)
    }

    async fn update(&self, _live: &Live, _desired: &Desired) -> Result<Live> {
        Err(invalid("update", "an ACME certificate never changes; a new one replaces it".into()))
    }

    /// Nothing to delete at the CA: a certificate stays valid until it expires (its key goes with
    /// the state, and from the CDN that served it). The order is forgotten.
    async fn delete(&self, live: &Live) -> Result<Deletion> {
        self.made().retain(|(_, l)| l.id != live.id);
        self.waiting.lock().unwrap_or_else(|e| e.into_inner()).remove(&live.id);
        Ok(Deletion::Done)
    }

    async fn readiness(&self, lives: &[Live]) -> Result<Vec<Observed>> {
        // Several waiters of one order (the zone and the tracking record wait for the same
        // certificate) move it on once per round.
        let mut seen: HashMap<&str, Observed> = HashMap::new();
        let mut out = Vec::with_capacity(lives.len());
        for live in lives {
            let observed = match seen.get(live.id.as_str()) {
                Some(o) => o.clone(),
                None => {
                    let o = self.advance(live).await?;
                    seen.insert(&live.id, o.clone());
                    o
                }
            };
            out.push(observed);
        }
        Ok(out)
    }
}
