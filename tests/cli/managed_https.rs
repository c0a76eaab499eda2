//! `cdn: none`: the ESP serves HTTPS itself (SparkPost V2, SendGrid Auto SSL), so the records it
//! asks for are the whole job. No certificate, no CDN; the HTTP-era record adopted and switched.

use crate::support::Project;

/// The records of `zone` other than NS and SOA, as `(name, type, values)`.
async fn records(p: &Project, zone: &str) -> Vec<(String, String, Vec<String>)> {
    let r53 = p.aws.route53();
    let zones = r53.list_hosted_zones_by_name().dns_name(zone).send().await.expect("zones");
    let id = zones.hosted_zones()[0].id().to_owned();
    let out = r53.list_resource_record_sets().hosted_zone_id(id).send().await.expect("records");
    let mut recs: Vec<_> = out
        .resource_record_sets()
        .iter()
        .filter(|r| !matches!(r.r#type().as_str(), "NS" | "SOA"))
        .map(|r| {
            let values = r.resource_records().iter().map(|v| v.value().trim_end_matches('.').to_owned()).collect();
            (r.name().trim_end_matches('.').to_owned(), r.r#type().as_str().to_owned(), values)
        })
        .collect();
    recs.sort();
    recs
}

fn record(name: &str, rtype: &str, value: &str) -> (String, String, Vec<String>) {
    (name.to_owned(), rtype.to_owned(), vec![value.to_owned()])
}

async fn nothing_but_records(p: &Project) {
    let certs = p.aws.acm().list_certificates().send().await.expect("certificates");
    assert!(certs.certificate_summary_list().is_empty(), "no certificate: the ESP holds it");
    let cdn = p.aws.cloudfront().list_distributions().send().await.expect("distributions");
    assert!(cdn.distribution_list().is_none_or(|l| l.items().is_empty()), "no CDN");
}

const SPARKPOST_V2: &str = "\
version: 1
braze_cluster: US-05
state: { path: sslprov.state.json }
domains:
  us:
    tracking_domain: url1.acme.com
    esp: sparkpost
    cdn: none
  eu:
    tracking_domain: links.acme.com
    esp: sparkpost
    braze_cluster: EU-01
    cdn: none
";

#[tokio::test(flavor = "multi_thread")]
async fn sparkpost_v2_is_one_cname_per_domain_to_its_regional_https_endpoint() {
    let p = Project::new(SPARKPOST_V2).await;
    // The HTTP-era link of one brand points at SparkPost's plain-HTTP host.
    let zones = p.aws.route53().list_hosted_zones().send().await.unwrap();
    let zid = zones.hosted_zones()[0].id().trim_start_matches("/hostedzone/").to_owned();
    p.aws.put_record(&zid, "url1.acme.com", "CNAME", "spgo.io", 3600).await;

    let plan = p.ok(&["plan", "--detailed-exitcode"], 2);
    assert!(plan.stdout.contains("# us.tracking_record will be adopted and updated in place"), "{plan:?}");
    assert!(plan.stdout.contains(r#"~ values = ["spgo.io"] -> ["v2.spgo.io"]"#), "{plan:?}");
    assert!(plan.stdout.contains("Plan: 1 to add, 1 to change, 0 to replace, 0 to destroy."), "{plan:?}");
    p.apply();
    assert_eq!(
        records(&p, "acme.com").await,
        [record("links.acme.com", "CNAME", "eu.v2.spgo.io"), record("url1.acme.com", "CNAME", "v2.spgo.io")]
    );
    nothing_but_records(&p).await;
    p.ok(&["plan", "--detailed-exitcode"], 0);

    let destroy = p.ok(&["destroy", "--auto-approve", "--restore-adopted"], 0);
    assert!(destroy.stdout.contains("0 added, 1 changed, 1 destroyed"), "{destroy:?}");
    assert_eq!(records(&p, "acme.com").await, [record("url1.acme.com", "CNAME", "spgo.io")]);
}

const SENDGRID_AUTO_SSL: &str = "\
version: 1
braze_cluster: US-05
state: { path: sslprov.state.json }
domains:
  acme:
    tracking_domain: url1234.acme.com
    esp: sendgrid
    cdn: none
    managed_https:
      acme_challenge: url1234.acme.com.4b2f.dcv.cloudflare.com
      custom_hostname: 7c1d5e0a-9f3b-4c7e-8d21-6a0b3e5f9c42
";

#[tokio::test(flavor = "multi_thread")]
async fn sendgrid_auto_ssl_writes_the_three_records_sendgrid_asked_for_link_last() {
    let p = Project::new(SENDGRID_AUTO_SSL).await;
    let plan = p.ok(&["plan", "--detailed-exitcode"], 2);
    let at = |what: &str| plan.stdout.find(what).unwrap_or_else(|| panic!("{what}: {plan:?}"));
    assert!(
        at("acme.acme_challenge_record will be created") < at("acme.tracking_record will be created")
            && at("acme.custom_hostname_record will be created") < at("acme.tracking_record will be created"),
        "the link moves last: {plan:?}"
    );
    assert!(plan.stdout.contains("Plan: 3 to add, 0 to change"), "{plan:?}");
    p.apply();
    assert_eq!(
        records(&p, "acme.com").await,
        [
            record("_acme-challenge.url1234.acme.com", "CNAME", "url1234.acme.com.4b2f.dcv.cloudflare.com"),
            record("_cf-custom-hostname.url1234.acme.com", "TXT", "\"7c1d5e0a-9f3b-4c7e-8d21-6a0b3e5f9c42\""),
            record("url1234.acme.com", "CNAME", "click.sendgrid.net"),
        ]
    );
    nothing_but_records(&p).await;
    p.ok(&["plan", "--detailed-exitcode"], 0);

    // SendGrid issued new values (the branded link re-created): the records follow the spec.
    let renewed = SENDGRID_AUTO_SSL.replace("4b2f", "9e01");
    std::fs::write(p.path("sslprov.yaml"), renewed).unwrap();
    let plan = p.ok(&["plan", "--detailed-exitcode"], 2);
    assert!(plan.stdout.contains("Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy."), "{plan:?}");
    p.apply();

    let destroy = p.ok(&["destroy", "--auto-approve"], 0);
    assert!(destroy.stdout.contains("0 added, 0 changed, 3 destroyed"), "{destroy:?}");
    assert!(records(&p, "acme.com").await.is_empty());
}
