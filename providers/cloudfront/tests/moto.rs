//! The CloudFront provider against moto, with faults moto cannot produce injected by the proxy.

#[path = "../src/specs.rs"]
mod specs;

use async_trait::async_trait;
use sslprov_cloudfront::{BehaviorSpec, CloudFront, DistributionSpec, Forward, KIND, OriginSpec};
use sslprov_provider::conformance::{self, Fixture};
use sslprov_provider::{
    Budget, Calls, Deletion, Desired, ErrorKind, IdempotencyToken, Live, Provider, Readiness, Scope,
};
use sslprov_testsupport::{AwsEnv, MotoOptions, MotoServer, Rule};

use specs::{sendgrid, ses, set, sparkpost};

fn provider(env: &AwsEnv) -> CloudFront {
    CloudFront::new(&env.sdk_config(), Budget::per_second(1000, 1000, Calls::default()))
}

fn token(s: &str) -> IdempotencyToken {
    IdempotencyToken(s.to_owned())
}

fn scope(names: &[&str]) -> Scope {
    let wanted =
        names.iter().map(|n| serde_json::from_value(serde_json::json!({"kind": KIND, "aliases": [n]})).unwrap());
    Scope { wanted: wanted.collect(), ..Scope::new(KIND) }
}

fn spec_of(live: &Live) -> DistributionSpec {
    live.desired.parse("test", "spec_of").expect("a distribution")
}

fn dist(spec: &DistributionSpec) -> Desired {
    Desired::of(KIND, spec)
}

/// Every distribution in the account, straight from the API.
async fn count(env: &AwsEnv) -> usize {
    let out = env.cloudfront().list_distributions().send().await.unwrap();
    out.distribution_list().map_or(0, |l| l.items().len())
}

#[tokio::test]
async fn create_then_list_gives_back_exactly_the_spec() {
    let env = AwsEnv::new().await;
    let cf = provider(&env);
    let specs = [sendgrid("url1234.acme.com"), sparkpost("click.acme.com"), ses("track.acme.com")];
    for (i, spec) in specs.iter().enumerate() {
        let created = cf.create(&dist(&spec.clone()), &token(&format!("tok{i}"))).await.unwrap();
        assert_eq!(&spec_of(&created), spec, "create answer");
    }
    env.proxy().reset_counts();

    let all = cf.list(&scope(&[])).await.unwrap();
    assert_eq!(all.len(), 3);
    for spec in &specs {
        let alias = spec.aliases.first().unwrap();
        let found = cf.list(&scope(&[alias])).await.unwrap();
        assert_eq!(found.len(), 1, "{alias}");
        assert_eq!(&spec_of(&found[0]), spec);
        let out = &found[0].outputs;
        assert!(out.str("domain_name").is_some_and(|d| d.ends_with(".cloudfront.net")), "{out:?}");
        assert!(out.str("arn").is_some_and(|a| a.ends_with(&format!("distribution/{}", found[0].id))), "{out:?}");
        assert_eq!(out.status(), Some("Deployed"));
        assert!(found[0].marked, "sslprov's comment is its mark");
    }
    // One sweep per list, no per-distribution reads.
    assert_eq!(env.proxy().counts().into_iter().collect::<Vec<_>>(), [("cloudfront:ListDistributions".to_owned(), 4)]);
}

#[tokio::test]
async fn update_changes_the_origin_in_place() {
    let env = AwsEnv::new().await;
    let cf = provider(&env);
    let live = cf.create(&dist(&sparkpost("click.acme.com")), &token("t")).await.unwrap();
    let mut target = sparkpost("click.acme.com");
    target.origin.domain_name = "eu.spgo.io".into();
    target.behavior.forward_headers = set(&["User-Agent", "Referer"]);

    let updated = cf.update(&live, &dist(&target)).await.unwrap();
    assert_eq!(updated.id, live.id);
    assert_eq!(spec_of(&updated), target);
    assert_eq!(spec_of(&cf.list(&scope(&["click.acme.com"])).await.unwrap()[0]), target);
    assert_eq!(env.proxy().count("cloudfront:GetDistributionConfig"), 1);
    assert_eq!(env.proxy().count("cloudfront:UpdateDistribution"), 1);
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_makes_one_distribution() {
    let env = AwsEnv::new().await;
    let cf = provider(&env);
    let desired = dist(&sendgrid("url1234.acme.com"));
    env.proxy().add_rule(Rule::forward_then_reset("cloudfront", Some("CreateDistribution")).times(1));

    let first = cf.create(&desired, &token("intent1")).await.unwrap();
    let again = cf.create(&desired, &token("intent1")).await.unwrap();
    assert_eq!(first.id, again.id);
    assert_eq!(spec_of(&again), spec_of(&first));
    assert_eq!(count(&env).await, 1);
    // The SDK's retry after the reset and the second create both met DistributionAlreadyExists.
    assert_eq!(env.proxy().count("cloudfront:CreateDistribution"), 3);
}

#[tokio::test]
async fn a_reused_caller_reference_on_someone_elses_distribution_is_an_error() {
    let env = AwsEnv::new().await;
    let cf = provider(&env);
    cf.create(&dist(&ses("track.acme.com")), &token("same")).await.unwrap();
    let err = cf.create(&dist(&ses("other.acme.com")), &token("same")).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::AlreadyExists, "{err}");
    assert_eq!(err.code.as_deref(), Some("DistributionAlreadyExists"));
}

#[tokio::test]
async fn update_survives_a_lost_etag_race() {
    let env = AwsEnv::new().await;
    let cf = provider(&env);
    let live = cf.create(&dist(&ses("track.acme.com")), &token("t")).await.unwrap();
    let mut target = ses("track.acme.com");
    target.comment = "sslprov: track.acme.com (moved)".into();
    env.proxy().add_rule(Rule::error("cloudfront", Some("UpdateDistribution"), 412, "PreconditionFailed").times(1));

    let updated = cf.update(&live, &dist(&target)).await.unwrap();
    assert_eq!(spec_of(&updated), target);
    assert_eq!(env.proxy().count("cloudfront:GetDistributionConfig"), 2);
    assert_eq!(env.proxy().count("cloudfront:UpdateDistribution"), 2);
}

#[tokio::test]
async fn update_gives_up_after_three_lost_races() {
    let env = AwsEnv::new().await;
    let cf = provider(&env);
    let live = cf.create(&dist(&ses("track.acme.com")), &token("t")).await.unwrap();
    env.proxy().add_rule(Rule::error("cloudfront", Some("UpdateDistribution"), 412, "PreconditionFailed"));

    let err = cf.update(&live, &dist(&ses("track.acme.com"))).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::PreconditionFailed, "{err}");
    assert_eq!(env.proxy().count("cloudfront:UpdateDistribution"), 3);
}

#[tokio::test]
async fn a_taken_alias_is_a_conflict_naming_it() {
    let env = AwsEnv::new().await;
    let cf = provider(&env);
    env.proxy().add_rule(Rule::error("cloudfront", Some("CreateDistribution"), 409, "CNAMEAlreadyExists").times(1));

    let err = cf.create(&dist(&sendgrid("url1234.acme.com")), &token("t")).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict, "{err}");
    assert_eq!(err.code.as_deref(), Some("CNAMEAlreadyExists"));
    assert_eq!(err.message, "another distribution already serves url1234.acme.com");
    assert_eq!(count(&env).await, 0);
}

#[tokio::test]
async fn delete_disables_first_then_deletes() {
    let env = AwsEnv::new().await;
    let cf = provider(&env);
    let live = cf.create(&dist(&sendgrid("url1234.acme.com")), &token("t")).await.unwrap();

    assert_eq!(cf.delete(&live).await.unwrap(), Deletion::InProgress);
    let listed = cf.list(&scope(&[])).await.unwrap();
    assert!(!spec_of(&listed[0]).enabled, "disabled, still there");
    assert_eq!(cf.delete(&live).await.unwrap(), Deletion::Done);
    assert!(cf.list(&scope(&[])).await.unwrap().is_empty());
    // Gone already: nothing left to do.
    assert_eq!(cf.delete(&live).await.unwrap(), Deletion::Done);
    let counts = env.proxy().counts();
    assert_eq!(counts["cloudfront:UpdateDistribution"], 1);
    assert_eq!(counts["cloudfront:DeleteDistribution"], 1);
    assert_eq!(counts["cloudfront:GetDistribution"], 3);
}

#[tokio::test]
async fn delete_waits_when_cloudfront_says_not_disabled() {
    let env = AwsEnv::new().await;
    let cf = provider(&env);
    let live = cf.create(&dist(&sparkpost("click.acme.com")), &token("t")).await.unwrap();
    assert_eq!(cf.delete(&live).await.unwrap(), Deletion::InProgress);
    env.proxy()
        .add_rule(Rule::error("cloudfront", Some("DeleteDistribution"), 409, "DistributionNotDisabled").times(1));

    assert_eq!(cf.delete(&live).await.unwrap(), Deletion::InProgress);
    assert_eq!(count(&env).await, 1);
    assert_eq!(cf.delete(&live).await.unwrap(), Deletion::Done);
    assert_eq!(count(&env).await, 0);
}

#[tokio::test]
async fn readiness_waits_for_deployment() {
    let moto = MotoServer::start_dedicated(MotoOptions::default());
    moto.set_distribution_transition_manual(3).await;
    let env = AwsEnv::with_moto(&moto).await;
    let cf = provider(&env);
    let live = cf.create(&dist(&ses("track.acme.com")), &token("t")).await.unwrap();
    assert_eq!(live.outputs.status(), Some("InProgress"));

    let pending = Readiness::Pending { detail: "InProgress: CloudFront is deploying to edge locations".into() };
    assert_eq!(cf.readiness(std::slice::from_ref(&live)).await.unwrap()[0].readiness, pending);
    assert_eq!(cf.readiness(std::slice::from_ref(&live)).await.unwrap()[0].readiness, pending);
    assert_eq!(cf.readiness(std::slice::from_ref(&live)).await.unwrap()[0].readiness, Readiness::Ready);
    assert_eq!(env.proxy().count("cloudfront:GetDistribution"), 3);
}

#[tokio::test]
async fn list_pages_through_every_distribution() {
    let env = AwsEnv::new().await;
    let calls = Calls::default();
    let cf = CloudFront::new(&env.sdk_config(), Budget::per_second(1000, 1000, calls.clone()));
    // One at a time: moto answers concurrent creates more slowly than sequential ones.
    for i in 0..250 {
        cf.create(&dist(&ses(&format!("t{i}.acme.com"))), &token(&format!("t{i}"))).await.unwrap();
    }
    env.proxy().reset_counts();

    let all = cf.list(&scope(&[])).await.unwrap();
    assert_eq!(all.len(), 250);
    assert_eq!(all.iter().map(|l| &l.id).collect::<std::collections::BTreeSet<_>>().len(), 250, "no duplicates");
    assert!(all.iter().any(|l| spec_of(l) == ses("t249.acme.com")));
    // 100 per page: three requests, as the proxy saw them and as the budget counted them.
    assert_eq!(env.proxy().count("cloudfront:ListDistributions"), 3);
    assert_eq!(calls.snapshot()["cloudfront:ListDistributions"], 3);
}

#[tokio::test]
async fn other_kinds_are_refused() {
    let env = AwsEnv::new().await;
    let err = provider(&env).list(&Scope::new("record")).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unsupported);
}

/// CloudFront on a moto of its own, whose deployments finish when the test says.
struct Moto {
    env: AwsEnv,
    moto: MotoServer,
    cf: CloudFront,
}

#[async_trait]
impl Fixture for Moto {
    fn provider(&self) -> &dyn Provider {
        &self.cf
    }

    fn samples(&self) -> Vec<Desired> {
        vec![dist(&sparkpost("Conf.acme.com"))]
    }

    async fn throttle(&self, n: usize) {
        self.env
            .proxy()
            .add_rule(sslprov_testsupport::Rule::error("cloudfront", None, 400, "Throttling").times(n as u64));
    }

    async fn make_ready(&self, _: &Live) {
        self.moto.unset_distribution_transition().await;
    }
}

#[tokio::test]
async fn conformance() {
    let moto = MotoServer::start_dedicated(MotoOptions::default());
    moto.set_distribution_transition_manual(100_000).await;
    let env = AwsEnv::with_moto(&moto).await;
    let cf = provider(&env);
    conformance::run(&Moto { env, moto, cf }).await;
}
