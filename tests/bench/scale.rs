//! `cargo bench --profile dev --bench scale -- <scenario> [domains] [zones] [latency ms]`: the
//! real binary against moto, with a latency proxy in front of it, printing wall time, API calls
//! per operation, and the floor the providers' request budgets set for those calls.
//!
//! Scenarios (the figures the speed issue asks for):
//! - `plan 1000 50 50`: a no-change plan of 1,000 domains over 50 zones, 50 ms per call. Only
//!   list pages: the floor is Route 53's 5 requests a second for its zone sweeps.
//! - `waits 100 10`: an apply of 100 domains with realistic waits (ACM issues 20 s after a
//!   request, CloudFront deploys 30 s after a change), divided by one domain's apply under the
//!   same waits.
//! - `apply 1000 50`: an apply of 1,000 domains with no waits: Route 53 changes go out in batches
//!   per zone.
//! - `init 200 50`: `sslprov init` over 200 zones, each holding one HTTP-era tracking CNAME (the
//!   ESPs in turn) and two other records, 50 ms per call; then a plan of the spec it wrote.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use sslprov_testsupport::{AwsEnv, MotoOptions, MotoServer, Rule};

struct Bench {
    aws: AwsEnv,
    rt: tokio::runtime::Runtime,
    _moto: Option<MotoServer>,
}

impl Bench {
    fn new(moto: Option<MotoServer>) -> Bench {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
        let aws = match &moto {
            Some(m) => rt.block_on(AwsEnv::with_moto(m)),
            None => rt.block_on(AwsEnv::new()),
        };
        Bench { aws, rt, _moto: moto }
    }

    /// A project of `n` domains over `zones` zones (the ESPs in turn), its zones created.
    fn project(&self, dir: &Path, prefix: &str, n: usize, zones: usize) {
        let mut spec = format!("version: 1\nbraze_cluster: US-05\nstate: {{ path: {prefix}.state.json }}\ndomains:\n");
        let esps = ["sendgrid", "sparkpost", "ses"];
        for i in 0..n {
            let zone = format!("{prefix}{}.example", i % zones);
            spec.push_str(&format!(
                "  d{i}:\n    tracking_domain: url{i}.{zone}\n    esp: {}\n    zone: {zone}\n",
                esps[i % 3]
            ));
        }
        std::fs::write(dir.join(format!("{prefix}.yaml")), spec).expect("write spec");
        for z in 0..zones.min(n) {
            self.rt.block_on(self.aws.create_zone(&format!("{prefix}{z}.example")));
        }
    }

    /// Runs `sslprov ARGS` in `dir`; prints and returns its wall time and calls.
    fn run(&self, dir: &Path, label: &str, args: &[&str]) -> (Duration, BTreeMap<String, u64>) {
        self.aws.proxy().reset_counts();
        let start = Instant::now();
        let mut c = Command::new(env!("CARGO_BIN_EXE_sslprov"));
        self.aws.apply_to(&mut c);
        let out = c.args(args).current_dir(dir).output().expect("run sslprov");
        let took = start.elapsed();
        let code = out.status.code().unwrap_or(-1);
        assert!(code == 0 || code == 2, "{label} failed: {}", String::from_utf8_lossy(&out.stderr));
        let counts = self.aws.proxy().counts();
        let total: u64 = counts.values().sum();
        println!("\n{label}: {:.2} s wall, {total} API calls", took.as_secs_f64());
        for (op, count) in &counts {
            println!("  {count:>6}  {op}");
        }
        println!("  floor set by the request budgets: {:.1} s", floor(&counts));
        (took, counts)
    }
}

/// The least time the calls can take under the budgets the providers declare: each budget
/// (a provider's default, or an operation's own) lets its burst through at once and the rest at
/// its rate; budgets run side by side.
fn floor(counts: &BTreeMap<String, u64>) -> f64 {
    let mut buckets: BTreeMap<(String, String), (u64, sslprov_provider::Rate)> = BTreeMap::new();
    for (call, n) in counts {
        let Some((provider, op)) = call.split_once(':') else { continue };
        let Some(r) = sslprov::registry::get(provider) else { continue };
        let (bucket, rate) = match r.info.op_budgets.iter().find(|(o, _)| *o == op) {
            Some((o, rate)) => ((*o).to_owned(), *rate),
            None => (String::new(), r.info.budget),
        };
        buckets.entry((provider.to_owned(), bucket)).or_insert((0, rate)).0 += n;
    }
    buckets.values().map(|(n, rate)| spread_under(*n, *rate)).fold(0.0, f64::max)
}

/// How long after the first of `n` calls a budget of `rate` lets the last one out.
fn spread_under(n: u64, rate: sslprov_provider::Rate) -> f64 {
    n.saturating_sub(rate.burst.into()) as f64 * f64::from(rate.per_seconds) / f64::from(rate.requests)
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize, default: T) -> T {
    args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let scenario = args.first().map_or("plan", String::as_str);
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    match scenario {
        "plan" => {
            let (n, zones, latency) = (arg(&args, 1, 1000), arg(&args, 2, 50), arg(&args, 3, 50u64));
            let b = Bench::new(None);
            b.project(d, "p", n, zones);
            // A round a second: moto builds every page of a list of 1,000 objects in Python, and
            // rounds every 100 ms kept it listing instead of answering the creates.
            b.run(
                d,
                &format!("apply ({n} domains, {zones} zones, no latency)"),
                &["apply", "-f", "p.yaml", "--auto-approve", "--poll-interval", "1s"],
            );
            b.aws.proxy().add_rule(Rule::delay("*", None, Duration::from_millis(latency)));
            let (took, counts) = b.run(
                d,
                &format!("plan, no changes ({n} domains, {zones} zones, {latency} ms a call)"),
                &["plan", "-f", "p.yaml", "--detailed-exitcode"],
            );
            let total: u64 = counts.values().sum();
            println!("\nno-change plan: {total} calls (target ≤ 70), {:.1} s (target ≤ 12 s)", took.as_secs_f64());
        }
        "waits" => {
            let (n, zones) = (arg(&args, 1, 100), arg(&args, 2, 10));
            let moto =
                MotoServer::start_dedicated(MotoOptions { acm_validation_wait_secs: 20, ..MotoOptions::default() });
            b_waits(moto, d, n, zones);
        }
        "apply" => {
            let (n, zones) = (arg(&args, 1, 1000), arg(&args, 2, 50));
            let b = Bench::new(None);
            b.project(d, "a", n, zones);
            let (_, counts) = b.run(
                d,
                &format!("apply ({n} domains, {zones} zones, no waits)"),
                &["apply", "-f", "a.yaml", "--auto-approve", "--poll-interval", "1s"],
            );
            let changes = counts.get("route53:ChangeResourceRecordSets").copied().unwrap_or(0);
            println!(
                "\nRoute 53 changes: {changes} requests for {} records ({:.1} records a request)",
                2 * n,
                (2 * n) as f64 / changes.max(1) as f64
            );
        }
        "init" => {
            let (zones, latency) = (arg(&args, 1, 200), arg(&args, 2, 50u64));
            let b = Bench::new(None);
            let targets = ["sendgrid.net", "spgo.io", "r.us-east-1.awstrack.me"];
            for z in 0..zones {
                let zone = format!("i{z}.example");
                let id = b.rt.block_on(b.aws.create_zone(&zone));
                b.rt.block_on(b.aws.put_record(&id, &format!("url{z}.{zone}"), "CNAME", targets[z % 3], 300));
                b.rt.block_on(b.aws.put_record(&id, &format!("www.{zone}"), "CNAME", "example.org", 300));
                b.rt.block_on(b.aws.put_record(&id, &zone, "TXT", "\"v=spf1 ~all\"", 300));
            }
            b.aws.proxy().add_rule(Rule::delay("*", None, Duration::from_millis(latency)));
            let (took, counts) = b.run(
                d,
                &format!("init ({zones} zones, 3 records each, {latency} ms a call)"),
                &["init", "--dns", "route53", "-o", "i.yaml"],
            );
            let total: u64 = counts.values().sum();
            println!("\ninit: {total} calls for {zones} zones, {:.1} s", took.as_secs_f64());
            b.run(d, "plan of the spec init wrote", &["plan", "-f", "i.yaml", "--detailed-exitcode"]);
        }
        other => panic!("unknown scenario {other}: plan, waits, apply or init"),
    }
}

fn b_waits(moto: MotoServer, d: &Path, n: usize, zones: usize) {
    let b = Bench::new(Some(moto.clone()));
    b.rt.block_on(moto.set_distribution_transition_time(30));
    b.project(d, "one", 1, 1);
    b.project(d, "many", n, zones);
    let (one, _) = b.run(
        d,
        "apply (1 domain, ACM 20 s, CloudFront 30 s)",
        &["apply", "-f", "one.yaml", "--auto-approve", "--poll-interval", "2s"],
    );
    let (many, _) = b.run(
        d,
        &format!("apply ({n} domains over {zones} zones, the same waits)"),
        &["apply", "-f", "many.yaml", "--auto-approve", "--poll-interval", "2s"],
    );
    println!("\n{n} domains / 1 domain: {:.2}× (target ≤ 1.3×)", many.as_secs_f64() / one.as_secs_f64());
    // Every domain's path is one domain's path, started when its certificate is requested: the
    // last can start no sooner than ACM's RequestCertificate budget lets the n-th request out.
    let spread = spread("acm", "RequestCertificate", n as u64);
    let floor = one.as_secs_f64() + spread;
    println!(
        "floor: one domain's apply + {spread:.1} s for {n} certificate requests under ACM's budget = {floor:.1} s ({:.2}×)",
        floor / one.as_secs_f64()
    );
}

/// How long after the first of `n` calls of `op` its budget lets the last one out.
fn spread(provider: &str, op: &str, n: u64) -> f64 {
    let info = sslprov::registry::get(provider).expect("provider in the registry").info;
    spread_under(n, info.op_budgets.iter().find(|(o, _)| *o == op).map_or(info.budget, |(_, rate)| *rate))
}
