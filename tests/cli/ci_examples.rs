//! The CI examples (examples/ci/): valid YAML with the shape each CI system needs, commands this
//! sslprov accepts, and a spec with S3 state that validates.

use std::path::PathBuf;

use serde_yaml::Value;

use crate::support::{Project, examples_dir};

fn ci(name: &str) -> (String, Value) {
    let path: PathBuf = examples_dir().join("ci").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let yaml = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()));
    (text, yaml)
}

/// Every `sslprov SUBCOMMAND --flag` in `text` names a flag that subcommand has.
fn commands_are_accepted(p: &Project, text: &str) {
    let mut seen = 0;
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let Some((_, rest)) = line.split_once("sslprov ") else { continue };
        let words: Vec<&str> = rest.split_whitespace().collect();
        let Some(sub) = words.first().filter(|w| ["plan", "apply", "show", "state", "validate"].contains(w)) else {
            continue;
        };
        seen += 1;
        let help = p.ok(&[sub, "--help"], 0).stdout;
        for flag in words.iter().filter(|w| w.starts_with("--")) {
            let flag = flag.split('=').next().unwrap();
            assert!(help.contains(flag), "`sslprov {sub}` has no {flag}: {line}");
        }
    }
    assert!(seen >= 2, "plan and apply at least");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_github_workflow_plans_pull_requests_and_applies_the_saved_plan_on_merge() {
    let (text, yaml) = ci("github-actions.yml");
    let on = &yaml["on"];
    assert!(on.get("pull_request").is_some() && on["push"]["branches"][0] == "main", "{on:?}");
    assert_eq!(yaml["permissions"]["id-token"], "write", "OIDC");
    assert_eq!(yaml["permissions"]["pull-requests"], "write", "the plan comment");
    let steps = |job: &str| -> String { serde_yaml::to_string(&yaml["jobs"][job]["steps"]).unwrap() };
    let plan = steps("plan");
    assert!(
        plan.contains("sslprov plan -f sslprov.yaml --out plan.bin") && plan.contains("--format markdown"),
        "{plan}"
    );
    assert!(plan.contains("gh pr comment") && plan.contains("upload-artifact"), "{plan}");
    assert!(plan.contains("role-to-assume") && plan.contains("configure-aws-credentials"), "{plan}");
    let apply = steps("apply");
    assert!(apply.contains("gh run download") && apply.contains("sslprov apply plan.bin"), "{apply}");
    assert!(apply.contains("role-to-assume"), "{apply}");
    let p = Project::new(crate::support::SENDGRID).await;
    commands_are_accepted(&p, &text);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gitlab_pipeline_plans_merge_requests_and_applies_the_saved_plan_on_merge() {
    let (text, yaml) = ci("gitlab-ci.yml");
    assert_eq!(yaml["stages"], serde_yaml::from_str::<Value>("[plan, apply]").unwrap());
    let base = &yaml[".sslprov"];
    assert_eq!(base["id_tokens"]["AWS_ID_TOKEN"]["aud"], "sts.amazonaws.com", "OIDC");
    assert!(base["resource_group"].is_string());
    for job in ["plan", "apply", "apply-now"] {
        assert_eq!(yaml[job]["extends"], ".sslprov", "{job}");
        assert!(yaml[job]["variables"]["AWS_ROLE_ARN"].as_str().unwrap().starts_with("arn:aws:iam::"), "{job}");
    }
    let script = |job: &str| serde_yaml::to_string(&yaml[job]["script"]).unwrap();
    assert!(script("plan").contains("--format markdown") && script("plan").contains("/notes"), "{}", script("plan"));
    assert_eq!(yaml["plan"]["rules"][0]["if"], "$CI_PIPELINE_SOURCE == \"merge_request_event\"");
    assert!(script("apply").contains("sslprov apply plan.bin"), "{}", script("apply"));
    let p = Project::new(crate::support::SENDGRID).await;
    commands_are_accepted(&p, &text);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ci_spec_keeps_its_state_in_s3_and_validates() {
    let text = std::fs::read_to_string(examples_dir().join("ci/sslprov.yaml")).unwrap();
    let p = Project::new(&text).await;
    p.ok(&["validate"], 0);
    let spec = sslprov::spec::Spec::load(&p.path("sslprov.yaml")).unwrap();
    assert_eq!(spec.state_path, PathBuf::from("s3://acme-sslprov-state/braze/sslprov.state.json"));
}
