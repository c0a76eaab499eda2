//! Refresh: what exists, in a few list sweeps (one per kind; one per zone for records), never one
//! read per resource.

use std::sync::Arc;

use sslprov_provider::{Desired, Kind, Live, Provider, ProviderError, Scope};

use crate::providers::Providers;
use crate::spec::{CdnKind, DnsKind, Spec};
use crate::state::State;

#[derive(Clone, Debug, Default)]
pub struct Inventory {
    pub certificates: Vec<Live>,
    pub distributions: Vec<Live>,
    pub records: Vec<Live>,
    pub edge_certificates: Vec<Live>,
    pub config_rules: Vec<Live>,
}

/// What to look for, per provider and kind.
#[derive(Debug)]
struct Scopes {
    certificates: Scope,
    distributions: Scope,
    route53: Scope,
    cloudflare_records: Scope,
    config_rules: Scope,
    edge_certificates: Scope,
}

impl Scopes {
    fn new() -> Self {
        Scopes {
            certificates: Scope::new(Kind::Certificate),
            distributions: Scope::new(Kind::Distribution),
            route53: Scope::new(Kind::Record),
            cloudflare_records: Scope::new(Kind::Record),
            config_rules: Scope::new(Kind::ConfigRule),
            edge_certificates: Scope::new(Kind::EdgeCertificate),
        }
    }

    fn records(&mut self, dns: &str) -> &mut Scope {
        if dns == "cloudflare" { &mut self.cloudflare_records } else { &mut self.route53 }
    }

    fn zone_and_name(scope: &mut Scope, zone: &str, name: &str) {
        scope.zones.insert(zone.to_owned());
        scope.names.insert(name.to_owned());
    }
}

pub async fn refresh(
    providers: &Providers,
    spec: &Spec,
    state: Option<&State>,
    targets: &[String],
) -> Result<Inventory, ProviderError> {
    let selected = |key: &str| targets.is_empty() || targets.iter().any(|t| t == key);
    let mut s = Scopes::new();
    for d in spec.domains.values().filter(|d| selected(&d.key)) {
        match d.cdn {
            CdnKind::Cloudfront => {
                s.certificates.names.insert(d.tracking_domain.clone());
                s.distributions.names.insert(d.tracking_domain.clone());
            }
            CdnKind::Cloudflare => {
                Scopes::zone_and_name(&mut s.config_rules, &d.zone, &d.tracking_domain);
                Scopes::zone_and_name(&mut s.edge_certificates, &d.zone, &d.tracking_domain);
            }
        }
        let dns = match d.dns {
            DnsKind::Route53 => "route53",
            DnsKind::Cloudflare => "cloudflare",
        };
        Scopes::zone_and_name(s.records(dns), &d.zone, &d.tracking_domain);
    }
    for r in state.iter().flat_map(|s| s.resources.values()).filter(|r| selected(&r.domain)) {
        match &r.desired {
            Some(Desired::Certificate(c)) => {
                s.certificates.names.insert(c.domain_name.clone());
            }
            Some(Desired::Distribution(d)) => s.distributions.names.extend(d.aliases.iter().cloned()),
            Some(Desired::Record(rec)) => Scopes::zone_and_name(s.records(&r.provider), &rec.zone, &rec.name),
            Some(Desired::ConfigRule(c)) => Scopes::zone_and_name(&mut s.config_rules, &c.zone, &c.host),
            Some(Desired::EdgeCertificate(e)) => {
                s.edge_certificates.zones.insert(e.zone.clone());
                s.edge_certificates.names.extend(e.hosts.iter().cloned());
            }
            None => {}
        }
        for v in r.outputs.validation_records.iter().flatten() {
            s.route53.names.insert(v.name.clone());
            s.cloudflare_records.names.insert(v.name.clone());
        }
        if r.kind == Kind::Certificate {
            s.certificates.known_ids.extend(r.id.clone());
        }
    }

    let Scopes { certificates, distributions, mut route53, mut cloudflare_records, config_rules, edge_certificates } =
        s;
    let cloudflare = providers.cloudflare.as_ref();
    // Validation records are named by the certificates, so records are listed once ACM answered.
    let certificates_then_records = async {
        let certs = list(Some(&providers.acm), &certificates).await?;
        for v in certs.iter().flat_map(|c| c.outputs.validation_records.iter().flatten()) {
            route53.names.insert(v.name.clone());
            cloudflare_records.names.insert(v.name.clone());
        }
        let (r53, cf) =
            futures::try_join!(list(Some(&providers.route53), &route53), list(cloudflare, &cloudflare_records))?;
        Ok::<_, ProviderError>((certs, [r53, cf].concat()))
    };
    let ((certificates, records), distributions, config_rules, edge_certificates) = futures::try_join!(
        certificates_then_records,
        list(Some(&providers.cloudfront), &distributions),
        list(cloudflare, &config_rules),
        list(cloudflare, &edge_certificates),
    )?;
    Ok(Inventory { certificates, distributions, records, edge_certificates, config_rules })
}

/// One provider's sweep of one scope; nothing to look for, nothing asked.
async fn list(provider: Option<&Arc<dyn Provider>>, scope: &Scope) -> Result<Vec<Live>, ProviderError> {
    if scope.names.is_empty() && scope.zones.is_empty() {
        return Ok(Vec::new());
    }
    let needs_zones = scope.kind != Kind::Certificate && scope.kind != Kind::Distribution;
    if needs_zones && scope.zones.is_empty() {
        return Ok(Vec::new());
    }
    match provider {
        Some(p) => p.list(scope).await,
        None => Err(ProviderError::new(
            sslprov_provider::ErrorKind::Unauthenticated,
            "cloudflare",
            "list",
            "the spec or the state uses Cloudflare, and CLOUDFLARE_API_TOKEN is not set",
        )),
    }
}
