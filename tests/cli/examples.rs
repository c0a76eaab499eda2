//! Every spec in examples/ validates and plans against the emulator.

use crate::support::{Project, examples_dir};

#[tokio::test(flavor = "multi_thread")]
async fn every_example_validates_and_plans() {
    let mut seen = 0;
    let mut cdns = std::collections::BTreeSet::new();
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
        // entry and tracking record on Azure Front Door; DNS authorization, its CNAME,
        // certificate, map entry, host rule and A record on Google Cloud; ACME certificate, its
        // TXT, zone, zone alias and tracking record on KeyCDN; with no CDN, the records the ESP
        // asks for.
        let spec = sslprov::spec::Spec::load(&p.path("sslprov.yaml")).unwrap();
        cdns.extend(spec.domains.values().map(|d| d.cdn.clone()));
        let per_domain: usize = spec
            .domains
            .values()
            .map(|d| match d.cdn.as_str() {
                "cloudfront" | "fastly" => 4,
                "cloudflare" => 2 + usize::from(d.advanced_certificate),
                "azure-frontdoor" => 4,
                "google-cloud" => 6,
                "keycdn" => 5,
                "none" => 1 + d.managed_https.len(),
                other => panic!("no expectation for cdn {other}"),
            })
            .sum();
        // Shared objects: on Azure Front Door a profile per brand group, and an endpoint, origin
        // group, origin and route per ESP origin in it; on Google Cloud the load balancer's
        // address, SSL policy, certificate map, URL map, two target proxies and two forwarding
        // rules, and an Internet NEG and backend service per ESP origin (SendGrid's origin is one
        // for both regions: it counts once).
        let origins: std::collections::BTreeSet<(&str, &str, &str)> = spec
            .domains
            .values()
            .map(|d| {
                let origin = sslprov::template::templates().esp[&d.esp].origins[&d.region].as_str();
                (d.cdn.as_str(), d.brand_group.as_deref().unwrap_or("frontdoor"), origin)
            })
            .collect();
        let azure_groups: std::collections::BTreeSet<&str> =
            origins.iter().filter(|(c, ..)| *c == "azure-frontdoor").map(|(_, g, _)| *g).collect();
        let azure = azure_groups.len() + 4 * origins.iter().filter(|(c, ..)| *c == "azure-frontdoor").count();
        let gcp_origins = origins.iter().filter(|(c, ..)| *c == "google-cloud").count();
        let gcp = if gcp_origins == 0 { 0 } else { 8 + 2 * gcp_origins };
        let shared = azure + gcp;
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
        if let Some(gcp) = &p.gcp {
            gcp.assert_no_violations();
        }
        if let Some(keycdn) = &p.keycdn {
            keycdn.assert_no_violations();
        }
    }
    assert!(seen >= 6, "one example per ESP and per CDN × DNS combination at least");
    let templates: std::collections::BTreeSet<String> = sslprov::template::templates().cdn.keys().cloned().collect();
    assert_eq!(cdns, templates, "an example for every CDN");
}
