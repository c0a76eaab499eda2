//! The safe order, crash safety, locks and stale plans: what makes sslprov impossible to leave
//! half-done.

use std::time::Duration;

use sslprov_testsupport::{MotoOptions, MotoServer, Rule};

use crate::support::{Project, SENDGRID, calls, kill, last_position, position};

async fn count(p: &Project) -> (usize, usize) {
    let d = p.aws.cloudfront().list_distributions().send().await.unwrap();
    let c = p.aws.acm().list_certificates().send().await.unwrap();
    (d.distribution_list().map_or(0, |l| l.items().len()), c.certificate_summary_list().len())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cname_flips_only_after_the_certificate_is_issued_and_the_cdn_deployed() {
    // A server of its own: the validation wait and the deployment state machine are server-wide.
    // Pending for 4 s: the first round of the wait comes after the validation record's batch, and
    // a loaded machine must not let moto issue the certificate before it.
    let moto = MotoServer::start_dedicated(MotoOptions { acm_validation_wait_secs: 4, ..Default::default() });
    moto.set_distribution_transition_manual(4).await;
    let p = Project::on(&moto, SENDGRID).await;
    let run = p.ok(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "500ms"], 0);

    let log = calls(&p);
    let request = position(&log, "acm:RequestCertificate");
    let validation = position(&log, "route53:ChangeResourceRecordSets");
    let create = position(&log, "cloudfront:CreateDistribution");
    let flip = last_position(&log, "route53:ChangeResourceRecordSets");
    assert!(request < validation && validation < create && create < flip, "{log:?}");
    // Waits are answered by the list, shared by every certificate waited for.
    assert!(
        log[validation..create].iter().filter(|c| *c == "acm:ListCertificates").count() >= 2,
        "polled the certificate until ISSUED: {log:?}"
    );
    let polls = log[create..flip].iter().filter(|c| *c == "cloudfront:GetDistribution").count();
    assert!(polls >= 3, "waited for Deployed before the flip: {log:?}");
    assert_eq!(&log[flip - 1], "cloudfront:GetDistribution", "the flip follows the read that said Deployed: {log:?}");
    assert!(run.stdout.contains("acme.certificate: still waiting: PENDING_VALIDATION"), "{run:?}");
    assert!(run.stdout.contains("acme.distribution: still waiting: InProgress"), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_during_the_wait_is_finished_by_the_next() {
    let p = Project::new(SENDGRID).await;
    p.aws.proxy().add_rule(Rule::hang("cloudfront", Some("GetDistribution"), Duration::from_secs(120)));
    let mut first = p.spawn(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "200ms"]);
    p.until_seen("cloudfront:GetDistribution").await;
    kill(&mut first);

    let state = p.state();
    assert!(
        state["resources"]["acme.distribution"]["id"].is_string(),
        "the distribution was recorded before the wait: {state:#}"
    );
    assert!(state["resources"].get("acme.tracking_record").is_none(), "the CNAME was not touched before Deployed");

    p.aws.proxy().clear_rules();
    let second = p.apply();
    // Only the CNAME is left to do: the certificate and the distribution the killed run made are
    // in the state, and waited for, not made again.
    assert!(second.stdout.contains("Plan: 1 to add, 0 to change, 0 to replace, 0 to destroy."), "{second:?}");
    assert_eq!(count(&p).await, (1, 1), "no duplicate distribution or certificate");
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_create_responses_never_duplicate_anything() {
    // Each create reaches AWS but its answer is lost, and this run does not retry: the next run
    // must find what was made from the intent recorded before the call.
    let p = Project::new(SENDGRID).await.env("SSLPROV_AWS_MAX_ATTEMPTS", "1");
    p.aws.proxy().add_rule(Rule::forward_then_reset("acm", Some("RequestCertificate")).times(1));
    let first = p.ok(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "200ms"], 1);
    assert!(first.stderr.contains("acme.certificate"), "{first:?}");
    assert_eq!(count(&p).await, (0, 1));
    assert!(p.state()["resources"]["acme.certificate"]["intent"]["op"] == "create");

    p.aws.proxy().add_rule(Rule::forward_then_reset("cloudfront", Some("CreateDistribution")).times(1));
    let second = p.ok(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "200ms"], 1);
    assert!(second.stdout.contains("Recovered: acme.certificate is arn:aws:acm:"), "{second:?}");
    assert_eq!(count(&p).await, (1, 1));

    let third = p.apply();
    assert!(third.stdout.contains("Recovered: acme.distribution is "), "{third:?}");
    assert_eq!(count(&p).await, (1, 1), "no duplicate distribution or certificate");
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_and_server_errors_are_retried() {
    let p = Project::new(SENDGRID).await;
    p.aws.proxy().add_rule(Rule::error("route53", Some("ChangeResourceRecordSets"), 400, "Throttling").times(2));
    p.aws.proxy().add_rule(Rule::error("cloudfront", Some("CreateDistribution"), 503, "ServiceUnavailable").times(1));
    p.aws.proxy().add_rule(Rule::error("acm", Some("DescribeCertificate"), 400, "ThrottlingException").times(2));
    p.aws.proxy().add_rule(Rule::reset("cloudfront", Some("ListDistributions")).times(1));
    p.apply();
    assert_eq!(count(&p).await, (1, 1));
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alias_taken_elsewhere_is_a_clear_error() {
    let p = Project::new(SENDGRID).await;
    p.aws.proxy().add_rule(Rule::error("cloudfront", Some("CreateDistribution"), 409, "CNAMEAlreadyExists"));
    let r = p.ok(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "200ms"], 1);
    assert!(r.stderr.contains("acme.distribution"), "{r:?}");
    assert!(r.stderr.contains("url1234.acme.com"), "{r:?}");
    assert!(r.stderr.contains("to continue, run `sslprov apply -f sslprov.yaml` again"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_concurrent_apply_is_refused_with_the_holders_details() {
    let p = Project::new(SENDGRID).await;
    p.aws.proxy().add_rule(Rule::hang("cloudfront", Some("CreateDistribution"), Duration::from_secs(120)));
    let mut first = p.spawn(&["apply", "-f", "sslprov.yaml", "--auto-approve"]);
    p.until_seen("cloudfront:CreateDistribution").await;
    let second = p.ok(&["apply", "-f", "sslprov.yaml", "--auto-approve"], 1);
    kill(&mut first);
    assert!(second.stderr.contains("sslprov.state.json is locked"), "{second:?}");
    assert!(second.stderr.contains("operation `apply`"), "{second:?}");
    assert!(second.stderr.contains(&format!("(pid {} on ", first.id())), "{second:?}");
    // The kernel released the killed run's lock: no stuck lock, no force-unlock.
    p.aws.proxy().clear_rules();
    p.apply();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_is_applied_as_shown_or_refused_when_stale() {
    let p = Project::new(SENDGRID).await;
    p.ok(&["plan", "-f", "sslprov.yaml", "--out", "plan.bin"], 0);
    let shown = p.ok(&["show", "plan.bin", "--json"], 0);
    let json: serde_json::Value = serde_json::from_str(&shown.stdout).expect("show --json is JSON");
    assert_eq!(json["format_version"], "1");
    assert_eq!(json["summary"]["add"], 4);
    assert_eq!(json["state"]["serial"], 0);

    // A second plan of the same state, applied: it does what it showed. The first is now stale.
    p.ok(&["plan", "-f", "sslprov.yaml", "--out", "plan2.bin"], 0);
    let applied = p.ok(&["apply", "plan2.bin", "--poll-interval", "200ms"], 0);
    assert!(applied.stdout.contains("Apply complete! Resources: 4 added, 0 changed, 0 destroyed."), "{applied:?}");
    assert_eq!(count(&p).await, (1, 1));
    let stale = p.ok(&["apply", "plan.bin"], 1);
    assert!(stale.stderr.contains("the saved plan plan.bin is stale: a state (serial"), "{stale:?}");

    // The spec changes after the plan.
    p.ok(&["plan", "-f", "sslprov.yaml", "--destroy", "--out", "destroy.bin"], 0);
    std::fs::write(p.path("sslprov.yaml"), SENDGRID.replace("US-05", "US-06")).unwrap();
    let stale = p.ok(&["apply", "destroy.bin"], 1);
    assert!(stale.stderr.contains("the spec sslprov.yaml changed since the plan was made"), "{stale:?}");

    // The cloud changes after the plan: refused too, rather than doing something not shown.
    std::fs::write(p.path("sslprov.yaml"), SENDGRID).unwrap();
    p.ok(&["plan", "-f", "sslprov.yaml", "--destroy", "--out", "destroy.bin"], 0);
    let cf = p.aws.cloudfront();
    let id = cf.list_distributions().send().await.unwrap().distribution_list().unwrap().items()[0].id().to_owned();
    let current = cf.get_distribution_config().id(&id).send().await.unwrap();
    let mut config = current.distribution_config().unwrap().clone();
    config.comment = "edited by hand".into();
    cf.update_distribution()
        .id(&id)
        .if_match(current.e_tag().unwrap())
        .distribution_config(config)
        .send()
        .await
        .unwrap();
    let stale = p.ok(&["apply", "destroy.bin"], 1);
    assert!(stale.stderr.contains("acme.distribution changed in the cloud since the plan was made"), "{stale:?}");

    // A fresh plan applies.
    p.ok(&["plan", "-f", "sslprov.yaml", "--destroy", "--out", "destroy.bin"], 0);
    let applied = p.ok(&["apply", "destroy.bin", "--poll-interval", "200ms"], 0);
    assert!(applied.stdout.contains("4 destroyed"), "{applied:?}");
    assert_eq!(count(&p).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_between_steps_and_the_next_run_finishes() {
    let moto = MotoServer::start_dedicated(MotoOptions::default());
    // The distribution stays InProgress until the test lets it go.
    moto.set_distribution_transition_manual(100_000).await;
    let p = Project::on(&moto, SENDGRID).await;
    let first = p.spawn(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "200ms"]);
    p.until_seen("cloudfront:GetDistribution").await;
    let interrupted = std::process::Command::new("kill").args(["-INT", &first.id().to_string()]).status().unwrap();
    assert!(interrupted.success());
    let out = first.wait_with_output().unwrap();
    let (code, stderr) = (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("Interrupt received: finishing the steps in flight"), "{stderr}");
    assert!(stderr.contains("acme.distribution: stopped by an interrupt"), "{stderr}");
    let state = p.state();
    assert!(state["resources"]["acme.distribution"]["intent"].is_null(), "nothing was left half-done: {state:#}");
    assert!(state["resources"].get("acme.tracking_record").is_none());

    moto.unset_distribution_transition().await;
    p.apply();
    assert_eq!(count(&p).await, (1, 1));
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_replaced_by_a_run_that_stopped_is_finished_without_a_twin_or_an_orphan() {
    let p = Project::new(SENDGRID).await.env("SSLPROV_AWS_MAX_ATTEMPTS", "1");
    p.apply();
    let first = p.state()["resources"]["acme.certificate"]["id"].as_str().unwrap().to_owned();
    // The state's certificate no longer has the names the spec wants (here: an extra name), so
    // the plan replaces it.
    let acm = p.aws.acm();
    let odd = acm
        .request_certificate()
        .domain_name("url1234.acme.com")
        .subject_alternative_names("extra.acme.com")
        .validation_method(aws_sdk_acm::types::ValidationMethod::Dns)
        .send()
        .await
        .unwrap()
        .certificate_arn
        .unwrap();
    // The state as a run that had made `odd` would have written it: its id and its names (an
    // issued certificate's names come from the state, since they never change).
    let mut state = p.state();
    state["resources"]["acme.certificate"]["id"] = serde_json::json!(odd);
    state["resources"]["acme.certificate"]["desired"]["subject_alternative_names"] =
        serde_json::json!(["extra.acme.com"]);
    std::fs::write(p.path("sslprov.state.json"), serde_json::to_string_pretty(&state).unwrap()).unwrap();
    let planned = p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 2);
    assert!(planned.stdout.contains("# acme.certificate must be replaced"), "{planned:?}");

    // The new certificate is made, but its answer is lost and the run stops there.
    p.aws.proxy().add_rule(Rule::forward_then_reset("acm", Some("RequestCertificate")).times(1));
    p.ok(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "200ms"], 1);
    assert_eq!(
        p.state()["resources"]["acme.certificate"]["deposed"],
        serde_json::json!([odd]),
        "the replaced certificate is on record"
    );

    let finish = p.apply();
    assert!(finish.stdout.contains("Recovered: acme.certificate is arn:aws:acm:"), "{finish:?}");
    let arns: Vec<String> = acm
        .list_certificates()
        .send()
        .await
        .unwrap()
        .certificate_summary_list()
        .iter()
        .filter_map(|c| c.certificate_arn().map(str::to_owned))
        .collect();
    let now = p.state()["resources"]["acme.certificate"]["id"].as_str().unwrap().to_owned();
    assert!(!arns.contains(&odd), "the replaced certificate is deleted: {arns:?}");
    assert_eq!(arns.len(), 2, "the first one (dropped from state by the test) and exactly one replacement: {arns:?}");
    assert!(arns.contains(&first) && arns.contains(&now) && now != first);
    assert!(p.state()["resources"]["acme.certificate"].get("deposed").is_none());
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_after_a_lost_create_still_finds_what_was_made() {
    let p = Project::new(SENDGRID).await.env("SSLPROV_AWS_MAX_ATTEMPTS", "1");
    p.aws.proxy().add_rule(Rule::forward_then_reset("cloudfront", Some("CreateDistribution")).times(1));
    p.ok(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "200ms"], 1);
    assert_eq!(count(&p).await, (1, 1));
    assert!(p.state()["resources"]["acme.distribution"]["id"].is_null(), "its answer was lost");
    let destroyed = p.ok(&["destroy", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "200ms"], 0);
    assert!(destroyed.stdout.contains("# acme.distribution will be destroyed"), "{destroyed:?}");
    assert_eq!(count(&p).await, (0, 0), "nothing left behind");
}

/// A wait holds no slot of `--parallelism`: with one slot, a second domain's certificate is
/// requested (and its wait runs) while the first domain's certificate is still pending.
#[tokio::test(flavor = "multi_thread")]
async fn a_wait_does_not_hold_a_parallelism_slot() {
    let moto = MotoServer::start_dedicated(MotoOptions { acm_validation_wait_secs: 2, ..Default::default() });
    let p = Project::on(
        &moto,
        &SENDGRID.replace(
            "domains:\n",
            "domains:\n  beta:\n    tracking_domain: url1.beta.com\n    esp: sendgrid\n    zone: beta.com\n",
        ),
    )
    .await;
    p.ok(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "300ms", "--parallelism", "1"], 0);
    let log = calls(&p);
    let requests: Vec<usize> =
        log.iter().enumerate().filter(|(_, c)| *c == "acm:RequestCertificate").map(|(i, _)| i).collect();
    assert_eq!(requests.len(), 2, "{log:?}");
    assert!(
        requests[1] < position(&log, "cloudfront:CreateDistribution"),
        "both certificates before any distribution: {log:?}"
    );
    // One list answers both waits: no more list calls than rounds of one domain's wait.
    let lists = log.iter().filter(|c| *c == "acm:ListCertificates").count();
    assert!(lists <= 15, "{lists} ListCertificates for two waits: {log:?}");
}

/// A destroy that stops part-way says so and names the command that finishes it: the same
/// destroy, not apply (which would make again what the destroy removed). Following the advice
/// removes the rest; an object an interrupted delete left is finished, not "recovered".
#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_destroy_is_finished_by_the_destroy_it_names() {
    let p = Project::new(SENDGRID).await.env("SSLPROV_AWS_MAX_ATTEMPTS", "1");
    p.apply();
    p.aws.proxy().add_rule(Rule::error("acm", Some("DeleteCertificate"), 503, "ServiceUnavailable"));
    let stopped = p.ok(&["destroy", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "200ms"], 1);
    assert!(stopped.stdout.contains("Destroy stopped with errors."), "{stopped:?}");
    assert!(stopped.stderr.contains("to continue, run `sslprov destroy -f sslprov.yaml` again"), "{stopped:?}");
    assert!(!stopped.stderr.contains("sslprov apply"), "{stopped:?}");
    assert_eq!(count(&p).await, (0, 1), "the distribution went, the certificate is left");

    // The state says the truth: a delete was under way, nothing was made by an interrupted run.
    let replan = p.ok(&["plan", "-f", "sslprov.yaml", "--destroy", "--detailed-exitcode"], 2);
    assert!(!replan.stdout.contains("made by an interrupted run"), "{replan:?}");
    assert!(replan.stdout.contains("finishes the delete an interrupted run began"), "{replan:?}");

    p.aws.proxy().clear_rules();
    p.ok(&["destroy", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "200ms"], 0);
    assert_eq!(count(&p).await, (0, 0), "nothing made again, nothing left");
    assert_eq!(p.ok(&["state", "list", "-f", "sslprov.yaml"], 0).stdout, "");
}

/// After an apply, the state holds what was true at the end of each step: the certificate
/// issued, the distribution deployed.
#[tokio::test(flavor = "multi_thread")]
async fn the_state_records_statuses_as_they_were_at_the_end_of_the_step() {
    let p = Project::new(SENDGRID).await;
    p.apply();
    let state = p.state();
    assert_eq!(state["resources"]["acme.certificate"]["outputs"]["status"], "ISSUED", "{state:#}");
    assert_eq!(state["resources"]["acme.distribution"]["outputs"]["status"], "Deployed", "{state:#}");
}

/// A no-change plan of what sslprov knows is the list pages and nothing else: no describe, no
/// read per resource.
#[tokio::test(flavor = "multi_thread")]
async fn a_no_change_plan_costs_exactly_the_list_pages() {
    let spec = SENDGRID.replace(
        "domains:\n",
        "domains:\n  beta:\n    tracking_domain: url1.beta.com\n    esp: sparkpost\n    zone: beta.com\n  gamma:\n    tracking_domain: url2.beta.com\n    esp: ses\n    zone: beta.com\n",
    );
    let p = Project::new(&spec).await;
    p.apply();
    p.aws.proxy().reset_counts();
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
    let counts: Vec<(String, u64)> = p.aws.proxy().counts().into_iter().collect();
    let expected = [
        ("acm:ListCertificates", 1),
        ("cloudfront:ListDistributions", 1),
        ("route53:ListHostedZones", 1),
        ("route53:ListResourceRecordSets", 2),
    ];
    assert_eq!(counts, expected.map(|(c, n)| (c.to_owned(), n)), "one page per list, one sweep per zone");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_that_takes_down_most_domains_is_refused_unless_allowed() {
    let four = "\
version: 1
braze_cluster: US-05
state: { path: sslprov.state.json }
domains:
  a: { tracking_domain: url1.a.com, esp: sendgrid }
  b: { tracking_domain: url1.b.com, esp: sendgrid }
  c: { tracking_domain: url1.c.com, esp: sendgrid }
  d: { tracking_domain: url1.d.com, esp: sendgrid }
";
    let p = Project::new(four).await;
    p.apply();
    // A bad merge left one domain of four.
    let (kept, _) = four.split_at(four.find("  b:").unwrap());
    std::fs::write(p.path("sslprov.yaml"), kept).unwrap();

    let refused = p.ok(&["plan", "--out", "plan.bin"], 1);
    assert!(refused.stdout.contains("Plan: 0 to add, 0 to change, 0 to replace, 12 to destroy."), "shown: {refused:?}");
    assert_eq!(
        refused.stderr,
        "Error: refused: this plan would delete or replace what serves 3 of the 4 managed domains (75 %; more than 30 % \
         and at least 3 is refused): b, c, d. Check the spec for a deleted block or a bad merge; if the change is \
         meant, run again with --allow-mass-change\n"
    );
    assert!(!p.path("plan.bin").exists(), "a refused plan is not saved");
    let refused = p.ok(&["apply", "--auto-approve"], 1);
    assert!(refused.stderr.starts_with("Error: refused: this plan would delete or replace"), "{refused:?}");
    assert_eq!(count(&p).await, (4, 4), "nothing was deleted");

    p.ok(&["plan", "--allow-mass-change", "--out", "plan.bin"], 0);
    let applied = p.ok(&["apply", "plan.bin", "--poll-interval", "200ms"], 0);
    assert!(applied.stdout.contains("12 destroyed"), "{applied:?}");
    assert_eq!(count(&p).await, (1, 1));
}
