//! sslprov's Google Cloud provider: one global external Application Load Balancer
//! (`EXTERNAL_MANAGED`) in front of the ESPs for many tracking domains, and Certificate Manager
//! certificates authorised by DNS, so that each is issued before its tracking record moves.
//!
//! Kinds (module `provider`): the load balancer's objects in Compute Engine v1 (`address`,
//! `ssl_policy`, `internet_neg`, `backend_service`, `url_map`, `target_https_proxy`,
//! `target_http_proxy`, `forwarding_rule`), one `host_rule` per tracking domain inside the shared
//! URL map, and Certificate Manager v1's `dns_authorization`, `certificate`, `certificate_map` and
//! `certificate_map_entry`. The template (`templates/cdn/google-cloud.yaml`) marks the load
//! balancer's objects shared; this crate knows nothing of brands.
//!
//! # Why reqwest and `google-cloud-auth`, not Google's generated crates
//!
//! `google-cloud-compute-v1` (3.x) and `google-cloud-certificatemanager-v1` (1.x) work and take
//! an endpoint, so an emulator can stand in. sslprov sends its requests itself (module `api`)
//! and takes only the bearer token from `google-cloud-auth`, because:
//!
//! - **Build time.** The compute crate is generated from the whole Compute API (thousands of
//!   messages; features per service cut the services, not the shared model types), and both
//!   pull in `google-cloud-gax-internal`, `prost`, `tonic` types and their protobuf well-known
//!   types. On this project's build machine (2 cores, shared) every minute of a clean build is
//!   paid by every developer and CI run; reqwest is in the build already (Fastly, Cloudflare), and
//!   `google-cloud-auth` adds its own small tree (its crypto, aws-lc-rs, is in the build for the
//!   AWS SDK already). README "Google Cloud" gives the measured numbers.
//! - **Fit.** sslprov needs 30-odd calls of two APIs, the raw Compute `Operation` (its
//!   `error.errors[].reason`), the 412 of a stale URL-map fingerprint as such, and the HTTP
//!   status of a 403 `rateLimitExceeded` (Compute throttles with 403, not 429): it retries and
//!   budgets in one place of its own, as for every other provider, rather than through gax's
//!   retry policies.
//! - **Credentials are the part worth taking.** Application Default Credentials
//!   (`GOOGLE_APPLICATION_CREDENTIALS`: a service-account key or a workload identity federation
//!   configuration in pipelines; `gcloud auth application-default login` locally; the metadata
//!   server on Google Cloud) are what `google-cloud-auth` implements, with token caching.
//!
//! # What the APIs are like
//!
//! - Every Compute write answers an `Operation`, followed here to `DONE` (`globalOperations.wait`);
//!   every Certificate Manager write answers a long-running operation, followed to `done`.
//! - Compute names are `[a-z]([-a-z0-9]{0,61}[a-z0-9])?`; sslprov derives them (module `names`),
//!   and a create whose answer was lost is found again by its name (409 `alreadyExists`).
//!   Inserts also carry a `requestId` derived from the idempotency token.
//! - The URL map and backend services carry a `fingerprint`: a write with a stale one answers 412
//!   `conditionNotMet`. Host rules of one URL map are written one at a time (a lock per map), and
//!   a 412 (someone else wrote it) re-reads the map and applies the change again.
//! - Compute's rate quotas are per project per minute, and exceeding one answers **403
//!   `rateLimitExceeded`**; Certificate Manager allows 300 requests per minute. Both are held to
//!   by budgets, and throttled requests are retried.

mod api;
mod auth;
mod certs;
mod compute;
mod names;
mod provider;

use std::fmt;

use sslprov_provider::{ErrorKind, ProviderError, Result};

pub use api::Retry;
pub use names::resource_name;
pub use provider::{
    ADDRESS, BACKEND_SERVICE, CERTIFICATE, CERTIFICATE_MAP, CERTIFICATE_MAP_ENTRY, DNS_AUTHORIZATION, FORWARDING_RULE,
    GoogleCloud, HOST_RULE, INFO, INTERNET_NEG, REGISTRATION, SSL_POLICY, TARGET_HTTP_PROXY, TARGET_HTTPS_PROXY,
    URL_MAP,
};

const NAME: &str = "google-cloud";

/// Where the APIs are, and the project.
#[derive(Clone)]
pub struct GoogleCloudConfig {
    pub project: String,
    /// `https://compute.googleapis.com/compute/v1`
    pub compute_url: String,
    /// `https://certificatemanager.googleapis.com/v1`
    pub certificate_manager_url: String,
}

impl GoogleCloudConfig {
    pub const COMPUTE_URL: &str = "https://compute.googleapis.com/compute/v1";
    pub const CERTIFICATE_MANAGER_URL: &str = "https://certificatemanager.googleapis.com/v1";

    pub fn new(project: impl Into<String>) -> Self {
        GoogleCloudConfig {
            project: project.into(),
            compute_url: Self::COMPUTE_URL.to_owned(),
            certificate_manager_url: Self::CERTIFICATE_MANAGER_URL.to_owned(),
        }
    }

    /// `GOOGLE_CLOUD_PROJECT`; `GOOGLE_CLOUD_COMPUTE_URL` and `GOOGLE_CLOUD_CERTIFICATE_MANAGER_URL`
    /// when set (an emulator, a private endpoint).
    pub fn from_env() -> Result<Self> {
        let var = |k: &str| std::env::var(k).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let project = var("GOOGLE_CLOUD_PROJECT").ok_or_else(|| {
            ProviderError::new(
                ErrorKind::InvalidRequest,
                NAME,
                "config",
                "GOOGLE_CLOUD_PROJECT is not set: export the id of the project that holds the load balancer",
            )
        })?;
        let mut config = GoogleCloudConfig::new(project);
        if let Some(url) = var("GOOGLE_CLOUD_COMPUTE_URL") {
            config.compute_url = url.trim_end_matches('/').to_owned();
        }
        if let Some(url) = var("GOOGLE_CLOUD_CERTIFICATE_MANAGER_URL") {
            config.certificate_manager_url = url.trim_end_matches('/').to_owned();
        }
        Ok(config)
    }
}

impl fmt::Debug for GoogleCloudConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleCloudConfig")
            .field("project", &self.project)
            .field("compute_url", &self.compute_url)
            .field("certificate_manager_url", &self.certificate_manager_url)
            .finish()
    }
}
