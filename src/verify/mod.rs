//! `sslprov verify`: the runbook's checks, automated (DNS through the CDN, TLS, the ESP's paths
//! over HTTPS and HTTP, Host-header safety, state agreement). The network checks are here; the
//! state check needs a fresh plan, which the CLI makes and hands to [`state::judge`].
//!
//! Resolver, trust roots and ports are options, so the same code runs against test servers.

pub mod cdn;
pub mod certificate;
pub mod dns;
pub mod handoff;
pub mod host_header;
pub mod http;
pub mod report;
pub mod state;
pub mod tls;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use hickory_resolver::TokioResolver;

pub use report::{Check, CheckKind, DomainReport, Status, Verification};

use crate::spec::Domain;
use crate::template::templates;

#[derive(Clone, Debug)]
pub struct Options {
    /// The DNS server to ask; `None`: the system's resolver.
    pub nameserver: Option<SocketAddr>,
    /// The roots to trust; `None`: the system's.
    pub ca_file: Option<PathBuf>,
    pub https_port: u16,
    pub http_port: u16,
    /// Per lookup, connection and request.
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options { nameserver: None, ca_file: None, https_port: 443, http_port: 80, timeout: Duration::from_secs(10) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Trust(#[from] tls::TrustError),
    #[error("cannot set up the DNS resolver: {0}")]
    Resolver(#[from] hickory_resolver::net::NetError),
}

/// What the network checks run with: one resolver and one TLS set-up for every domain.
pub struct Probe {
    resolver: TokioResolver,
    tls: tls::Tls,
    options: Options,
}

impl Probe {
    pub fn new(options: Options) -> Result<Probe, SetupError> {
        Ok(Probe {
            resolver: dns::resolver(options.nameserver, options.timeout)?,
            tls: tls::Tls::new(options.ca_file.as_deref())?,
            options,
        })
    }

    /// The DNS, TLS, certificate, HTTPS, HTTP and Host-header checks of one domain, in that
    /// order; a check that needs one that failed is skipped. `endpoint` is the CDN endpoint the
    /// state recorded.
    pub async fn domain(&self, d: &Domain, endpoint: Option<&str>) -> DomainReport {
        let mut report = DomainReport::new(d, endpoint.map(str::to_owned));
        let host = d.tracking_domain.as_str();
        let timeout = self.options.timeout;

        let answer = dns::ask(&self.resolver, host).await;
        let endpoint_addresses = match (&answer, endpoint) {
            // An endpoint that is an address (a load balancer's) is its own answer.
            (dns::Answer::Addresses(_), Some(e)) if e.parse::<std::net::IpAddr>().is_ok() => {
                e.parse().into_iter().collect()
            }
            (dns::Answer::Addresses(_), Some(e)) => dns::addresses(&self.resolver, e).await.unwrap_or_default(),
            _ => Vec::new(),
        };
        let dns_check = dns::judge(d, endpoint, &answer, &endpoint_addresses);
        let dns_failed = dns_check.status == Status::Fail;
        report.push(dns_check);
        // Connect where the name leads, whatever the DNS check thought of it: a CNAME still at the
        // ESP then shows the ESP's certificate, which is evidence too.
        let address = match &answer {
            dns::Answer::Addresses(a) => pick(a),
            dns::Answer::Cname(_) => dns::addresses(&self.resolver, host).await.ok().and_then(|a| pick(&a)),
            _ => None,
        };
        let Some(ip) = address else {
            let why = format!("{host} resolves to no address");
            if dns_failed {
                report.push(Check::skip(CheckKind::Tls, why.clone()));
            } else {
                report.push(Check::fail(
                    CheckKind::Tls,
                    why.clone(),
                    "the CNAME chain ends without an address: check that the CDN endpoint resolves",
                ));
            }
            for kind in [CheckKind::Certificate, CheckKind::Https, CheckKind::Http, CheckKind::HostHeader] {
                report.push(Check::skip(kind, why.clone()));
            }
            return report;
        };

        let now = unix_now();
        let https = SocketAddr::new(ip, self.options.https_port);
        let t = templates();
        let (Some(esp), Some(cdn)) = (t.esp.get(&d.esp), t.cdn.get(&d.cdn)) else { return report };
        let cdn = &cdn.verify;
        let handshake = tls::check(&self.tls, https, host, timeout, now, &cdn.certificate).await;
        report.certificate = handshake.leaf.as_ref().map(|l| l.info(now));
        let usable = handshake.usable();
        report.push(handshake.tls);
        report.push(handshake.certificate);

        let paths = &esp.verify.paths;
        let http = SocketAddr::new(ip, self.options.http_port);
        let mut secure = Vec::new();
        if usable {
            for p in paths {
                secure.push((p.clone(), self.get_https(https, host, p, &[]).await));
            }
            report.push(http::check(CheckKind::Https, esp, cdn, host, &secure));
        } else {
            report.push(Check::skip(CheckKind::Https, "not tried: a mail client would refuse this TLS server"));
        }
        let mut plain = Vec::new();
        for p in paths {
            plain.push((p.clone(), self.get_http(http, host, p).await));
        }
        report.push(http::check(CheckKind::Http, esp, cdn, host, &plain));

        match secure.first() {
            Some((path, Ok(baseline))) => {
                let forged = host_header::forged_value();
                let probe = self.get_https(https, host, path, &[("x-forwarded-host", forged.as_str())]).await;
                report.push(match probe {
                    Ok(probe) => host_header::judge(cdn, host, &forged, baseline, &probe),
                    Err(e) => Check::fail(
                        CheckKind::HostHeader,
                        format!("no answer to a request with a forged X-Forwarded-Host: {e}"),
                        "check the CDN answers such requests like any other",
                    ),
                });
            }
            _ => report.push(Check::skip(CheckKind::HostHeader, "not tried: needs an HTTPS answer to compare with")),
        }
        report
    }

    async fn get_https(
        &self,
        addr: SocketAddr,
        host: &str,
        path: &str,
        extra: &[(&str, &str)],
    ) -> Result<http::Fetched, String> {
        let stream = self.tls.connect(addr, host, self.options.timeout).await?;
        http::get(stream, host, path, extra, self.options.timeout).await
    }

    async fn get_http(&self, addr: SocketAddr, host: &str, path: &str) -> Result<http::Fetched, String> {
        let stream = tokio::time::timeout(self.options.timeout, tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| format!("cannot connect to {addr}: timed out"))?
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        http::get(stream, host, path, &[], self.options.timeout).await
    }
}

/// IPv4 first: an IPv6 route is the likelier to be missing on the machine running verify.
fn pick(addresses: &[IpAddr]) -> Option<IpAddr> {
    addresses.iter().find(|a| a.is_ipv4()).or(addresses.first()).copied()
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
