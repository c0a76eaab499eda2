//! Every spec in examples/ validates and plans against the emulator.

use crate::support::{Project, examples_dir};

#[tokio::test(flavor = "multi_thread")]
async fn every_example_validates_and_plans() {
    let mut seen = 0;
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        seen += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        let p = Project::new(&text).await;
        p.ok(&["validate", "-f", "sslprov.yaml"], 0);
        let plan = p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 2);
        // Per domain: certificate, validation record, distribution and tracking record on
        // CloudFront; service, subscription, validation and tracking record on Fastly; config
        // rule and tracking record (and an advanced pack) on Cloudflare; custom domain, TXT, route
        // entry and tracking record on Azure Front Door, plus its profile once and an endpoint,
        // origin group, origin and route per ESP origin (SendGrid's is one for both regions); with
        // no CDN, the records the ESP asks for.
        let spec = sslprov::spec::Spec::load(&p.path("sslprov.yaml")).unwrap();
        let per_domain: usize = spec
            .domains
            .values()
            .map(|d| match d.cdn.as_str() {
                "cloudfront" | "fastly" => 4,
                "cloudflare" => 2 + usize::from(d.advanced_certificate),
                "azure-frontdoor" => 4,
                "none" => 1 + d.managed_https.len(),
                other => panic!("no expectation for cdn {other}"),
            })
            .sum();
        let azure_origins: std::collections::BTreeSet<(String, String)> = spec
            .domains
            .values()
            .filter(|d| d.cdn == "azure-frontdoor")
            .map(|d| (d.esp.clone(), if d.esp == "sendgrid" { String::new() } else { format!("{:?}", d.region) }))
            .collect();
        let shared = if azure_origins.is_empty() { 0 } else { 1 + 4 * azure_origins.len() };
        let expected = per_domain + shared;
        assert!(plan.stdout.contains(&format!("Plan: {expected} to add, 0 to change")), "{}: {plan:?}", path.display());
        if let Some(cf) = &p.cf {
            cf.assert_no_violations();
        }
        if let Some(fastly) = &p.fastly {
            fastly.assert_no_violations();
        }
        if let Some(azure) = &p.azure {
            azure.assert_no_violations();
        }
    }
    assert!(seen >= 6, "one example per ESP and per CDN × DNS combination at least");
}
