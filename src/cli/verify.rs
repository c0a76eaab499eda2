use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use futures::StreamExt;

use super::RunArgs;
use crate::error::{Report, exit};
use crate::plan::Mode;
use crate::spec::Spec;
use crate::state::Store;
use crate::verify::{Options, Probe, Verification, state};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The spec file.
    #[arg(short = 'f', long = "file", default_value_os_t = super::default_spec())]
    file: PathBuf,
    /// Print the report as JSON (see the README).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    net: NetArgs,
    #[command(flatten)]
    run: RunArgs,
}

/// Where verify looks: by default the system's resolver and roots, and the standard ports.
#[derive(Debug, Args, Clone)]
pub struct NetArgs {
    /// Ask this DNS server (IP or IP:PORT) instead of the system's resolver.
    #[arg(long, value_name = "IP[:PORT]", value_parser = parse_nameserver)]
    nameserver: Option<SocketAddr>,
    /// Trust the certificate authorities in this PEM file instead of the system's.
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// Time limit of each DNS query, connection and request (100ms to 7d).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = super::args::duration(Duration::from_millis(100)))]
    timeout: Duration,
    /// Port of the CDN's HTTPS (tests point it at a local server).
    #[arg(long, default_value_t = 443, hide = true, value_parser = clap::value_parser!(u16).range(1..))]
    https_port: u16,
    /// Port of the CDN's plain HTTP.
    #[arg(long, default_value_t = 80, hide = true, value_parser = clap::value_parser!(u16).range(1..))]
    http_port: u16,
}

fn parse_nameserver(s: &str) -> Result<SocketAddr, String> {
    let addr = s
        .parse::<SocketAddr>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
        .map_err(|_| format!("`{s}` is not an IP address or IP:PORT"))?;
    if addr.port() == 0 {
        return Err("port 0 is not a port a DNS server listens on".into());
    }
    Ok(addr)
}

/// Domains checked at once: each makes a handful of connections, all short.
const PARALLEL: usize = 8;

pub async fn exec(a: VerifyArgs) -> Result<u8, Report> {
    let spec = super::load_spec(&a.file)?;
    let v = run(&spec, &a.net, &a.run).await?;
    if a.json {
        super::print_json(&v)?;
    } else {
        print!("{}", crate::verify::report::render(&v));
    }
    Ok(if v.ready { exit::OK } else { exit::NOT_READY })
}

/// Every check of the selected domains: the network checks and, alongside, a fresh plan for the
/// state check. A plan that cannot be made fails the state check only.
pub(super) async fn run(spec: &Spec, net: &NetArgs, run: &RunArgs) -> Result<Verification, Report> {
    if let Some(t) = run.targets.iter().find(|t| !spec.domains.contains_key(*t)) {
        return Err(Report::new(format!("--target {t}: no such domain in the spec")));
    }
    let domains: Vec<_> =
        spec.domains.values().filter(|d| run.targets.is_empty() || run.targets.contains(&d.key)).collect();
    let options = Options {
        nameserver: net.nameserver,
        ca_file: net.ca_file.clone(),
        https_port: net.https_port,
        http_port: net.http_port,
        timeout: net.timeout,
    };
    let probe = Probe::new(options).map_err(|e| Report::chain(&e))?;
    let state = Store::open(&spec.state).await?.read().await?.state;
    let checked_at = super::now();

    let plan = async {
        match super::make_plan(spec, run, Mode::Apply, false, "verify").await {
            Ok(p) => Ok(p.plan),
            Err(e) => Err(e.message),
        }
    };
    let network = futures::stream::iter(&domains)
        .map(|d| {
            let endpoint = state::endpoint(state.as_ref(), &d.key);
            let probe = &probe;
            async move { probe.domain(d, endpoint.as_deref()).await }
        })
        .buffered(PARALLEL)
        .collect::<Vec<_>>();
    let (plan, mut reports) = tokio::join!(plan, network);

    let state_path = spec.state_path.display().to_string();
    for r in &mut reports {
        r.push(state::judge(&r.key, &state_path, state.as_ref(), plan.as_ref().map_err(String::as_str)));
    }
    Ok(Verification::new(checked_at, reports))
}
