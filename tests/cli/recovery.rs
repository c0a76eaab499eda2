//! Recovery without state: a pipeline whose state was lost (a fresh runner, a deleted file) finds
//! what sslprov made and takes it back, instead of making twins beside it.

use aws_sdk_acm::types::Tag;

use crate::support::{Project, Run};

const BRANDS: &str = "\
version: 1
braze_cluster: US-05
state: { path: sslprov.state.json }
domains:
  acme:
    tracking_domain: url1234.acme.com
    esp: sendgrid
  beta:
    tracking_domain: click.beta.io
    esp: sparkpost
    braze_cluster: EU-01
  gamma:
    tracking_domain: track.gamma.co.uk
    esp: ses
    zone: gamma.co.uk
";

fn forget_state(p: &Project) {
    p.ok(&["drift"], 0);
    std::fs::remove_file(p.path("sslprov.state.json")).expect("state file");
    let _ = std::fs::remove_file(p.path("sslprov.state.json.backup"));
}

/// The plan after the state was lost: every object listed as recovered, nothing to change.
fn recovering_plan(p: &Project, objects: usize) -> Run {
    let r = p.ok(&["plan", "--detailed-exitcode"], 2);
    let recovered: Vec<&str> = r.stdout.lines().filter(|l| l.starts_with("Recovered: ")).collect();
    assert_eq!(recovered.len(), objects, "{r:?}");
    assert!(r.stdout.contains("No changes. The cloud matches the spec."), "{r:?}");
    r
}

/// The apply after it: records what the plan recovered and writes nothing to the cloud. The
/// state it leaves is as good as the lost one: no plan, no drift.
fn recovering_apply(p: &Project) {
    let r = p.apply();
    assert!(r.stdout.contains("Apply complete! Resources: 0 added, 0 changed, 0 destroyed."), "{r:?}");
    p.ok(&["plan", "--detailed-exitcode"], 0);
    p.ok(&["drift"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_its_state_aws_takes_back_what_it_made() {
    let p = Project::new(BRANDS).await;
    p.apply();
    // A twin certificate for one name, as a run that lost its state before this fix left: the
    // one the distribution serves is the one taken back.
    let acm = p.aws.acm();
    let twin = acm
        .request_certificate()
        .domain_name("url1234.acme.com")
        .validation_method(aws_sdk_acm::types::ValidationMethod::Dns)
        .tags(Tag::builder().key("sslprov:token").value("tok_twin").build().unwrap())
        .send()
        .await
        .unwrap()
        .certificate_arn
        .unwrap();
    forget_state(&p);
    p.aws.proxy().reset_counts();

    let r = recovering_plan(&p, 12);
    assert!(
        r.stdout.contains("Recovered: acme.distribution is ")
            && r.stdout.contains("(carries sslprov's mark, and the state has no entry for it; apply records it)"),
        "{r:?}"
    );
    assert!(r.stdout.contains("Recovered: acme.tracking_record is "), "{r:?}");
    assert!(!r.stdout.contains(&twin), "the twin no distribution serves is not taken: {r:?}");

    recovering_apply(&p);
    let writes: Vec<String> = p
        .aws
        .proxy()
        .counts()
        .into_keys()
        .filter(|c| !c.contains(":List") && !c.contains(":Get") && !c.contains(":Describe"))
        .collect();
    assert!(writes.is_empty(), "nothing written to the cloud: {writes:?}");
    let certs = acm.list_certificates().send().await.unwrap();
    assert_eq!(certs.certificate_summary_list().len(), 4, "the three and the twin, no more");
    let dists = p.aws.cloudfront().list_distributions().send().await.unwrap();
    assert_eq!(dists.distribution_list().unwrap().items().len(), 3);

    // The recovered state is a whole one: destroy removes all twelve objects.
    let gone = p.ok(&["destroy", "--auto-approve", "--poll-interval", "200ms"], 0);
    assert!(gone.stdout.contains("0 added, 0 changed, 12 destroyed"), "{gone:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_its_state_cloudflare_takes_back_what_it_made() {
    let p = Project::new(crate::cloudflare::SENDGRID_ON_CLOUDFLARE).await;
    p.apply();
    let before = p.cloudflare().request_log().len();
    forget_state(&p);
    let r = recovering_plan(&p, 2);
    assert!(r.stdout.contains("Recovered: acme.config_rule is "), "{r:?}");
    recovering_apply(&p);
    // The token check's probes write to the nil id, which changes nothing.
    let writes: Vec<_> = p.cloudflare().request_log()[before..]
        .iter()
        .filter(|r| r.method != "GET" && !r.path.ends_with("/00000000000000000000000000000000"))
        .map(|r| r.path.clone())
        .collect();
    assert!(writes.is_empty(), "nothing written to Cloudflare: {writes:?}");
    p.cloudflare().assert_no_violations();
}

#[tokio::test(flavor = "multi_thread")]
async fn without_its_state_fastly_takes_back_what_it_made() {
    let p = Project::new(&crate::fastly::spec("sendgrid", "US-05", "route53")).await;
    p.ok(&["apply", "--auto-approve", "--poll-interval", "100ms"], 0);
    let fastly = p.fastly.as_ref().unwrap();
    let before = fastly.request_log().len();
    forget_state(&p);
    p.aws.proxy().reset_counts();
    recovering_plan(&p, 4);
    recovering_apply(&p);
    let writes: Vec<_> =
        fastly.request_log()[before..].iter().filter(|r| r.method != "GET").map(|r| r.path.clone()).collect();
    assert!(writes.is_empty(), "nothing written to Fastly: {writes:?}");
    assert_eq!(fastly.services().len(), 1);
    assert_eq!(p.aws.proxy().count("route53:ChangeResourceRecordSets"), 0);
}
