//! sslprov's Azure Front Door Standard/Premium provider: one profile in front of the ESPs for many
//! tracking domains, with an Azure-managed certificate per domain, validated by a `_dnsauth` TXT
//! record before the tracking CNAME moves.
//!
//! Kinds (module `shape`): `profile`; per ESP origin an `endpoint` (its host name is the CNAME
//! target), `origin_group`, `origin` and `route`; per tracking domain a `custom_domain` and a
//! `route_domain`, the domain's entry in its route's `customDomains`. The template
//! (`templates/cdn/azure-frontdoor.yaml`) marks the profile and the per-origin objects shared;
//! this crate knows nothing of brands.
//!
//! # Why an endpoint per ESP origin
//!
//! A route must serve at least one domain: a custom domain, or its endpoint's default domain
//! (`linkToDefaultDomain`). The route of an origin is made before any of its brands' domains,
//! so it starts on the default domain; two such routes on one endpoint would serve the same
//! domain and pattern, which Front Door refuses. An endpoint per origin (5 origins at most, 10
//! endpoints per Standard profile) keeps each route alone on its endpoint; the route leaves the
//! default domain once it serves a custom domain, and goes back to it when its last one leaves.
//!
//! # Why reqwest, not `azure_mgmt_cdn` or `azure_identity`
//!
//! - `azure_mgmt_cdn` (0.21) is from the legacy branch of the Azure SDK for Rust: generated from
//!   preview API versions only, on the legacy `azure_core` 0.21, unmaintained since the service
//!   crates were removed in 2024. No maintained management-plane crate for `Microsoft.Cdn` exists.
//!   sslprov needs seven resource types of one API version (2026-10-01), as typed requests of its
//!   own checked against the API subset by the tests' emulator.
//! - `azure_identity` 1.0 reads no secret from the environment (its `ClientSecretCredential`
//!   takes arguments; only workload identity reads variables), insists on an `https` authority
//!   (a loopback emulator is `http`), and brings `azure_core`'s pipeline for a form POST. The
//!   client-credentials grant (with a secret or a federated token) is one request, and the Azure
//!   CLI's token one command (module `auth`).
//!
//! # What the API is like
//!
//! - Every write is a long-running operation (module `arm`): 201/202 with `Azure-AsyncOperation`
//!   and/or `Location` and `Retry-After`, followed to the end; the resource's
//!   `provisioningState` and `deploymentStatus` (and a custom domain's `domainValidationState`)
//!   are its readiness.
//! - ARM's PUT is idempotent by name, and every name is derived from the spec (`sslprov-ep-…`,
//!   `sslprov-cd-…`): a killed run's next run finds its objects and finishes them.
//! - ARM throttles per subscription and principal with token buckets (reads 250 refilling 25/s,
//!   writes and deletes 200 refilling 10/s), answering 429 with `Retry-After`.

mod arm;
mod auth;
mod provider;
mod shape;

use std::fmt;

use sslprov_provider::{ErrorKind, ProviderError, Result};

pub use arm::{API_VERSION, Retry};
pub use auth::HOW as CREDENTIALS_FIX;
pub use provider::{FrontDoor, INFO, REGISTRATION};
pub use shape::{CUSTOM_DOMAIN, ENDPOINT, ORIGIN, ORIGIN_GROUP, PROFILE, ROUTE, ROUTE_DOMAIN};

/// Credential sources, for building a provider outside `REGISTRATION` (tests).
pub mod credentials {
    pub use crate::auth::Source;
}

const NAME: &str = "azure-frontdoor";

/// Where the APIs are, and the resource group sslprov works in.
#[derive(Clone)]
pub struct AzureConfig {
    pub subscription: String,
    pub resource_group: String,
    /// `https://management.azure.com`
    pub resource_manager_url: String,
    /// `https://login.microsoftonline.com`
    pub authority_host: String,
}

impl AzureConfig {
    pub const RESOURCE_MANAGER_URL: &str = "https://management.azure.com";

    /// `AZURE_SUBSCRIPTION_ID` and `AZURE_RESOURCE_GROUP`; `AZURE_RESOURCE_MANAGER_URL` and
    /// `AZURE_AUTHORITY_HOST` when set (an emulator, a sovereign cloud).
    pub fn from_env() -> Result<Self> {
        let var = |k: &str| std::env::var(k).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let missing = |k: &str, what: &str| {
            ProviderError::new(ErrorKind::InvalidRequest, NAME, "config", format!("{k} is not set: export {what}"))
        };
        let subscription = var("AZURE_SUBSCRIPTION_ID").ok_or_else(|| {
            missing("AZURE_SUBSCRIPTION_ID", "the id of the subscription that holds the Front Door profile")
        })?;
        let resource_group = var("AZURE_RESOURCE_GROUP").ok_or_else(|| {
            missing("AZURE_RESOURCE_GROUP", "the resource group sslprov makes the Front Door profile in")
        })?;
        Ok(AzureConfig {
            subscription,
            resource_group,
            resource_manager_url: var("AZURE_RESOURCE_MANAGER_URL")
                .unwrap_or_else(|| Self::RESOURCE_MANAGER_URL.to_owned())
                .trim_end_matches('/')
                .to_owned(),
            authority_host: var("AZURE_AUTHORITY_HOST").unwrap_or_else(|| auth::AUTHORITY.to_owned()),
        })
    }
}

impl fmt::Debug for AzureConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureConfig")
            .field("subscription", &self.subscription)
            .field("resource_group", &self.resource_group)
            .field("resource_manager_url", &self.resource_manager_url)
            .field("authority_host", &self.authority_host)
            .finish()
    }
}
