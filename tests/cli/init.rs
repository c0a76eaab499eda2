//! `sslprov init`: zones seeded with HTTP-era tracking records of each ESP (and records that only
//! look like one), at Route 53 on moto and at the Cloudflare emulator. The spec it writes
//! validates, its plan adopts every tracking CNAME found and creates none, and the scan only
//! reads.

use sslprov_cf_emulator::Plan;

use crate::support::{Project, calls};

/// Every call the AWS proxy saw was a read.
fn only_reads(p: &Project) {
    let calls = calls(p);
    assert!(calls.iter().all(|c| c.contains(":List") || c.contains(":Get")), "{calls:?}");
}

fn count(p: &Project, call: &str) -> u64 {
    p.aws.proxy().count(call)
}

#[tokio::test(flavor = "multi_thread")]
async fn init_writes_a_spec_that_adopts_every_http_era_record_and_plans_nothing_else() {
    let p = Project::without_spec(true).await;
    let acme = p.aws.create_zone("acme.com").await;
    p.aws.put_record(&acme, "url1234.acme.com", "CNAME", "sendgrid.net", 300).await;
    // SendGrid link branding's second CNAME (the account id) stays at sendgrid.net.
    p.aws.put_record(&acme, "7654321.acme.com", "CNAME", "sendgrid.net", 300).await;
    p.aws.put_record(&acme, "www.acme.com", "CNAME", "d111111abcdef8.cloudfront.net", 300).await;
    p.aws.put_record(&acme, "acme.com", "TXT", "\"v=spf1 include:sendgrid.net ~all\"", 300).await;
    let beta = p.aws.create_zone("beta.io").await;
    p.aws.put_record(&beta, "click.beta.io", "CNAME", "eu.spgo.io", 300).await;
    p.aws.put_record(&beta, "news.beta.io", "CNAME", "v2.spgo.io", 300).await;
    let gamma = p.aws.create_zone("gamma.co.uk").await;
    p.aws.put_record(&gamma, "links.gamma.co.uk", "CNAME", "r.us-east-1.awstrack.me", 300).await;
    p.aws.create_zone("quiet.org").await;
    let cf = p.cloudflare();
    let delta = cf.add_zone("delta.dev", Plan::Free);
    cf.set_advanced_certificate_manager(&delta, true);
    cf.add_record(&delta, "CNAME", "url55", "sendgrid.net", false);
    cf.add_record(&delta, "CNAME", "url56", "sendgrid.net", true);

    let run = p.ok(&["init"], 0);
    assert_eq!(
        run.stderr,
        "Read 5 zone(s) in 7 API call(s), all reads: 4 tracking domain(s) to adopt, 4 other record(s) noted \
         and not added. Wrote sslprov.yaml: check its `confirm` comments (braze_cluster first), then run \
         `sslprov validate` and `sslprov plan`.\n"
    );
    let spec = std::fs::read_to_string(p.path("sslprov.yaml")).expect("init wrote sslprov.yaml");
    assert_eq!(spec, FOUND_SPEC);
    // One zone list and one record sweep per zone, at each host; nothing written anywhere.
    assert_eq!(count(&p, "route53:ListHostedZones"), 1);
    assert_eq!(count(&p, "route53:ListResourceRecordSets"), 4);
    only_reads(&p);
    let cf_calls = cf.request_log();
    assert!(cf_calls.iter().all(|r| r.method == "GET"), "{cf_calls:?}");
    assert_eq!(cf_calls.len(), 2, "one zone list, one record list: {cf_calls:?}");

    p.ok(&["validate", "-f", "sslprov.yaml"], 0);
    let plan = p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 2);
    for key in ["acme", "beta", "gamma", "delta"] {
        let adopted = format!("# {key}.tracking_record will be adopted and updated in place");
        assert!(plan.stdout.contains(&adopted), "{adopted}\n{plan:?}");
    }
    // Per domain: certificate, validation record and distribution made; the tracking record
    // adopted. No tracking record is created anywhere.
    assert!(plan.stdout.contains("Plan: 12 to add, 4 to change, 0 to replace, 0 to destroy."), "{plan:?}");
    assert!(!plan.stdout.contains(".tracking_record\" will be created"), "{plan:?}");
    cf.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread")]
async fn zone_limits_the_scan_and_a_zone_no_host_has_is_an_error() {
    let p = Project::without_spec(false).await;
    let acme = p.aws.create_zone("acme.com").await;
    p.aws.put_record(&acme, "url1234.acme.com", "CNAME", "sendgrid.net", 300).await;
    let beta = p.aws.create_zone("beta.io").await;
    p.aws.put_record(&beta, "click.beta.io", "CNAME", "spgo.io", 300).await;

    let run = p.ok(&["init", "--zone", "beta.io", "-o", "-"], 0);
    assert!(run.stdout.contains("tracking_domain: click.beta.io"), "{run:?}");
    assert!(!run.stdout.contains("acme"), "{run:?}");
    assert!(!p.path("sslprov.yaml").exists(), "-o - writes to standard output only");
    assert_eq!(count(&p, "route53:ListResourceRecordSets"), 1, "only beta.io is swept");
    // No token: Cloudflare is skipped, and says why.
    assert!(
        run.stderr
            .contains("Cloudflare not scanned: cloudflare config: not authenticated: CLOUDFLARE_API_TOKEN is not set"),
        "{run:?}"
    );

    let missing = p.ok(&["init", "--zone", "beta.io", "--zone", "nothere.com"], 1);
    assert!(
        missing.stderr.contains("Error: zone `nothere.com` not found at Amazon Route 53 with these credentials"),
        "{missing:?}"
    );
    let bad = p.ok(&["init", "--zone", "Beta.io"], 1);
    assert!(bad.stderr.contains("invalid value 'Beta.io' for '--zone <ZONE>'"), "{bad:?}");
    only_reads(&p);
}

#[tokio::test(flavor = "multi_thread")]
async fn init_keeps_an_existing_spec_unless_forced_and_writes_none_when_nothing_is_found() {
    let p = Project::without_spec(false).await;
    let acme = p.aws.create_zone("acme.com").await;
    p.aws.put_record(&acme, "7654321.acme.com", "CNAME", "sendgrid.net", 300).await;

    let none = p.ok(&["init"], 1);
    assert!(none.stderr.contains("no HTTP-era tracking CNAME to adopt"), "{none:?}");
    assert!(none.stderr.contains("7654321.acme.com CNAME sendgrid.net"), "what was found is said: {none:?}");
    assert!(!p.path("sslprov.yaml").exists());

    p.aws.put_record(&acme, "url1234.acme.com", "CNAME", "sendgrid.net", 300).await;
    std::fs::write(p.path("sslprov.yaml"), "# mine\n").unwrap();
    let kept = p.ok(&["init"], 1);
    assert!(kept.stderr.contains("sslprov.yaml exists: pass --force to replace it"), "{kept:?}");
    assert_eq!(std::fs::read_to_string(p.path("sslprov.yaml")).unwrap(), "# mine\n");
    assert_eq!(count(&p, "route53:ListHostedZones"), 1, "refused before any call");

    p.ok(&["init", "--force"], 0);
    let spec = std::fs::read_to_string(p.path("sslprov.yaml")).unwrap();
    assert!(spec.contains("tracking_domain: url1234.acme.com"), "{spec}");
    p.ok(&["validate"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudflare_zones_are_listed_page_by_page_and_a_named_host_must_be_readable() {
    let p = Project::without_spec(true).await;
    let cf = p.cloudflare();
    // 55 zones: two pages of the zone list, 50 a page.
    for z in 0..55 {
        let zone = cf.add_zone(&format!("brand{z}.dev"), Plan::Free);
        if z == 54 {
            cf.add_record(&zone, "CNAME", "url9", "sendgrid.net", false);
        }
    }
    let run = p.ok(&["init", "--dns", "cloudflare", "--zone", "brand54.dev", "-o", "-"], 0);
    assert!(run.stdout.contains("    tracking_domain: url9.brand54.dev\n    esp: sendgrid\n"), "{run:?}");
    assert_eq!(cf.counts().get("zones-get").copied(), Some(2), "{:?}", cf.counts());
    assert_eq!(
        cf.counts().get("dns-records-for-a-zone-list-dns-records").copied(),
        Some(1),
        "only brand54.dev is swept"
    );
    assert_eq!(calls(&p), Vec::<String>::new(), "--dns cloudflare: AWS is not asked");
    cf.assert_no_violations();

    // Named, a host must be readable: no token is an error, not a skip.
    let bare = Project::without_spec(false).await;
    let refused = bare.ok(&["init", "--dns", "cloudflare"], 1);
    assert!(refused.stderr.starts_with("Error: CLOUDFLARE_API_TOKEN is not set"), "{refused:?}");
}

/// What `init` writes for the zones of the first test.
const FOUND_SPEC: &str = r##"# A first spec, written by `sslprov init` from 5 zone(s) (Cloudflare: delta.dev; Amazon Route 53:
# acme.com, beta.io, gamma.co.uk, quiet.org): 4 HTTP-era tracking domain(s) to adopt; 4 other
# record(s) listed at the end, not added. `sslprov plan` adopts each tracking CNAME and switches it
# to the CDN last, once the certificate is issued and the CDN deployed. Before planning, check every
# line marked `confirm`, then run `sslprov validate`.
# Editor support (YAML language servers): run `sslprov schema > sslprov.schema.json` beside this
# file, then make this its first line:
# # yaml-language-server: $schema=./sslprov.schema.json
version: 1
# confirm: your Braze cluster. DNS tells at most its region (US or EU), and only through regional
# targets: here 1 US, 1 EU, 2 not told (the domains' comments say which). US-01 is a placeholder:
# write your cluster as your Braze dashboard's address shows it (dashboard-05.braze.com is US-05,
# dashboard-01.braze.eu is EU-01).
braze_cluster: US-01
domains:
  # url55.delta.dev CNAME sendgrid.net (Cloudflare zone delta.dev): SendGrid link branding's
  # tracking CNAME (urlNNNN → sendgrid.net). The target does not tell the Braze region: the
  # top-level braze_cluster applies.
  delta:
    tracking_domain: url55.delta.dev
    esp: sendgrid
    zone: delta.dev
    dns: cloudflare
  # url1234.acme.com CNAME sendgrid.net (Amazon Route 53 zone acme.com): SendGrid link branding's
  # tracking CNAME (urlNNNN → sendgrid.net). The target does not tell the Braze region: the
  # top-level braze_cluster applies.
  acme:
    tracking_domain: url1234.acme.com
    esp: sendgrid
    zone: acme.com
    dns: route53
  # click.beta.io CNAME eu.spgo.io (Amazon Route 53 zone beta.io): SparkPost EU tracking CNAME (→
  # eu.spgo.io). Braze region EU, from the target.
  beta:
    tracking_domain: click.beta.io
    esp: sparkpost
    zone: beta.io
    dns: route53
    braze_cluster: EU-01  # confirm: a placeholder for your EU cluster
  # links.gamma.co.uk CNAME r.us-east-1.awstrack.me (Amazon Route 53 zone gamma.co.uk): Amazon SES
  # click tracking CNAME in us-east-1 (Braze's US clusters). Braze region US, from the target.
  gamma:
    tracking_domain: links.gamma.co.uk
    esp: ses
    zone: gamma.co.uk
    dns: route53

# Found, and not added:
# - url56.delta.dev CNAME sendgrid.net (Cloudflare zone delta.dev, proxied): SendGrid link
#   branding's tracking CNAME (urlNNNN → sendgrid.net); Cloudflare already serves it through its own
#   proxy, a CDN, so it is not HTTP-era.
# - 7654321.acme.com CNAME sendgrid.net (Amazon Route 53 zone acme.com): SendGrid link branding's
#   second CNAME (NNNNNNN, the account id): it stays at sendgrid.net, since only the first CNAME
#   (urlNNNN) points at the CDN (§0.1).
# - news.beta.io CNAME v2.spgo.io (Amazon Route 53 zone beta.io): SparkPost V2 tracking endpoint:
#   SparkPost serves HTTPS itself (managed HTTPS, §0.1).

# CNAMEs to a CDN, not added: DNS does not tell whether one serves click tracking, nor for which
# ESP. A tracking domain already on a CDN can be added by hand; plan then shows what it would
# change.
# - www.acme.com CNAME d111111abcdef8.cloudfront.net (Amazon Route 53 zone acme.com) → CloudFront
"##;
