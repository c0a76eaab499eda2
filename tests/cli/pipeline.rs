//! sslprov in a pipeline: the plan as a pull-request comment, apply events as JSON lines, and
//! drift for scheduled jobs.

use crate::support::{Project, SENDGRID};

#[tokio::test(flavor = "multi_thread")]
async fn the_plan_reads_as_a_pull_request_comment() {
    let p = Project::new(SENDGRID).await;
    let zones = p.aws.route53().list_hosted_zones().send().await.unwrap();
    let zone = zones.hosted_zones()[0].id().trim_start_matches("/hostedzone/").to_owned();
    p.aws.put_record(&zone, "url1234.acme.com", "CNAME", "sendgrid.net", 3600).await;
    let md = p.ok(&["plan", "--format", "markdown", "--out", "plan.bin"], 0).stdout;
    assert!(md.starts_with("#### sslprov plan: 3 to add, 1 to change, 0 to replace, 0 to destroy\n"), "{md}");
    assert!(
        md.contains(
            "**Adopted** (existing objects sslprov takes over):\n- `acme.tracking_record`: adopts the existing record; \
             it is switched to the CDN last, once the CDN is ready\n"
        ),
        "{md}"
    );
    assert!(md.contains("\n<details><summary><code>acme</code>: 3 to add, 1 to change</summary>\n\n```diff\n"), "{md}");
    assert!(md.contains("# acme.certificate will be created\n+ domain_name = \"url1234.acme.com\"\n"), "{md}");
    assert!(md.contains("- values = [\"sendgrid.net\"]\n+ values = [(known after apply)]\n"), "{md}");
    assert!(md.contains("<sub>Spec <code>sslprov.yaml</code> (sha256 <code>"), "{md}");
    assert!(md.contains(" · no state yet, lineage <code>"), "{md}");
    assert!(!md.contains("Saved the plan"), "only the comment on stdout: {md}");
    // The saved plan shows the same comment.
    assert_eq!(p.ok(&["show", "plan.bin", "--format", "markdown"], 0).stdout, md);

    p.apply();
    let md = p.ok(&["plan", "--format", "markdown"], 0).stdout;
    assert!(md.starts_with("#### sslprov plan: no changes\n\nThe cloud matches the spec.\n"), "{md}");
    assert!(md.contains(" · state serial "), "{md}");
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_reports_what_changed_outside_sslprov_and_only_that() {
    let p = Project::new(SENDGRID).await;
    p.apply();
    let clean = p.ok(&["drift"], 0);
    assert_eq!(clean.stdout, "No drift. The cloud matches the state (4 objects checked).\n");

    // An edited spec not applied yet is a plan's business, not drift.
    std::fs::write(p.path("sslprov.yaml"), SENDGRID.replace("US-05", "EU-01")).unwrap();
    p.ok(&["drift"], 0);

    // Someone repoints the tracking record by hand.
    let zones = p.aws.route53().list_hosted_zones().send().await.unwrap();
    let zone = zones.hosted_zones()[0].id().trim_start_matches("/hostedzone/").to_owned();
    let state = p.state();
    let record = &state["resources"]["acme.tracking_record"];
    let was = record["desired"]["values"][0].as_str().unwrap().to_owned();
    p.aws.put_alias(&zone, "url1234.acme.com", "elsewhere.cloudfront.net").await;
    let drift = p.ok(&["drift"], 2);
    assert_eq!(
        drift.stdout,
        format!(
            "Drift: 1 of 4 objects are not as sslprov left them.\n\n  # acme.tracking_record ({}) changed outside \
             sslprov\n      ~ values = [\"{was}\"] -> [\"elsewhere.cloudfront.net\"]\n\n`sslprov plan` shows what apply \
             would do about it; `sslprov apply` puts it back as the spec says.\n",
            record["id"].as_str().unwrap()
        )
    );
    let json: serde_json::Value = serde_json::from_str(&p.ok(&["drift", "--json"], 2).stdout).unwrap();
    assert_eq!(json["checked"], 4);
    assert_eq!(json["drifted"][0]["drift"], "changed");
    assert_eq!(json["drifted"][0]["changes"][0]["cloud"], serde_json::json!(["elsewhere.cloudfront.net"]));

    // A deleted distribution is drift too (disabled first: CloudFront deletes only those).
    let cf = p.aws.cloudfront();
    let id = state["resources"]["acme.distribution"]["id"].as_str().unwrap();
    let current = cf.get_distribution_config().id(id).send().await.unwrap();
    let mut config = current.distribution_config().unwrap().clone();
    config.enabled = false;
    let updated = cf.update_distribution().id(id).if_match(current.e_tag().unwrap()).distribution_config(config);
    let etag = updated.send().await.unwrap().e_tag().unwrap().to_owned();
    cf.delete_distribution().id(id).if_match(etag).send().await.unwrap();
    let drift = p.ok(&["drift", "--target", "acme"], 2);
    assert!(drift.stdout.contains(&format!("  # acme.distribution ({id}) was deleted outside sslprov\n")), "{drift:?}");
}

/// Each event as one short line: its kind, address and what it says, ids and times left out.
fn events(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(|line| {
            let e: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
            assert!(e["time"].is_string(), "{line}");
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            let what = match text("event").as_str() {
                "plan" => format!("{} {}", e["mode"], e["summary"]),
                "started" => text("step"),
                // "created <id>": the verb.
                "finished" => text("result").split(' ').next().unwrap_or_default().to_owned(),
                "failed" => text("error"),
                "summary" => format!(
                    "complete={} added={} errors={} resume={}",
                    e["complete"],
                    e["added"],
                    e["errors"].as_array().map_or(0, Vec::len),
                    e["resume"]
                ),
                _ => text("detail") + &text("message"),
            };
            [text("event"), text("address"), what].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_json_streams_one_event_per_line() {
    let p = Project::new(SENDGRID).await;
    let r = p.ok(&["apply", "--json", "--auto-approve", "--poll-interval", "100ms"], 0);
    assert_eq!(
        events(&r.stdout),
        [
            r#"plan "apply" {"add":4,"change":0,"destroy":0,"forget":0,"replace":0}"#,
            "started acme.certificate creating",
            "finished acme.certificate created",
            "started acme.validation_record creating",
            "finished acme.validation_record created",
            "ready acme.certificate",
            "started acme.distribution creating",
            "finished acme.distribution created",
            "ready acme.distribution",
            "started acme.tracking_record creating",
            "finished acme.tracking_record created",
            "summary complete=true added=4 errors=0 resume=null",
        ]
    );
    assert_eq!(r.stderr, "");

    // A failed step: its event, then the summary with the command that finishes the run.
    let p = Project::new(SENDGRID).await;
    p.aws.proxy().add_rule(
        sslprov_testsupport::Rule::error("cloudfront", Some("CreateDistribution"), 403, "AccessDenied")
            .message("not allowed"),
    );
    let r = p.ok(&["apply", "--json", "--auto-approve", "--poll-interval", "100ms"], 1);
    let events = events(&r.stdout);
    assert_eq!(
        events[5..],
        [
            "ready acme.certificate",
            "started acme.distribution creating",
            "failed acme.distribution acme.distribution: cloudfront CreateDistribution: permission denied \
             (AccessDenied): not allowed; allow `cloudfront:CreateDistribution` in the IAM policy of the identity \
             sslprov runs as",
            r#"summary complete=false added=2 errors=1 resume="sslprov apply -f sslprov.yaml""#,
        ],
        "{r:?}"
    );
    assert_eq!(r.stderr, "Error: Apply stopped with errors; to continue, run `sslprov apply -f sslprov.yaml` again.\n");
}

/// `sslprov apply --auto-approve | head -1`: the reader goes, the apply does not. It carries on to
/// the end (a half-done apply would be worse than lost output), writes its state and releases
/// its lock.
#[tokio::test(flavor = "multi_thread")]
async fn an_apply_whose_reader_stops_early_still_finishes() {
    let p = Project::new(SENDGRID).await;
    let mut child = p.spawn(&["apply", "--auto-approve", "--poll-interval", "200ms"]);
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    p.ok(&["plan", "--detailed-exitcode"], 0);
    // The lock was released: the next apply takes it.
    p.apply();
}
