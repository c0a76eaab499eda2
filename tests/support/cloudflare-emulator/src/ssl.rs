//! Edge certificates: certificate packs (the Universal one and advanced ones), their quota,
//! Universal SSL and Total TLS.
//!
//! The Universal pack (apex and `*.apex`) is listed while Universal SSL is on. Ordering an
//! advanced pack needs Advanced Certificate Manager on the zone (`1450` otherwise), hosts inside
//! the zone that include the apex, at most 50 of them, and TXT validation for wildcards. A new
//! pack walks the emulator's status walk, one step for every GET that returns it (the list
//! counts, for every pack of the zone); without `status=all`, the list shows active packs only.

use std::collections::VecDeque;

use serde_json::{Value, json};

use crate::contract::Call;
use crate::reply::{self, Reply};
use crate::state::{Zone, new_id};

/// Advanced packs a zone with Advanced Certificate Manager may hold (the emulator's choice).
const ACM_QUOTA: usize = 100;

/// A certificate pack as the emulator holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct CertificatePack {
    pub id: String,
    /// `universal` or `advanced`.
    pub r#type: String,
    pub hosts: Vec<String>,
    pub status: String,
    pub validation_method: String,
    pub validity_days: u64,
    pub certificate_authority: String,
    pub cloudflare_branding: bool,
    /// Statuses still to come, one per GET.
    pub(crate) walk: VecDeque<String>,
}

impl CertificatePack {
    pub(crate) fn advanced(hosts: Vec<String>, walk: &[String]) -> CertificatePack {
        let mut walk: VecDeque<String> = walk.iter().cloned().collect();
        CertificatePack {
            id: new_id(),
            r#type: "advanced".to_owned(),
            hosts,
            status: walk.pop_front().unwrap_or_else(|| "active".to_owned()),
            validation_method: "txt".to_owned(),
            validity_days: 90,
            certificate_authority: "lets_encrypt".to_owned(),
            cloudflare_branding: false,
            walk,
        }
    }

    fn step(&mut self) {
        if let Some(next) = self.walk.pop_front() {
            self.status = next;
        }
    }

    pub(crate) fn render(&self) -> Value {
        json!({
            "id": self.id,
            "type": self.r#type,
            "hosts": self.hosts,
            "status": self.status,
            "validation_method": self.validation_method,
            "validity_days": self.validity_days,
            "certificate_authority": self.certificate_authority,
            "cloudflare_branding": self.cloudflare_branding,
        })
    }
}

/// Turn Universal SSL on or off, adding or removing its pack.
pub(crate) fn set_universal(zone: &mut Zone, enabled: bool) {
    zone.universal_ssl = enabled;
    zone.packs.retain(|p| p.r#type != "universal");
    if enabled {
        let mut pack = CertificatePack::advanced(vec![zone.name.clone(), format!("*.{}", zone.name)], &[]);
        pack.r#type = "universal".to_owned();
        pack.certificate_authority = "google".to_owned();
        zone.packs.insert(0, pack);
    }
}

pub(crate) fn list_packs(zone: &mut Zone, call: &Call) -> Reply {
    let all = call.query_str("status") == Some("all");
    zone.packs.iter_mut().for_each(CertificatePack::step);
    let packs = zone.packs.iter().filter(|p| all || p.status == "active").map(CertificatePack::render).collect();
    Reply::ok(packs)
}

pub(crate) fn get_pack(zone: &mut Zone, call: &Call) -> Reply {
    match zone.packs.iter_mut().find(|p| p.id == call.path("certificate_pack_id")) {
        Some(pack) => {
            pack.step();
            Reply::ok(pack.render())
        }
        None => pack_not_found(),
    }
}

pub(crate) fn order_pack(zone: &mut Zone, call: &Call, walk: &[String]) -> Reply {
    if !zone.acm {
        return needs_acm();
    }
    let body = &call.body;
    let hosts: Vec<String> = body["hosts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
        .collect();
    let method = body["validation_method"].as_str().unwrap_or_default();
    let refuse = |message: String| Reply::error(400, reply::INVALID_PACK_ORDER, message);
    if !hosts.contains(&zone.name) {
        return refuse(format!("hosts must include the zone apex {}", zone.name));
    }
    if hosts.len() > 50 {
        return refuse("a certificate pack holds at most 50 hosts".to_owned());
    }
    if let Some(outside) = hosts.iter().find(|h| {
        let bare = h.strip_prefix("*.").unwrap_or(h);
        *bare != zone.name && !bare.ends_with(&format!(".{}", zone.name))
    }) {
        return refuse(format!("host {outside} is not in zone {}", zone.name));
    }
    if method != "txt" && hosts.iter().any(|h| h.starts_with("*.")) {
        return refuse("wildcard hosts need validation_method txt".to_owned());
    }
    if advanced_count(zone) >= ACM_QUOTA {
        return refuse("certificate pack quota exceeded".to_owned());
    }
    let mut pack = CertificatePack::advanced(hosts, walk);
    method.clone_into(&mut pack.validation_method);
    pack.validity_days = body["validity_days"].as_u64().unwrap_or(90);
    pack.certificate_authority = body["certificate_authority"].as_str().unwrap_or("lets_encrypt").to_owned();
    pack.cloudflare_branding = body["cloudflare_branding"].as_bool().unwrap_or(false);
    let reply = Reply::ok(pack.render());
    zone.packs.push(pack);
    reply
}

pub(crate) fn delete_pack(zone: &mut Zone, call: &Call) -> Reply {
    let id = call.path("certificate_pack_id");
    match zone.packs.iter().position(|p| p.id == id) {
        None => pack_not_found(),
        Some(i) if zone.packs[i].r#type != "advanced" => {
            Reply::error(400, reply::INVALID_PACK_ORDER, "only advanced certificate packs can be deleted")
        }
        Some(i) => {
            zone.packs.remove(i);
            Reply::ok(json!({"id": id}))
        }
    }
}

pub(crate) fn quota(zone: &Zone) -> Reply {
    let allocated = if zone.acm { ACM_QUOTA } else { 0 };
    Reply::ok(json!({"advanced": {"allocated": allocated, "used": advanced_count(zone)}}))
}

pub(crate) fn universal(zone: &Zone) -> Reply {
    Reply::ok(json!({"enabled": zone.universal_ssl}))
}

pub(crate) fn edit_universal(zone: &mut Zone, call: &Call) -> Reply {
    if let Some(enabled) = call.body["enabled"].as_bool() {
        set_universal(zone, enabled);
    }
    universal(zone)
}

pub(crate) fn total_tls(zone: &Zone) -> Reply {
    let mut result = json!({"enabled": zone.total_tls, "validity_period": 90});
    if let Some(ca) = &zone.total_tls_ca {
        result["certificate_authority"] = json!(ca);
    }
    Reply::ok(result)
}

pub(crate) fn edit_total_tls(zone: &mut Zone, call: &Call) -> Reply {
    let enabled = call.body["enabled"].as_bool().unwrap_or(false);
    if enabled && !zone.acm {
        return needs_acm();
    }
    zone.total_tls = enabled;
    if let Some(ca) = call.body["certificate_authority"].as_str() {
        zone.total_tls_ca = Some(ca.to_owned());
    }
    total_tls(zone)
}

fn advanced_count(zone: &Zone) -> usize {
    zone.packs.iter().filter(|p| p.r#type == "advanced").count()
}

fn needs_acm() -> Reply {
    Reply::error(
        403,
        reply::NEEDS_ACM,
        "Access to configure this resource has not been granted for this zone. This feature is available with the Advanced Certificate Manager.",
    )
}

fn pack_not_found() -> Reply {
    Reply::error(404, reply::PACK_NOT_FOUND, "Certificate pack not found.")
}
