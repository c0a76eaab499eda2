//! The provider crates sslprov is built with: the one place that names them. A new provider is
//! a line here and a dependency in Cargo.toml; everything else finds it by name.

use sslprov_provider::{RECORD, Registration};

pub static PROVIDERS: &[&Registration] = &[
    &sslprov_acm::REGISTRATION,
    &sslprov_cloudfront::REGISTRATION,
    &sslprov_route53::REGISTRATION,
    &sslprov_cloudflare::REGISTRATION,
    &sslprov_fastly::REGISTRATION,
    &sslprov_google_cloud::REGISTRATION,
    &sslprov_azure_frontdoor::REGISTRATION,
    &sslprov_acme::REGISTRATION,
    &sslprov_keycdn::REGISTRATION,
];

/// Every provider of this build; test builds add the engine's fake (`crate::testkit`).
fn all() -> impl Iterator<Item = &'static Registration> {
    #[cfg(test)]
    static EXTRA: &[&Registration] = &[&crate::testkit::REGISTRATION];
    #[cfg(not(test))]
    static EXTRA: &[&Registration] = &[];
    PROVIDERS.iter().chain(EXTRA).copied()
}

pub fn get(name: &str) -> Option<&'static Registration> {
    all().find(|r| r.info.name == name)
}

/// The providers a spec may name as `dns:`: those that hold DNS records.
pub fn dns_hosts() -> Vec<&'static str> {
    all().filter(|r| r.info.kind(RECORD).is_some()).map(|r| r.info.name).collect()
}
