//! The provider crates sslprov is built with: the one place that names them. A new provider is
//! a line here and a dependency in Cargo.toml; everything else finds it by name.

use sslprov_provider::{RECORD, Registration};

pub static PROVIDERS: &[&Registration] = &[
    &sslprov_acm::REGISTRATION,
    &sslprov_cloudfront::REGISTRATION,
    &sslprov_route53::REGISTRATION,
    &sslprov_cloudflare::REGISTRATION,
    &sslprov_fastly::REGISTRATION,
    &sslprov_acme::REGISTRATION,
    &sslprov_keycdn::REGISTRATION,
];

pub fn get(name: &str) -> Option<&'static Registration> {
    PROVIDERS.iter().copied().find(|r| r.info.name == name)
}

/// The providers a spec may name as `dns:`: those that hold DNS records.
pub fn dns_hosts() -> Vec<&'static str> {
    PROVIDERS.iter().filter(|r| r.info.kind(RECORD).is_some()).map(|r| r.info.name).collect()
}
