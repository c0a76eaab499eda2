//! One domain's view of its CDN template: which provider each resource goes to, the address of
//! each (its own, or a shared object's), and its spec rendered for the domain.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sslprov_provider::Desired;

use super::address::{address, shared_address, valid_identity};
use super::cdn::DNS;
use super::render::{self, Context, Lookup, RenderError, Rendered};
use super::{CdnTemplate, ResourceTemplate, templates};
use crate::spec::{Domain, Spec};

pub struct DomainTemplate<'a> {
    pub domain: &'a Domain,
    pub cdn: &'static CdnTemplate,
    domain_value: Value,
    esp_value: Value,
    /// Each part's address, rendered once.
    addresses: BTreeMap<&'static str, Result<String, RenderError>>,
}

impl<'a> DomainTemplate<'a> {
    /// `None` for a domain whose CDN or ESP has no template (the spec refuses such names).
    pub fn of(domain: &'a Domain) -> Option<DomainTemplate<'a>> {
        let t = templates();
        let cdn = t.cdn.get(&domain.cdn)?;
        let esp = t.esp.get(&domain.esp)?;
        let esp_value = json!({
            "name": esp.name,
            "origin": esp.origin(domain.region),
            "host_header": esp.host_header,
            "cdn": esp.cdn.get(&domain.cdn).cloned().unwrap_or(Value::Null),
            "managed_https": esp.managed_https.as_ref().map(|m| json!({ "target": m.targets.get(&domain.region) })),
        });
        let mut domain_value = serde_json::to_value(domain).unwrap_or(Value::Null);
        // An option the domain leaves unset renders as the template's default for it.
        for (option, default) in &cdn.option_defaults {
            if domain_value.get(option).is_none_or(Value::is_null) {
                domain_value[option] = Value::from(default.as_str());
            }
        }
        let mut t = DomainTemplate { domain, cdn, domain_value, esp_value, addresses: BTreeMap::new() };
        let addresses = cdn.resources.iter().map(|r| (r.part.as_str(), t.render_address(r))).collect();
        t.addresses = addresses;
        Some(t)
    }

    fn render_address(&self, r: &ResourceTemplate) -> Result<String, RenderError> {
        let Some(identity) = &r.shared else { return Ok(address(&self.domain.key, &r.part)) };
        let unknown = |_: &str| Lookup::Unknown;
        let cx = Context { domain: &self.domain_value, esp: &self.esp_value, outputs: &unknown };
        let rendered = render::render(&json!({ "identity": identity }), &cx)?;
        match rendered.spec.get("identity") {
            Some(Value::String(id)) if rendered.is_complete() && valid_identity(id) => Ok(shared_address(&r.part, id)),
            other => Err(RenderError {
                reference: identity.clone(),
                why: format!("the identity of shared part {} renders to {other:?}, not a name", r.part),
            }),
        }
    }

    /// The address of the domain's `part`: `<key>.<part>`, or `<part>@<identity>` for a shared
    /// part. The one mapping from a domain's part to what plans and state call it.
    pub fn address(&self, part: &str) -> Result<String, RenderError> {
        match self.addresses.get(part) {
            Some(a) => a.clone(),
            None => Ok(address(&self.domain.key, part)),
        }
    }

    /// The template's resources this domain has, in the order apply makes them: those whose
    /// `when` has a value for it.
    pub fn parts(&self) -> Vec<&'static ResourceTemplate> {
        self.cdn.order().into_iter().filter(|r| self.has(r)).collect()
    }

    fn has(&self, r: &ResourceTemplate) -> bool {
        let Some(when) = &r.when else { return true };
        let ctx = Context { domain: &self.domain_value, esp: &self.esp_value, outputs: &|_| Lookup::Unknown };
        render::lookup(when, &ctx).is_some()
    }

    /// The provider a resource goes to: the one it names, or the domain's DNS host.
    pub fn provider<'r>(&'r self, r: &'r ResourceTemplate) -> &'r str {
        if r.provider == DNS { &self.domain.dns } else { &r.provider }
    }

    /// `r`'s spec for this domain, with other resources' outputs from `outputs`.
    pub fn render<'o>(
        &'o self,
        r: &ResourceTemplate,
        outputs: &'o dyn Fn(&str) -> Lookup<'o>,
    ) -> Result<Rendered, RenderError> {
        render::render(&r.spec, &Context { domain: &self.domain_value, esp: &self.esp_value, outputs })
    }
}

impl Rendered {
    pub fn desired(&self, kind: &str) -> Desired {
        Desired { kind: kind.to_owned(), spec: self.spec.clone() }
    }

    /// What a provider can list with: the known fields only.
    pub fn known_desired(&self, kind: &str) -> Desired {
        Desired { kind: kind.to_owned(), spec: self.known() }
    }
}

/// A shared object's users: the spec's domains whose templates render its address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SharedUse {
    /// The CDN template it comes from.
    pub cdn: String,
    pub part: String,
    /// Domain keys, sorted.
    pub users: Vec<String>,
}

/// Every shared address the spec's domains render, with who uses it. From the spec alone: a
/// shared part's identity uses spec values only.
pub fn shared_uses(spec: &Spec) -> BTreeMap<String, SharedUse> {
    let mut out: BTreeMap<String, SharedUse> = BTreeMap::new();
    for d in spec.domains.values() {
        let Some(t) = DomainTemplate::of(d) else { continue };
        for r in t.cdn.resources.iter().filter(|r| r.is_shared()) {
            let Ok(a) = t.address(&r.part) else { continue };
            let u = out.entry(a).or_insert_with(|| SharedUse {
                cdn: d.cdn.clone(),
                part: r.part.clone(),
                users: Vec::new(),
            });
            u.users.push(d.key.clone());
        }
    }
    out
}
