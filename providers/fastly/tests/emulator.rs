//! The Fastly client against the Fastly emulator: round trips, re-runs after lost answers and
//! killed runs, version discipline, certificates, rate limits and call counts.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::json;
use sslprov_fastly::{
    BackendSpec, CacheSpec, Fastly, FastlyConfig, Retry, ServiceSpec, SubscriptionSpec, SubscriptionState,
};
use sslprov_fastly_emulator::{DEFAULT_CNAME_TARGET, Emulator, ObjectKind};
use sslprov_provider::{Budget, Calls, ErrorKind};

fn client(fastly: &Emulator) -> (Fastly, Calls) {
    let calls = Calls::default();
    let config = FastlyConfig { token: fastly.token(), base_url: fastly.base_url() };
    let client = Fastly::new(config, Budget::per_second(1000, 1000, calls.clone()))
        .expect("client")
        .with_retry(fast_retry())
        // Exact: hold only when Fastly's window has nothing left.
        .with_rate_limit_reserve(0);
    (client, calls)
}

fn fast_retry() -> Retry {
    sslprov_provider::conformance::fast_retry(5, 2)
}

fn backend(address: &str, tls_name: &str, min_tls: &str) -> BackendSpec {
    BackendSpec {
        name: "esp".into(),
        address: address.into(),
        port: 443,
        use_ssl: true,
        ssl_cert_hostname: tls_name.into(),
        ssl_sni_hostname: tls_name.into(),
        min_tls_version: min_tls.into(),
        override_host: None,
    }
}

fn spec(domain: &str, backend: BackendSpec, cache: CacheSpec) -> ServiceSpec {
    ServiceSpec {
        name: format!("sslprov-{domain}"),
        comment: "managed-by=sslprov".into(),
        domain: domain.into(),
        backend,
        forwarded_host: domain.into(),
        cache,
    }
}

/// SendGrid: `sendgrid.net:443`, cert and SNI `sendgrid.net`, the client's Host, no caching.
fn sendgrid(domain: &str) -> ServiceSpec {
    spec(domain, backend("sendgrid.net", "sendgrid.net", "1.2"), CacheSpec { pass: true, fallback_ttl: 0 })
}

/// SparkPost: `spgo.io:443` with SNI, no override host, a fallback TTL of 10 s (its guide).
fn sparkpost(domain: &str) -> ServiceSpec {
    spec(domain, backend("spgo.io", "spgo.io", ""), CacheSpec { pass: false, fallback_ttl: 10 })
}

/// Amazon SES through Braze: the awstrack host as cert and SNI name, the client's Host, no caching.
fn ses(domain: &str) -> ServiceSpec {
    let host = "r.us-east-1.awstrack.me";
    spec(domain, backend(host, host, "1.2"), CacheSpec { pass: true, fallback_ttl: 0 })
}

fn names(specs: &[&ServiceSpec]) -> BTreeSet<String> {
    specs.iter().map(|s| s.name.clone()).collect()
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(op, n)| (format!("fastly:{op}"), *n)).collect()
}

/// No write ever reached a locked version: the emulator would have answered 422.
fn assert_no_locked_writes(fastly: &Emulator) {
    let locked: Vec<_> = fastly.request_log().into_iter().filter(|r| r.status == 422).collect();
    assert!(locked.is_empty(), "writes to locked versions: {locked:#?}");
}

#[tokio::test]
async fn what_create_writes_list_reads_back() {
    let fastly = Emulator::start();
    let (client, calls) = client(&fastly);
    let specs = [sendgrid("click.sg.example.com"), sparkpost("click.sp.example.com"), ses("click.ses.example.com")];

    let created = client.create_service(&specs[0]).await.expect("create");
    assert_eq!((created.active_version, created.spec.as_ref()), (Some(1), Some(&specs[0])));
    assert_eq!(
        calls.snapshot(),
        counts(&[
            ("SearchService", 1),
            ("CreateService", 1),
            ("CreateDomain", 1),
            ("CreateBackend", 1),
            ("CreateHeader", 1),
            ("CreateRequestSettings", 1),
            ("UpdateSettings", 1),
            ("ValidateVersion", 1),
            ("ActivateVersion", 1),
        ]),
        "a new service is written once, without reading back its empty version"
    );
    for s in &specs[1..] {
        client.create_service(s).await.expect("create");
    }

    let before = calls.total();
    let observed = client.list_services(&names(&specs.iter().collect::<Vec<_>>())).await.expect("list");
    assert_eq!(calls.total() - before, 3 + 3 * 6, "a search per name, six reads per service");
    for s in &specs {
        let o = observed.iter().find(|o| o.name == s.name).expect("listed");
        assert_eq!(o.spec.as_ref(), Some(s), "observed spec == spec");
        assert!(o.matches(s) && o.strays.is_empty() && o.draft_version.is_none(), "{o:#?}");
    }

    let service = &fastly.services_named(&specs[0].name)[0];
    let v1 = service.active_version().expect("active");
    assert!(v1.locked);
    assert_eq!(v1.headers["sslprov-x-forwarded-host"]["src"], json!("\"click.sg.example.com\""));
    assert_eq!(v1.headers["sslprov-x-forwarded-host"]["dst"], json!("http.X-Forwarded-Host"));
    assert_eq!(v1.request_settings["sslprov-pass"]["action"], json!("pass"));
    assert_eq!(v1.backends["esp"]["override_host"], json!(null), "the client's Host reaches SendGrid");
    let sp = &fastly.services_named(&specs[1].name)[0];
    let sp1 = sp.active_version().expect("active");
    assert!(sp1.request_settings.is_empty());
    assert_eq!(sp1.settings["general.default_ttl"], json!(10));
    assert_eq!(sp1.backends["esp"]["min_tls_version"], json!(null), "empty leaves it unset");

    // More names than it searches for: one list of the account's services instead.
    let extra = sendgrid("click.other.example.com");
    client.create_service(&extra).await.expect("create");
    let before = calls.snapshot();
    let all = client.list_services(&names(&[&specs[0], &specs[1], &specs[2], &extra])).await.expect("list");
    assert_eq!(all.len(), 4);
    let after = calls.snapshot();
    assert_eq!(after["fastly:ListServices"] - before.get("fastly:ListServices").copied().unwrap_or(0), 1);
    assert_eq!(after["fastly:SearchService"], before["fastly:SearchService"]);
    assert_no_locked_writes(&fastly);
    fastly.assert_no_violations();
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_found_again() {
    let fastly = Emulator::start();
    let (client, calls) = client(&fastly);
    let spec = sendgrid("click.example.com");

    fastly.lose_answer("create-service", 1);
    let lost = client.create_service(&spec).await.expect_err("the answer never came");
    assert_eq!(lost.kind, ErrorKind::Unavailable, "{lost}");
    assert_eq!(calls.snapshot()["fastly:CreateService"], 1, "a create is not sent twice");

    let again = client.create_service(&spec).await.expect("re-run");
    assert_eq!(fastly.services_named(&spec.name).len(), 1, "no twin");
    assert_eq!((again.active_version, again.spec.as_ref()), (Some(1), Some(&spec)));
    assert_eq!(calls.snapshot()["fastly:CreateService"], 1);

    // Run once more: the service is as asked, so nothing is written.
    let writes = fastly.writes();
    client.create_service(&spec).await.expect("third run");
    assert_eq!(fastly.writes(), writes);

    // A lost activation answer is retried: activating twice is harmless.
    let other = sparkpost("click.sp.example.com");
    fastly.lose_answer("activate-service-version", 1);
    client.create_service(&other).await.expect("activation retried");
    assert_eq!(fastly.counts()["activate-service-version"], 3);
    assert_no_locked_writes(&fastly);
    fastly.assert_no_violations();
}

#[tokio::test]
async fn a_create_killed_before_activation_is_finished_in_its_draft() {
    let fastly = Emulator::start();
    let (client, _) = client(&fastly);
    let spec = sendgrid("click.example.com");
    // What a run killed after two of its writes leaves: version 1, unlocked, half written.
    let id = fastly.add_service(&spec.name, &spec.comment);
    fastly.add_object(&id, 1, ObjectKind::Domain, json!({"name": "click.example.com"}));
    fastly.add_object(&id, 1, ObjectKind::Backend, json!({"name": "esp", "address": "sendgrid.net", "port": 80}));

    let observed = client.create_service(&spec).await.expect("create");
    assert_eq!((observed.id.as_str(), observed.active_version), (id.as_str(), Some(1)), "the draft is finished");
    let v1 = fastly.service(&id).and_then(|s| s.version(1).cloned()).expect("v1");
    assert_eq!((v1.backends["esp"]["port"].clone(), v1.backends["esp"]["use_ssl"].clone()), (json!(443), json!(true)));
    assert_eq!(fastly.counts().get("create-domain"), None, "the domain was already there");
    assert_eq!(fastly.counts().get("clone-service-version"), None);
    fastly.assert_no_violations();
}

#[tokio::test]
async fn an_update_clones_the_active_version_and_never_writes_a_locked_one() {
    let fastly = Emulator::start();
    let (client, calls) = client(&fastly);
    let mut spec = sendgrid("click.example.com");
    let id = client.create_service(&spec).await.expect("create").id;

    // A person adds a cache setting to the live version, and a killed run leaves a draft.
    fastly.add_object(&id, 1, ObjectKind::CacheSettings, json!({"name": "by-hand", "action": "cache", "ttl": 3600}));
    let leftover = fastly.clone_version(&id, 1);
    let listed = client.list_services(&names(&[&spec])).await.expect("list");
    assert_eq!(listed[0].strays, vec!["cache setting by-hand".to_owned()]);
    assert_eq!(listed[0].draft_version, Some(leftover));
    assert!(!listed[0].matches(&spec));

    spec.backend.address = "eu.sendgrid.net".into();
    spec.cache = CacheSpec { pass: false, fallback_ttl: 10 };
    spec.comment = "managed-by=sslprov; esp=sendgrid-eu".into();
    let before = calls.snapshot();
    let updated = client.update_service(&id, &spec).await.expect("update");
    assert_eq!(updated.active_version, Some(leftover + 1), "a fresh clone, not the leftover draft");
    let service = fastly.service(&id).expect("service");
    assert_eq!(service.comment, spec.comment);
    assert!(service.version(1).is_some_and(|v| v.locked && !v.active));
    assert!(service.version(leftover).is_some_and(|v| !v.locked && !v.active), "the leftover is left alone");
    let live = service.active_version().expect("active");
    assert!(live.cache_settings.is_empty() && live.request_settings.is_empty(), "strays and the pass removed");
    assert_eq!(live.backends["esp"]["address"], json!("eu.sendgrid.net"));
    let after = calls.snapshot();
    let delta = |op: &str| after.get(op).copied().unwrap_or(0) - before.get(op).copied().unwrap_or(0);
    assert_eq!(
        [
            "fastly:CloneVersion",
            "fastly:UpdateBackend",
            "fastly:DeleteCacheSettings",
            "fastly:DeleteRequestSettings",
            "fastly:ActivateVersion"
        ]
        .map(delta),
        [1, 1, 1, 1, 1]
    );
    assert_eq!(delta("fastly:CreateBackend") + delta("fastly:CreateHeader"), 0, "unchanged objects stay");

    let relisted = client.list_services(&names(&[&spec])).await.expect("list");
    assert!(relisted[0].matches(&spec), "{:#?}", relisted[0]);
    let writes = fastly.writes();
    client.update_service(&id, &spec).await.expect("same again");
    assert_eq!(fastly.writes(), writes, "already as asked: no clone, no activation");
    assert_no_locked_writes(&fastly);
    fastly.assert_no_violations();
}

#[tokio::test]
async fn delete_deactivates_then_deletes_and_a_gone_service_is_deleted() {
    let fastly = Emulator::start();
    let (client, calls) = client(&fastly);
    let id = client.create_service(&sendgrid("click.example.com")).await.expect("create").id;
    client.delete_service(&id).await.expect("delete");
    assert!(fastly.service(&id).is_some_and(|s| s.deleted));
    assert_eq!(calls.snapshot()["fastly:DeactivateVersion"], 1);
    client.delete_service(&id).await.expect("already gone");
    assert!(
        client.list_services(&BTreeSet::from(["sslprov-click.example.com".to_owned()])).await.expect("list").is_empty()
    );
    // The domain is free again.
    client.create_service(&sendgrid("click.example.com")).await.expect("a new one");
    fastly.assert_no_violations();
}

#[tokio::test]
async fn a_domain_on_a_hand_made_service_is_a_conflict() {
    let fastly = Emulator::start();
    let (client, _) = client(&fastly);
    fastly.add_http_service("click tracking (http)", "click.example.com", "sendgrid.net");
    let e = client.create_service(&sendgrid("click.example.com")).await.expect_err("taken");
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert!(e.message.contains("already taken by service"), "{e}");
    fastly.assert_no_violations();
}

#[tokio::test]
async fn a_subscription_is_issued_once_its_challenge_is_published() {
    let fastly = Emulator::start();
    let (client, calls) = client(&fastly);
    let domain = "click.example.com";
    client.create_service(&sendgrid(domain)).await.expect("service");
    fastly.set_cname_target("k.sni.emulator.example");

    let spec = SubscriptionSpec { domain: domain.into(), certificate_authority: "lets-encrypt".into() };
    let sub = client.create_subscription(&spec).await.expect("subscription");
    assert_eq!(
        (sub.state, sub.domain.as_str(), sub.certificate_authority.as_str()),
        (SubscriptionState::Pending, domain, "lets-encrypt")
    );
    let challenge = sub.challenge.clone().expect("the managed-dns challenge");
    assert_eq!(
        (challenge.name.as_str(), challenge.record_type.as_str()),
        ("_acme-challenge.click.example.com", "CNAME")
    );
    assert!(challenge.value.ends_with(".fastly-validations.com"), "{challenge:?}");
    assert_eq!(sub.cname_target.as_deref(), Some("k.sni.emulator.example"), "read from the API");
    assert_ne!(sub.cname_target.as_deref(), Some(DEFAULT_CNAME_TARGET));

    let again = client.create_subscription(&spec).await.expect("re-run");
    assert_eq!((again.id.as_str(), fastly.subscriptions().len()), (sub.id.as_str(), 1), "no second order");
    assert_eq!(calls.snapshot()["fastly:CreateTlsSubscription"], 1);
    assert_eq!(calls.snapshot()["fastly:GetTlsConfiguration"], 1, "one read per configuration per run");

    let polled = client.subscription(&sub.id).await.expect("get").expect("exists");
    assert_eq!(polled.state, SubscriptionState::Pending, "nothing published yet");
    let published = challenge.clone();
    fastly.set_dns(move |name| (name == published.name).then(|| published.value.clone()));
    let mut states = Vec::new();
    for _ in 0..3 {
        states.push(client.subscription(&sub.id).await.expect("get").expect("exists").state);
    }
    assert_eq!(states, [SubscriptionState::Processing, SubscriptionState::Issued, SubscriptionState::Issued]);
    let listed = client.list_subscriptions(&BTreeSet::from([domain.to_owned()])).await.expect("list");
    assert!(listed.len() == 1 && listed[0].has_certificate && listed[0].challenge == Some(challenge));

    client.delete_subscription(&sub.id).await.expect("delete");
    let forced = fastly
        .request_log()
        .into_iter()
        .filter(|r| r.method == "DELETE" && r.path.starts_with("/tls/"))
        .collect::<Vec<_>>();
    assert_eq!(forced.len(), 1);
    assert_eq!((forced[0].query.as_str(), forced[0].status), ("force=true", 204), "TLS was enabled: forced");
    assert!(fastly.subscriptions().is_empty());
    client.delete_subscription(&sub.id).await.expect("already gone");
    assert!(client.subscription(&sub.id).await.expect("get").is_none());
    fastly.assert_no_violations();
}

#[tokio::test]
async fn a_failed_subscription_is_retried_once() {
    let fastly = Emulator::start();
    let (client, calls) = client(&fastly);
    client.create_service(&sparkpost("click.example.com")).await.expect("service");
    let spec = SubscriptionSpec { domain: "click.example.com".into(), certificate_authority: "certainly".into() };
    let sub = client.create_subscription(&spec).await.expect("subscription");
    fastly.fail_subscription(&sub.id, "no _acme-challenge CNAME after 7 days");

    let failed = client.list_subscriptions(&BTreeSet::from(["click.example.com".to_owned()])).await.expect("list");
    assert_eq!(failed[0].state, SubscriptionState::Failed);
    assert!(failed[0].warnings.iter().any(|w| w.contains("after 7 days")), "{:?}", failed[0].warnings);
    let retried = client.retry_subscription(&sub.id).await.expect("retry");
    assert_eq!(retried.state, SubscriptionState::Pending);
    let again = client.retry_subscription(&sub.id).await.expect("retry again");
    assert_eq!(again.state, SubscriptionState::Pending);
    assert_eq!(calls.snapshot()["fastly:PatchTlsSubscription"], 1, "a pending one is not patched");

    // Never issued: deleted without force.
    client.delete_subscription(&sub.id).await.expect("delete");
    assert!(fastly.request_log().iter().any(|r| r.method == "DELETE" && r.query.is_empty() && r.status == 204));
    let unknown = client.retry_subscription(&sub.id).await.expect_err("gone");
    assert_eq!(unknown.kind, ErrorKind::NotFound);
    fastly.assert_no_violations();
}

#[tokio::test]
async fn writes_wait_for_fastlys_window_instead_of_running_into_429() {
    let fastly = Emulator::start();
    let (client, _) = client(&fastly);
    fastly.set_rate_limit(4, Duration::from_secs(2));
    let start = Instant::now();
    client.create_service(&sendgrid("click.example.com")).await.expect("create");
    let log = fastly.request_log();
    assert!(log.iter().all(|r| r.status != 429), "held before the limit, never refused: {log:#?}");
    assert_eq!(fastly.writes(), 7, "create, domain, backend, header, request setting, settings, activate");
    assert!(start.elapsed() >= Duration::from_millis(500), "the fifth write waited for the next window");
    assert!(fastly.max_writes_in_window(Duration::from_millis(200)) <= 4);
    fastly.assert_no_violations();
}

#[tokio::test]
async fn a_429_is_retried_after_the_reset_and_reported_when_it_lasts() {
    let fastly = Emulator::start();
    let (client, _) = client(&fastly);
    fastly.set_rate_limit(1000, Duration::from_secs(1));
    fastly.inject_429(2);
    client.create_service(&sendgrid("click.example.com")).await.expect("create after two 429s");
    assert_eq!(fastly.request_log().iter().filter(|r| r.status == 429).count(), 2);

    // An exhausted hour: its reset is beyond what the retry policy waits for.
    fastly.set_rate_limit(0, Duration::from_secs(3600));
    let e = client.create_service(&sparkpost("click.sp.example.com")).await.expect_err("limited");
    assert_eq!(e.kind, ErrorKind::RateLimited, "{e}");
    assert!(e.message.contains("1,000 non-read requests per hour"), "{e}");
    fastly.assert_no_violations();
}

#[tokio::test]
async fn server_errors_are_retried_only_where_a_second_copy_is_harmless() {
    let fastly = Emulator::start();
    let (client, calls) = client(&fastly);
    fastly.inject_5xx(2, 503);
    let none = client.list_services(&BTreeSet::from(["sslprov-x".to_owned()])).await.expect("reads retry");
    assert!(none.is_empty());
    assert_eq!(calls.snapshot()["fastly:SearchService"], 3);

    let spec = sendgrid("click.example.com");
    fastly.inject_disconnect(1);
    assert!(client.list_services(&names(&[&spec])).await.expect("a cut read is retried").is_empty());

    fastly.fail_operation("create-service", 1, 502);
    let e = client.create_service(&spec).await.expect_err("a create is not sent twice");
    assert_eq!((e.kind, calls.snapshot()["fastly:CreateService"]), (ErrorKind::Unavailable, 1));
    assert!(fastly.services_named(&spec.name).is_empty());
    fastly.fail_operation("update-service-settings", 1, 503);
    client.create_service(&spec).await.expect("re-run; the settings PUT is retried");
    assert_eq!(fastly.counts()["update-service-settings"], 2);
    assert_eq!(fastly.services_named(&spec.name).len(), 1);
    fastly.assert_no_violations();
}

#[tokio::test]
async fn the_token_is_checked_and_named_when_refused() {
    let fastly = Emulator::start();
    let (client, _) = client(&fastly);
    let check = client.check_token().await.expect("check");
    assert!(check.can_write() && !check.is_restricted() && check.problems().is_empty(), "{check:?}");

    fastly.set_token_scope("global:read");
    let id = fastly.add_service("someone-else", "");
    fastly.set_token_services(&[&id]);
    let check = client.check_token().await.expect("check");
    assert_eq!(check.problems().len(), 2, "{check:?}");
    let refused = client.create_service(&sendgrid("click.example.com")).await.expect_err("read-only");
    assert_eq!(refused.kind, ErrorKind::PermissionDenied);

    fastly.revoke_token();
    let e = client.check_token().await.expect_err("revoked");
    assert_eq!(e.kind, ErrorKind::Unauthenticated);
    assert!(e.message.contains("FASTLY_API_TOKEN") && !e.to_string().contains(&fastly.token()), "{e}");
    fastly.assert_no_violations();
}

/// Fastly's emulator for the conformance suite: a service already holds the subscription
/// sample's domain, as Fastly requires before it orders a certificate.
struct Emulated {
    fastly: Emulator,
    client: Fastly,
}

#[async_trait::async_trait]
impl sslprov_provider::conformance::Fixture for Emulated {
    fn provider(&self) -> &dyn sslprov_provider::Provider {
        &self.client
    }

    fn samples(&self) -> Vec<sslprov_provider::Desired> {
        let subscription =
            SubscriptionSpec { domain: "Tls.acme.com.".into(), certificate_authority: "lets-encrypt".into() };
        vec![
            sslprov_provider::Desired::of(sslprov_fastly::SERVICE, &sparkpost("conf.acme.com")),
            sslprov_provider::Desired::of(sslprov_fastly::TLS_SUBSCRIPTION, &subscription),
        ]
    }

    async fn make_outside(&self, d: &sslprov_provider::Desired) {
        let s: SubscriptionSpec = d.parse("test", "outside").expect("a subscription");
        self.fastly.add_subscription(&s.domain.trim_end_matches('.').to_ascii_lowercase(), &s.certificate_authority);
    }

    fn outside_variant(&self, _: &sslprov_provider::Desired) -> Option<sslprov_provider::Desired> {
        None
    }

    async fn throttle(&self, n: usize) {
        self.fastly.inject_429(n as u32);
    }

    async fn make_ready(&self, live: &sslprov_provider::Live) {
        if live.desired.kind == sslprov_fastly::TLS_SUBSCRIPTION {
            self.fastly.issue_subscription(&live.id);
        }
    }

    /// A service is active once created; a subscription waits for its challenge.
    fn holds_readiness(&self, kind: &str) -> bool {
        kind == sslprov_fastly::TLS_SUBSCRIPTION
    }
}

#[tokio::test]
async fn conformance() {
    let fastly = Emulator::start();
    // A one-second window, so that a 429 (which holds until the window resets) costs a second.
    fastly.set_rate_limit(1000, Duration::from_secs(1));
    fastly.add_http_service("tls-holder", "tls.acme.com", "sendgrid.net");
    let (client, _) = client(&fastly);
    let f = Emulated { fastly, client };
    sslprov_provider::conformance::run(&f).await;
    f.fastly.assert_no_violations();
}
