//! sslprov's Fastly provider: services in front of an ESP origin, and Fastly-managed certificates
//! for tracking domains, as operations that are each safe to run again after a kill at any
//! point (modules `services`, `subscriptions`), and the engine's view of them (module
//! `provider`: kinds `service` and `tls_subscription`).
//!
//! # Why not the `fastly-api` crate
//!
//! Fastly's generated Rust client, `fastly-api` (15.0.0, checked when this crate was written),
//! was tried first. sslprov sends its requests itself, in one place (module `api`), because:
//!
//! - **It pulls in OpenSSL.** It depends on reqwest with default features, so `native-tls` and
//!   `openssl-sys` come with it, and a dependent crate cannot turn that off. sslprov builds with
//!   rustls only.
//! - **Its TLS subscription models lose what sslprov needs.** `TlsSubscriptionResponse` has no
//!   `included`, so the `_acme-challenge` CNAME Fastly asks for cannot be read, and
//!   `TlsSubscriptionResponseData` has no `relationships` (no domains, certificates or TLS
//!   configuration). `TlsSubscriptionsResponse.data` is typed as a list of *documents*
//!   (`{data: …}`) rather than resources, so the recorded list answer deserializes to
//!   `[TlsSubscriptionResponse { data: None }]`: every id is lost (tried on go-fastly's recorded
//!   answer).
//! - **It hides the rate limit and paging.** `Fastly-RateLimit-Remaining`/`-Reset` go into the
//!   `&mut Configuration` of the call (one per caller, so not shared by concurrent requests) and
//!   are parsed with `unwrap()`, so a malformed header panics; error results keep the status and
//!   body but no headers; the `Link` header that pages `GET /service` is not returned at all.
//! - **It is large.** 148 API modules and 1,054 models (8.2 MB of source): compiling the crate
//!   alone took 179 s on this project's build machine (dev profile, one job; 4 min 38 s with its
//!   dependencies), for the few dozen calls sslprov makes.
//!
//! Its header, cache-settings and request-settings models do read the numbers-as-strings
//! answers correctly; the few answer types sslprov needs are written here (module `answers`) with
//! the same leniency.
//!
//! # What the API is like
//!
//! - Classic endpoints (`/service…`, `/tokens/self`) take forms and answer JSON (creates 200,
//!   deletes `{"status":"ok"}`, errors `{msg, detail}`); `/tls/…` endpoints are JSON:API (creates
//!   201, deletes 204, errors `{errors: [{title, detail}]}`). Header, cache-settings and
//!   request-settings objects answer their numbers as strings.
//! - A service's configuration lives in numbered versions; an activated version is locked
//!   (writes answer 422 "Version locked"), so every change is clone → edit the draft → validate →
//!   activate (module `services`).
//! - No idempotency keys exist: every create first looks for what an earlier attempt may have
//!   made (a service by name, a subscription by domain).
//! - Fastly allows 1,000 non-read requests per hour per user; reads are unlimited. Writes wait
//!   on the shared [`Budget`] ([`write_budget`] sizes one) and on Fastly's own remainder
//!   (module `api`).

mod answers;
mod api;
mod endpoints;
mod error;
mod provider;
mod services;
mod spec;
mod subscriptions;
mod token;
mod version;

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use sslprov_provider::{Budget, Calls, ErrorKind, ProviderError, Result};

pub use api::Retry;
pub use provider::{INFO, REGISTRATION, SERVICE, TLS_SUBSCRIPTION};
pub use services::ObservedService;
pub use spec::{BackendSpec, CacheSpec, ServiceSpec, SubscriptionSpec};
pub use subscriptions::{ChallengeRecord, ObservedSubscription, SubscriptionState};
pub use token::TokenCheck;
pub use version::{FORWARDED_HOST_HEADER, PASS_SETTING};

use crate::api::Api;

const NAME: &str = "fastly";

/// A write budget that keeps within Fastly's 1,000 non-read requests per hour in every hour: a
/// token bucket lets through its burst on top of its rate, so the two add up to 1,000.
pub fn write_budget(calls: Calls) -> Budget {
    Budget::per_window(900, Duration::from_secs(3600), 100, calls)
}

/// Where Fastly's API is and the token to call it with.
#[derive(Clone)]
pub struct FastlyConfig {
    pub token: String,
    pub base_url: String,
}

impl FastlyConfig {
    pub const DEFAULT_BASE_URL: &str = "https://api.fastly.com";

    pub fn new(token: impl Into<String>) -> Self {
        FastlyConfig { token: token.into(), base_url: Self::DEFAULT_BASE_URL.to_owned() }
    }

    /// `FASTLY_API_TOKEN`, and `FASTLY_API_BASE_URL` if set.
    pub fn from_env() -> Result<Self> {
        let token = std::env::var("FASTLY_API_TOKEN").ok().filter(|t| !t.trim().is_empty()).ok_or_else(|| {
            ProviderError::new(
                ErrorKind::Unauthenticated,
                NAME,
                "config",
                "FASTLY_API_TOKEN is not set: create an API token with the global scope in Fastly's web \
                 interface (Account → API tokens) and export it",
            )
        })?;
        let mut config = FastlyConfig::new(token.trim());
        if let Ok(url) = std::env::var("FASTLY_API_BASE_URL")
            && !url.trim().is_empty()
        {
            config.base_url = url.trim().to_owned();
        }
        Ok(config)
    }
}

impl fmt::Debug for FastlyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let token = if self.token.is_empty() { "(empty)" } else { "(redacted)" };
        f.debug_struct("FastlyConfig").field("token", &token).field("base_url", &self.base_url).finish()
    }
}

/// The Fastly client. One per API token: the budget and the rate-limit hold are its user's.
#[derive(Debug)]
pub struct Fastly {
    api: Api,
    /// TLS configuration id → its CNAME target, read once per run.
    targets: Mutex<HashMap<String, Option<String>>>,
}

impl Fastly {
    /// `budget` is for writes (see [`write_budget`]); every call, reads included, is counted in
    /// its [`Calls`] as `fastly:<Operation>`.
    pub fn new(config: FastlyConfig, budget: Budget) -> Result<Fastly> {
        Ok(Fastly { api: Api::new(&config.base_url, &config.token, budget)?, targets: Mutex::default() })
    }

    /// How failed requests are retried (the default sits out one hourly window).
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.api.set_retry(retry);
        self
    }

    /// Hold writes once Fastly reports this many or fewer left in its window (default 10: room
    /// for writes already in flight when the remainder is read).
    pub fn with_rate_limit_reserve(mut self, reserve: u64) -> Self {
        self.api.set_reserve(reserve);
        self
    }

    pub fn base_url(&self) -> &str {
        self.api.base_url()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_shows() {
        let config = FastlyConfig::new("secret-token-value");
        assert!(!format!("{config:?}").contains("secret-token-value"));
        let fastly = Fastly::new(config, write_budget(Calls::default())).expect("client");
        assert!(!format!("{fastly:?}").contains("secret-token-value"));
        let empty = Fastly::new(FastlyConfig::new(" "), write_budget(Calls::default()));
        assert!(empty.is_err_and(|e| e.message.contains("FASTLY_API_TOKEN")));
    }
}
