//! One domain's view of its CDN template: which provider each resource goes to, and its spec
//! rendered for the domain.

use serde_json::{Value, json};
use sslprov_provider::Desired;

use super::cdn::DNS;
use super::render::{self, Context, Lookup, RenderError, Rendered};
use super::{CdnTemplate, ResourceTemplate, templates};
use crate::spec::Domain;

pub struct DomainTemplate<'a> {
    pub domain: &'a Domain,
    pub cdn: &'static CdnTemplate,
    domain_value: Value,
    esp_value: Value,
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
        let domain_value = serde_json::to_value(domain).unwrap_or(Value::Null);
        Some(DomainTemplate { domain, cdn, domain_value, esp_value })
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
