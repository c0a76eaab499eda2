//! plan → apply → re-plan → drift → destroy, per ESP and region, read back from the emulator.
// The ESP behaviours are legacy forwarded values and TTLs on purpose (templates/README.md).
#![allow(deprecated)]

use aws_sdk_cloudfront::types::{DistributionConfig, ItemSelection};

use crate::support::{Project, SENDGRID};

async fn distribution_ids(p: &Project) -> Vec<String> {
    let out = p.aws.cloudfront().list_distributions().send().await.expect("list distributions");
    out.distribution_list().map(|l| l.items().iter().map(|d| d.id().to_owned()).collect()).unwrap_or_default()
}

async fn config(p: &Project, id: &str) -> (DistributionConfig, String) {
    let out = p.aws.cloudfront().get_distribution().id(id).send().await.expect("get distribution");
    let d = out.distribution().expect("distribution");
    (d.distribution_config().expect("config").clone(), d.domain_name().to_owned())
}

async fn certificate_arns(p: &Project) -> Vec<String> {
    let out = p.aws.acm().list_certificates().send().await.expect("list certificates");
    out.certificate_summary_list().iter().filter_map(|c| c.certificate_arn().map(str::to_owned)).collect()
}

/// (type, ttl, values) of every record in `zone`, by name, NS and SOA left out.
async fn records(p: &Project, zone: &str) -> Vec<(String, String, i64, Vec<String>)> {
    let r53 = p.aws.route53();
    let zones = r53.list_hosted_zones_by_name().dns_name(zone).send().await.expect("zones");
    let id = zones.hosted_zones()[0].id().to_owned();
    let out = r53.list_resource_record_sets().hosted_zone_id(id).send().await.expect("records");
    out.resource_record_sets()
        .iter()
        .filter(|r| !matches!(r.r#type().as_str(), "NS" | "SOA"))
        .map(|r| {
            // An alias shows as its target and the target's hosted zone.
            let values = match r.alias_target() {
                Some(a) => vec![format!("{} in {}", a.dns_name().trim_end_matches('.'), a.hosted_zone_id())],
                None => r.resource_records().iter().map(|v| v.value().trim_end_matches('.').to_owned()).collect(),
            };
            (r.name().trim_end_matches('.').to_owned(), r.r#type().as_str().to_owned(), r.ttl().unwrap_or(0), values)
        })
        .collect()
}

fn headers(c: &DistributionConfig) -> Vec<String> {
    let fv = c.default_cache_behavior().and_then(|b| b.forwarded_values()).expect("forwarded values");
    let mut h: Vec<String> = fv.headers().map(|h| h.items().to_vec()).unwrap_or_default();
    h.sort();
    h
}

/// What every distribution must have, whatever the ESP.
fn assert_common(c: &DistributionConfig, alias: &str, cert_arn: &str) {
    assert_eq!(c.aliases().expect("aliases").items(), [alias]);
    let v = c.viewer_certificate().expect("viewer certificate");
    assert_eq!(v.acm_certificate_arn(), Some(cert_arn));
    assert_eq!(v.ssl_support_method().map(|m| m.as_str()), Some("sni-only"));
    assert_eq!(v.minimum_protocol_version().map(|m| m.as_str()), Some("TLSv1.2_2021"));
    let b = c.default_cache_behavior().expect("behavior");
    assert_eq!(b.viewer_protocol_policy().as_str(), "allow-all", "old http:// links must keep working");
    let origin = &c.origins().expect("origins").items()[0];
    let xfh: Vec<_> = origin
        .custom_headers()
        .expect("custom headers")
        .items()
        .iter()
        .map(|h| (h.header_name(), h.header_value()))
        .collect();
    assert_eq!(
        xfh,
        [("X-Forwarded-Host", alias)],
        "X-Forwarded-Host is set by CloudFront, overwriting any client value"
    );
    assert!(c.enabled());
}

#[tokio::test(flavor = "multi_thread")]
async fn sendgrid_adopts_the_http_record_applies_in_order_and_destroys_cleanly() {
    let p = Project::new(SENDGRID).await;
    // The HTTP-era setup: the branded link points straight at SendGrid.
    let zones = p.aws.route53().list_hosted_zones().send().await.unwrap();
    let zid = zones.hosted_zones()[0].id().trim_start_matches("/hostedzone/").to_owned();
    p.aws.put_record(&zid, "url1234.acme.com", "CNAME", "sendgrid.net", 3600).await;

    let plan = p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 2);
    assert!(plan.stdout.contains("# acme.tracking_record will be adopted and updated in place"), "{plan:?}");
    assert!(plan.stdout.contains(r#"~ type   = "CNAME" -> "ALIAS""#), "{plan:?}");
    // An alias pair has no TTL of its own: the plan says so before its target is known.
    assert!(plan.stdout.contains("~ ttl    = 3600 -> 0"), "{plan:?}");
    assert!(plan.stdout.contains(r#"~ values = ["sendgrid.net"] -> [(known after apply)]"#), "{plan:?}");
    assert!(plan.stdout.contains("Plan: 3 to add, 1 to change, 0 to replace, 0 to destroy."), "{plan:?}");
    assert!(!plan.stdout.contains("tracking_record will be created"));

    p.aws.proxy().reset_counts();
    p.apply();
    // The validation record, then the swap of the HTTP-era CNAME for the alias pair: one atomic
    // batch, so the name never goes unanswered.
    assert_eq!(p.aws.proxy().count("route53:ChangeResourceRecordSets"), 2);

    let certs = certificate_arns(&p).await;
    assert_eq!(certs.len(), 1);
    let cert = p.aws.acm().describe_certificate().certificate_arn(&certs[0]).send().await.unwrap();
    let cert = cert.certificate().unwrap();
    assert_eq!(cert.domain_name(), Some("url1234.acme.com"));
    let asked = cert.domain_validation_options()[0].resource_record().expect("validation record");

    let ids = distribution_ids(&p).await;
    assert_eq!(ids.len(), 1);
    let (c, cdn) = config(&p, &ids[0]).await;
    assert_common(&c, "url1234.acme.com", &certs[0]);
    let origin = &c.origins().unwrap().items()[0];
    assert_eq!(origin.domain_name(), "sendgrid.net");
    let custom = origin.custom_origin_config().expect("custom origin");
    assert_eq!(custom.origin_protocol_policy().as_str(), "https-only");
    assert_eq!(headers(&c), ["*"], "Host reaches SendGrid as the branded domain; nothing is cached");
    let b = c.default_cache_behavior().unwrap();
    let fv = b.forwarded_values().unwrap();
    assert!(fv.query_string());
    assert_eq!(fv.cookies().map(|c| c.forward()), Some(&ItemSelection::All));
    assert_eq!((b.min_ttl(), b.default_ttl(), b.max_ttl()), (Some(0), Some(0), Some(0)));

    let mut recs = records(&p, "acme.com").await;
    recs.sort();
    assert_eq!(
        recs,
        [
            (
                asked.name().trim_end_matches('.').to_owned(),
                "CNAME".into(),
                300,
                vec![asked.value().trim_end_matches('.').to_owned()]
            ),
            ("url1234.acme.com".into(), "A".into(), 0, vec![format!("{cdn} in Z2FDTNDATAQYW2")]),
            ("url1234.acme.com".into(), "AAAA".into(), 0, vec![format!("{cdn} in Z2FDTNDATAQYW2")]),
        ]
    );

    // Nothing to do right after apply: owned fields only, normalised.
    let again = p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
    assert!(again.stdout.contains("No changes."), "{again:?}");

    // Someone edits the origin by hand: the plan shows exactly that drift, and apply mends it.
    let (mut edited, _) = config(&p, &ids[0]).await;
    let etag =
        p.aws.cloudfront().get_distribution_config().id(&ids[0]).send().await.unwrap().e_tag().unwrap().to_owned();
    let mut origins = edited.origins.take().unwrap();
    origins.items[0].domain_name = "evil.example.net".into();
    edited.origins = Some(origins);
    p.aws
        .cloudfront()
        .update_distribution()
        .id(&ids[0])
        .if_match(etag)
        .distribution_config(edited)
        .send()
        .await
        .unwrap();
    let drift = p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 2);
    assert!(drift.stdout.contains("# (changed outside sslprov)"), "{drift:?}");
    assert!(drift.stdout.contains(r#"~ origin.domain_name = "evil.example.net" -> "sendgrid.net""#), "{drift:?}");
    assert!(drift.stdout.contains("Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy."), "{drift:?}");
    p.apply();
    assert_eq!(config(&p, &ids[0]).await.0.origins().unwrap().items()[0].domain_name(), "sendgrid.net");
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);

    let destroy = p.ok(&["destroy", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "200ms"], 0);
    assert!(destroy.stdout.contains("0 added, 0 changed, 4 destroyed"), "{destroy:?}");
    assert!(distribution_ids(&p).await.is_empty());
    assert!(certificate_arns(&p).await.is_empty());
    assert!(records(&p, "acme.com").await.is_empty(), "the adopted record is ours and goes too");
    let list = p.ok(&["state", "list", "-f", "sslprov.yaml"], 0);
    assert_eq!(list.stdout, "");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_esp_and_region_gets_its_own_origin_and_behaviour() {
    let p = Project::new(
        "\
version: 1
braze_cluster: US-01
state: { path: sslprov.state.json }
domains:
  sp-eu:
    tracking_domain: click.sp.example
    esp: sparkpost
    braze_cluster: EU-01
  sp-us:
    tracking_domain: click-us.sp.example
    esp: sparkpost
  ses-us:
    tracking_domain: links.ses.example
    esp: ses
  ses-eu:
    tracking_domain: links-eu.ses.example
    esp: ses
    braze_cluster: EU-02
",
    )
    .await;
    let plan = p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 2);
    assert!(plan.stdout.contains("Plan: 16 to add, 0 to change"), "{plan:?}");
    p.apply();
    let mut by_alias = std::collections::BTreeMap::new();
    for id in distribution_ids(&p).await {
        let (c, _) = config(&p, &id).await;
        by_alias.insert(c.aliases().unwrap().items()[0].clone(), c);
    }
    assert_eq!(by_alias.len(), 4);
    let origin = |alias: &str| by_alias[alias].origins().unwrap().items()[0].clone();

    for (alias, host) in [("click.sp.example", "eu.spgo.io"), ("click-us.sp.example", "spgo.io")] {
        let c = &by_alias[alias];
        assert_eq!(origin(alias).domain_name(), host);
        assert_eq!(origin(alias).custom_origin_config().unwrap().origin_protocol_policy().as_str(), "match-viewer");
        assert_eq!(headers(c), ["User-Agent"], "Host stays spgo.io; X-Forwarded-Host carries the domain");
        let fv = c.default_cache_behavior().unwrap().forwarded_values().unwrap();
        assert!(fv.query_string());
        assert_eq!(fv.query_string_cache_keys().unwrap().items(), ["target"]);
        assert_eq!(fv.cookies().map(|c| c.forward()), Some(&ItemSelection::None));
        let b = c.default_cache_behavior().unwrap();
        assert_eq!((b.min_ttl(), b.default_ttl(), b.max_ttl()), (Some(1), Some(10), Some(10)));
    }
    for (alias, host) in
        [("links.ses.example", "r.us-east-1.awstrack.me"), ("links-eu.ses.example", "r.eu-central-1.awstrack.me")]
    {
        let c = &by_alias[alias];
        assert_eq!(origin(alias).domain_name(), host);
        assert_eq!(headers(c), ["*"]);
        let fv = c.default_cache_behavior().unwrap().forwarded_values().unwrap();
        assert!(fv.query_string());
        assert_eq!(fv.cookies().map(|c| c.forward()), Some(&ItemSelection::None), "SES: all headers but cookies");
    }
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);

    // --target limits a run to one domain.
    let one = p.ok(&["plan", "-f", "sslprov.yaml", "--destroy", "--target", "ses-eu", "--detailed-exitcode"], 2);
    assert!(one.stdout.contains("Plan: 0 to add, 0 to change, 0 to replace, 4 to destroy."), "{one:?}");
    assert!(!one.stdout.contains("sp-eu."), "{one:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_puts_an_adopted_record_back_only_when_asked() {
    let p = Project::new(SENDGRID).await;
    let zones = p.aws.route53().list_hosted_zones().send().await.unwrap();
    let zid = zones.hosted_zones()[0].id().trim_start_matches("/hostedzone/").to_owned();
    p.aws.put_record(&zid, "url1234.acme.com", "CNAME", "sendgrid.net", 300).await;
    p.apply();
    p.aws.proxy().reset_counts();
    let destroy =
        p.ok(&["destroy", "-f", "sslprov.yaml", "--auto-approve", "--restore-adopted", "--poll-interval", "200ms"], 0);
    assert!(destroy.stdout.contains("puts back the record sslprov found"), "{destroy:?}");
    // The alias pair swapped back for the CNAME in one batch, then the validation record.
    assert_eq!(p.aws.proxy().count("route53:ChangeResourceRecordSets"), 2);
    assert_eq!(
        records(&p, "acme.com").await,
        [("url1234.acme.com".to_owned(), "CNAME".to_owned(), 300, vec!["sendgrid.net".to_owned()])]
    );
    assert!(distribution_ids(&p).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn tracking_record_cname_keeps_a_cname_and_the_default_swaps_it_for_an_alias_pair() {
    let cname = format!("{SENDGRID}    tracking_record: cname\n");
    let p = Project::new(&cname).await;
    p.apply();
    let ids = distribution_ids(&p).await;
    let (_, cdn) = config(&p, &ids[0]).await;
    let tracking = |recs: Vec<(String, String, i64, Vec<String>)>| {
        recs.into_iter().filter(|r| r.0 == "url1234.acme.com").collect::<Vec<_>>()
    };
    assert_eq!(
        tracking(records(&p, "acme.com").await),
        [("url1234.acme.com".to_owned(), "CNAME".to_owned(), 300, vec![cdn.clone()])]
    );

    // Back to the default: the CNAME becomes the alias pair in one batch.
    std::fs::write(p.path("sslprov.yaml"), SENDGRID).unwrap();
    let plan = p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 2);
    assert!(plan.stdout.contains(r#"~ type = "CNAME" -> "ALIAS""#), "{plan:?}");
    assert!(plan.stdout.contains("Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy."), "{plan:?}");
    p.aws.proxy().reset_counts();
    p.apply();
    assert_eq!(p.aws.proxy().count("route53:ChangeResourceRecordSets"), 1);
    let alias = vec![format!("{cdn} in Z2FDTNDATAQYW2")];
    assert_eq!(
        tracking(records(&p, "acme.com").await),
        [
            ("url1234.acme.com".to_owned(), "A".to_owned(), 0, alias.clone()),
            ("url1234.acme.com".to_owned(), "AAAA".to_owned(), 0, alias),
        ]
    );
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
}
