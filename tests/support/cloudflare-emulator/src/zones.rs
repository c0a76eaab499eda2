//! Zones: list with the API's filters and paging, and the zone object.

use std::cmp::Ordering;

use serde_json::{Value, json};

use crate::contract::Call;
use crate::reply::Reply;
use crate::state::{State, Zone, page_of};

/// `GET /zones`, default 20 per page, ordered by name unless asked otherwise.
pub(crate) fn list(state: &State, call: &Call) -> Reply {
    let visible = state.token.has("#zone:read");
    let any = call.query_str("match") == Some("any");
    let filters: Vec<(&str, &str)> = ["name", "status", "account.id", "account.name"]
        .into_iter()
        .filter_map(|f| call.query_str(f).map(|v| (f, v)))
        .collect();
    let mut zones: Vec<&Zone> = state
        .zones
        .iter()
        .filter(|_| visible)
        .filter(|z| {
            let mut hits = filters.iter().map(|(field, want)| match *field {
                "name" => text_matches(want, &z.name),
                "status" => z.status == *want,
                "account.id" => z.account_id == *want,
                _ => text_matches(want, ACCOUNT_NAME),
            });
            if any && !filters.is_empty() { hits.any(|h| h) } else { hits.all(|h| h) }
        })
        .collect();
    let key = |z: &Zone| match call.query_str("order") {
        Some("status") => z.status.clone(),
        _ => z.name.clone(),
    };
    zones.sort_by(|a, b| key(a).cmp(&key(b)).then(a.name.cmp(&b.name)));
    if call.query_str("direction") == Some("desc") {
        zones.reverse();
    }
    page_of(zones.into_iter().map(render).collect(), call, 20)
}

const ACCOUNT_NAME: &str = "sslprov emulated account";

/// The zone object. Fields the subset requires are all present and never null unless the
/// subset allows it (the real API sends `owner.id: null` for account-owned zones, which the
/// subset's schema forbids, so the owner here is a user).
pub(crate) fn render(z: &Zone) -> Value {
    let active = z.status == "active";
    json!({
        "id": z.id,
        "name": z.name,
        "status": z.status,
        "paused": false,
        "type": "full",
        "development_mode": 0,
        "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
        "original_name_servers": null,
        "original_registrar": null,
        "original_dnshost": null,
        "vanity_name_servers": [],
        "created_on": z.created_on,
        "modified_on": z.created_on,
        "activated_on": if active { Value::from(z.created_on.clone()) } else { Value::Null },
        "meta": {"step": 2, "custom_certificate_quota": 0, "page_rule_quota": 3, "phishing_detected": false},
        "owner": {"id": z.account_id, "type": "user", "email": "owner@example.com"},
        "account": {"id": z.account_id, "name": ACCOUNT_NAME},
        "plan": {
            "id": z.plan.legacy_id(),
            "name": format!("{}{} Website", z.plan.legacy_id()[..1].to_uppercase(), &z.plan.legacy_id()[1..]),
            "legacy_id": z.plan.legacy_id(),
            "price": 0,
            "currency": "USD",
            "is_subscribed": true,
            "can_subscribe": false,
        },
    })
}

/// The API's name filter: `equal` by default, or `<operator>:<value>`, case-insensitive unless
/// the operator ends in `_case_sensitive`.
fn text_matches(filter: &str, value: &str) -> bool {
    const OPERATORS: &[&str] = &["equal", "not_equal", "starts_with", "ends_with", "contains"];
    let (op, needle) = match filter.split_once(':') {
        Some((op, needle)) if OPERATORS.contains(&op.trim_end_matches("_case_sensitive")) => (op, needle),
        _ => ("equal", filter),
    };
    let (value, needle) = match op.strip_suffix("_case_sensitive") {
        Some(_) => (value.to_owned(), needle.to_owned()),
        None => (value.to_lowercase(), needle.to_lowercase()),
    };
    match op.trim_end_matches("_case_sensitive") {
        "not_equal" => value != needle,
        "starts_with" => value.starts_with(&needle),
        "ends_with" => value.ends_with(&needle),
        "contains" => value.contains(&needle),
        _ => value.cmp(&needle) == Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::text_matches;

    #[test]
    fn name_filter_operators() {
        assert!(text_matches("Example.com", "example.com"));
        assert!(text_matches("ends_with:.com", "example.com"));
        assert!(!text_matches("starts_with_case_sensitive:Ex", "example.com"));
        assert!(text_matches("contains:ampl", "example.com"));
        assert!(text_matches("not_equal:other.com", "example.com"));
    }
}
