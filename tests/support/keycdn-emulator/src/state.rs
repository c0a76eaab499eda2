//! Zones and zone aliases, as KeyCDN keeps them: every value a string, ids numeric strings, a
//! zone's defaults those exkeycdn copied from the API's documentation (`type` push, the query
//! string and the origin's Cache-Control ignored, a day's edge expiry), and 403 for a zone or
//! alias that does not exist (exkeycdn recorded it for a deleted zone).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::contract::{self, Op};

/// A zone: its fields, as the API answers them.
pub type Zone = BTreeMap<String, Value>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alias {
    pub id: String,
    pub name: String,
    pub zone_id: String,
    /// What the alias's name resolved to when it was added (the test's DNS closure): whether it
    /// was added before the tracking CNAME moved.
    pub cname_when_added: Option<String>,
}

/// What the API answers: status and body.
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

fn ok(description: &str, data: Value) -> Answer {
    Answer { status: 200, body: json!({"status": "success", "description": description, "data": data}) }
}

fn error(status: u16, description: impl Into<String>) -> Answer {
    Answer { status, body: json!({"status": "error", "description": description.into()}) }
}

pub type Dns = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

pub struct State {
    pub api_key: String,
    /// The user id, decimal, whose hex form is in every zone URL.
    pub account_id: u64,
    pub zones: BTreeMap<u64, Zone>,
    pub aliases: BTreeMap<u64, Alias>,
    next_id: u64,
    pub dns: Option<Dns>,
}

const DEFAULTS: &[(&str, &str)] = &[
    ("status", "active"),
    ("type", "push"),
    ("originurl", ""),
    ("cachehostheader", "disabled"),
    ("sslcert", "shared"),
    ("forcessl", "disabled"),
    ("expire", "0"),
    ("cachemaxexpire", "1440"),
    ("cacheignorecachecontrol", "enabled"),
    ("cacheignorequerystring", "enabled"),
    ("cachekeyhost", "disabled"),
    ("cachecookies", "disabled"),
    ("cachestripcookies", "disabled"),
    ("cachexpullkey", "KeyCDN"),
    ("originshield", "disabled"),
    ("cors", "disabled"),
    ("gzip", "disabled"),
    ("http2", "enabled"),
];

impl State {
    pub fn new() -> State {
        State {
            api_key: "sk_test_keycdn_emulator_0123456789".into(),
            account_id: 7275,
            zones: BTreeMap::new(),
            aliases: BTreeMap::new(),
            next_id: 190_700,
            dns: None,
        }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// `<name>-<hex account id>.kxcdn.com`.
    pub fn zone_url(&self, name: &str) -> String {
        format!("{name}-{:x}.kxcdn.com", self.account_id)
    }

    pub fn add_zone_with(&mut self, fields: &BTreeMap<String, String>) -> u64 {
        let id = self.id();
        let mut zone: Zone = DEFAULTS.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
        zone.insert("customsslcert".into(), Value::Null);
        zone.insert("customsslkey".into(), Value::Null);
        for (k, v) in fields {
            zone.insert(k.clone(), json!(v));
        }
        zone.insert("id".into(), json!(id.to_string()));
        self.zones.insert(id, zone);
        id
    }

    fn zone_answer(zone: &Zone) -> Value {
        json!(zone)
    }

    /// A custom certificate must come with its key: the pair is checked as KeyCDN would have to.
    fn check_ssl(zone: &Zone) -> Result<(), String> {
        if zone.get("sslcert").and_then(Value::as_str) != Some("custom") {
            return Ok(());
        }
        let (Some(cert), Some(key)) =
            (zone.get("customsslcert").and_then(Value::as_str), zone.get("customsslkey").and_then(Value::as_str))
        else {
            return Err("sslcert custom needs customsslcert and customsslkey".into());
        };
        crate::tls::matching_pair(cert, key)
    }

    pub fn serve(&mut self, op: Op, id: Option<&str>, fields: &BTreeMap<String, String>) -> Answer {
        let numeric = id.and_then(|i| i.parse::<u64>().ok());
        match op {
            Op::ListZones => {
                let zones: Vec<Value> = self.zones.values().map(Self::zone_answer).collect();
                ok("Data successfully received.", json!({"zones": zones}))
            }
            Op::GetZone | Op::PurgeZone => match numeric.and_then(|i| self.zones.get(&i)) {
                Some(z) if op == Op::GetZone => {
                    ok("Data successfully received.", json!({"zone": Self::zone_answer(z)}))
                }
                Some(_) => ok("Cache successfully cleared.", json!({})),
                None => error(403, "Access denied"),
            },
            Op::AddZone => {
                let problems = contract::check_zone(fields, true);
                if !problems.is_empty() {
                    return error(400, problems.join("; "));
                }
                let name = &fields["name"];
                if self.zones.values().any(|z| z.get("name").and_then(Value::as_str) == Some(name)) {
                    return error(400, format!("Zone name {name} already exists"));
                }
                let mut probe: Zone = DEFAULTS.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
                probe.extend(fields.iter().map(|(k, v)| (k.clone(), json!(v))));
                if let Err(e) = Self::check_ssl(&probe) {
                    return error(400, e);
                }
                let id = self.add_zone_with(fields);
                ok("Zone successfully created.", json!({"zone": Self::zone_answer(&self.zones[&id])}))
            }
            Op::EditZone => {
                let Some(i) = numeric.filter(|i| self.zones.contains_key(i)) else {
                    return error(403, "Access denied");
                };
                let problems = contract::check_zone(fields, false);
                if !problems.is_empty() {
                    return error(400, problems.join("; "));
                }
                let mut next = self.zones[&i].clone();
                next.extend(fields.iter().map(|(k, v)| (k.clone(), json!(v))));
                if let Some(name) = fields.get("name")
                    && self
                        .zones
                        .iter()
                        .any(|(zid, z)| *zid != i && z.get("name").and_then(Value::as_str) == Some(name))
                {
                    return error(400, format!("Zone name {name} already exists"));
                }
                if let Err(e) = Self::check_ssl(&next) {
                    return error(400, e);
                }
                self.zones.insert(i, next);
                ok("Zone successfully updated.", json!({"zone": Self::zone_answer(&self.zones[&i])}))
            }
            Op::DeleteZone => match numeric.and_then(|i| self.zones.remove(&i)) {
                Some(_) => {
                    let zid = id.unwrap_or_default();
                    self.aliases.retain(|_, a| a.zone_id != zid);
                    Answer {
                        status: 200,
                        body: json!({"status": "success", "description": "Zone successfully deleted."}),
                    }
                }
                None => error(403, "Access denied"),
            },
            Op::ListAliases => {
                let list: Vec<Value> = self.aliases.values().map(alias_answer).collect();
                ok("Data successfully received.", json!({"zonealiases": list}))
            }
            Op::AddAlias | Op::EditAlias => {
                let problems = contract::check_alias(fields);
                if !problems.is_empty() {
                    return error(400, problems.join("; "));
                }
                let zone_id = fields["zone_id"].clone();
                if !zone_id.parse::<u64>().is_ok_and(|z| self.zones.contains_key(&z)) {
                    return error(403, "Access denied");
                }
                let name = fields["name"].to_ascii_lowercase();
                let this = if op == Op::EditAlias {
                    match numeric.filter(|i| self.aliases.contains_key(i)) {
                        Some(i) => Some(i),
                        None => return error(403, "Access denied"),
                    }
                } else {
                    None
                };
                if self.aliases.iter().any(|(aid, a)| Some(*aid) != this && a.name == name) {
                    return error(400, format!("Zonealias {name} already exists"));
                }
                let cname_when_added = self.dns.as_ref().and_then(|dns| dns(&name));
                let id = this.unwrap_or_else(|| self.id());
                let alias = Alias {
                    id: id.to_string(),
                    name,
                    zone_id,
                    cname_when_added: match this {
                        Some(i) => self.aliases[&i].cname_when_added.clone(),
                        None => cname_when_added,
                    },
                };
                let answer = alias_answer(&alias);
                self.aliases.insert(id, alias);
                let description =
                    if this.is_some() { "Zonealias successfully updated." } else { "Zonealias successfully created." };
                ok(description, json!({"zonealias": answer}))
            }
            Op::DeleteAlias => match numeric.and_then(|i| self.aliases.remove(&i)) {
                Some(_) => Answer {
                    status: 200,
                    body: json!({"status": "success", "description": "Zonealias successfully deleted."}),
                },
                None => error(403, "Access denied"),
            },
            Op::CreditBalance => ok("Data successfully received.", json!({"creditbalance": {"amount": "100.00"}})),
        }
    }
}

fn alias_answer(a: &Alias) -> Value {
    json!({"id": a.id, "name": a.name, "zone_id": a.zone_id})
}
