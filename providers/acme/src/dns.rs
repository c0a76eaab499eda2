//! Is the challenge record visible yet? Asked of the zone's own name servers (its NS records),
//! not a recursive resolver: a resolver that cached "no such record" before the DNS host
//! published it would answer so for the negative TTL (up to 15 minutes on Route 53), and a DNS
//! host publishes to its name servers within seconds to a minute. The CA asks those servers too,
//! once, and an answer it does not like fails the order for good, so sslprov asks first.
//! `SSLPROV_ACME_RESOLVER` names the servers to ask instead (tests, split-horizon DNS).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};

const TIMEOUT: Duration = Duration::from_secs(3);

fn resolver(servers: &[SocketAddr], recursion: bool) -> Option<TokioResolver> {
    let configs = servers
        .iter()
        .map(|addr| {
            let connections = [ConnectionConfig::udp(), ConnectionConfig::tcp()].map(|mut c| {
                c.port = addr.port();
                c
            });
            NameServerConfig::new(addr.ip(), true, connections.to_vec())
        })
        .collect();
    let mut builder =
        TokioResolver::builder_with_config(ResolverConfig::from_name_servers(configs), TokioRuntimeProvider::default());
    let opts = builder.options_mut();
    opts.timeout = TIMEOUT;
    opts.attempts = 1;
    opts.cache_size = 0;
    opts.recursion_desired = recursion;
    builder.build().ok()
}

/// The TXT strings at `name`, as `server` answers; `None` when it does not answer.
async fn txt_at(server: SocketAddr, name: &str, recursion: bool) -> Option<Vec<String>> {
    let r = resolver(&[server], recursion)?;
    match r.lookup(format!("{name}.").as_str(), RecordType::TXT).await {
        Ok(lookup) => Some(
            lookup
                .answers()
                .iter()
                .filter_map(|rec| match &rec.data {
                    RData::TXT(t) => Some(t.txt_data.iter().map(|d| String::from_utf8_lossy(d)).collect::<String>()),
                    _ => None,
                })
                .collect(),
        ),
        Err(e) if e.is_nx_domain() || e.is_no_records_found() => Some(Vec::new()),
        Err(_) => None,
    }
}

/// The addresses of the name servers of the zone `name` is in: its closest ancestor with NS
/// records, as the system's resolver finds them.
async fn authoritative(name: &str) -> Vec<SocketAddr> {
    let Ok(system) = TokioResolver::builder_tokio().and_then(|mut b| {
        b.options_mut().timeout = TIMEOUT;
        b.build()
    }) else {
        return Vec::new();
    };
    let mut candidate = name;
    loop {
        if let Ok(ns) = system.lookup(format!("{candidate}.").as_str(), RecordType::NS).await {
            let hosts: Vec<String> = ns
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::NS(n) => Some(n.0.to_ascii()),
                    _ => None,
                })
                .collect();
            if !hosts.is_empty() {
                let mut out = Vec::new();
                for h in hosts {
                    if let Ok(ips) = system.lookup_ip(h.as_str()).await {
                        out.extend(ips.iter().map(|ip: IpAddr| SocketAddr::new(ip, 53)));
                    }
                }
                return out;
            }
        }
        match candidate.split_once('.') {
            Some((_, parent)) if parent.contains('.') => candidate = parent,
            _ => return Vec::new(),
        }
    }
}

/// Whether every server asked answers `value` among the TXT strings at `name`: the servers
/// given, or else the zone's own. `Err` says what was seen, for the wait's progress line.
pub(crate) async fn visible(servers: Option<&[SocketAddr]>, name: &str, value: &str) -> Result<(), String> {
    let (servers, recursion) = match servers {
        Some(s) => (s.to_vec(), true),
        None => (authoritative(name).await, false),
    };
    if servers.is_empty() {
        return Err(format!("no name servers found for {name}"));
    }
    for server in servers {
        match txt_at(server, name, recursion).await {
            Some(values) if values.iter().any(|v| v == value) => {}
            Some(_) => return Err(format!("{server} does not serve it yet")),
            None => return Err(format!("{server} does not answer")),
        }
    }
    Ok(())
}
