//! Reading every zone a DNS host's credentials can see: one zone-list sweep per host, then one
//! record sweep per zone, through the providers' `zones` and `list`. Nothing is written.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::StreamExt;
use sslprov_provider::{Calls, Connect, ErrorKind, Provider, ProviderError, RecordSpec, RecordType, Scope};

use super::Cname;

/// Zones swept at once per host. The providers' budgets set the pace; a few in flight hide the
/// latency of each page.
const ZONES_AT_ONCE: usize = 4;

/// What a scan read.
#[derive(Debug, Default)]
pub struct Scan {
    /// Every CNAME of the zones read, by host, zone and name.
    pub cnames: Vec<Cname>,
    /// The zones read, by DNS host.
    pub zones: BTreeMap<String, Vec<String>>,
    /// Zones listed but not read, with why (`host`, `zone`, message).
    pub unread: Vec<(String, String, String)>,
    /// Hosts not scanned, with why.
    pub skipped: Vec<Skipped>,
    /// API calls made, per `provider:Operation`.
    pub calls: BTreeMap<String, u64>,
}

#[derive(Debug)]
pub struct Skipped {
    pub dns: String,
    pub why: String,
}

/// Scans `hosts` (DNS provider names), limited to `only` zones when it is not empty. A host
/// named by the user (`explicit`) must be readable; otherwise a host without credentials is
/// skipped and said so, and any other failure (refused, unreachable) stops the scan. A zone asked
/// for that no host has is an error, as is a scan that could read no host at all.
pub async fn scan(hosts: &[String], explicit: bool, only: &BTreeSet<String>) -> Result<Scan, ProviderError> {
    let calls = Calls::default();
    let mut out = Scan::default();
    let mut unsupported = Vec::new();
    for dns in hosts {
        let Some(registration) = crate::registry::get(dns) else {
            return Err(error(format!("no DNS host `{dns}` in this build (it has {})", dns_hosts())));
        };
        let listed = async {
            let provider = (registration.connect)(Connect::new(calls.clone())).await?;
            let zones = provider.zones().await?;
            Ok::<_, ProviderError>((provider, zones))
        };
        let (provider, zones) = match listed.await {
            Ok(found) => found,
            Err(e) if e.is(ErrorKind::Unsupported) => {
                unsupported.push(dns.clone());
                continue;
            }
            Err(e) if !explicit && e.is(ErrorKind::Unauthenticated) => {
                out.skipped.push(Skipped { dns: dns.clone(), why: e.to_string() });
                continue;
            }
            Err(e) => return Err(e),
        };
        let zones: Vec<String> = zones.into_iter().filter(|z| only.is_empty() || only.contains(z)).collect();
        sweep(&provider, dns, &zones, &mut out).await;
        out.zones.insert(dns.clone(), zones);
    }
    if explicit && let Some(dns) = unsupported.first() {
        return Err(error(format!("`{dns}` holds no zones sslprov can list (DNS hosts that do: {})", dns_hosts())));
    }
    if out.zones.is_empty() {
        let why: Vec<String> = out.skipped.iter().map(|s| format!("{}: {}", super::title(&s.dns), s.why)).collect();
        return Err(error(format!("no DNS host could be read (credentials missing or refused): {}", why.join("; "))));
    }
    let seen: BTreeSet<&String> = out.zones.values().flatten().collect();
    let missing: Vec<&str> = only.iter().filter(|z| !seen.contains(z)).map(String::as_str).collect();
    if !missing.is_empty() {
        let hosts: Vec<&str> = out.zones.keys().map(|h| super::title(h)).collect();
        return Err(error(format!(
            "zone {} not found at {} with these credentials",
            crate::spec::list_names(&missing),
            hosts.join(" or ")
        )));
    }
    out.cnames.sort_by(|a, b| (&a.dns, &a.zone, &a.name).cmp(&(&b.dns, &b.zone, &b.name)));
    out.calls = calls.snapshot();
    Ok(out)
}

/// One record sweep per zone, a few at a time; a zone that cannot be read is noted, not fatal.
async fn sweep(provider: &Arc<dyn Provider>, dns: &str, zones: &[String], out: &mut Scan) {
    let mut sweeps = futures::stream::iter(zones)
        .map(|zone| async move { (zone, provider.list(&Scope::zone(zone)).await) })
        .buffer_unordered(ZONES_AT_ONCE);
    while let Some((zone, listed)) = sweeps.next().await {
        match listed {
            Ok(lives) => out.cnames.extend(lives.iter().filter_map(|l| {
                let spec: RecordSpec = l.desired.parse("sslprov", "list").ok()?;
                let [target] = spec.values.as_slice() else { return None };
                (spec.rtype == RecordType::Cname).then(|| Cname {
                    dns: dns.to_owned(),
                    zone: zone.clone(),
                    name: spec.name.trim_end_matches('.').to_ascii_lowercase(),
                    target: target.trim_end_matches('.').to_ascii_lowercase(),
                    proxied: spec.proxied == Some(true),
                })
            })),
            Err(e) => out.unread.push((dns.to_owned(), zone.clone(), e.message)),
        }
    }
}

fn error(message: String) -> ProviderError {
    ProviderError::new(ErrorKind::InvalidRequest, "sslprov", "init", message)
}

fn dns_hosts() -> String {
    crate::registry::dns_hosts().join(", ")
}
