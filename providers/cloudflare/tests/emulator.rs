//! The provider against the Cloudflare API emulator, which checks every request and answer
//! against Cloudflare's own API definition: each test ends with `assert_no_violations`.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use sslprov_cf_emulator::{Emulator, Plan};
use sslprov_cloudflare::{
    Access, CONFIG_RULE, Cloudflare, CloudflareConfig, ConfigRuleSpec, EDGE_CERTIFICATE, EdgeCertificateSource,
    EdgeCertificateSpec, Permission, Retry,
};
use sslprov_provider::conformance::{self, Fixture};
use sslprov_provider::{
    Budget, Calls, Deletion, Desired, ErrorKind, IdempotencyToken, Live, Provider, RECORD, Readiness, RecordSpec,
    RecordType, Scope, Wanted,
};

const LIST_RECORDS: &str = "dns-records-for-a-zone-list-dns-records";

fn fast_retry() -> Retry {
    sslprov_provider::conformance::fast_retry(4, 2)
}

fn provider_with(cf: &Emulator, budget: Budget) -> Cloudflare {
    Cloudflare::new(CloudflareConfig { token: cf.token(), base_url: cf.base_url() }, budget)
        .expect("valid config")
        .with_retry(fast_retry())
}

fn provider(cf: &Emulator) -> (Cloudflare, Calls) {
    let calls = Calls::default();
    (provider_with(cf, Budget::per_second(10_000, 1_000, calls.clone())), calls)
}

fn token() -> IdempotencyToken {
    IdempotencyToken("t1".into())
}

/// What to list of `kind` in `zone`: the objects of these names (every one when none is given).
fn scope(kind: &str, zone: &str, names: &[&str]) -> Scope {
    let one = |name: Option<&str>| {
        let mut spec = json!({ "kind": kind, "zone": zone });
        if let Some(n) = name {
            match kind {
                RECORD => spec["name"] = json!(n),
                CONFIG_RULE => spec["host"] = json!(n),
                _ => spec["hosts"] = json!([n]),
            }
        }
        serde_json::from_value(spec).expect("a desired object")
    };
    let wanted = if names.is_empty() { vec![one(None)] } else { names.iter().map(|n| one(Some(n))).collect() };
    Scope { wanted, ..Scope::new(kind) }
}

fn record(name: &str, rtype: RecordType, ttl: u32, values: &[&str], proxied: bool) -> Desired {
    Desired::of(
        RECORD,
        &RecordSpec { proxied: Some(proxied), ..conformance::record("acme.com", name, rtype, ttl, values) },
    )
}

fn rule(host: &str, ssl: &str) -> Desired {
    Desired::of(CONFIG_RULE, &ConfigRuleSpec { zone: "acme.com".into(), host: host.into(), ssl: ssl.into() })
}

fn edge(hosts: &[&str], source: EdgeCertificateSource) -> Desired {
    Desired::of(
        EDGE_CERTIFICATE,
        &EdgeCertificateSpec {
            zone: "acme.com".into(),
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            source: Some(source),
            advanced_allowed: false,
        },
    )
}

async fn readiness(p: &Cloudflare, live: &Live) -> Readiness {
    p.readiness(std::slice::from_ref(live)).await.expect("readiness").remove(0).readiness
}

fn desired_of(lives: &[Live]) -> Vec<Desired> {
    lives.iter().map(|l| l.desired.clone()).collect()
}

#[tokio::test]
async fn records_round_trip_exactly_and_leave_the_rest_alone() {
    let cf = Emulator::start();
    let zone = cf.add_zone("acme.com", Plan::Free);
    // What sslprov does not manage or does not own. (A CAA record, on which the crate's types
    // fail, is read in records.rs's tests: the emulator's add_record cannot make a valid one.)
    cf.add_record(&zone, "NS", "sub", "ns1.example.net", false);
    cf.add_record(&zone, "A", "www", "192.0.2.1", true);
    let before = cf.records(&zone);
    let (p, _) = provider(&cf);
    let names = ["url1234.acme.com", "_acme.acme.com", "v6.acme.com"];

    // In list's order: by name, then type.
    let wanted = [
        record("_acme.acme.com", RecordType::Txt, 300, &["token-a", "token-b"], false),
        record("url1234.acme.com", RecordType::Cname, 1, &["sendgrid.net"], true),
        record("v6.acme.com", RecordType::Aaaa, 60, &["2001:db8::1"], false),
    ];
    let mut created = Vec::new();
    for d in &wanted {
        let live = p.create(d, &token()).await.expect("create");
        assert_eq!(&live.desired, d);
        created.push(live);
    }
    let listed = p.list(&scope(RECORD, "acme.com", &names)).await.expect("list");
    assert_eq!(desired_of(&listed), wanted);
    let id_of =
        |lives: &[Live], name: &str| lives.iter().find(|l| l.desired.str("name") == Some(name)).map(|l| l.id.clone());
    for n in names {
        assert_eq!(id_of(&listed, n), id_of(&created, n), "{n}: list shows the ids create returned");
    }
    // A second create of what exists is found, not doubled.
    let again = p.create(&wanted[1], &token()).await.expect("create again finds its own record");
    assert_eq!(Some(again.id), id_of(&created, "url1234.acme.com"));

    // PATCH in place: the TXT set's TTL and one value change; the record ids stay.
    let txt = listed.iter().find(|l| l.desired.str("type") == Some("TXT"));
    let txt = txt.expect("txt listed");
    let changed = record("_acme.acme.com", RecordType::Txt, 600, &["token-a", "token-c"], false);
    let updated = p.update(txt, &changed).await.expect("update");
    assert_eq!(updated.desired, changed);
    let ids = |id: &str| id.split(',').map(str::to_owned).collect::<BTreeSet<_>>();
    assert_eq!(ids(&updated.id), ids(&txt.id), "same records, patched");
    let relisted = p.list(&scope(RECORD, "acme.com", &["_acme.acme.com"])).await.expect("list");
    assert_eq!(desired_of(&relisted), [changed]);
    assert_eq!(relisted[0].id, updated.id);

    for live in p.list(&scope(RECORD, "acme.com", &names)).await.expect("list") {
        assert_eq!(p.delete(&live).await.expect("delete"), Deletion::Done);
        assert_eq!(p.delete(&live).await.expect("delete of a gone record"), Deletion::Done);
    }
    assert!(p.list(&scope(RECORD, "acme.com", &names)).await.expect("list").is_empty());
    assert_eq!(cf.records(&zone), before, "records sslprov did not write are untouched");
    cf.assert_no_violations();
}

#[tokio::test]
async fn a_zone_is_listed_in_as_few_pages_as_the_api_allows() {
    let cf = Emulator::start();
    let zone = cf.add_zone("acme.com", Plan::Free);
    for i in 0..5_000 {
        cf.add_record(&zone, "CNAME", &format!("host{i:04}"), "origin.example.net", false);
    }
    let (p, calls) = provider(&cf);
    let started = std::time::Instant::now();
    let all = p.list(&scope(RECORD, "acme.com", &[])).await.expect("list");
    let took = started.elapsed();
    assert_eq!(all.len(), 5_000);
    assert_eq!(cf.counts().get(LIST_RECORDS), Some(&1), "5,000 records in one request");
    assert_eq!(calls.total(), 2, "the zone lookup and one page: {:?}", calls.snapshot());
    eprintln!("listing 5,000 records: {} request(s) for the records, {took:?}", cf.counts()[LIST_RECORDS]);

    // Where a page holds fewer (a server that caps per_page), every page is read.
    let paged = provider(&cf).0.with_dns_page_size(1_000);
    let pages_before = cf.counts()[LIST_RECORDS];
    let all = paged.list(&scope(RECORD, "acme.com", &["host4999.acme.com"])).await.expect("list");
    assert_eq!(all.len(), 1);
    assert_eq!(cf.counts()[LIST_RECORDS] - pages_before, 5);
    cf.assert_no_violations();
}

#[tokio::test]
async fn an_adopted_dns_only_cname_is_turned_proxied_in_place() {
    let cf = Emulator::start();
    let zone = cf.add_zone("acme.com", Plan::Free);
    let id = cf.add_record(&zone, "CNAME", "url1234", "sendgrid.net", false);
    let (p, calls) = provider(&cf);

    let listed = p.list(&scope(RECORD, "acme.com", &["url1234.acme.com"])).await.expect("list");
    assert_eq!(desired_of(&listed), [record("url1234.acme.com", RecordType::Cname, 1, &["sendgrid.net"], false)]);
    assert_eq!(listed[0].id, id);

    let proxied = record("url1234.acme.com", RecordType::Cname, 1, &["sendgrid.net"], true);
    let live = p.update(&listed[0], &proxied).await.expect("update");
    assert_eq!((live.id.as_str(), &live.desired), (id.as_str(), &proxied));
    let now = cf.records(&zone);
    assert_eq!((now.len(), now[0].id.as_str(), now[0].proxied), (1, id.as_str(), true));
    let counts = calls.snapshot();
    assert_eq!(counts.get("cloudflare:PatchDnsRecord"), Some(&1));
    assert_eq!(counts.get("cloudflare:CreateDnsRecord"), None, "never re-created");
    assert_eq!(counts.get("cloudflare:DeleteDnsRecord"), None, "never deleted");
    let again = p.list(&scope(RECORD, "acme.com", &["url1234.acme.com"])).await.expect("list");
    assert_eq!(desired_of(&again), [proxied], "no drift after apply");
    cf.assert_no_violations();
}

#[tokio::test]
async fn config_rule_merge_leaves_other_rules_exactly_as_they_were() {
    let cf = Emulator::start();
    let zone = cf.add_zone("acme.com", Plan::Pro);
    cf.set_setting(&zone, "ssl_automatic_mode", json!("custom"));
    cf.set_ruleset(
        &zone,
        "http_config_settings",
        json!([{"ref": "their-rule", "description": "shop: no Rocket Loader",
                "expression": "(http.host eq \"shop.acme.com\")", "action": "set_config",
                "action_parameters": {"rocket_loader": false}}]),
    );
    let theirs = || cf.ruleset(&zone, "http_config_settings").expect("ruleset")["rules"][0].clone();
    let before = theirs();
    let (p, calls) = provider(&cf);

    let full = rule("url1234.acme.com", "full");
    let live = p.create(&full, &token()).await.expect("create");
    assert_eq!(live.desired, full);
    let rules = cf.ruleset(&zone, "http_config_settings").expect("ruleset")["rules"].clone();
    assert_eq!(rules.as_array().map(Vec::len), Some(2));
    assert_eq!(rules[0], before, "the other rule is untouched, in its place");
    assert_eq!(rules[1]["ref"], "sslprov-url1234.acme.com");
    assert_eq!(rules[1]["expression"], "(http.host eq \"url1234.acme.com\")");
    assert_eq!(rules[1]["action"], "set_config");
    assert_eq!(rules[1]["action_parameters"], json!({"ssl": "full"}));
    assert_eq!(cf.setting(&zone, "ssl"), Some(json!("full")), "the zone's own mode is never written");

    let listed = p.list(&scope(CONFIG_RULE, "acme.com", &["url1234.acme.com"])).await.expect("list");
    assert_eq!(desired_of(&listed), std::slice::from_ref(&full));
    assert_eq!(listed[0].id, live.id);
    assert!(listed[0].outputs.warnings().is_empty(), "{:?}", listed[0].outputs.warnings());

    // A second write replaces only sslprov's rule, keeping its id.
    let strict = rule("url1234.acme.com", "strict");
    let updated = p.update(&listed[0], &strict).await.expect("update");
    assert_eq!((updated.id.as_str(), &updated.desired), (live.id.as_str(), &strict));
    let rules = cf.ruleset(&zone, "http_config_settings").expect("ruleset")["rules"].clone();
    assert_eq!(rules[0], before);
    assert_eq!(rules[1]["action_parameters"], json!({"ssl": "strict"}));
    assert_eq!(rules.as_array().map(Vec::len), Some(2));

    // Writing what is there already sends no PUT.
    let puts = calls.snapshot().get("cloudflare:PutEntrypointRuleset").copied();
    p.create(&strict, &token()).await.expect("create again");
    assert_eq!(calls.snapshot().get("cloudflare:PutEntrypointRuleset").copied(), puts);

    assert_eq!(p.delete(&updated).await.expect("delete"), Deletion::Done);
    let rules = cf.ruleset(&zone, "http_config_settings").expect("ruleset")["rules"].clone();
    assert_eq!(rules, json!([before]));
    assert_eq!(p.delete(&updated).await.expect("delete again"), Deletion::Done);
    cf.assert_no_violations();
}

#[tokio::test]
async fn the_first_rule_of_a_zone_creates_its_entrypoint() {
    let cf = Emulator::start();
    let zone = cf.add_zone("acme.com", Plan::Free);
    let (p, _) = provider(&cf);
    assert!(p.list(&scope(CONFIG_RULE, "acme.com", &[])).await.expect("list of none").is_empty());
    p.create(&rule("url1234.acme.com", "full"), &token()).await.expect("create");
    let rules = cf.ruleset(&zone, "http_config_settings").expect("entrypoint")["rules"].clone();
    assert_eq!(rules.as_array().map(Vec::len), Some(1));
    cf.assert_no_violations();
}

#[tokio::test]
async fn rules_written_at_once_in_one_zone_all_survive() {
    let cf = Emulator::start();
    let zone = cf.add_zone("acme.com", Plan::Pro);
    let (p, _) = provider(&cf);
    let hosts: Vec<String> = (0..5).map(|i| format!("url{i}.acme.com")).collect();
    let writes = hosts.iter().map(|h| {
        let p = &p;
        async move { p.create(&rule(h, "full"), &token()).await }
    });
    for result in futures::future::join_all(writes).await {
        result.expect("create");
    }
    let rules = cf.ruleset(&zone, "http_config_settings").expect("entrypoint")["rules"].clone();
    let refs: BTreeSet<&str> = rules.as_array().into_iter().flatten().filter_map(|r| r["ref"].as_str()).collect();
    assert_eq!(
        refs,
        hosts.iter().map(|h| format!("sslprov-{h}")).collect::<BTreeSet<_>>().iter().map(String::as_str).collect()
    );
    cf.assert_no_violations();
}

#[tokio::test]
async fn automatic_ssl_and_other_matching_rules_are_warned_about() {
    let cf = Emulator::start();
    let zone = cf.add_zone("acme.com", Plan::Free);
    // A new zone's ssl_automatic_mode is auto.
    cf.set_ruleset(
        &zone,
        "http_config_settings",
        json!([{"ref": "all-strict", "description": "everything strict",
                "expression": "ends_with(http.host, \".acme.com\")", "action": "set_config",
                "action_parameters": {"ssl": "strict"}}]),
    );
    let (p, _) = provider(&cf);
    let want = rule("url1234.acme.com", "full");
    let expected = [
        "Cloudflare's Automatic SSL/TLS may change the zone's SSL mode; the rule keeps url1234.acme.com on full",
        "configuration rule \"everything strict\" of acme.com is not sslprov's and also matches url1234.acme.com; \
         sslprov's rule comes after it",
    ];
    // Before the rule exists: the plan's review says it, from what list read of the zone, with
    // no request of its own.
    let (_, calls) = provider(&cf);
    assert!(p.list(&scope(CONFIG_RULE, "acme.com", &["url1234.acme.com"])).await.expect("list").is_empty());
    let requests = cf.request_log().len();
    let review = p.review(&[Wanted { address: "acme.config_rule", desired: &want, live: None }], &[]);
    assert_eq!(review.warnings, expected.map(|w| format!("acme.config_rule: {w}")));
    assert_eq!((cf.request_log().len(), calls.total()), (requests, 0));
    p.create(&want, &token()).await.expect("create");
    let listed = p.list(&scope(CONFIG_RULE, "acme.com", &[])).await.expect("list");
    assert_eq!(listed[0].outputs.warnings(), expected);

    cf.set_setting(&zone, "ssl_automatic_mode", json!("custom"));
    let listed = p.list(&scope(CONFIG_RULE, "acme.com", &[])).await.expect("list");
    assert_eq!(listed[0].outputs.warnings(), expected[1..]);
    cf.assert_no_violations();
}

#[tokio::test]
async fn an_advanced_pack_is_ordered_and_walks_to_active() {
    let cf = Emulator::start();
    let zone = cf.add_zone("acme.com", Plan::Business);
    let (p, calls) = provider(&cf);
    let deep = edge(&["acme.com", "url1234.email.acme.com"], EdgeCertificateSource::Advanced);

    // Without Advanced Certificate Manager, Cloudflare refuses the order.
    let refused = p.create(&deep, &token()).await.expect_err("needs ACM");
    assert_eq!((refused.kind, refused.code.as_deref()), (ErrorKind::Unsupported, Some("1450")));

    cf.set_advanced_certificate_manager(&zone, true);
    let live = p.create(&deep, &token()).await.expect("order");
    assert_eq!(live.desired, deep);
    assert_eq!(live.outputs.status(), Some("initializing"));
    assert_eq!(readiness(&p, &live).await, Readiness::Pending { detail: "pending_validation".into() });
    assert_eq!(readiness(&p, &live).await, Readiness::Ready);

    // Ordering again finds the pack instead of ordering a twin.
    let again = p.create(&deep, &token()).await.expect("create again");
    assert_eq!(again.id, live.id);
    assert_eq!(calls.snapshot().get("cloudflare:OrderCertificatePack"), Some(&2), "one refused, one placed");
    assert_eq!(cf.packs(&zone).iter().filter(|p| p.r#type == "advanced").count(), 1);

    let names = ["url1234.acme.com", "url1234.email.acme.com"];
    let listed = p.list(&scope(EDGE_CERTIFICATE, "acme.com", &names)).await.expect("list");
    let universal = edge(&["url1234.acme.com"], EdgeCertificateSource::Universal);
    assert_eq!(desired_of(&listed), [universal, deep.clone()]);
    assert_eq!(listed[0].outputs.status(), Some("active"), "Universal's certificate is active");
    assert_eq!(listed[1].id, live.id);

    assert_eq!(p.delete(&listed[1]).await.expect("delete"), Deletion::Done);
    assert_eq!(p.delete(&listed[1]).await.expect("delete again"), Deletion::Done);
    assert!(cf.packs(&zone).iter().all(|p| p.r#type != "advanced"));
    assert_eq!(p.delete(&listed[0]).await.expect("let go of Universal"), Deletion::Done);
    assert!(cf.universal_ssl(&zone), "Universal SSL is never turned off");
    cf.assert_no_violations();
}

#[tokio::test]
async fn universal_ssl_is_checked_never_created() {
    let cf = Emulator::start();
    let zone = cf.add_zone("acme.com", Plan::Free);
    let (p, _) = provider(&cf);
    let first_level = edge(&["url1234.acme.com"], EdgeCertificateSource::Universal);
    let err = p.create(&first_level, &token()).await.expect_err("not created");
    assert_eq!(err.kind, ErrorKind::Unsupported);
    assert!(err.message.contains("Turn Universal SSL on"), "{}", err.message);
    let deep = edge(&["url1234.email.acme.com"], EdgeCertificateSource::Universal);
    let err = p.create(&deep, &token()).await.expect_err("not covered");
    assert!(err.message.contains("advanced certificate pack"), "{}", err.message);

    let names = ["url1234.acme.com", "url1234.email.acme.com"];
    let listed = p.list(&scope(EDGE_CERTIFICATE, "acme.com", &names)).await.expect("list");
    assert_eq!(desired_of(&listed), std::slice::from_ref(&first_level), "the deep name has no certificate");
    assert_eq!(listed[0].id, format!("universal:{zone}"));
    assert_eq!(readiness(&p, &listed[0]).await, Readiness::Ready);

    cf.set_universal_ssl(&zone, false);
    assert!(p.list(&scope(EDGE_CERTIFICATE, "acme.com", &names)).await.expect("list").is_empty());
    cf.assert_no_violations();
}

#[tokio::test]
async fn a_429_storm_is_sat_out_within_the_budget() {
    let cf = Emulator::start();
    let zone = cf.add_zone("acme.com", Plan::Free);
    // The API's limit, shrunk: 8 per 500 ms. The budget (5) keeps a margin under it, as the
    // engine's must, since arrival times jitter; its 100 ms between requests also leave the
    // client time to read a 429 before the next request is due, on a busy machine too.
    let (window, limit) = (Duration::from_millis(500), 8);
    cf.set_rate_limit(limit, window);
    let calls = Calls::default();
    let p = provider_with(&cf, Budget::per_window(5, window, 1, calls.clone()));
    p.list(&scope(RECORD, "acme.com", &[])).await.expect("zone lookup");
    cf.inject_429(2, 1);

    let creates = (0..16).map(|i| {
        let d = record(&format!("h{i}.acme.com"), RecordType::Cname, 1, &["sendgrid.net"], true);
        let p = &p;
        async move { p.create(&d, &token()).await }
    });
    for result in futures::future::join_all(creates).await {
        result.expect("every create succeeds in the end");
    }
    assert_eq!(cf.records(&zone).len(), 16);

    let log = cf.request_log();
    let limited: Vec<_> = log.iter().filter(|r| r.status == 429).collect();
    assert_eq!(limited.len(), 2, "only the injected 429s; the API's own limit was never reached");
    assert!(cf.max_in_window(window) <= limit, "at most {limit} per window, saw {}", cf.max_in_window(window));
    // Retry-After held every request, not only the refused one.
    let first = limited[0].at;
    let held = log.iter().filter(|r| r.at > first && r.at < first + Duration::from_millis(900)).count();
    assert_eq!(held, 0, "nothing was sent in the second after the first 429");
    // Every request, retries too, waited for the budget; a slot granted inside a hold is let go.
    let slots = calls.total() as usize;
    assert!((log.len()..=log.len() + limited.len()).contains(&slots), "{slots} slots, {} requests", log.len());
    cf.assert_no_violations();
}

#[tokio::test]
async fn server_errors_are_retried() {
    let cf = Emulator::start();
    let zone = cf.add_zone("acme.com", Plan::Free);
    cf.add_record(&zone, "CNAME", "url1234", "sendgrid.net", true);
    let (p, calls) = provider(&cf);
    p.list(&scope(RECORD, "acme.com", &[])).await.expect("zone lookup");

    cf.inject_5xx(2, 503);
    let listed = p.list(&scope(RECORD, "acme.com", &[])).await.expect("list after two 503s");
    assert_eq!(listed.len(), 1);
    assert_eq!(calls.snapshot()["cloudflare:ListDnsRecords"], 4, "1 before, then 2 failed and 1 answered");

    // As many as the attempts fast_retry allows.
    cf.inject_5xx(5, 500);
    let err = p.list(&scope(RECORD, "acme.com", &[])).await.expect_err("retries run out");
    assert_eq!(err.kind, ErrorKind::Unavailable);

    cf.set_advanced_certificate_manager(&zone, true);
    cf.inject_5xx(1, 502);
    // The pack list before the order takes the 502 and is retried; the order goes once.
    let deep = edge(&["acme.com", "url1234.email.acme.com"], EdgeCertificateSource::Advanced);
    assert_eq!(p.create(&deep, &token()).await.expect("order").desired, deep);
    assert_eq!(calls.snapshot()["cloudflare:ListCertificatePacks"], 2);
    assert_eq!(calls.snapshot()["cloudflare:OrderCertificatePack"], 1);
    cf.assert_no_violations();
}

#[tokio::test]
async fn the_token_check_names_what_is_missing() {
    let cf = Emulator::start();
    cf.add_zone("acme.com", Plan::Free);
    let (p, _) = provider(&cf);
    let needs: Vec<Permission> = [RECORD, CONFIG_RULE, EDGE_CERTIFICATE]
        .into_iter()
        .flat_map(|k| Access::for_kind(k).iter().map(|a| Permission::new("acme.com", *a)))
        .chain([Permission::new("acme.com", Access::SslEdit)])
        .collect();

    let all = p.check_token(&needs).await.expect("check");
    assert!(all.is_ok(), "{all:?}");
    assert_eq!(all.unverified, [Permission::new("acme.com", Access::ConfigSettingsEdit)]);

    let without = |missing: &str| {
        let keep: Vec<&str> =
            sslprov_cf_emulator::ALL_PERMISSIONS.iter().copied().filter(|p| !p.starts_with(missing)).collect();
        cf.set_token_permissions(&keep);
    };
    without("#dns_records:edit");
    let check = p.check_token(&needs).await.expect("check");
    assert_eq!(check.missing, [Permission::new("acme.com", Access::DnsEdit)]);
    assert_eq!(check.missing[0].to_string(), "Zone → DNS → Edit on acme.com");

    without("#ssl");
    let check = p.check_token(&needs).await.expect("check");
    let missing: Vec<Access> = check.missing.iter().map(|m| m.access).collect();
    assert_eq!(missing, [Access::SslRead, Access::SslEdit]);

    without("#config_settings");
    let check = p.check_token(&needs).await.expect("check");
    assert_eq!(check.missing, [Permission::new("acme.com", Access::ConfigSettingsEdit)]);

    // A token that cannot see the zone (a fresh provider: zone ids are remembered per run).
    without("#zone:read");
    let check = provider(&cf).0.check_token(&needs).await.expect("check");
    assert_eq!(check.missing, [Permission::new("acme.com", Access::ZoneRead)]);

    cf.set_token_status("disabled");
    let err = p.check_token(&needs).await.expect_err("disabled");
    assert_eq!(err.kind, ErrorKind::Unauthenticated);
    assert!(err.message.contains("disabled"), "{}", err.message);

    let stranger = Cloudflare::new(
        CloudflareConfig { token: "not-the-token".into(), base_url: cf.base_url() },
        Budget::per_second(100, 10, Calls::default()),
    )
    .expect("config");
    assert_eq!(stranger.check_token(&needs).await.expect_err("unknown").kind, ErrorKind::Unauthenticated);
    cf.assert_no_violations();
}

/// Cloudflare's emulator, with a zone that may order advanced packs, for the conformance suite.
struct Emulated {
    cf: Emulator,
    zone: String,
    p: Cloudflare,
}

#[async_trait]
impl Fixture for Emulated {
    fn provider(&self) -> &dyn Provider {
        &self.p
    }

    fn samples(&self) -> Vec<Desired> {
        let deep = json!({"kind": EDGE_CERTIFICATE, "zone": "acme.com", "hosts": ["url1.email.acme.com"], "advanced_allowed": true});
        vec![
            record("Conf.acme.com.", RecordType::Cname, 1, &["SendGrid.net."], true),
            Desired::of(RECORD, &conformance::record("acme.com", "txt.acme.com", RecordType::Txt, 300, &["b", "a"])),
            rule("conf.acme.com", "full"),
            serde_json::from_value(deep).expect("desired"),
        ]
    }

    async fn make_outside(&self, d: &Desired) {
        match d.kind.as_str() {
            RECORD => {
                let r: RecordSpec = d.parse("test", "outside").expect("record");
                self.cf.add_record(&self.zone, &r.rtype.to_string(), &r.name, &r.values[0], r.proxied == Some(true));
            }
            _ => {
                let n = self.p.normalise(d).expect("normalises");
                let hosts: Vec<String> = serde_json::from_value(n.get("hosts").expect("hosts").clone()).expect("hosts");
                self.cf.add_advanced_pack(&self.zone, &hosts.iter().map(String::as_str).collect::<Vec<_>>(), "active");
            }
        }
    }

    fn outside_variant(&self, sample: &Desired) -> Option<Desired> {
        (sample.kind == RECORD).then(|| {
            let r: RecordSpec = sample.parse("test", "variant").expect("record");
            Desired::of(
                RECORD,
                &RecordSpec { values: vec!["elsewhere.example.net".into()], proxied: Some(false), ttl: 300, ..r },
            )
        })
    }

    async fn throttle(&self, n: usize) {
        self.cf.inject_429(n as u32, 0);
    }

    async fn make_ready(&self, live: &Live) {
        if live.desired.kind == EDGE_CERTIFICATE {
            self.cf.set_pack_status(&self.zone, &live.id, "active");
        }
    }
}

#[tokio::test]
async fn conformance() {
    let cf = Emulator::start();
    let zone = cf.add_zone("acme.com", Plan::Business);
    cf.set_advanced_certificate_manager(&zone, true);
    // Packs stay pending until the suite lets them go.
    cf.set_pack_status_walk(&[&["initializing"][..], &["pending_validation"; 100][..]].concat());
    let (p, _) = provider(&cf);
    let f = Emulated { cf, zone, p };
    conformance::run(&f).await;
    f.cf.assert_no_violations();
}
