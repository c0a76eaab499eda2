//! The ACM provider against moto, through the counting, fault-injecting proxy.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use sslprov_acm::{Acm, CertificateSpec, KIND, TOKEN_TAG};
use sslprov_provider::conformance::{self, Fixture};
use sslprov_provider::{
    Budget, Calls, Deletion, Desired, ErrorKind, IdempotencyToken, Live, Provider, Readiness, RecordSpec, RecordType,
    Scope,
};
use sslprov_testsupport::{AwsEnv, MotoOptions, MotoServer, Rule};

fn acm(env: &AwsEnv) -> Acm {
    Acm::new(&env.sdk_config(), Budget::per_second(1000, 100, Calls::default()))
}

fn spec(domain: &str, sans: &[&str]) -> Desired {
    Desired::of(
        KIND,
        &CertificateSpec {
            domain_name: domain.into(),
            subject_alternative_names: sans.iter().map(|s| s.to_string()).collect(),
        },
    )
}

fn token(t: &str) -> IdempotencyToken {
    IdempotencyToken(t.into())
}

fn scope(names: &[&str], known: &[&str]) -> Scope {
    Scope {
        wanted: names.iter().map(|n| spec(n, &[])).collect(),
        known: known.iter().map(|s| (s.to_string(), None)).collect(),
        ..Scope::new(KIND)
    }
}

async fn list(acm: &Acm, names: &[&str]) -> Vec<Live> {
    acm.list(&scope(names, &[])).await.expect("list")
}

#[tokio::test]
async fn create_then_list_round_trips_with_token_and_validation_records() {
    let env = AwsEnv::new().await;
    let acm = acm(&env);
    let desired = spec("click.acme.com", &["*.click.acme.com", "links.acme.com"]);

    let created = acm.create(&desired, &token("tok_roundtrip")).await.expect("create");
    assert_eq!(created.desired, desired);
    assert_eq!(created.outputs.token(), Some("tok_roundtrip"));

    let live = list(&acm, &["click.acme.com"]).await;
    assert_eq!(live.len(), 1, "{live:#?}");
    let live = &live[0];
    assert_eq!(live.desired, desired, "the drift check: create then list changes nothing");
    assert_eq!(live.id, created.id);
    assert_eq!(live.outputs.str("arn"), Some(created.id.as_str()));
    assert_eq!(live.outputs.token(), Some("tok_roundtrip"));
    assert!(live.marked);
    let records: Vec<RecordSpec> = serde_json::from_value(
        live.outputs.get("validation_records").expect("described, so records are known").clone(),
    )
    .unwrap();
    let names: BTreeSet<&str> = records.iter().map(|r| r.name.as_str()).collect();
    // moto's record names are one constant label before the name; a wildcard shares its base's.
    assert_eq!(names.len(), 2, "{records:#?}");
    assert!(
        names.iter().any(|n| n.ends_with(".click.acme.com")) && names.iter().any(|n| n.ends_with(".links.acme.com"))
    );
    for r in &records {
        assert_eq!((r.rtype, r.ttl, r.zone.as_str(), r.proxied), (RecordType::Cname, 300, "", None));
        assert!(r.values.len() == 1 && r.values[0].ends_with(".acm-validations.aws"), "{r:?}");
        assert_eq!(r.name, r.name.to_lowercase());
    }

    // The tag is on the certificate itself, for whoever looks without sslprov.
    let tags = env.acm().list_tags_for_certificate().certificate_arn(&live.id).send().await.expect("tags");
    assert!(tags.tags().iter().any(|t| t.key() == TOKEN_TAG && t.value() == Some("tok_roundtrip")));

    assert!(list(&acm, &["other.acme.com"]).await.is_empty(), "names outside the scope are not reported");
}

#[tokio::test]
async fn the_same_token_twice_gives_the_same_certificate() {
    let env = AwsEnv::new().await;
    let acm = acm(&env);
    let desired = spec("twice.acme.com", &[]);
    let first = acm.create(&desired, &token("tok_twice")).await.expect("create");
    let second = acm.create(&desired, &token("tok_twice")).await.expect("create again");
    assert_eq!(first.id, second.id);
    assert_eq!(list(&acm, &["twice.acme.com"]).await.len(), 1);
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_leaves_one_certificate() {
    let env = AwsEnv::new().await;
    let acm = acm(&env);
    let desired = spec("lost.acme.com", &["www.lost.acme.com"]);
    env.proxy().add_rule(Rule::forward_then_reset("acm", Some("RequestCertificate")).times(1));

    // The SDK retries the reset request itself; whether or not that succeeds, the engine's
    // re-run sends the same token again.
    let _ = acm.create(&desired, &token("tok_lost")).await;
    let again = acm.create(&desired, &token("tok_lost")).await.expect("create again");

    assert!(env.proxy().count("acm:RequestCertificate") >= 3, "{:?}", env.proxy().counts());
    let live = list(&acm, &["lost.acme.com"]).await;
    assert_eq!(live.len(), 1, "{live:#?}");
    assert_eq!(live[0].id, again.id);
    assert_eq!(live[0].outputs.token(), Some("tok_lost"));
}

#[tokio::test]
async fn known_issued_certificates_cost_nothing_but_the_list() {
    let env = AwsEnv::new().await;
    let acm = acm(&env);
    let desired = spec("known.acme.com", &["www.known.acme.com"]);
    let created = acm.create(&desired, &token("tok_known")).await.expect("create");
    env.proxy().reset_counts();

    // Known with what was applied: moto's ListCertificates leaves out the names, but an ACM
    // certificate's names never change after it is requested, so they come from the state.
    let mut known = scope(&["known.acme.com"], &[]);
    known.known.insert(created.id.clone(), Some(desired.clone()));
    let live = acm.list(&known).await.expect("list");
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].outputs.status(), Some("ISSUED"), "the shared moto issues at once");
    assert_eq!(live[0].desired, created.desired);
    let counts = env.proxy().counts();
    assert_eq!(counts.get("acm:ListCertificates"), Some(&1));
    assert_eq!(counts.get("acm:DescribeCertificate"), None, "{counts:?}");

    // Known by id only (a replaced certificate): the list cannot tell its names, so it is described.
    let live = acm.list(&scope(&["known.acme.com"], &[&created.id])).await.expect("list");
    assert_eq!(live[0].desired, created.desired);
    assert_eq!(env.proxy().counts().get("acm:DescribeCertificate"), Some(&1));
}

#[tokio::test]
async fn delete_is_done_twice_and_update_is_refused() {
    let env = AwsEnv::new().await;
    let acm = acm(&env);
    let desired = spec("gone.acme.com", &[]);
    let live = acm.create(&desired, &token("tok_gone")).await.expect("create");

    let refused = acm.update(&live, &spec("gone.acme.com", &["more.acme.com"])).await.expect_err("immutable");
    assert_eq!(refused.kind, ErrorKind::Unsupported);

    assert_eq!(acm.delete(&live).await.expect("delete"), Deletion::Done);
    assert_eq!(acm.delete(&live).await.expect("already gone"), Deletion::Done);
    assert!(list(&acm, &["gone.acme.com"]).await.is_empty());
    let gone = acm.readiness(std::slice::from_ref(&live)).await.expect("readiness");
    assert!(matches!(gone[0].readiness, Readiness::Failed { .. }), "{gone:?}");
}

#[tokio::test]
async fn a_throttled_request_is_retried_by_the_sdk() {
    let env = AwsEnv::new().await;
    let acm = acm(&env);
    env.proxy().add_rule(Rule::error("acm", Some("ListCertificates"), 400, "ThrottlingException").times(2));
    assert!(list(&acm, &["none.acme.com"]).await.is_empty());
    assert_eq!(env.proxy().count("acm:ListCertificates"), 3);
}

/// Polls readiness until it is `Ready`, within `deadline`; the answers seen on the way.
async fn until_ready(acm: &Acm, live: &Live, deadline: Duration) -> Vec<Readiness> {
    let start = std::time::Instant::now();
    let mut seen = Vec::new();
    while start.elapsed() < deadline {
        let r = acm.readiness(std::slice::from_ref(live)).await.expect("readiness").remove(0).readiness;
        seen.push(r.clone());
        if r == Readiness::Ready {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    seen
}

#[tokio::test]
async fn readiness_is_pending_until_moto_issues() {
    let moto = MotoServer::start_dedicated(MotoOptions { acm_validation_wait_secs: 2, ..MotoOptions::default() });
    let env = AwsEnv::with_moto(&moto).await;
    let acm = acm(&env);
    let live = acm.create(&spec("wait.acme.com", &[]), &token("tok_wait")).await.expect("create");
    assert_eq!(live.outputs.status(), Some("PENDING_VALIDATION"));
    assert!(live.outputs.get("validation_records").is_some());
    // Polled, not raced against moto's clock: pending first, ready within a generous deadline.
    let seen = until_ready(&acm, &live, Duration::from_secs(20)).await;
    assert_eq!(
        seen[0],
        Readiness::Pending { detail: "PENDING_VALIDATION: waiting for the DNS validation record".into() }
    );
    assert_eq!(seen.last(), Some(&Readiness::Ready), "{seen:?}");
}

/// ACM on a moto of its own whose certificates stay pending for a few seconds.
struct Moto {
    env: AwsEnv,
    acm: Acm,
}

#[async_trait]
impl Fixture for Moto {
    fn provider(&self) -> &dyn Provider {
        &self.acm
    }

    fn samples(&self) -> Vec<Desired> {
        vec![spec("Conf.Acme.com.", &["www.conf.acme.com", "conf.acme.com"])]
    }

    async fn throttle(&self, n: usize) {
        self.env.proxy().add_rule(Rule::error("acm", None, 400, "ThrottlingException").times(n as u64));
    }

    async fn make_ready(&self, _: &Live) {}
}

#[tokio::test]
async fn conformance() {
    let moto = MotoServer::start_dedicated(MotoOptions { acm_validation_wait_secs: 4, ..MotoOptions::default() });
    let env = AwsEnv::with_moto(&moto).await;
    let acm = acm(&env);
    conformance::run(&Moto { env, acm }).await;
}
