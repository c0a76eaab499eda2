//! `cargo bench --bench scale`: apply, then re-plan, N domains (SSLPROV_BENCH_DOMAINS, default
//! 100) spread over 10 zones, with the real binary against moto, and print wall time and API
//! calls per operation. The figures to watch: refresh calls grow with zones and pages, not with
//! domains (except where moto hides what a list would tell; see the notes printed at the end).

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Instant;

use sslprov_testsupport::AwsEnv;

fn main() {
    let n: usize = std::env::var("SSLPROV_BENCH_DOMAINS").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let aws = rt.block_on(AwsEnv::new());
    let dir = tempfile::tempdir().expect("temp dir");
    let mut spec = String::from("version: 1\nbraze_cluster: US-05\nstate: { path: sslprov.state.json }\ndomains:\n");
    let esps = ["sendgrid", "sparkpost", "ses"];
    for i in 0..n {
        let zone = format!("brand{}.example", i % 10);
        spec.push_str(&format!(
            "  d{i}:\n    tracking_domain: url{i}.{zone}\n    esp: {}\n    zone: {zone}\n",
            esps[i % 3]
        ));
    }
    std::fs::write(dir.path().join("sslprov.yaml"), spec).expect("write spec");
    for z in 0..10.min(n) {
        rt.block_on(aws.create_zone(&format!("brand{z}.example")));
    }
    let run = |label: &str, args: &[&str]| {
        aws.proxy().reset_counts();
        let start = Instant::now();
        let mut c = Command::new(env!("CARGO_BIN_EXE_sslprov"));
        aws.apply_to(&mut c);
        let out = c.args(args).current_dir(dir.path()).output().expect("run sslprov");
        let took = start.elapsed();
        let code = out.status.code().unwrap_or(-1);
        assert!(code == 0 || code == 2, "{label} failed: {}", String::from_utf8_lossy(&out.stderr));
        let counts: BTreeMap<String, u64> = aws.proxy().counts();
        let total: u64 = counts.values().sum();
        println!("\n{label}: {n} domains, {:.2} s wall, {total} API calls", took.as_secs_f64());
        for (op, count) in &counts {
            println!("  {count:>6}  {op}");
        }
    };
    run("plan (empty account)", &["plan", "-f", "sslprov.yaml", "--detailed-exitcode"]);
    run("apply", &["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "200ms", "--parallelism", "20"]);
    run("plan (after apply, no changes)", &["plan", "-f", "sslprov.yaml", "--detailed-exitcode"]);
    println!(
        "\nNote: moto's ListCertificates omits certificates' names, so refresh describes every certificate \
         here; on AWS a settled certificate sslprov knows costs no describe."
    );
}
