//! The local state's journal under kill -9: a run killed at any step leaves a state every
//! reader sees as far as the run got, and the next run finishes the job without a twin.

use std::time::Duration;

use sslprov_testsupport::Rule;

use crate::support::{Project, SENDGRID, kill, until};

/// Each mutating call of a CloudFront domain, in order: where the run is killed, and the address
/// whose intent the journal must hold (made durable before the call).
const STEPS: [(&str, u64, &str); 4] = [
    ("acm:RequestCertificate", 0, "acme.certificate"),
    ("route53:ChangeResourceRecordSets", 0, "acme.validation_record"),
    ("cloudfront:CreateDistribution", 0, "acme.distribution"),
    ("route53:ChangeResourceRecordSets", 1, "acme.tracking_record"),
];

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_at_any_step_is_read_back_and_finished() {
    for (call, skip, address) in STEPS {
        let p = Project::new(SENDGRID).await;
        let (service, operation) = call.split_once(':').unwrap();
        p.aws.proxy().add_rule(Rule::hang(service, Some(operation), Duration::from_secs(120)).skip(skip));
        let mut run = p.spawn(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "200ms"]);
        until_hanging(&p, call).await;
        kill(&mut run);

        // The intent is in the journal, not (yet) in the snapshot: readers replay it.
        let journal = std::fs::read_to_string(p.path("sslprov.state.json.journal")).expect("a journal");
        assert!(journal.contains(&format!(r#""address":"{address}""#)), "{call}: {journal}");
        let snapshot_has_it =
            std::fs::read_to_string(p.path("sslprov.state.json")).is_ok_and(|s| s.contains(&format!(r#""{address}""#)));
        assert!(!snapshot_has_it, "{call}: the step is recorded by the journal alone");
        let listed = p.ok(&["state", "list"], 0);
        assert!(listed.stdout.contains(&format!("{address}  ")), "{call}: {listed:?}");
        assert!(listed.stdout.contains("(unfinished "), "{call}: the intent is replayed: {listed:?}");
        assert!(p.state()["resources"][address]["intent"].is_object(), "{call}");

        p.aws.proxy().clear_rules();
        p.apply();
        let (distributions, certificates) = count(&p).await;
        assert_eq!((distributions, certificates), (1, 1), "{call}: no duplicate");
        p.ok(&["plan", "--detailed-exitcode"], 0);
        assert!(!p.path("sslprov.state.json.journal").exists(), "{call}: compacted");
        let state = p.state();
        assert!(state["resources"].as_object().unwrap().values().all(|r| r.get("intent").is_none()), "{state:#}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn readers_replay_the_journal_and_the_run_writes_the_snapshot_once() {
    let p = Project::new(SENDGRID).await;
    p.aws.proxy().add_rule(Rule::hang("cloudfront", Some("CreateDistribution"), Duration::from_secs(120)));
    let mut run = p.spawn(&["apply", "--auto-approve", "--poll-interval", "200ms"]);
    until_hanging(&p, "cloudfront:CreateDistribution").await;
    // While the run is still going, unlocked readers see what it recorded so far.
    let shown = p.ok(&["state", "show", "acme.certificate"], 0);
    let certificate: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert!(certificate["id"].as_str().unwrap().starts_with("arn:aws:acm:"), "{shown:?}");
    let pulled: serde_json::Value = serde_json::from_str(&p.ok(&["state", "pull"], 0).stdout).unwrap();
    assert_eq!(pulled, p.state());
    assert!(!p.path("sslprov.state.json").exists(), "no snapshot is written during the run");
    kill(&mut run);
    p.aws.proxy().clear_rules();
    p.apply();
    assert!(p.path("sslprov.state.json").exists());
    assert!(p.path("sslprov.state.json.backup").exists(), "the snapshot the killed run's journal became");
}

async fn until_hanging(p: &Project, call: &str) {
    let hung = until(|| p.aws.proxy().log().iter().any(|e| e.action == "hang" && e.call == call)).await;
    assert!(hung, "{call} never hung; log: {:?}", p.aws.proxy().log());
}

async fn count(p: &Project) -> (usize, usize) {
    let d = p.aws.cloudfront().list_distributions().send().await.unwrap();
    let c = p.aws.acm().list_certificates().send().await.unwrap();
    (d.distribution_list().map_or(0, |l| l.items().len()), c.certificate_summary_list().len())
}
