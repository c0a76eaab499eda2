//! The KeyCDN client against the KeyCDN emulator (which checks every request and answer against
//! shared/keycdn/api.md): zones with an uploaded certificate, aliases, re-runs after lost
//! answers, the rate limit, and the conformance suite.

use std::time::{Duration, Instant};

use serde_json::Value;
use sslprov_acme::Sealer;
use sslprov_keycdn::{Keycdn, KeycdnConfig, Retry, ZONE, ZONE_ALIAS, zone_name};
use sslprov_keycdn_emulator::Emulator;
use sslprov_provider::{Budget, Calls, Deletion, Desired, ErrorKind, IdempotencyToken, Provider, Scope};

const SECRET: &str = "keycdn-test-secret-keycdn-test-secret-01";

fn client(keycdn: &Emulator) -> (Keycdn, Calls) {
    let calls = Calls::default();
    let config =
        KeycdnConfig { api_key: keycdn.api_key(), base_url: keycdn.base_url(), account_id: keycdn.account_id() };
    let client = Keycdn::new(config, Sealer::new(SECRET).unwrap(), Budget::per_second(1000, 1000, calls.clone()))
        .expect("client")
        .with_retry(Retry {
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_retries: 5,
            max_total: Duration::MAX,
            lost_connection_retries: 2,
        });
    (client, calls)
}

/// A certificate for `domain` and its key, sealed: what the ACME provider reports.
fn certificate(domain: &str) -> (String, String) {
    let key = sslprov_acme::sealed::new_certificate_key().unwrap();
    let pair = rcgen::KeyPair::try_from(key.as_slice()).unwrap();
    let cert = rcgen::CertificateParams::new(vec![domain.to_owned()]).unwrap().self_signed(&pair).unwrap();
    (cert.pem(), Sealer::new(SECRET).unwrap().seal(&key))
}

/// A zone as the KeyCDN template renders it for SendGrid.
fn zone(domain: &str, cert: &(String, String)) -> Desired {
    let spec = serde_json::json!({
        "domain": domain,
        "esp": {"cachehostheader": "enabled"},
        "type": "pull",
        "originurl": "https://sendgrid.net",
        "cacheignorequerystring": "disabled",
        "cacheignorecachecontrol": "disabled",
        "cachemaxexpire": 1,
        "expire": "0",
        "cachecookies": "disabled",
        "cachekeyhost": "disabled",
        "forcessl": "disabled",
        "sslcert": "custom",
        "customsslcert": cert.0,
        "customsslkey": cert.1,
    });
    Desired { kind: ZONE.into(), spec: spec.as_object().unwrap().clone() }
}

fn alias(name: &str, zone_id: &str) -> Desired {
    Desired::of(ZONE_ALIAS, &serde_json::json!({"name": name, "zone_id": zone_id}))
}

fn scope(kind: &str, wanted: &[&Desired]) -> Scope {
    Scope { kind: kind.into(), wanted: wanted.iter().map(|d| (*d).clone()).collect(), ..Scope::default() }
}

#[tokio::test]
async fn a_zone_is_made_with_the_certificate_uploaded_and_lists_as_its_spec() {
    let keycdn = Emulator::start();
    let (client, calls) = client(&keycdn);
    let cert = certificate("url1234.acme.com");
    let want = client.normalise(&zone("url1234.acme.com", &cert)).expect("normalises");
    assert_eq!(want.str("domain"), Some("url1234.acme.com"));
    assert_eq!(want.get("esp"), Some(&serde_json::json!({"cachehostheader": "enabled"})));
    assert_eq!(want.str("cachemaxexpire"), Some("1"), "numbers are KeyCDN's strings");
    assert!(want.get("name").is_none(), "the name is derived, never compared");

    let made = client.create(&want, &IdempotencyToken("t".into())).await.expect("create");
    assert_eq!(made.desired, want);
    let name = zone_name("url1234.acme.com");
    let name = name.as_str();
    assert_eq!(made.outputs.str("name"), Some(name));
    assert_eq!(made.outputs.str("url"), Some(keycdn.zone_url(name).as_str()));
    assert_eq!(made.outputs.str("url"), Some(format!("{name}-1c6b.kxcdn.com").as_str()), "user 7275 is 1c6b");
    assert!(made.marked);
    let z = keycdn.zone_named(name).expect("zone");
    for (field, value) in [
        ("type", "pull"),
        ("originurl", "https://sendgrid.net"),
        ("cachehostheader", "enabled"),
        ("cacheignorequerystring", "disabled"),
        ("cacheignorecachecontrol", "disabled"),
        ("cachemaxexpire", "1"),
        ("forcessl", "disabled"),
        ("sslcert", "custom"),
    ] {
        assert_eq!(z[field], Value::from(value), "{field}");
    }
    assert_eq!(z["customsslcert"], Value::from(cert.0.as_str()));
    let uploaded = z["customsslkey"].as_str().expect("key");
    assert!(uploaded.starts_with("-----BEGIN PRIVATE KEY-----"), "KeyCDN gets the key in clear");
    assert_eq!(keycdn.request_log().iter().filter(|r| r.operation == Some("add-zone")).count(), 1);

    let listed = client.list(&scope(ZONE, &[&zone("url1234.acme.com", &cert)])).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].desired, want, "re-plan after create: no change, and the clear key is never in it");
    assert!(!serde_json::to_string(&listed[0]).unwrap().contains("PRIVATE KEY"));

    // A new certificate: the zone shows the old one, and an edit uploads the new one in place.
    let renewed = certificate("url1234.acme.com");
    let want2 = client.normalise(&zone("url1234.acme.com", &renewed)).unwrap();
    let before = client.list(&scope(ZONE, &[&want2])).await.unwrap().remove(0);
    assert_ne!(before.desired, want2);
    assert_eq!(before.desired.str("customsslkey"), Some("(the key of a certificate sslprov did not order)"));
    let updated = client.update(&before, &want2).await.expect("update");
    assert_eq!((updated.id.as_str(), &updated.desired), (made.id.as_str(), &want2));
    assert_eq!(keycdn.zone_named(name).unwrap()["customsslcert"], Value::from(renewed.0.as_str()));
    assert!(calls.snapshot().contains_key("keycdn:EditZone"));
    keycdn.assert_no_violations();
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_found_by_name() {
    let keycdn = Emulator::start();
    let (client, _) = client(&keycdn);
    let want = client.normalise(&zone("click.acme.com", &certificate("click.acme.com"))).unwrap();
    keycdn.lose_answer("add-zone", 1);
    let e = client.create(&want, &IdempotencyToken("t".into())).await.expect_err("the answer never came");
    assert_eq!(e.kind, ErrorKind::Unavailable, "{e}");
    assert_eq!(keycdn.zones().len(), 1, "made once, and an add is not sent twice");
    let again = client.create(&want, &IdempotencyToken("t".into())).await.expect("re-run");
    assert_eq!(keycdn.zones().len(), 1, "no twin");
    assert_eq!(again.desired, want);
    let counts = keycdn.counts();
    assert_eq!((counts["add-zone"], counts["edit-zone"]), (1, 1), "the re-run edits what the first made");
    keycdn.assert_no_violations();
}

#[tokio::test]
async fn aliases_point_at_sslprovs_zones_and_a_deleted_zone_is_gone() {
    let keycdn = Emulator::start();
    let (client, _) = client(&keycdn);
    let z = client
        .create(
            &client.normalise(&zone("url1.acme.com", &certificate("url1.acme.com"))).unwrap(),
            &IdempotencyToken("z".into()),
        )
        .await
        .unwrap();
    let a = client.normalise(&alias("URL1.acme.com.", &z.id)).unwrap();
    assert_eq!(a.str("name"), Some("url1.acme.com"));
    let made = client.create(&a, &IdempotencyToken("a".into())).await.expect("alias");
    assert!(made.marked, "it points at sslprov's zone");
    assert_eq!(keycdn.alias_named("url1.acme.com").map(|x| x.zone_id), Some(z.id.clone()));

    // Someone's own zone and its alias for another name: found, not sslprov's.
    let theirs = keycdn.add_zone(&[("name", "sendgrid"), ("type", "pull")]);
    let hand = client.create(&alias("url2.acme.com", &theirs), &IdempotencyToken("b".into())).await.unwrap();
    assert!(!hand.marked);

    // An unknown zone: 403 from KeyCDN; deleting what is gone is done.
    let e = client.create(&alias("url3.acme.com", "999"), &IdempotencyToken("c".into())).await.expect_err("no zone");
    assert_eq!(e.kind, ErrorKind::PermissionDenied, "{e}");
    assert_eq!(client.delete(&made).await.unwrap(), Deletion::Done);
    assert_eq!(client.delete(&z).await.unwrap(), Deletion::Done);
    assert_eq!(client.delete(&z).await.unwrap(), Deletion::Done, "403 for a deleted zone means gone");
    assert!(keycdn.zone_named(z.outputs.str("name").unwrap()).is_none());
    keycdn.assert_no_violations();
}

#[tokio::test]
async fn sparkpost_is_refused_and_a_clear_key_never_gets_into_a_spec() {
    let keycdn = Emulator::start();
    let (client, _) = client(&keycdn);
    let mut d = zone("url1.acme.com", &certificate("url1.acme.com"));
    d.spec.insert("esp".into(), serde_json::json!({"unsupported": "SparkPost is not supported on KeyCDN, because …"}));
    let e = client.normalise(&d).expect_err("refused");
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::Unsupported, "SparkPost is not supported on KeyCDN, because …")
    );
    let mut clear = zone("url1.acme.com", &certificate("url1.acme.com"));
    clear.spec.insert("customsslkey".into(), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into());
    let e = client.normalise(&clear).expect_err("a clear key");
    assert!(e.message.contains("must be a key sslprov sealed"), "{e}");
}

#[tokio::test]
async fn requests_hold_when_keycdns_bucket_runs_low_and_429s_are_retried() {
    let keycdn = Emulator::start();
    let (client, _) = client(&keycdn);
    // Ten in the bucket, one more every 100 ms: sslprov holds at five left instead of running out.
    keycdn.set_rate_limit(10, Duration::from_millis(100));
    let start = Instant::now();
    for _ in 0..12 {
        client.check_key().await.expect("list");
    }
    assert!(keycdn.request_log().iter().all(|r| r.status != 429), "held before the limit: {:?}", keycdn.request_log());
    assert!(start.elapsed() >= Duration::from_secs(1), "held a second per missing request");

    keycdn.set_rate_limit(1000, Duration::from_millis(1));
    keycdn.inject_429(2);
    client.check_key().await.expect("after two 429s");
    keycdn.inject_5xx(2, 503);
    client.check_key().await.expect("a read is retried after 503s");
    keycdn.fail_operation("add-zone", 1, 502);
    let want = client.normalise(&zone("url9.acme.com", &certificate("url9.acme.com"))).unwrap();
    let e = client.create(&want, &IdempotencyToken("t".into())).await.expect_err("an add is not sent twice");
    assert_eq!(e.kind, ErrorKind::Unavailable);
    keycdn.assert_no_violations();
}

#[tokio::test]
async fn a_wrong_key_is_named() {
    let keycdn = Emulator::start();
    let config = KeycdnConfig { api_key: "sk_wrong".into(), base_url: keycdn.base_url(), account_id: 1 };
    let client =
        Keycdn::new(config, Sealer::new(SECRET).unwrap(), Budget::per_second(10, 10, Calls::default())).unwrap();
    let e = client.preflight(&[alias("a.acme.com", "1")]).await.expect_err("refused");
    assert_eq!(e.kind, ErrorKind::Unauthenticated);
    assert!(e.message.contains("KEYCDN_API_KEY") && !e.to_string().contains("sk_wrong"), "{e}");
}

struct Fixture {
    keycdn: Emulator,
    client: Keycdn,
    zone_id: String,
}

#[async_trait::async_trait]
impl sslprov_provider::conformance::Fixture for Fixture {
    fn provider(&self) -> &dyn Provider {
        &self.client
    }

    fn samples(&self) -> Vec<Desired> {
        vec![zone("Conf.acme.com", &certificate("conf.acme.com")), alias("Alias.acme.com.", &self.zone_id)]
    }

    async fn throttle(&self, n: usize) {
        self.keycdn.inject_429(n);
    }

    async fn make_ready(&self, _: &sslprov_provider::Live) {}
}

#[tokio::test]
async fn conformance() {
    let keycdn = Emulator::start();
    let (client, _) = client(&keycdn);
    let zone_id = keycdn.add_zone(&[("name", "holder"), ("type", "pull")]);
    let f = Fixture { keycdn, client, zone_id };
    sslprov_provider::conformance::run(&f).await;
    f.keycdn.assert_no_violations();
}
