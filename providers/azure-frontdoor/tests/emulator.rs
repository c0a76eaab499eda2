//! The Front Door client against the emulator: the conformance suite every provider runs, the
//! long-running operations, the route's shared list of domains, and the credentials.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Value, json};
use sslprov_azure_emulator::{self as emu, Emulator, Verdict};
use sslprov_azure_frontdoor::credentials::Source;
use sslprov_azure_frontdoor::{AzureConfig, FrontDoor, Retry};
use sslprov_provider::conformance::{self, Fixture};
use sslprov_provider::{Calls, Desired, IdempotencyToken, Live, Provider, Readiness, Scope};

fn desired(kind: &str, spec: Value) -> Desired {
    Desired { kind: kind.into(), spec: spec.as_object().cloned().unwrap_or_default() }
}

fn fast_retry() -> Retry {
    Retry {
        requests: sslprov_provider::conformance::fast_retry(6, 6),
        poll_floor: Duration::from_millis(10),
        poll_default: Duration::from_millis(20),
        operation_timeout: Duration::from_secs(10),
    }
}

fn config(e: &Emulator) -> AzureConfig {
    AzureConfig {
        subscription: emu::SUBSCRIPTION.into(),
        resource_group: emu::RESOURCE_GROUP.into(),
        resource_manager_url: e.base_url(),
        authority_host: e.base_url(),
    }
}

fn secret() -> Source {
    Source::Secret { tenant: emu::TENANT.into(), client: emu::CLIENT_ID.into(), secret: emu::CLIENT_SECRET.into() }
}

const P: &str = "sslprov-frontdoor";

struct Azure {
    emulator: Emulator,
    client: FrontDoor,
    /// The TXT records published so far.
    dns: Arc<Mutex<BTreeMap<String, String>>>,
}

impl Azure {
    async fn start() -> Azure {
        let emulator = Emulator::start();
        emulator.set_operation_delay(Duration::from_millis(10));
        let dns: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
        let seen = Arc::clone(&dns);
        emulator.set_dns(move |name| {
            seen.lock().unwrap_or_else(|e| e.into_inner()).get(name).cloned().into_iter().collect()
        });
        let client =
            FrontDoor::new(&config(&emulator), secret(), Calls::default()).expect("client").with_retry(fast_retry());
        let a = Azure { emulator, client, dns };
        for (kind, spec) in [
            ("profile", json!({"name": P, "sku": "Standard_AzureFrontDoor"})),
            ("endpoint", json!({"profile": P, "origin": "prereq.example"})),
            ("origin_group", json!({"profile": P, "origin": "prereq.example"})),
            ("route", json!({"profile": P, "origin": "prereq.example", "forwarding_protocol": "HttpsOnly"})),
            ("endpoint", json!({"profile": P, "origin": "sample.example"})),
            ("origin_group", json!({"profile": P, "origin": "sample.example"})),
            ("custom_domain", json!({"profile": P, "host": "prereq.acme.com"})),
        ] {
            a.make(kind, spec).await;
        }
        a
    }

    async fn make(&self, kind: &str, spec: Value) -> Live {
        let token = IdempotencyToken(format!("prereq-{kind}"));
        self.client.create(&desired(kind, spec), &token).await.unwrap_or_else(|e| panic!("prerequisite {kind}: {e}"))
    }

    fn publish(&self, live: &Live) {
        if let Some(v) = live.outputs.get("validation") {
            let (name, token) = (v["name"].as_str().expect("name"), v["values"][0].as_str().expect("token"));
            self.dns.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_owned(), token.to_owned());
        }
    }
}

#[async_trait]
impl Fixture for Azure {
    fn provider(&self) -> &dyn Provider {
        &self.client
    }

    fn samples(&self) -> Vec<Desired> {
        vec![
            desired("profile", json!({"name": "sslprov-sample", "sku": "Premium_AzureFrontDoor"})),
            desired("endpoint", json!({"profile": P, "origin": "SPGO.io."})),
            desired("origin_group", json!({"profile": P, "origin": "eu.spgo.io"})),
            desired("origin", json!({"profile": P, "origin": "prereq.example", "host_header": "origin"})),
            desired("route", json!({"profile": P, "origin": "sample.example", "forwarding_protocol": "MatchRequest"})),
            desired("custom_domain", json!({"profile": P, "host": "Click.Acme.com"})),
            desired("route_domain", json!({"profile": P, "origin": "prereq.example", "host": "prereq.acme.com"})),
        ]
    }

    async fn throttle(&self, n: usize) {
        self.emulator.throttle(n);
    }

    /// A custom domain is validated by its TXT record and deployed once a route serves it.
    async fn make_ready(&self, live: &Live) {
        if live.desired.kind == "custom_domain" {
            self.publish(live);
            let host = live.desired.str("host").expect("host");
            let assoc = desired("route_domain", json!({"profile": P, "origin": "prereq.example", "host": host}));
            self.client.create(&assoc, &IdempotencyToken("assoc".into())).await.expect("associate");
        }
    }

    fn holds_readiness(&self, kind: &str) -> bool {
        kind == "custom_domain"
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn conformance() {
    let a = Azure::start().await;
    conformance::run(&a).await;
    a.emulator.assert_no_violations();
}

/// Long-running operations are followed to their end, honouring `Retry-After`; a 409 "another
/// operation in progress" and 429s are retried.
#[tokio::test(flavor = "multi_thread")]
async fn operations_are_followed_and_retry_after_honoured() {
    let a = Azure::start().await;
    a.emulator.set_operation_delay(Duration::from_millis(300));
    a.emulator.set_retry_after(1);
    let started = Instant::now();
    let made = a.make("origin_group", json!({"profile": P, "origin": "sendgrid.net"})).await;
    assert!(started.elapsed() >= Duration::from_secs(1), "waited for Retry-After: {:?}", started.elapsed());
    assert_eq!(made.outputs.status(), Some("Succeeded"), "{made:?}");
    assert!(a.emulator.count("operationresults", None) >= 1, "{:#?}", a.emulator.request_log());

    a.emulator.set_retry_after(0);
    a.emulator.conflict(2);
    a.emulator.throttle(2);
    let origin = a.make("origin", json!({"profile": P, "origin": "sendgrid.net", "host_header": "client"})).await;
    assert_eq!(a.emulator.count("AFDOrigins_Create", Some(409)), 2);
    let listed = a.emulator.of("origins");
    let o = &listed["sslprov-o-sendgrid-net"]["properties"];
    assert!(o.get("originHostHeader").is_none(), "blank: the client's Host goes to SendGrid: {o}");
    assert_eq!((o["enforceCertificateNameCheck"].as_bool(), o["httpsPort"].as_u64()), (Some(true), Some(443)));
    assert_eq!(origin.desired.str("origin"), Some("sendgrid.net"));
    a.emulator.assert_no_violations();
}

/// Two domains join one route concurrently: neither drops the other; the route leaves the
/// default domain while it serves a custom domain and goes back when the last leaves.
#[tokio::test(flavor = "multi_thread")]
async fn the_route_s_domains_are_changed_one_at_a_time() {
    let a = Azure::start().await;
    let hosts = ["a.acme.com", "b.acme.com", "c.acme.com"];
    for h in hosts {
        let d = a.make("custom_domain", json!({"profile": P, "host": h})).await;
        a.publish(&d);
    }
    let assocs: Vec<Desired> = hosts
        .iter()
        .map(|h| desired("route_domain", json!({"profile": P, "origin": "prereq.example", "host": h})))
        .collect();
    let token = IdempotencyToken("t".into());
    let joins = assocs.iter().map(|d| a.client.create(d, &token));
    for r in futures_join(joins).await {
        r.expect("associated");
    }
    let route = &a.emulator.of("routes")["sslprov-rt-prereq-example"]["properties"];
    assert_eq!(route["customDomains"].as_array().map(Vec::len), Some(3), "{route}");
    assert_eq!(route["linkToDefaultDomain"], "Disabled");
    assert!(route.get("cacheConfiguration").is_none(), "no caching: {route}");
    assert_eq!(route["supportedProtocols"], json!(["Http", "Https"]));
    assert_eq!(route["httpsRedirect"], "Disabled");
    let scope = Scope { kind: "route_domain".into(), wanted: assocs.clone(), ..Scope::default() };
    let listed = a.client.list(&scope).await.expect("list");
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|l| l.readiness == Readiness::Ready), "{listed:#?}");
    for l in &listed {
        a.client.delete(l).await.expect("leave");
    }
    let route = &a.emulator.of("routes")["sslprov-rt-prereq-example"]["properties"];
    assert_eq!(
        (route["customDomains"].as_array().map(Vec::len), route["linkToDefaultDomain"].as_str()),
        (Some(0), Some("Enabled"))
    );
    a.emulator.assert_no_violations();
}

async fn futures_join<F: std::future::Future>(fs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = fs.collect();
    let mut out = Vec::new();
    // Polled together: the route lock, not the order here, serialises them.
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = handles.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in pinned.iter_mut().zip(done.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    out.extend(done.into_iter().flatten());
    out
}

/// A validation Front Door rejects is a readiness failure that says what to check; an update
/// asks for a new token.
#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_validation_fails_with_the_reason_and_restarts_with_a_new_token() {
    let a = Azure::start().await;
    a.emulator.set_verdict("bad.acme.com", Some(Verdict::Rejected));
    let d = desired("custom_domain", json!({"profile": P, "host": "bad.acme.com"}));
    let live = a.client.create(&d, &IdempotencyToken("t".into())).await.expect("created");
    let first = live.outputs.get("validation").cloned().expect("a token before create returns");
    let seen = a.client.readiness(std::slice::from_ref(&live)).await.expect("readiness");
    let Readiness::Failed { reason } = &seen[0].readiness else { panic!("{seen:?}") };
    assert!(reason.contains("Front Door did not validate bad.acme.com (domainValidationState Rejected)"), "{reason}");
    a.emulator.set_verdict("bad.acme.com", None);
    let again = a.client.update(&live, &d).await.expect("restarted");
    assert_ne!(again.outputs.get("validation"), Some(&first), "a new token");
    assert_eq!(a.emulator.count("AFDCustomDomains_RefreshValidationToken", None), 1);
    a.emulator.assert_no_violations();
}

/// Workload identity: the federated token file is the client assertion. A wrong secret is
/// refused with Entra ID's reason and what to set.
#[tokio::test(flavor = "multi_thread")]
async fn credentials_workload_identity_and_a_refused_secret() {
    let e = Emulator::start();
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("token");
    std::fs::write(&file, emu::FEDERATED_TOKEN).expect("write");
    let fed = Source::Federated { tenant: emu::TENANT.into(), client: emu::CLIENT_ID.into(), file };
    let client = FrontDoor::new(&config(&e), fed, Calls::default()).expect("client").with_retry(fast_retry());
    client.preflight(&[desired("profile", json!({"name": P, "sku": "Standard_AzureFrontDoor"}))]).await.expect("token");
    assert_eq!(e.tokens_issued(), 1);

    let wrong = Source::Secret { tenant: emu::TENANT.into(), client: emu::CLIENT_ID.into(), secret: "nope".into() };
    let client = FrontDoor::new(&config(&e), wrong, Calls::default()).expect("client").with_retry(fast_retry());
    let err = client
        .preflight(&[desired("profile", json!({"name": P, "sku": "Standard_AzureFrontDoor"}))])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("AADSTS7000215: Invalid client secret provided."), "{err}");
    assert!(err.to_string().contains("AZURE_CLIENT_SECRET"), "{err}");
    e.assert_no_violations();
}

/// Front Door's custom-domain limit counts per profile (a brand group each), Standard 100 and
/// Premium 500, and the fix names the options that split or enlarge a group; a profile's tier is
/// not changed over an existing one.
#[tokio::test(flavor = "multi_thread")]
async fn the_domain_limit_counts_per_profile_and_names_the_brand_group() {
    use sslprov_provider::Wanted;
    let e = Emulator::start();
    let client = FrontDoor::new(&config(&e), secret(), Calls::default()).expect("client");
    let profile = |name: &str, tier: &str| {
        client.normalise(&desired("profile", json!({"name": name, "sku": tier}))).expect("normalised")
    };
    let domains = |profile: &str, n: usize| -> Vec<Desired> {
        (0..n)
            .map(|i| desired("custom_domain", json!({"profile": profile, "host": format!("c{i}.{profile}.com")})))
            .collect()
    };
    let mut all = vec![profile("sslprov-retail", "standard"), profile("sslprov-news", "standard")];
    all.extend(domains("sslprov-retail", 101));
    all.extend(domains("sslprov-news", 100));
    let wanted = |all: &[Desired]| -> Vec<(String, Desired)> {
        all.iter().enumerate().map(|(i, d)| (format!("a{i}"), d.clone())).collect()
    };
    let review = |all: &[Desired], inventory: &[Live]| {
        let w = wanted(all);
        let w: Vec<Wanted<'_>> = w.iter().map(|(a, d)| Wanted { address: a, desired: d, live: None }).collect();
        client.review(&w, inventory)
    };
    let r = review(&all, &[]);
    assert_eq!(
        r.errors,
        [
            "Front Door profile sslprov-retail would hold 101 custom domains; a Standard_AzureFrontDoor profile holds at \
          most 100: give some of its domains another brand_group (a profile each, of at most 100), or `tier: premium` \
          to the group (a Premium profile holds 500)"
        ]
    );
    all[0] = profile("sslprov-retail", "premium");
    assert_eq!(review(&all, &[]).errors, Vec::<String>::new(), "Premium holds 500");
    let was = Live {
        id: "p".into(),
        desired: profile("sslprov-retail", "standard"),
        outputs: Default::default(),
        readiness: Readiness::Ready,
        marked: true,
    };
    let r = review(&all, &[was]);
    assert!(r.errors[0].starts_with("Front Door profile sslprov-retail is Standard_AzureFrontDoor and the spec asks for Premium_AzureFrontDoor: sslprov does not change an existing profile's tier"), "{r:?}");
}

/// A custom domain whose write still runs (a killed run's) is followed to its token, not written
/// again into ARM's 409 for an operation in progress.
#[tokio::test(flavor = "multi_thread")]
async fn a_custom_domain_whose_write_still_runs_is_followed_not_written_again() {
    let a = Azure::start().await;
    let d = desired("custom_domain", json!({"profile": P, "host": "slow.acme.com"}));
    a.emulator.set_operation_delay(Duration::from_millis(800));
    let path = "profiles/sslprov-frontdoor/customDomains/sslprov-cd-slow-acme-com";
    a.emulator
        .put_as_someone_else(path, json!({"properties": {"hostName": "slow.acme.com", "tlsSettings": {"certificateType": "ManagedCertificate", "cipherSuiteSetType": "TLS12_2022"}}}))
        .await;
    assert_eq!(a.emulator.running_operations(), 1, "the killed run's write still runs");
    let live = a.client.create(&d, &IdempotencyToken("again".into())).await.expect("followed");
    assert!(live.outputs.get("validation").is_some(), "its token: {live:?}");
    assert_eq!(a.emulator.count("AFDCustomDomains_Create", Some(409)), 0, "{:#?}", a.emulator.request_log());
    a.emulator.assert_no_violations();
}

/// A 429 holds every request that draws on the same ARM bucket until its `Retry-After`, not
/// only the one that met it: a read sent meanwhile waits, and nothing more is refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_request_holds_its_whole_bucket() {
    let e = Emulator::start();
    let client =
        Arc::new(FrontDoor::new(&config(&e), secret(), Calls::default()).expect("client").with_retry(fast_retry()));
    client.list(&Scope::new("profile")).await.expect("a token, and a first list");
    e.set_retry_after(1);
    e.throttle(1);
    let first = {
        let client = Arc::clone(&client);
        tokio::spawn(async move { client.list(&Scope::new("profile")).await })
    };
    while e.count("Profiles_ListByResourceGroup", Some(429)) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let throttled = Instant::now();
    // The emulator logs the 429 before the client reads it: give the client a moment to read it
    // (the hold lasts a second from then), so the next read is sent while the hold is on.
    tokio::time::sleep(Duration::from_millis(200)).await;
    client.list(&Scope::new("profile")).await.expect("listed once the hold ends");
    assert!(throttled.elapsed() >= Duration::from_millis(800), "sent during the hold: {:?}", throttled.elapsed());
    first.await.expect("joined").expect("listed after its Retry-After");
    assert_eq!(e.count("Profiles_ListByResourceGroup", Some(429)), 1);
    e.assert_no_violations();
}
