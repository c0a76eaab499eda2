//! The emulated account: its token, its zones and everything a zone holds, and the dispatch from
//! an operation to the module that serves it.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::Value;

use crate::contract::{Call, Operation};
use crate::dns::DnsRecord;
use crate::reply::Reply;
use crate::rulesets::Ruleset;
use crate::ssl::CertificatePack;
use crate::token::Token;
use crate::{dns, rulesets, settings, ssl, zones};

/// A zone's plan: it decides rule limits and what Enterprise-only rule parameters are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Free,
    Pro,
    Business,
    Enterprise,
}

impl Plan {
    pub(crate) fn legacy_id(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Pro => "pro",
            Plan::Business => "business",
            Plan::Enterprise => "enterprise",
        }
    }

    /// Rules per phase entrypoint for Origin Rules and Configuration Rules (Cloudflare's docs
    /// give the same numbers for both; Enterprise is 125 and more by contract).
    pub(crate) fn rule_limit(self) -> usize {
        match self {
            Plan::Free => 10,
            Plan::Pro => 25,
            Plan::Business => 50,
            Plan::Enterprise => 125,
        }
    }
}

pub(crate) struct State {
    pub token: Token,
    pub account_id: String,
    pub zones: Vec<Zone>,
    /// The statuses a newly ordered pack walks through, one step per GET that shows it.
    pub pack_walk: Vec<String>,
}

pub(crate) struct Zone {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub plan: Plan,
    pub status: String,
    pub created_on: String,
    /// Advanced Certificate Manager: needed to order packs and turn on Total TLS.
    pub acm: bool,
    pub records: Vec<DnsRecord>,
    pub settings: BTreeMap<String, settings::Setting>,
    pub rulesets: BTreeMap<String, Ruleset>,
    pub packs: Vec<CertificatePack>,
    pub universal_ssl: bool,
    pub total_tls: bool,
    pub total_tls_ca: Option<String>,
}

impl State {
    pub fn new() -> State {
        State {
            token: Token::new(),
            account_id: new_id(),
            zones: Vec::new(),
            pack_walk: ["initializing", "pending_validation", "active"].map(str::to_owned).to_vec(),
        }
    }

    pub fn add_zone(&mut self, name: &str, plan: Plan) -> String {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let mut zone = Zone {
            id: new_id(),
            account_id: self.account_id.clone(),
            plan,
            status: "active".to_owned(),
            created_on: now(),
            acm: false,
            records: Vec::new(),
            settings: settings::defaults(),
            rulesets: BTreeMap::new(),
            packs: Vec::new(),
            universal_ssl: true,
            total_tls: false,
            total_tls_ca: None,
            name,
        };
        ssl::set_universal(&mut zone, true);
        let id = zone.id.clone();
        self.zones.push(zone);
        id
    }

    pub fn zone_mut(&mut self, id: &str) -> Option<&mut Zone> {
        self.zones.iter_mut().find(|z| z.id == id)
    }

    /// Serve an operation that passed the contract and authentication.
    pub fn dispatch(&mut self, op: &Operation, call: &Call) -> Reply {
        match op.id.as_str() {
            "user-api-tokens-verify-token" => return self.token.verify(),
            "zones-get" => return zones::list(self, call),
            _ => {}
        }
        let zone_id = call.path("zone_id").to_owned();
        let walk = self.pack_walk.clone();
        let Some(zone) = self.zone_mut(&zone_id) else {
            return Reply::not_routed(&format!("/zones/{zone_id}"));
        };
        match op.id.as_str() {
            "zones-0-get" => Reply::ok(zones::render(zone)),
            "dns-records-for-a-zone-list-dns-records" => dns::list(zone, call),
            "dns-records-for-a-zone-create-dns-record" => dns::create(zone, call),
            "dns-records-for-a-zone-dns-record-details" => dns::get(zone, call),
            "dns-records-for-a-zone-update-dns-record" => dns::overwrite(zone, call),
            "dns-records-for-a-zone-patch-dns-record" => dns::patch(zone, call),
            "dns-records-for-a-zone-delete-dns-record" => dns::delete(zone, call),
            "zone-settings-get-all-zone-settings" => settings::list(zone),
            "zone-settings-edit-zone-settings-info" => settings::edit_many(zone, call),
            "zone-settings-get-single-setting" => settings::get(zone, call),
            "zone-settings-edit-single-setting" => settings::edit(zone, call),
            "getZoneEntrypointRuleset" => rulesets::get(zone, call),
            "updateZoneEntrypointRuleset" => rulesets::put(zone, call),
            "certificate-packs-list-certificate-packs" => ssl::list_packs(zone, call),
            "certificate-packs-order-advanced-certificate-manager-certificate-pack" => {
                ssl::order_pack(zone, call, &walk)
            }
            "certificate-packs-get-certificate-pack-quotas" => ssl::quota(zone),
            "certificate-packs-get-certificate-pack" => ssl::get_pack(zone, call),
            "certificate-packs-delete-advanced-certificate-manager-certificate-pack" => ssl::delete_pack(zone, call),
            "universal-ssl-settings-for-a-zone-universal-ssl-settings-details" => ssl::universal(zone),
            "universal-ssl-settings-for-a-zone-edit-universal-ssl-settings" => ssl::edit_universal(zone, call),
            "total-tls-total-tls-settings-details" => ssl::total_tls(zone),
            "total-tls-enable-or-disable-total-tls" => ssl::edit_total_tls(zone, call),
            other => Reply::error(501, crate::reply::NO_ROUTE, format!("the emulator does not serve {other}")),
        }
    }
}

/// A Cloudflare identifier: 32 lower-case hex digits.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A timestamp as the API writes them (RFC 3339, UTC).
pub(crate) fn now() -> String {
    humantime::format_rfc3339_micros(SystemTime::now()).to_string()
}

/// Page and page size from a query, with the operation's default size.
pub(crate) fn paging(call: &Call, default_per_page: usize) -> (usize, usize) {
    // The contract has already checked both are numbers within their bounds.
    let number =
        |name: &str, default: usize| call.query.get(name).and_then(Value::as_f64).map_or(default, |n| n as usize);
    (number("page", 1).max(1), number("per_page", default_per_page).max(1))
}

/// One page of `items`, as a list reply with `result_info`.
pub(crate) fn page_of(items: Vec<Value>, call: &Call, default_per_page: usize) -> Reply {
    let (page, per_page) = paging(call, default_per_page);
    let total = items.len();
    let items = items.into_iter().skip((page - 1).saturating_mul(per_page)).take(per_page).collect();
    Reply::page(items, page, per_page, total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Contract;

    #[test]
    fn every_operation_of_the_definition_is_served() {
        let mut state = State::new();
        let zone = state.add_zone("example.com", Plan::Free);
        for op in Contract::get().operations() {
            let mut call = Call::default();
            for name in ["zone_id", "dns_record_id", "setting_id", "certificate_pack_id", "ruleset_phase"] {
                call.path.insert(name.to_owned(), if name == "zone_id" { zone.clone() } else { "x".to_owned() });
            }
            assert_ne!(state.dispatch(op, &call).status, 501, "{} is not served", op.id);
        }
    }
}
