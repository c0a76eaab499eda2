//! Every spec in examples/ validates and plans against the emulator.

use crate::support::{examples_dir, Project};

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
        let domains = text.matches("tracking_domain:").count();
        assert!(plan.stdout.contains(&format!("Plan: {} to add, 0 to change", 4 * domains)), "{}: {plan:?}", path.display());
    }
    assert!(seen >= 3, "one example per ESP at least");
}
