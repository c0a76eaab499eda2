//! sslprov's KeyCDN provider: a pull zone per tracking domain, in front of the ESP's origin, with
//! the certificate sslprov obtained by ACME uploaded as Custom SSL, and the zone alias that lets
//! KeyCDN serve the tracking domain. Kinds `zone` and `zonealias` (module `provider`).
//!
//! # Why a custom certificate
//!
//! KeyCDN's own Let's Encrypt certificate is issued only after the tracking domain's CNAME points
//! at the zone and the alias exists (`shared/reference/keycdn.md` §0.1): every HTTPS click between
//! the switch and issuance would fail. An uploaded certificate (`sslcert=custom`) is the one
//! documented certificate-first path, so the zone is created with the ACME certificate already in
//! it, the alias is added next, and only then does the CNAME move.
//!
//! # What the API is like (`shared/keycdn/api.md`)
//!
//! - `https://api.keycdn.com`, paths ending in `.json`, HTTP Basic with the API key as the user
//!   and an empty password; POST and PUT bodies form-encoded (KeyCDN's own PHP and Python clients);
//! - every answer in an envelope, `{"status":"success"|"error","description":…,"data":…}`, and
//!   not every error maps to an HTTP status: the envelope's `status` is checked too;
//! - every value a string; switches `enabled`/`disabled`;
//! - a zone or alias that does not exist answers **403**, not 404;
//! - no idempotency keys and no tags: sslprov names its zones (`sslp` and 12 hex digits of the
//!   tracking domain's SHA-256: within the 20 alphanumeric characters a name may have), finds
//!   them by that name, and knows its aliases by the zone they point at;
//! - the zone URL, `<name>-<hex user id>.kxcdn.com`, is in no answer: it is built from
//!   `KEYCDN_ACCOUNT_ID`;
//! - `X-Rate-Limit-Limit` and `X-Rate-Limit-Remaining` on answers (60, recorded); module `api`
//!   holds requests when few are left and retries 429;
//! - no search: a run lists zones and aliases once and answers its own questions from that list
//!   and its writes' answers (module `known`).

mod api;
mod error;
mod known;
mod provider;
mod spec;

use std::fmt;

use sslprov_provider::{ErrorKind, ProviderError, Result};

pub use api::Retry;
pub use provider::{INFO, Keycdn, REGISTRATION, ZONE, ZONE_ALIAS, zone_name};
pub use spec::{AliasSpec, EspZone, ZoneSpec};

const NAME: &str = "keycdn";

/// Where KeyCDN's API is, the key to call it with, and the account whose zone URLs to build.
#[derive(Clone)]
pub struct KeycdnConfig {
    pub api_key: String,
    pub base_url: String,
    /// The user id KeyCDN shows in the dashboard (decimal): the zone URL holds it in hex.
    pub account_id: u64,
}

impl KeycdnConfig {
    pub const DEFAULT_BASE_URL: &str = "https://api.keycdn.com";

    /// `KEYCDN_API_KEY`, `KEYCDN_ACCOUNT_ID`, and `KEYCDN_API_BASE_URL` if set.
    pub fn from_env() -> Result<Self> {
        let var = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let unauthenticated = |m: &str| ProviderError::new(ErrorKind::Unauthenticated, NAME, "config", m);
        let api_key = var("KEYCDN_API_KEY").ok_or_else(|| {
            unauthenticated(
                "KEYCDN_API_KEY is not set: create an API key in KeyCDN's dashboard (Account Settings → API) and \
                 export it",
            )
        })?;
        let id = var("KEYCDN_ACCOUNT_ID").ok_or_else(|| {
            ProviderError::new(
                ErrorKind::InvalidRequest,
                NAME,
                "config",
                "KEYCDN_ACCOUNT_ID is not set: the tracking CNAME points at the zone URL, \
                 <zone name>-<user id in hex>.kxcdn.com, and KeyCDN's API shows no zone URL or user id; export the \
                 user id KeyCDN's dashboard shows (Account Settings), in decimal",
            )
        })?;
        let account_id = id.parse::<u64>().map_err(|_| {
            ProviderError::new(
                ErrorKind::InvalidRequest,
                NAME,
                "config",
                format!("KEYCDN_ACCOUNT_ID={id:?} is not a decimal user id"),
            )
        })?;
        Ok(KeycdnConfig {
            api_key,
            base_url: var("KEYCDN_API_BASE_URL").unwrap_or_else(|| Self::DEFAULT_BASE_URL.to_owned()),
            account_id,
        })
    }
}

impl fmt::Debug for KeycdnConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeycdnConfig")
            .field("api_key", &"(redacted)")
            .field("base_url", &self.base_url)
            .field("account_id", &self.account_id)
            .finish()
    }
}
