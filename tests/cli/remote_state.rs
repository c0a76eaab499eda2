//! A state in S3 (moto): one run at a time under the lock object, a killed holder forced out
//! by its lock ID, writes refused when someone else wrote first, and `state migrate` both ways
//! without losing anything when interrupted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sslprov_testsupport::Rule;

use crate::support::{Project, Run, SENDGRID, eventually, kill, until};

const KEY: &str = "prod/sslprov.json";

/// A bucket name no other test uses (moto's bucket names are global).
fn bucket() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("sslprov-state-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

fn s3_spec(spec: &str, bucket: &str) -> String {
    spec.replace("state: { path: sslprov.state.json }", &format!("state: {{ s3: {{ bucket: {bucket}, key: {KEY} }} }}"))
}

/// A project whose spec keeps its state in a new bucket (versioned unless asked otherwise).
async fn remote(spec: &str, versioned: bool) -> (Project, String) {
    let bucket = bucket();
    let p = Project::new(&s3_spec(spec, &bucket)).await;
    p.aws.create_bucket(&bucket, versioned).await;
    (p, bucket)
}

async fn lock_object(p: &Project, bucket: &str) -> Option<serde_json::Value> {
    let bytes = p.aws.get_object(bucket, &format!("{KEY}.lock")).await?;
    Some(serde_json::from_slice(&bytes).expect("the lock object is JSON"))
}

async fn snapshot(p: &Project, bucket: &str) -> Option<serde_json::Value> {
    let bytes = p.aws.get_object(bucket, KEY).await?;
    Some(serde_json::from_slice(&bytes).expect("the state object is JSON"))
}

async fn count(p: &Project) -> (usize, usize) {
    let d = p.aws.cloudfront().list_distributions().send().await.unwrap();
    let c = p.aws.acm().list_certificates().send().await.unwrap();
    (d.distribution_list().map_or(0, |l| l.items().len()), c.certificate_summary_list().len())
}

/// Waits (bounded) until the proxy holds a request under a `hang` rule.
async fn until_hanging(p: &Project) {
    let hung = until(|| p.aws.proxy().log().iter().any(|e| e.action == "hang")).await;
    assert!(hung, "nothing hung; log: {:?}", p.aws.proxy().log());
}

#[tokio::test(flavor = "multi_thread")]
async fn two_applies_started_together_one_runs_and_a_killed_holder_is_forced_out_by_its_id() {
    let (p, bucket) = remote(SENDGRID, true).await;
    p.aws.proxy().add_rule(Rule::hang("cloudfront", Some("CreateDistribution"), Duration::from_secs(120)));
    // S3 makes a conditional write atomic; moto checks, then writes, with no lock between: two
    // lock writes inside that window would both win. One is held back a moment, so they meet in
    // the order S3 would put them in anyway.
    p.aws
        .proxy()
        .add_rule(Rule::delay("s3", Some("PutObject"), Duration::from_millis(200)).path_suffix(".lock").times(1));
    let args = ["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "200ms"];
    let mut runs = vec![p.spawn(&args), p.spawn(&args)];

    // Exactly one gives up at once, naming the other as the holder.
    let refused = eventually(|| runs.iter_mut().position(|c| c.try_wait().unwrap().is_some())).await;
    let loser: Run =
        runs.remove(refused.expect("one of the two applies is refused")).wait_with_output().unwrap().into();
    let mut winner = runs.remove(0);
    assert_eq!(loser.code, 1, "{loser:?}");
    assert!(loser.stderr.contains(&format!("state s3://{bucket}/{KEY} is locked: ID ")), "{loser:?}");
    assert!(loser.stderr.contains("operation `apply`"), "{loser:?}");
    assert!(loser.stderr.contains(&format!("(pid {} on ", winner.id())), "{loser:?}");
    assert!(winner.try_wait().unwrap().is_none(), "the holder runs on");

    // The holder dies with the lock held: S3 keeps it.
    p.until_seen("cloudfront:CreateDistribution").await;
    kill(&mut winner);
    let lock = lock_object(&p, &bucket).await.expect("a killed run's lock stays");
    let id = lock["id"].as_str().unwrap().to_owned();
    assert_eq!(lock["pid"], winner.id());
    let blocked = p.ok(&["plan", "-f", "sslprov.yaml"], 1);
    assert!(blocked.stderr.contains(&format!("(pid {} on ", winner.id())), "{blocked:?}");
    assert!(blocked.stderr.contains(" ago)"), "the lock's age: {blocked:?}");
    assert!(blocked.stderr.contains(&format!("sslprov state force-unlock {id}")), "{blocked:?}");

    let wrong = p.ok(&["state", "force-unlock", "not-its-id", "-f", "sslprov.yaml"], 1);
    assert!(wrong.stderr.contains(&format!("has ID {id}, not not-its-id")), "{wrong:?}");
    assert!(lock_object(&p, &bucket).await.is_some());
    let forced = p.ok(&["state", "force-unlock", &id, "-f", "sslprov.yaml"], 0);
    assert!(forced.stdout.contains("Removed the lock"), "{forced:?}");

    // The killed run's journal is in S3: the next run reads it and finishes, with no twin.
    let listed = p.ok(&["state", "list", "-f", "sslprov.yaml"], 0);
    assert!(listed.stdout.contains("acme.distribution  -  (unfinished create)"), "{listed:?}");
    p.aws.proxy().clear_rules();
    p.apply();
    assert_eq!(count(&p).await, (1, 1), "no duplicate distribution or certificate");
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
    assert!(lock_object(&p, &bucket).await.is_none(), "released at the end of the run");
    assert!(p.aws.list_objects(&bucket, &format!("{KEY}.journal/")).await.is_empty(), "compacted");
    let state = snapshot(&p, &bucket).await.expect("snapshot");
    assert!(state["resources"]["acme.tracking_record"]["id"].is_string(), "{state:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_after_someone_elses_write_is_refused() {
    let spec =
        format!("{SENDGRID}  beta:\n    tracking_domain: url9.beta.com\n    esp: sendgrid\n    zone: beta.com\n");
    let (p, bucket) = remote(&spec, true).await;
    p.ok(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "200ms", "--target", "acme"], 0);
    let before = snapshot(&p, &bucket).await.expect("snapshot");

    p.aws.proxy().reset_counts();
    p.aws.proxy().add_rule(Rule::delay("cloudfront", Some("CreateDistribution"), Duration::from_secs(3)));
    let run = p.spawn(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "200ms"]);
    p.until_seen("cloudfront:CreateDistribution").await;
    // Someone else writes the state meanwhile (a forced lock, a push from elsewhere).
    let mut theirs = before.clone();
    theirs["serial"] = serde_json::json!(999);
    p.aws.put_object(&bucket, KEY, serde_json::to_string_pretty(&theirs).unwrap().as_bytes()).await;

    let out: Run = run.wait_with_output().unwrap().into();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains(&format!("state s3://{bucket}/{KEY} changed since this run read it")), "{out:?}");
    assert_eq!(snapshot(&p, &bucket).await.unwrap()["serial"], 999, "their write stands");
    let refused = p.aws.proxy().log().into_iter().filter(|e| e.call == "s3:PutObject" && e.status == Some(412)).count();
    assert_eq!(refused, 1, "S3 refused the stale write (412)");
    assert!(lock_object(&p, &bucket).await.is_none(), "the lock is released on the error");
}

#[tokio::test(flavor = "multi_thread")]
async fn state_migrate_moves_a_local_state_to_s3_and_back() {
    let p = Project::new(SENDGRID).await;
    let bucket = bucket();
    p.aws.create_bucket(&bucket, true).await;
    p.apply();
    let local = p.state();

    let moved = p.ok(&["state", "migrate", "--to-s3", &format!("s3://{bucket}/{KEY}"), "-f", "sslprov.yaml"], 0);
    let line = format!("state: {{ s3: {{ bucket: {bucket}, key: {KEY} }} }}");
    assert!(moved.stdout.contains(&format!("Now change the spec's state to:\n\n  {line}")), "{moved:?}");
    assert_eq!(snapshot(&p, &bucket).await.as_ref(), Some(&local), "copied as is, serial included");
    let refused = p.ok(&["plan", "-f", "sslprov.yaml"], 1);
    assert!(refused.stderr.contains(&format!("was migrated to s3://{bucket}/{KEY}")), "{refused:?}");
    assert!(p.path("sslprov.state.json").exists(), "the old state is kept");

    std::fs::write(p.path("sslprov.yaml"), SENDGRID.replace("state: { path: sslprov.state.json }", &line)).unwrap();
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
    let pulled: serde_json::Value = serde_json::from_str(&p.ok(&["state", "pull"], 0).stdout).unwrap();
    assert_eq!(pulled, local);

    let back = p.ok(&["state", "migrate", "--to-local"], 0);
    assert!(back.stdout.contains("state: { path: sslprov.state.json }"), "{back:?}");
    let refused = p.ok(&["plan"], 1);
    assert!(refused.stderr.contains("was migrated to "), "{refused:?}");
    std::fs::write(p.path("sslprov.yaml"), SENDGRID).unwrap();
    p.ok(&["plan", "--detailed-exitcode"], 0);
    assert_eq!(p.state(), local);
    assert!(!p.path("sslprov.state.json.moved").exists(), "the local state is the state again");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_migrate_loses_nothing_and_finishes_when_run_again() {
    let p = Project::new(SENDGRID).await;
    let bucket = bucket();
    p.aws.create_bucket(&bucket, true).await;
    p.apply();
    let local = p.state();
    let url = format!("s3://{bucket}/{KEY}");
    let s3 = s3_spec(SENDGRID, &bucket);
    std::fs::write(p.path("s3.yaml"), &s3).unwrap();

    // Killed while the copy is on its way to S3.
    p.aws.proxy().add_rule(Rule::hang("s3", Some("PutObject"), Duration::from_secs(120)).path_suffix(KEY));
    let mut migrate = p.spawn(&["state", "migrate", "--to-s3", &url]);
    until_hanging(&p).await;
    kill(&mut migrate);
    p.aws.proxy().clear_rules();
    assert_eq!(snapshot(&p, &bucket).await, None);
    p.ok(&["plan", "--detailed-exitcode"], 0);
    assert_eq!(p.state(), local, "the local state is whole and still the state");

    // Running it again meets the killed run's lock on the target: forced out by its ID.
    let again = p.ok(&["state", "migrate", "--to-s3", &url], 1);
    assert!(again.stderr.contains("operation `migrate`"), "{again:?}");
    let id = lock_object(&p, &bucket).await.unwrap()["id"].as_str().unwrap().to_owned();
    p.ok(&["state", "force-unlock", &id, "-f", "s3.yaml"], 0);
    p.ok(&["state", "migrate", "--to-s3", &url], 0);
    assert_eq!(snapshot(&p, &bucket).await.as_ref(), Some(&local));

    // Back to local, killed after the copy, before S3 is marked as moved: both are whole, S3
    // is still the state, and running migrate again finishes the move.
    std::fs::write(p.path("sslprov.yaml"), &s3).unwrap();
    p.ok(&["plan", "--detailed-exitcode"], 0);
    p.aws.proxy().reset_counts();
    p.aws.proxy().add_rule(Rule::hang("s3", Some("PutObject"), Duration::from_secs(120)).path_suffix(".moved"));
    let mut migrate = p.spawn(&["state", "migrate", "--to-local"]);
    until_hanging(&p).await;
    kill(&mut migrate);
    p.aws.proxy().clear_rules();
    let pulled: serde_json::Value = serde_json::from_str(&p.ok(&["state", "pull"], 0).stdout).unwrap();
    assert_eq!(pulled, local, "S3 is whole, and still the state");
    assert_eq!(p.state(), local, "the local copy is whole");
    let again = p.ok(&["state", "migrate", "--to-local"], 1);
    let id = lock_object(&p, &bucket).await.unwrap()["id"].as_str().unwrap().to_owned();
    assert!(again.stderr.contains(&format!("force-unlock {id}")), "{again:?}");
    p.ok(&["state", "force-unlock", &id], 0);
    p.ok(&["plan", "--detailed-exitcode"], 0);
    p.ok(&["state", "migrate", "--to-local"], 0);
    std::fs::write(p.path("sslprov.yaml"), SENDGRID).unwrap();
    p.ok(&["plan", "--detailed-exitcode"], 0);
    assert_eq!(p.state(), local);
}

#[tokio::test(flavor = "multi_thread")]
async fn state_push_refuses_another_lineage_or_an_older_serial_unless_forced() {
    let (p, bucket) = remote(SENDGRID, true).await;
    p.apply();
    let pulled: serde_json::Value = serde_json::from_str(&p.ok(&["state", "pull"], 0).stdout).unwrap();
    let serial = pulled["serial"].as_u64().unwrap();
    let write = |name: &str, v: &serde_json::Value| std::fs::write(p.path(name), v.to_string()).unwrap();

    let mut other = pulled.clone();
    other["lineage"] = "another-state".into();
    write("other.json", &other);
    let refused = p.ok(&["state", "push", "other.json"], 1);
    assert!(refused.stderr.contains("it has lineage another-state, but the state has lineage"), "{refused:?}");

    let mut older = pulled.clone();
    older["serial"] = (serial - 1).into();
    write("older.json", &older);
    let refused = p.ok(&["state", "push", "older.json"], 1);
    assert!(refused.stderr.contains(&format!("is at serial {serial}: it is older")), "{refused:?}");
    assert_eq!(snapshot(&p, &bucket).await.as_ref(), Some(&pulled), "nothing written");

    write("same.json", &pulled);
    let pushed = p.ok(&["state", "push", "same.json"], 0);
    assert!(pushed.stdout.contains(&format!("serial {}", serial + 1)), "the serial only grows: {pushed:?}");
    p.ok(&["state", "push", "older.json", "--force"], 0);
    assert_eq!(snapshot(&p, &bucket).await.unwrap()["serial"], serial + 2);
    p.ok(&["plan", "--detailed-exitcode"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_warns_when_the_state_bucket_keeps_no_versions() {
    let (p, bucket) = remote(SENDGRID, false).await;
    let plan = p.ok(&["plan", "--json"], 0);
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let warnings = json["warnings"].to_string();
    assert!(warnings.contains(&format!("the state bucket `{bucket}` has versioning off")), "{warnings}");
    assert_eq!(json["state"]["path"], format!("s3://{bucket}/{KEY}"));
    let (p, _) = remote(SENDGRID, true).await;
    let plan = p.ok(&["plan", "--json"], 0);
    assert!(!plan.stdout.contains("versioning off"), "{plan:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_or_failed_run_releases_its_remote_lock() {
    let (p, bucket) = remote(SENDGRID, true).await;
    // Ctrl-C while planning (the refresh hangs): the lock goes, the process stops.
    p.aws.proxy().add_rule(Rule::hang("acm", Some("ListCertificates"), Duration::from_secs(120)));
    let planning = p.spawn(&["plan"]);
    p.until_seen("acm:ListCertificates").await;
    assert!(lock_object(&p, &bucket).await.is_some());
    let sent = std::process::Command::new("kill").args(["-INT", &planning.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let out: Run = planning.wait_with_output().unwrap().into();
    assert_eq!(out.code, 130, "{out:?}");
    assert!(lock_object(&p, &bucket).await.is_none(), "released before exiting");
    p.aws.proxy().clear_rules();

    // An apply that fails still releases it.
    p.aws.proxy().add_rule(Rule::error("cloudfront", Some("CreateDistribution"), 409, "CNAMEAlreadyExists"));
    let failed = p.ok(&["apply", "--auto-approve", "--poll-interval", "200ms"], 1);
    assert!(failed.stderr.contains("acme.distribution"), "{failed:?}");
    assert!(lock_object(&p, &bucket).await.is_none());
    assert!(p.aws.list_objects(&bucket, &format!("{KEY}.journal/")).await.is_empty(), "compacted on the error too");
}

#[tokio::test(flavor = "multi_thread")]
async fn state_s3_errors_point_at_the_field() {
    let p = Project::new(SENDGRID).await;
    let bad = SENDGRID.replace(
        "state: { path: sslprov.state.json }",
        "state:\n  path: x.json\n  s3: { bucket: Bad_Bucket, key: dir/ }",
    );
    std::fs::write(p.path("sslprov.yaml"), bad).unwrap();
    let out = p.ok(&["validate"], 1);
    assert!(out.stderr.contains("state.s3: a state is either local (`path`) or in S3 (`s3`), not both"), "{out:?}");
    assert!(out.stderr.contains("sslprov.yaml:5:9: state.s3.bucket: invalid S3 bucket name `Bad_Bucket`"), "{out:?}");
    assert!(out.stderr.contains("state.s3.key: invalid S3 key `dir/`"), "{out:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_bucket_is_an_error_not_an_empty_state() {
    let p = Project::new(&s3_spec(SENDGRID, "no-such-state-bucket")).await;
    let out = p.ok(&["plan"], 1);
    assert!(out.stderr.contains("state s3://no-such-state-bucket/prod/sslprov.json"), "{out:?}");
    assert!(out.stderr.contains("create the bucket first"), "{out:?}");
    let pulled = p.ok(&["state", "pull"], 1);
    assert!(pulled.stderr.contains("create the bucket first"), "{pulled:?}");
}
