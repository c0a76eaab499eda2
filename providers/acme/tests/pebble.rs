//! The ACME provider against Pebble (an RFC 8555 test CA) behind a fault-injecting proxy, its
//! DNS-01 lookups answered by a test DNS server holding the records the test publishes.

use std::time::{Duration, SystemTime};

use sslprov_acme::{Acme, AcmeConfig, CertificateSpec, KIND, Retry, Sealer};
use sslprov_acme_harness::{Pebble, TxtRecords};
use sslprov_provider::{Budget, Calls, Desired, IdempotencyToken, Live, Provider, Readiness, Scope};

const SECRET: &str = "test-secret-test-secret-test-secret-0123";

fn config(pebble: &Pebble) -> AcmeConfig {
    let mut c = AcmeConfig::new(pebble.directory_url());
    c.ca_pem = Some(std::fs::read(pebble.ca_file()).expect("CA file"));
    c.resolvers = Some(vec![pebble.dns_addr()]);
    c
}

fn client(config: AcmeConfig) -> (Acme, Calls) {
    let calls = Calls::default();
    let acme = Acme::new(config, Sealer::new(SECRET).unwrap(), Budget::per_second(1000, 1000, calls.clone()))
        .expect("client")
        .with_retry(Retry {
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_retries: 5,
            max_retry_after: Duration::from_secs(1),
            lost_connection_retries: 2,
        })
        .expect("retry");
    (acme, calls)
}

fn desired(domain: &str) -> Desired {
    Desired::of(KIND, &CertificateSpec { domain: domain.into(), directory: String::new() })
}

/// Readiness rounds until it is not pending (bounded).
async fn settle(acme: &Acme, live: &Live) -> sslprov_provider::Observed {
    for _ in 0..100 {
        let seen = acme.readiness(std::slice::from_ref(live)).await.expect("readiness").remove(0);
        if !matches!(seen.readiness, Readiness::Pending { .. }) {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} stayed pending", live.id);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_is_issued_once_its_challenge_record_is_published() {
    let txt = TxtRecords::default();
    let pebble = Pebble::start(txt.lookup());
    let (acme, calls) = client(config(&pebble));
    let d = acme.normalise(&desired("Url1234.Acme.com.")).expect("normalises");
    assert_eq!(d.str("domain"), Some("url1234.acme.com"));
    assert_eq!(d.str("directory"), Some(pebble.directory_url().as_str()), "the CA is part of the spec");

    let made = acme.create(&d, &IdempotencyToken("t1".into())).await.expect("create");
    let challenge = made.outputs.get("challenge").expect("challenge").clone();
    assert_eq!(challenge["name"], "_acme-challenge.url1234.acme.com");
    assert_eq!(challenge["type"], "TXT");
    let value = challenge["values"][0].as_str().expect("value").to_owned();
    let key = made.outputs.str("key").expect("sealed key");
    assert!(key.starts_with("sealed:v1:") && !key.contains("PRIVATE"), "{key}");
    let again = acme.create(&d, &IdempotencyToken("t1".into())).await.expect("again");
    assert_eq!(again.id, made.id, "the same token, the same order");
    assert_eq!(calls.snapshot()["acme:NewOrder"], 1);

    // Not published yet: the CA is not asked to validate (it would fail the order for good).
    let first = acme.readiness(std::slice::from_ref(&made)).await.unwrap().remove(0);
    let Readiness::Pending { detail } = &first.readiness else { panic!("{first:?}") };
    assert!(detail.contains("waiting for the TXT record _acme-challenge.url1234.acme.com"), "{detail}");
    assert!(!calls.snapshot().contains_key("acme:RespondChallenge"));

    txt.set("_acme-challenge.url1234.acme.com", &[&value]);
    let seen = settle(&acme, &made).await;
    assert_eq!(seen.readiness, Readiness::Ready, "{seen:?}");
    let chain = seen.outputs.str("certificate").expect("chain");
    assert!(chain.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(seen.outputs.str("sha256").map(str::len), Some(64));
    let not_after = humantime::parse_rfc3339_weak(seen.outputs.str("not_after").expect("not_after")).unwrap();
    assert!(not_after > SystemTime::now() + Duration::from_secs(60 * 86_400), "{not_after:?}");
    assert_eq!(calls.snapshot()["acme:RespondChallenge"], 1);
    assert_eq!(calls.snapshot()["acme:FinalizeOrder"], 1);

    // Known to the state with its outputs: list reads nothing from the CA.
    let outputs = made.outputs.merged(&seen.outputs);
    let scope = Scope {
        kind: KIND.into(),
        wanted: vec![d.clone()],
        known: [(made.id.clone(), Some(d.clone()))].into(),
        outputs: [(made.id.clone(), outputs.clone())].into(),
    };
    let before = calls.total();
    let listed = acme.list(&scope).await.expect("list");
    assert_eq!(calls.total(), before, "an issued certificate needs no request");
    assert_eq!((listed.len(), &listed[0].readiness, &listed[0].desired), (1, &Readiness::Ready, &d));

    // Within 30 days of its expiry (the clock moved on): due for renewal. Past it: failed.
    let mut late = config(&pebble);
    late.now = Some(not_after - Duration::from_secs(10 * 86_400));
    let (renewing, _) = client(late);
    let due = renewing.list(&scope).await.expect("list");
    let Readiness::Expiring { reason } = &due[0].readiness else { panic!("{:?}", due[0]) };
    assert!(reason.contains("(10 days left; sslprov renews from 30 days before expiry)"), "{reason}");
    let mut after = config(&pebble);
    after.now = Some(not_after + Duration::from_secs(86_400));
    assert!(matches!(client(after).0.list(&scope).await.unwrap()[0].readiness, Readiness::Failed { .. }));

    // Another secret cannot open the key: a new certificate is due.
    let other = Acme::new(
        config(&pebble),
        Sealer::new(&format!("{SECRET}-other")).unwrap(),
        Budget::per_second(1000, 1000, Calls::default()),
    )
    .unwrap();
    let Readiness::Failed { reason } = &other.list(&scope).await.unwrap()[0].readiness else { panic!() };
    assert!(reason.contains("sealed with another SSLPROV_ACME_KEY"), "{reason}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_challenge_the_ca_cannot_see_fails_the_order_with_the_fix() {
    let txt = TxtRecords::default();
    let pebble = Pebble::start(txt.lookup());
    let mut c = config(&pebble);
    c.dns_wait = Duration::ZERO;
    let (acme, _) = client(c);
    let d = acme.normalise(&desired("click.acme.com")).unwrap();
    let made = acme.create(&d, &IdempotencyToken("t".into())).await.unwrap();
    let seen = settle(&acme, &made).await;
    let Readiness::Failed { reason } = &seen.readiness else { panic!("{seen:?}") };
    assert!(reason.starts_with("the CA could not validate click.acme.com ("), "{reason}");
    assert!(reason.contains("check that the TXT record _acme-challenge.click.acme.com is published"), "{reason}");
    assert!(reason.contains("nothing points at the CDN yet"), "{reason}");
    assert!(reason.contains("the next `sslprov apply` orders a new certificate"), "{reason}");
    assert!(!reason.contains('\n'));
}

#[tokio::test(flavor = "multi_thread")]
async fn throttled_and_failed_requests_are_retried_and_a_long_rate_limit_is_reported() {
    let pebble = Pebble::start(TxtRecords::default().lookup());
    let (acme, _) = client(config(&pebble));
    let d = acme.normalise(&desired("retry.acme.com")).unwrap();
    pebble.fail_next(2, 503);
    acme.create(&d, &IdempotencyToken("a".into())).await.expect("after two 503s");
    pebble.fail_next(1, 429);
    acme.create(&d, &IdempotencyToken("b".into())).await.expect("after a short 429");
    let log = pebble.requests();
    assert_eq!(log.iter().filter(|r| r.status == 503).count(), 2);
    assert_eq!(log.iter().filter(|r| r.status == 429).count(), 1);

    // A CA that keeps answering 429: reported as its rate limit, with what to do.
    pebble.fail_next(10, 429);
    let e = acme.create(&d, &IdempotencyToken("c".into())).await.expect_err("rate limited");
    assert_eq!(e.kind, sslprov_provider::ErrorKind::RateLimited, "{e}");
    assert!(e.message.contains("300 new orders per account every 3 hours"), "{e}");
}

/// Pebble for the conformance suite: `make_ready` publishes the challenge record; `throttle`
/// makes the proxy answer 503.
struct Fixture {
    pebble: Pebble,
    txt: TxtRecords,
    acme: Acme,
}

#[async_trait::async_trait]
impl sslprov_provider::conformance::Fixture for Fixture {
    fn provider(&self) -> &dyn Provider {
        &self.acme
    }

    fn samples(&self) -> Vec<Desired> {
        vec![desired("Conformance.acme.com.")]
    }

    async fn throttle(&self, n: usize) {
        self.pebble.fail_next(n, 503);
    }

    async fn make_ready(&self, live: &Live) {
        let c = live.outputs.get("challenge").expect("challenge");
        self.txt.set(c["name"].as_str().unwrap(), &[c["values"][0].as_str().unwrap()]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn conformance() {
    let txt = TxtRecords::default();
    let pebble = Pebble::start(txt.lookup());
    let (acme, _) = client(config(&pebble));
    let f = Fixture { pebble, txt, acme };
    sslprov_provider::conformance::run(&f).await;
}
