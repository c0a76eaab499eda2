//! sslprov's ACME provider: certificates for tracking domains from Let's Encrypt, or any RFC 8555
//! CA, validated by DNS-01 through the domain's own DNS host, so that a certificate exists before
//! anything points at the CDN that will serve it. One kind, `certificate`.
//!
//! # How a certificate is made
//!
//! The template makes it in three steps of the engine's graph, so that this provider never
//! writes DNS itself (the domain's DNS provider does):
//!
//! 1. `create` orders the certificate (a new order for the one name), generates the certificate's
//!    private key and seals it at once (module [`sealed`]), and reports the DNS-01 challenge as the
//!    output `challenge` (`_acme-challenge.<domain>`, TXT, the key authorization's digest);
//! 2. the template writes that TXT record at the domain's DNS host;
//! 3. what needs the certificate waits for it to be ready, and each round of that wait moves the
//!    order on: once the record is visible at the zone's nameservers, the CA is asked to validate
//!    it; once the order is ready, it is finalized with a CSR signed by the sealed key; once it is
//!    valid, the chain is fetched. The outputs then hold the chain (`certificate`, PEM), its
//!    `not_after`, its `sha256` and the sealed `key`.
//!
//! `list` asks nothing of the CA for an issued certificate: what it needs (its expiry) is among the
//! outputs the state recorded. One within `SSLPROV_ACME_RENEW_DAYS` (30) of its expiry reports
//! [`Readiness::Expiring`], which the engine replaces (a new order first); one whose key the
//! configured secret cannot open is failed, so a new one is ordered.
//!
//! # Crash safety
//!
//! ACME has no idempotency keys and no list of orders (Let's Encrypt does not serve an account's
//! order list). The order's URL is the object's id, recorded by the engine as soon as `create`
//! returns. A create whose answer was lost is retried by the next run as a new order: Let's
//! Encrypt answers a new order for the same names with the pending one it already has; elsewhere
//! the lost one is an unused pending order that expires within days. Only the recorded order is
//! ever finalized, so no second certificate is issued. Within one process a create repeated with
//! the same token returns the same order.
//!
//! # Why instant-acme without its HTTP client
//!
//! instant-acme (maintained, rustls and aws-lc-rs, no OpenSSL) does the protocol: JWS signing,
//! nonces (including the `badNonce` retry), orders, authorizations. Its default HTTP client
//! would add hyper-rustls with the platform verifier; requests go through this crate's
//! [`transport`] instead (the reqwest and rustls the other providers use), which counts them,
//! holds them to the budget, retries what may be retried and trusts `SSLPROV_ACME_CA_FILE` for a
//! private CA. With `default-features = false` the crate adds only itself to the build.

mod cert;
mod dns;
mod error;
mod provider;
pub mod sealed;
mod transport;

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use sslprov_provider::{ErrorKind, ProviderError, Result};

pub use provider::{Acme, CertificateSpec, INFO, KIND, REGISTRATION};
pub use sealed::Sealer;
pub use transport::Retry;

const NAME: &str = "acme";

/// Let's Encrypt's production directory: the default.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";
/// Let's Encrypt's staging directory: untrusted certificates, generous rate limits.
pub const LETS_ENCRYPT_STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";

/// Where certificates come from and when they are renewed.
#[derive(Clone)]
pub struct AcmeConfig {
    /// The ACME directory URL.
    pub directory: String,
    /// Extra root certificates (PEM) to trust for the ACME server: a private CA, or a test one.
    pub ca_pem: Option<Vec<u8>>,
    /// A certificate with less than this left is renewed.
    pub renew_before: Duration,
    /// Name servers to check the challenge record at; `None`: the zone's own (its NS records).
    pub resolvers: Option<Vec<SocketAddr>>,
    /// How long to wait for the challenge record to show at the name servers before asking the CA
    /// to validate it anyway.
    pub dns_wait: Duration,
    /// What "now" is, for renewal: the system clock, or (debug builds only) `SSLPROV_NOW`.
    pub now: Option<SystemTime>,
}

impl fmt::Debug for AcmeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcmeConfig")
            .field("directory", &self.directory)
            .field("ca_pem", &self.ca_pem.as_ref().map(|_| "(set)"))
            .field("renew_before", &self.renew_before)
            .field("resolvers", &self.resolvers)
            .field("dns_wait", &self.dns_wait)
            .field("now", &self.now)
            .finish()
    }
}

fn config_error(message: String) -> ProviderError {
    ProviderError::new(ErrorKind::InvalidRequest, NAME, "config", message)
}

impl AcmeConfig {
    /// Let's Encrypt, renewal 30 days ahead, the zone's own name servers, two minutes' wait.
    pub fn new(directory: impl Into<String>) -> Self {
        AcmeConfig {
            directory: directory.into(),
            ca_pem: None,
            renew_before: Duration::from_secs(30 * 86_400),
            resolvers: None,
            dns_wait: Duration::from_secs(120),
            now: None,
        }
    }

    /// From the environment:
    /// - `SSLPROV_ACME_DIRECTORY`: a directory URL, or `letsencrypt` (the default) or
    ///   `letsencrypt-staging`;
    /// - `SSLPROV_ACME_CA_FILE`: PEM roots to trust for the ACME server (a private or test CA);
    /// - `SSLPROV_ACME_RENEW_DAYS`: renew with fewer days than this left (default 30);
    /// - `SSLPROV_ACME_RESOLVER`: `IP[:PORT]`, comma-separated: where to check the challenge
    ///   record (default: the zone's name servers);
    /// - `SSLPROV_ACME_DNS_WAIT`: how long to wait for it there (default `2m`);
    /// - `SSLPROV_NOW` (RFC 3339), honoured by debug builds only: the clock renewal reads, for
    ///   tests.
    pub fn from_env() -> Result<Self> {
        let var = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let directory = match var("SSLPROV_ACME_DIRECTORY").as_deref() {
            None | Some("letsencrypt") => LETS_ENCRYPT.to_owned(),
            Some("letsencrypt-staging") => LETS_ENCRYPT_STAGING.to_owned(),
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => url.to_owned(),
            Some(other) => {
                return Err(config_error(format!(
                    "SSLPROV_ACME_DIRECTORY={other:?} is neither a URL nor `letsencrypt` or `letsencrypt-staging`"
                )));
            }
        };
        let mut config = AcmeConfig::new(directory);
        if let Some(path) = var("SSLPROV_ACME_CA_FILE") {
            let pem = std::fs::read(&path)
                .map_err(|e| config_error(format!("SSLPROV_ACME_CA_FILE={path}: cannot read it: {e}")))?;
            config.ca_pem = Some(pem);
        }
        if let Some(days) = var("SSLPROV_ACME_RENEW_DAYS") {
            let days: u64 = days.parse().ok().filter(|d| (1..=365).contains(d)).ok_or_else(|| {
                config_error(format!("SSLPROV_ACME_RENEW_DAYS={days:?} is not a number of days from 1 to 365"))
            })?;
            config.renew_before = Duration::from_secs(days * 86_400);
        }
        if let Some(list) = var("SSLPROV_ACME_RESOLVER") {
            let parsed: Option<Vec<SocketAddr>> = list
                .split(',')
                .map(|s| {
                    let s = s.trim();
                    s.parse::<SocketAddr>()
                        .ok()
                        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(|ip| (ip, 53).into()))
                })
                .collect();
            config.resolvers = Some(parsed.ok_or_else(|| {
                config_error(format!("SSLPROV_ACME_RESOLVER={list:?}: expected IP[:PORT], comma-separated"))
            })?);
        }
        if let Some(wait) = var("SSLPROV_ACME_DNS_WAIT") {
            config.dns_wait = humantime::parse_duration(&wait)
                .map_err(|e| config_error(format!("SSLPROV_ACME_DNS_WAIT={wait:?}: {e} (e.g. 2m, 30s)")))?;
        }
        if cfg!(debug_assertions)
            && let Some(now) = var("SSLPROV_NOW")
        {
            config.now = Some(
                humantime::parse_rfc3339_weak(&now)
                    .map_err(|e| config_error(format!("SSLPROV_NOW={now:?}: {e} (RFC 3339)")))?,
            );
        }
        Ok(config)
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.now.unwrap_or_else(SystemTime::now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_never_shows_the_ca_and_defaults_to_lets_encrypt() {
        let mut c = AcmeConfig::new(LETS_ENCRYPT);
        c.ca_pem = Some(b"-----BEGIN CERTIFICATE-----".to_vec());
        let shown = format!("{c:?}");
        assert!(shown.contains("(set)") && !shown.contains("BEGIN"), "{shown}");
        assert_eq!(c.renew_before, Duration::from_secs(30 * 86_400));
    }
}
