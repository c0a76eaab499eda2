//! Refresh: what exists, in a few list sweeps (one per kind; one per zone for records), never one
//! read per resource.

use sslprov_provider::{Desired, Kind, Live, ProviderError, Scope};

use crate::providers::Providers;
use crate::spec::Spec;
use crate::state::State;

#[derive(Clone, Debug, Default)]
pub struct Inventory {
    pub certificates: Vec<Live>,
    pub distributions: Vec<Live>,
    pub records: Vec<Live>,
}

pub async fn refresh(providers: &Providers, spec: &Spec, state: Option<&State>, targets: &[String]) -> Result<Inventory, ProviderError> {
    let selected = |key: &str| targets.is_empty() || targets.iter().any(|t| t == key);
    let mut certs = Scope::new(Kind::Certificate);
    let mut dists = Scope::new(Kind::Distribution);
    let mut records = Scope::new(Kind::Record);
    for d in spec.domains.values().filter(|d| selected(&d.key)) {
        certs.names.insert(d.tracking_domain.clone());
        dists.names.insert(d.tracking_domain.clone());
        records.names.insert(d.tracking_domain.clone());
        records.zones.insert(d.zone.clone());
    }
    for r in state.iter().flat_map(|s| s.resources.values()).filter(|r| selected(&r.domain)) {
        match &r.desired {
            Some(Desired::Certificate(c)) => {
                certs.names.insert(c.domain_name.clone());
            }
            Some(Desired::Distribution(d)) => dists.names.extend(d.aliases.iter().cloned()),
            Some(Desired::Record(rec)) => {
                records.zones.insert(rec.zone.clone());
                records.names.insert(rec.name.clone());
            }
            Some(Desired::ConfigRule(_) | Desired::EdgeCertificate(_)) | None => {}
        }
        for v in r.outputs.validation_records.iter().flatten() {
            records.names.insert(v.name.clone());
        }
        if r.kind == Kind::Certificate {
            certs.known_ids.extend(r.id.clone());
        }
    }

    let certificates = async {
        let certs = providers.acm.list(&certs).await?;
        for c in &certs {
            for v in c.outputs.validation_records.iter().flatten() {
                records.names.insert(v.name.clone());
            }
        }
        let found = if records.zones.is_empty() { Vec::new() } else { providers.route53.list(&records).await? };
        Ok::<_, ProviderError>((certs, found))
    };
    let distributions = async { if dists.names.is_empty() { Ok(Vec::new()) } else { providers.cloudfront.list(&dists).await } };
    let ((certificates, records), distributions) = futures::try_join!(certificates, distributions)?;
    Ok(Inventory { certificates, distributions, records })
}

