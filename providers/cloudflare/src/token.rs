//! What the API token may do, checked before planning.
//!
//! `GET /user/tokens/verify` says only whether the token is active, not what it may do (reading
//! its policies takes "API Tokens Read", which a narrow token rightly lacks). So each permission
//! is probed with the cheapest call that needs it: a read for a read, and for an edit, a DELETE
//! of an id no object has, which Cloudflare refuses (403) without the permission and answers
//! "not found" with it. Nothing is changed either way. Config Settings Edit has no such call
//! (its only write replaces the zone's rules), so it is reported unverified unless its read
//! already fails.

use std::collections::BTreeMap;
use std::fmt;

use sslprov_provider::{ErrorKind, ProviderError, RECORD, Result};

use crate::endpoints;
use crate::records::name;
use crate::{Cloudflare, NAME};

/// An id that names no object: Cloudflare's ids are random 32-digit hex.
const NO_SUCH_ID: &str = "00000000000000000000000000000000";

/// A zone permission of an API token, as Cloudflare's dashboard names its groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    ZoneRead,
    DnsRead,
    DnsEdit,
    ZoneSettingsRead,
    SslRead,
    SslEdit,
    ConfigSettingsRead,
    ConfigSettingsEdit,
}

impl Access {
    /// Cloudflare's name for it: `Zone → DNS → Edit`.
    pub fn cloudflare_name(self) -> &'static str {
        match self {
            Access::ZoneRead => "Zone → Zone → Read",
            Access::DnsRead => "Zone → DNS → Read",
            Access::DnsEdit => "Zone → DNS → Edit",
            Access::ZoneSettingsRead => "Zone → Zone Settings → Read",
            Access::SslRead => "Zone → SSL and Certificates → Read",
            Access::SslEdit => "Zone → SSL and Certificates → Edit",
            Access::ConfigSettingsRead => "Zone → Config Settings → Read",
            Access::ConfigSettingsEdit => "Zone → Config Settings → Edit",
        }
    }

    /// What planning and applying a kind takes in a zone. Ordering or deleting an advanced
    /// certificate pack takes [`Access::SslEdit`] on top.
    pub fn for_kind(kind: &str) -> &'static [Access] {
        match kind {
            RECORD => &[Access::ZoneRead, Access::DnsEdit],
            // The zone's `ssl_automatic_mode` is read for the plan's warning.
            crate::CONFIG_RULE => &[Access::ZoneRead, Access::ConfigSettingsEdit, Access::ZoneSettingsRead],
            crate::EDGE_CERTIFICATE => &[Access::ZoneRead, Access::SslRead],
            _ => &[],
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.cloudflare_name())
    }
}

/// A permission on one zone.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permission {
    pub zone: String,
    pub access: Access,
}

impl Permission {
    pub fn new(zone: impl AsRef<str>, access: Access) -> Self {
        Permission { zone: name(zone.as_ref()), access }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.access, self.zone)
    }
}

/// What a token check found, for an active token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenCheck {
    /// Needed and refused. A zone the token cannot see shows as lacking Zone Read: Cloudflare
    /// answers a zone outside the account and a zone outside the token's reach alike.
    pub missing: Vec<Permission>,
    /// Needed, and no request tells without changing something, or the zone could not be seen.
    pub unverified: Vec<Permission>,
}

impl TokenCheck {
    pub fn is_ok(&self) -> bool {
        self.missing.is_empty()
    }
}

fn denied(e: &ProviderError) -> bool {
    e.is(ErrorKind::PermissionDenied) || e.is(ErrorKind::Unauthenticated)
}

impl Cloudflare {
    /// Is the token active, and may it do what `needs` says? A token Cloudflare does not know or
    /// that is not active is an [`ErrorKind::Unauthenticated`] error; permissions it lacks are in
    /// [`TokenCheck::missing`]. One request for the token, one per zone, one per permission.
    pub async fn check_token(&self, needs: &[Permission]) -> Result<TokenCheck> {
        let status = self.api.send(&endpoints::verify_token()).await?.result.status;
        if status != "active" {
            return Err(ProviderError::new(
                ErrorKind::Unauthenticated,
                NAME,
                "VerifyToken",
                format!("the Cloudflare API token is {status}, not active"),
            ));
        }
        let mut by_zone: BTreeMap<&str, Vec<Access>> = BTreeMap::new();
        for p in needs {
            let accesses = by_zone.entry(&p.zone).or_default();
            if !accesses.contains(&p.access) {
                accesses.push(p.access);
            }
        }
        let mut check = TokenCheck::default();
        self.load_zone_ids(&by_zone.keys().map(|z| (*z).to_owned()).collect::<Vec<_>>()).await?;
        for (zone, accesses) in by_zone {
            let zone_id = match self.zone_id(zone).await {
                Ok(id) => id,
                Err(e) if e.is(ErrorKind::NotFound) => {
                    check.missing.push(Permission::new(zone, Access::ZoneRead));
                    let rest = accesses.into_iter().filter(|a| *a != Access::ZoneRead);
                    check.unverified.extend(rest.map(|a| Permission::new(zone, a)));
                    continue;
                }
                Err(e) => return Err(e),
            };
            for access in accesses {
                match self.probe(&zone_id, access).await? {
                    Some(true) => {}
                    Some(false) => check.missing.push(Permission::new(zone, access)),
                    None => check.unverified.push(Permission::new(zone, access)),
                }
            }
        }
        Ok(check)
    }

    /// Whether the token has `access` on the zone; `None` when no harmless request can tell.
    async fn probe(&self, zone_id: &str, access: Access) -> Result<Option<bool>> {
        let outcome = match access {
            // The zone was found by name, which takes Zone Read.
            Access::ZoneRead => return Ok(Some(true)),
            Access::DnsRead => self.api.send(&endpoints::dns_records(zone_id, 1, 1)).await.map(drop),
            Access::DnsEdit => self.api.send(&endpoints::delete_dns_record(zone_id, NO_SUCH_ID)).await.map(drop),
            // The reads the refresh makes anyway, answered once for both.
            Access::ZoneSettingsRead => self.automatic_ssl(zone_id, true).await.map(drop),
            Access::SslRead => self.universal_ssl(zone_id, true).await.map(drop),
            Access::SslEdit => self.api.send(&endpoints::delete_certificate_pack(zone_id, NO_SUCH_ID)).await.map(drop),
            Access::ConfigSettingsRead | Access::ConfigSettingsEdit => self.rules(zone_id, true).await.map(drop),
        };
        let granted = match outcome {
            Ok(()) => true,
            Err(e) if denied(&e) => false,
            // Not found, or anything else the call itself answers: the permission let it through.
            Err(e) if !matches!(e.kind, ErrorKind::Unavailable | ErrorKind::RateLimited) => true,
            Err(e) => return Err(e),
        };
        // Edit includes read: a refused read means no edit; an allowed read tells nothing of it.
        Ok(match (access, granted) {
            (Access::ConfigSettingsEdit, true) => None,
            _ => Some(granted),
        })
    }
}
