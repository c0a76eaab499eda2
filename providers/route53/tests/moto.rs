//! The Route 53 provider against moto, through the counting, fault-injecting proxy.

use std::time::Instant;

use async_trait::async_trait;
use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};
use sslprov_provider::conformance::{self, Fixture};
use sslprov_provider::{
    Budget, Calls, Deletion, Desired, ErrorKind, IdempotencyToken, Live, Outputs, Provider, RECORD, RecordSpec,
    RecordType, Scope,
};
use sslprov_route53::Route53;
use sslprov_testsupport::{AwsEnv, Rule};

fn route53(env: &AwsEnv) -> (Route53, Calls) {
    let calls = Calls::default();
    (Route53::new(&env.sdk_config(), Budget::per_second(1000, 100, calls.clone())), calls)
}

fn record(name: &str, rtype: RecordType, ttl: u32, values: &[&str]) -> Desired {
    Desired::of(RECORD, &conformance::record("acme.com", name, rtype, ttl, values))
}

fn scope(names: &[&str]) -> Scope {
    conformance::record_scope("acme.com", names)
}

fn token() -> IdempotencyToken {
    IdempotencyToken("unused_by_route53".into())
}

async fn list(r53: &Route53, names: &[&str]) -> Vec<Live> {
    r53.list(&scope(names)).await.expect("list")
}

#[tokio::test]
async fn create_update_delete_round_trip_exactly() {
    let env = AwsEnv::new().await;
    let zone_id = env.create_zone("acme.com").await;
    let (r53, _) = route53(&env);
    let names = ["click.acme.com", "*.acme.com", "acme.com", "apex.acme.com"];

    let wanted = [
        record("click.acme.com", RecordType::Cname, 300, &["d111.cloudfront.net"]),
        record("*.acme.com", RecordType::Cname, 60, &["sendgrid.net"]),
        record("acme.com", RecordType::Txt, 300, &["v=spf1 include:sendgrid.net -all", "Braze-Verify=1"]),
        record("apex.acme.com", RecordType::A, 0, &["alias:d222.cloudfront.net"]),
    ];
    let mut created = Vec::new();
    for d in &wanted {
        let live = r53.create(d, &token()).await.expect("create");
        assert_eq!(live.outputs.str("zone_id"), Some(zone_id.as_str()));
        created.push(live);
    }
    // The TXT values come back sorted; everything else exactly as asked.
    let mut live = list(&r53, &names).await;
    live.sort_by(|a, b| a.id.cmp(&b.id));
    created.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(live, created, "the drift check: create then list changes nothing");
    assert!(live.iter().any(|l| l.id == format!("{zone_id}/click.acme.com/CNAME")));
    for w in &wanted {
        let mut sorted: RecordSpec = w.parse("test", "test").unwrap();
        sorted.values.sort();
        assert!(live.iter().any(|l| l.desired == Desired::of(RECORD, &sorted)), "{w:?} not in {live:#?}");
    }

    // UPSERT in place.
    let click = live.iter().find(|l| l.id.ends_with("/click.acme.com/CNAME")).expect("click").clone();
    let moved = record("click.acme.com", RecordType::Cname, 120, &["d999.cloudfront.net"]);
    let updated = r53.update(&click, &moved).await.expect("upsert");
    assert_eq!(list(&r53, &["click.acme.com"]).await, std::slice::from_ref(&updated));

    // A type change is one atomic DELETE + CREATE.
    let as_a = record("click.acme.com", RecordType::A, 60, &["192.0.2.10", "192.0.2.2"]);
    let retyped = r53.update(&updated, &as_a).await.expect("delete + create");
    assert_eq!(list(&r53, &["click.acme.com"]).await, std::slice::from_ref(&retyped));
    assert_eq!(retyped.id, format!("{zone_id}/click.acme.com/A"));

    for l in list(&r53, &names).await {
        assert_eq!(r53.delete(&l).await.expect("delete"), Deletion::Done);
    }
    assert!(list(&r53, &names).await.is_empty());
    assert_eq!(r53.delete(&retyped).await.expect("already gone"), Deletion::Done);
}

#[tokio::test]
async fn creating_over_someone_elses_record_is_already_exists() {
    let env = AwsEnv::new().await;
    let zone_id = env.create_zone("acme.com").await;
    let (r53, _) = route53(&env);
    env.put_record(&zone_id, "dup.acme.com.", "CNAME", "sendgrid.net.", 300).await;
    // moto accepts a second CNAME set at one name; AWS refuses it like this.
    env.proxy().add_rule(
        Rule::error("route53", Some("ChangeResourceRecordSets"), 400, "InvalidChangeBatch")
            .message("Tried to create resource record set [name='dup.acme.com.', type='CNAME'] but it already exists")
            .times(1),
    );
    let d = record("dup.acme.com", RecordType::Cname, 300, &["d111.cloudfront.net"]);
    let e = r53.create(&d, &token()).await.expect_err("exists");
    assert_eq!(e.kind, ErrorKind::AlreadyExists, "{e}");
    assert_eq!(e.code.as_deref(), Some("InvalidChangeBatch"));
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_returns_the_record_it_made() {
    let env = AwsEnv::new().await;
    env.create_zone("acme.com").await;
    let (r53, _) = route53(&env);
    // The CREATE reaches Route 53, the answer is lost, the SDK retries: the retry finds the record.
    env.proxy().add_rule(Rule::forward_then_reset("route53", Some("ChangeResourceRecordSets")).times(1));
    let d = record("lost.acme.com", RecordType::Cname, 300, &["d111.cloudfront.net"]);
    let live = r53.create(&d, &token()).await.expect("create is idempotent");
    assert_eq!(live.desired, d);
    assert_eq!(env.proxy().count("route53:ChangeResourceRecordSets"), 2);
    assert_eq!(list(&r53, &["lost.acme.com"]).await.len(), 1);
}

#[tokio::test]
async fn deleting_a_record_already_gone_is_done_and_a_changed_one_fails_precondition() {
    let env = AwsEnv::new().await;
    let zone_id = env.create_zone("acme.com").await;
    let (r53, _) = route53(&env);
    let never = Live {
        id: format!("{zone_id}/never.acme.com/CNAME"),
        desired: record("never.acme.com", RecordType::Cname, 300, &["old.example.net"]),
        outputs: Outputs::default().with("zone_id", &zone_id),
        readiness: Default::default(),
        marked: false,
    };
    assert_eq!(r53.delete(&never).await.expect("nothing to delete"), Deletion::Done);
    // Refused (moto: InvalidInput), then one read to see that nothing is there.
    assert_eq!(env.proxy().count("route53:ChangeResourceRecordSets"), 1);
    assert_eq!(env.proxy().count("route53:ListResourceRecordSets"), 1);

    let live = r53
        .create(&record("stale.acme.com", RecordType::Cname, 300, &["old.example.net"]), &token())
        .await
        .expect("create");
    env.put_record(&zone_id, "stale.acme.com.", "CNAME", "new.example.net.", 300).await;
    // moto accepts a DELETE that matches any past CREATE; AWS rejects one that does not match
    // what is there now, with this error.
    env.proxy().add_rule(
        Rule::error("route53", Some("ChangeResourceRecordSets"), 400, "InvalidChangeBatch")
            .message("Tried to delete resource record set [name='stale.acme.com.', type='CNAME'] but the values provided do not match the current values")
            .times(1),
    );
    let e = r53.delete(&live).await.expect_err("stale");
    assert_eq!(e.kind, ErrorKind::PreconditionFailed, "{e}");
    assert_eq!(
        list(&r53, &["stale.acme.com"]).await[0].desired,
        record("stale.acme.com", RecordType::Cname, 300, &["new.example.net"])
    );
}

#[tokio::test]
async fn an_unknown_zone_is_not_found() {
    let env = AwsEnv::new().await;
    let (r53, _) = route53(&env);
    let e = r53.list(&conformance::record_scope("nope.com", &[])).await.expect_err("no zone");
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(e.message, "hosted zone nope.com not found");
}

#[tokio::test]
async fn a_large_zone_is_listed_whole_in_pages_of_300() {
    const RECORDS: usize = 1000;
    let env = AwsEnv::new().await;
    let zone_id = env.create_zone("acme.com").await;
    let client = env.route53();
    for chunk in (0..RECORDS).collect::<Vec<_>>().chunks(250) {
        let changes = chunk.iter().map(|i| {
            let set = ResourceRecordSet::builder()
                .name(format!("c{i:04}.acme.com."))
                .r#type(RrType::Cname)
                .ttl(300)
                .resource_records(ResourceRecord::builder().value("d111.cloudfront.net.").build().expect("value"))
                .build()
                .expect("set");
            Change::builder().action(ChangeAction::Create).resource_record_set(set).build().expect("change")
        });
        let batch = ChangeBatch::builder().set_changes(Some(changes.collect())).build().expect("batch");
        client.change_resource_record_sets().hosted_zone_id(&zone_id).change_batch(batch).send().await.expect("fill");
    }
    let (r53, calls) = route53(&env);
    env.proxy().reset_counts();

    let start = Instant::now();
    let all = list(&r53, &[]).await;
    let took = start.elapsed();
    // 1,000 CNAMEs plus the zone's SOA and NS, which are not managed: 4 pages.
    assert_eq!(all.len(), RECORDS);
    let counts = env.proxy().counts();
    assert_eq!(counts.get("route53:ListResourceRecordSets"), Some(&4), "{counts:?}");
    assert_eq!(counts.get("route53:ListHostedZonesByName"), Some(&1), "{counts:?}");
    assert_eq!(calls.snapshot(), counts, "the budget counts what reaches the wire");
    eprintln!("listed {RECORDS} records in {took:?}: {counts:?}");

    // A second sweep reuses the zone id and reads the same pages, keeping only the wanted names.
    let some = list(&r53, &["c0000.acme.com", "c0999.acme.com"]).await;
    assert_eq!(some.len(), 2);
    assert_eq!(env.proxy().count("route53:ListHostedZonesByName"), 1);
    assert_eq!(env.proxy().count("route53:ListResourceRecordSets"), 8);
}

#[tokio::test]
async fn throttling_is_survived() {
    let env = AwsEnv::new().await;
    env.create_zone("acme.com").await;
    let (r53, calls) = route53(&env);
    env.proxy()
        .add_rule(Rule::error("route53", Some("ChangeResourceRecordSets"), 400, "Throttling").times(2))
        .add_rule(Rule::error("route53", Some("ListResourceRecordSets"), 400, "PriorRequestNotComplete").times(1));
    let d = record("slow.acme.com", RecordType::Cname, 300, &["d111.cloudfront.net"]);
    let created = r53.create(&d, &token()).await.expect("create despite throttling");
    assert_eq!(list(&r53, &["slow.acme.com"]).await, [created]);
    assert_eq!(env.proxy().count("route53:ChangeResourceRecordSets"), 3);
    assert_eq!(env.proxy().count("route53:ListResourceRecordSets"), 2);
    // The SDK's retries happen below the budget: one acquired slot per logical request.
    assert_eq!(calls.snapshot().get("route53:ChangeResourceRecordSets"), Some(&1));
}

#[tokio::test]
async fn many_zones_are_found_in_one_sweep_not_one_lookup_each() {
    let env = AwsEnv::new().await;
    for z in ["a.example", "b.example", "c.example"] {
        let id = env.create_zone(z).await;
        env.put_record(&id, &format!("url.{z}."), "CNAME", "sendgrid.net.", 300).await;
    }
    let (r53, _) = route53(&env);
    let mut scope = Scope::new(RECORD);
    for z in ["a.example", "b.example", "c.example"] {
        scope.wanted.extend(conformance::record_scope(z, &[]).wanted);
    }
    let found = r53.list(&scope).await.expect("list");
    assert_eq!(found.iter().filter(|l| l.desired.str("type") == Some("CNAME")).count(), 3);
    assert_eq!(env.proxy().count("route53:ListHostedZones"), 1);
    assert_eq!(env.proxy().count("route53:ListHostedZonesByName"), 0);
    assert_eq!(env.proxy().count("route53:ListResourceRecordSets"), 3);
}

/// Route 53 on moto, for the conformance suite.
struct Moto {
    env: AwsEnv,
    zone_id: String,
    r53: Route53,
}

#[async_trait]
impl Fixture for Moto {
    fn provider(&self) -> &dyn Provider {
        &self.r53
    }

    fn samples(&self) -> Vec<Desired> {
        vec![
            record("conf.acme.com", RecordType::Cname, 300, &["D111.cloudfront.net."]),
            record("acme.com", RecordType::Txt, 300, &["b", "a \"quoted\""]),
            record("v4.acme.com", RecordType::A, 60, &["192.0.2.10", "192.0.2.2"]),
        ]
    }

    async fn make_outside(&self, d: &Desired) {
        let r: RecordSpec = d.parse("test", "outside").unwrap();
        self.env
            .put_record(&self.zone_id, &format!("{}.", r.name), &r.rtype.to_string(), &r.values[0], r.ttl.into())
            .await;
    }

    fn outside_variant(&self, sample: &Desired) -> Option<Desired> {
        let mut r: RecordSpec = sample.parse("test", "variant").unwrap();
        r.values.truncate(1);
        r.ttl = 3600;
        Some(Desired::of(RECORD, &r))
    }

    async fn throttle(&self, n: usize) {
        self.env.proxy().add_rule(Rule::error("route53", None, 400, "Throttling").times(n as u64));
    }

    async fn make_ready(&self, _: &Live) {}
}

#[tokio::test]
async fn conformance() {
    let env = AwsEnv::new().await;
    let zone_id = env.create_zone("acme.com").await;
    let (r53, _) = route53(&env);
    conformance::run(&Moto { env, zone_id, r53 }).await;
}

#[tokio::test]
async fn changes_to_a_zone_go_out_together_and_a_refused_one_is_split_out() {
    let env = AwsEnv::new().await;
    let zone_id = env.create_zone("acme.com").await;
    let (r53, _) = route53(&env);

    // Six records created at once: one zone lookup, then one request (six lookups would spread
    // them beyond the batch window).
    let many: Vec<Desired> =
        (0..6).map(|i| record(&format!("b{i}.acme.com"), RecordType::Cname, 300, &["d1.cloudfront.net"])).collect();
    let t = token();
    let made = futures::future::join_all(many.iter().map(|d| r53.create(d, &t))).await;
    assert!(made.iter().all(Result::is_ok), "{made:?}");
    assert_eq!(env.proxy().count("route53:ListHostedZonesByName"), 1, "one lookup for six records");
    assert_eq!(env.proxy().count("route53:ChangeResourceRecordSets"), 1, "one batch for six records");

    // Four good changes and one Route 53 refuses (the DELETE of a record that changed since it
    // was listed): the batch is refused whole, split, and each change gets its own answer.
    env.put_record(&zone_id, "stale.acme.com.", "CNAME", "someone.example.net.", 300).await;
    env.proxy().reset_counts();
    let good: Vec<Desired> =
        (0..4).map(|i| record(&format!("g{i}.acme.com"), RecordType::Cname, 300, &["d2.cloudfront.net"])).collect();
    let stale = Live {
        id: format!("{zone_id}/stale.acme.com/CNAME"),
        desired: record("stale.acme.com", RecordType::Cname, 300, &["never.example.net"]),
        outputs: Outputs::default().with("zone_id", &zone_id),
        readiness: Default::default(),
        marked: false,
    };
    let (goods, bad) =
        tokio::join!(futures::future::join_all(good.iter().map(|d| r53.create(d, &t))), r53.delete(&stale));
    assert!(goods.iter().all(Result::is_ok), "the good changes land: {goods:?}");
    let e = bad.expect_err("the refused change fails on its own");
    assert_eq!(e.kind, ErrorKind::PreconditionFailed, "{e}");
    let listed = list(&r53, &["g0.acme.com", "g1.acme.com", "g2.acme.com", "g3.acme.com"]).await;
    assert_eq!(listed.len(), 4, "{listed:#?}");
    let requests = env.proxy().count("route53:ChangeResourceRecordSets");
    assert!((2..=9).contains(&requests), "one refused batch, then halves down to the bad change: {requests}");
}

#[tokio::test]
async fn an_alias_is_a_pair_written_and_swapped_atomically() {
    let env = AwsEnv::new().await;
    let zone_id = env.create_zone("acme.com").await;
    let (r53, _) = route53(&env);
    // The HTTP-era CNAME, made by hand, as the planner sees it.
    env.put_record(&zone_id, "url1.acme.com", "CNAME", "sendgrid.net", 3600).await;
    let http = list(&r53, &["url1.acme.com"]).await.remove(0);
    env.proxy().reset_counts();

    let alias = r53.normalise(&record("url1.acme.com", RecordType::Alias, 300, &["D1.cloudfront.net."])).unwrap();
    assert_eq!(alias.get("ttl"), Some(&serde_json::json!(0)), "an alias has no TTL of its own");
    let swapped = r53.update(&http, &alias).await.expect("swap");
    assert_eq!(env.proxy().count("route53:ChangeResourceRecordSets"), 1, "one atomic batch");
    let listed = list(&r53, &["url1.acme.com"]).await;
    assert_eq!(listed.len(), 1, "{listed:#?}");
    assert_eq!(listed[0], swapped, "the A and AAAA sets list as the one alias: {listed:#?}");
    assert_eq!(listed[0].desired, alias);

    // Back, as a restoring destroy does; then gone.
    let restored = r53.update(&swapped, &http.desired).await.expect("swap back");
    assert_eq!(list(&r53, &["url1.acme.com"]).await, std::slice::from_ref(&restored));
    assert_eq!(env.proxy().count("route53:ChangeResourceRecordSets"), 2);
    let wanted = record("url2.acme.com", RecordType::Alias, 300, &["d2.cloudfront.net"]);
    let created = r53.create(&wanted, &token()).await.expect("create an alias");
    assert!(matches!(r53.delete(&created).await, Ok(Deletion::Done)));
    assert!(list(&r53, &["url2.acme.com"]).await.is_empty());
}
