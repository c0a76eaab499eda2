//! Services: observed, created, updated and deleted, each safe to run again after a kill at any
//! point. Fastly has no idempotency keys, so each operation looks before it writes: a service is
//! found by its name, a version by its state.
//!
//! Changing a service takes a draft version: clone the active one, make the draft match the
//! spec, validate, activate (activation locks it). A draft left by a killed run is not reused
//! while a version is active: it may hold half of that run's writes, or a person's unfinished
//! edit, and only what Fastly's subset shows is made to match, so activating it could put live
//! what no one reviewed (a VCL snippet, a logging endpoint). Cloning the active version instead
//! costs one write and starts from what is already live. Without an active version (a create
//! killed before activation), the newest version is reused while it is an unlocked draft: the
//! service has never served, so nothing unreviewed can go live that was live before.

use std::collections::BTreeSet;

use futures::future::try_join_all;
use serde::{Deserialize, Serialize};
use sslprov_provider::{ErrorKind, ProviderError, Result};

use crate::answers::{ServiceAnswer, ValidateAnswer};
use crate::endpoints;
use crate::spec::ServiceSpec;
use crate::version::{VersionConfig, write_draft};
use crate::{Fastly, NAME};

/// Up to this many names are looked up one search each; more, and the account's services are
/// listed instead.
const SEARCH_UP_TO: usize = 3;
/// Services per list page (the API returned 200 for 200; its documented default is 20).
const LIST_PAGE: u32 = 200;

/// A service as observed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedService {
    pub id: String,
    pub name: String,
    pub comment: String,
    pub active_version: Option<u32>,
    /// The active version projected onto a spec (with the service's name and comment), so that
    /// observing what [`Fastly::create_service`] wrote gives back exactly its spec. `None`
    /// without an active version.
    pub spec: Option<ServiceSpec>,
    /// What the active version holds beyond the spec (`backend legacy`, `cache setting x`, a
    /// service-wide override host): drift the spec cannot express, which an update removes.
    pub strays: Vec<String>,
    /// An unlocked version newer than the active one, as a killed run or a person leaves behind.
    /// Updates never activate it (see the module docs).
    pub draft_version: Option<u32>,
}

impl ObservedService {
    /// Whether the service is live and exactly as `spec` asks.
    pub fn matches(&self, spec: &ServiceSpec) -> bool {
        self.strays.is_empty() && self.spec.as_ref() == Some(spec)
    }
}

impl Fastly {
    /// The services named in `names`, each with its active version's configuration.
    ///
    /// Calls: one search per name (up to three names) or the account's service list (one call
    /// per 200 services); then, per service found with an active version, six reads of that
    /// version's objects, all at once. Reads are not rate-limited.
    pub async fn list_services(&self, names: &BTreeSet<String>) -> Result<Vec<ObservedService>> {
        let found: Vec<ServiceAnswer> = if names.len() <= SEARCH_UP_TO {
            try_join_all(names.iter().map(|n| self.search(n))).await?.into_iter().flatten().collect()
        } else {
            self.all_services().await?.into_iter().filter(|s| names.contains(&s.name)).collect()
        };
        try_join_all(found.into_iter().map(|s| self.observe(s))).await
    }

    /// Create the service `spec` describes and activate it; a service of that name left by an
    /// earlier attempt (whose answer was lost, or whose run was killed) is taken up, not twinned.
    pub async fn create_service(&self, spec: &ServiceSpec) -> Result<ObservedService> {
        spec.check("CreateService")?;
        match self.search(&spec.name).await? {
            Some(service) => self.converge(service, spec, false).await,
            None => {
                let service: ServiceAnswer =
                    self.api.json(&endpoints::create_service(&spec.name, &spec.comment)).await?;
                self.converge(service, spec, true).await
            }
        }
    }

    /// Make service `id` what `spec` describes: clone its active version, make the draft match,
    /// validate, activate. A service already as asked is left alone.
    pub async fn update_service(&self, id: &str, spec: &ServiceSpec) -> Result<ObservedService> {
        spec.check("UpdateService")?;
        let service: ServiceAnswer = self.api.json(&endpoints::get_service(id)).await?;
        self.converge(service, spec, false).await
    }

    /// Deactivate service `id`'s active version, then delete the service. A service already gone
    /// is deleted.
    pub async fn delete_service(&self, id: &str) -> Result<()> {
        let service: ServiceAnswer = match self.api.json(&endpoints::get_service(id)).await {
            Err(e) if e.is(ErrorKind::NotFound) => return Ok(()),
            other => other?,
        };
        // Fastly refuses to delete a service with an active version.
        if let Some(active) = service.active_version() {
            self.api.send(&endpoints::deactivate_version(id, active)).await?;
        }
        match self.api.send(&endpoints::delete_service(id)).await {
            Err(e) if !e.is(ErrorKind::NotFound) => Err(e),
            _ => Ok(()),
        }
    }

    /// The service named `name`, if one exists.
    async fn search(&self, name: &str) -> Result<Option<ServiceAnswer>> {
        match self.api.json(&endpoints::search_service(name)).await {
            Ok(service) => Ok(Some(service)),
            Err(e) if e.is(ErrorKind::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every service of the account, following the `Link` header's `next`.
    async fn all_services(&self) -> Result<Vec<ServiceAnswer>> {
        let mut out = Vec::new();
        for page in 1.. {
            let request = endpoints::list_services(page, LIST_PAGE);
            let answer = self.api.send(&request).await?;
            let services: Vec<ServiceAnswer> = serde_json::from_slice(&answer.body).map_err(|e| {
                ProviderError::new(ErrorKind::Unexpected, NAME, request.op, format!("unreadable answer: {e}"))
            })?;
            let last = services.is_empty() || answer.next_link().is_none();
            out.extend(services);
            if last {
                break;
            }
        }
        Ok(out)
    }

    async fn observe(&self, service: ServiceAnswer) -> Result<ObservedService> {
        let comment = service.comment.clone().unwrap_or_default();
        let active = service.active_version();
        let (spec, strays) = match active {
            Some(v) => {
                let (spec, strays) = VersionConfig::read(self, &service.id, v).await?.project(&service.name, &comment);
                (Some(spec), strays)
            }
            None => (None, Vec::new()),
        };
        Ok(ObservedService {
            draft_version: service.draft_version(),
            id: service.id,
            name: service.name,
            comment,
            active_version: active,
            spec,
            strays,
        })
    }

    /// Make `service` match `spec` and activate the result (see the module docs for which
    /// version is written). `fresh`: the service was created just now, so its version 1 is known
    /// to be empty and need not be read.
    async fn converge(&self, service: ServiceAnswer, spec: &ServiceSpec, fresh: bool) -> Result<ObservedService> {
        let id = service.id.clone();
        if service.name != spec.name || service.comment.as_deref().unwrap_or("") != spec.comment {
            self.api.send(&endpoints::update_service(&id, &spec.name, &spec.comment)).await?;
        }
        let (draft, current) = match (service.active_version(), service.latest_version()) {
            (Some(active), _) => {
                let current = VersionConfig::read(self, &id, active).await?;
                if current.matches(spec) {
                    return Ok(observed(&service, spec, active));
                }
                (self.clone_version(&id, active).await?, current)
            }
            (None, Some((latest, false))) if fresh => (latest, VersionConfig::default()),
            (None, Some((latest, false))) => (latest, VersionConfig::read(self, &id, latest).await?),
            (None, Some((latest, true))) => {
                let current = VersionConfig::read(self, &id, latest).await?;
                (self.clone_version(&id, latest).await?, current)
            }
            (None, None) => {
                return Err(ProviderError::new(
                    ErrorKind::Unexpected,
                    NAME,
                    "GetService",
                    format!("service {id} has no versions"),
                ));
            }
        };
        write_draft(self, &id, draft, &current, spec).await?;
        let validation: ValidateAnswer = self.api.json(&endpoints::validate_version(&id, draft)).await?;
        if validation.status != "ok" {
            let errors: Vec<String> =
                validation.errors.iter().map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_owned)).collect();
            return Err(ProviderError::new(
                ErrorKind::InvalidRequest,
                NAME,
                "ValidateVersion",
                format!(
                    "version {draft} of service {id} does not validate: {}{}",
                    validation.msg.unwrap_or_default(),
                    errors.join("; ")
                ),
            ));
        }
        self.api.send(&endpoints::activate_version(&id, draft)).await?;
        Ok(observed(&service, spec, draft))
    }

    async fn clone_version(&self, service: &str, from: u32) -> Result<u32> {
        let clone: crate::answers::VersionAnswer = self.api.json(&endpoints::clone_version(service, from)).await?;
        clone.number.map(|n| n as u32).ok_or_else(|| {
            ProviderError::new(ErrorKind::Unexpected, NAME, "CloneVersion", "the clone's answer has no version number")
        })
    }
}

/// What `service` is once `version`, matching `spec`, is active.
fn observed(service: &ServiceAnswer, spec: &ServiceSpec, version: u32) -> ObservedService {
    ObservedService {
        id: service.id.clone(),
        name: spec.name.clone(),
        comment: spec.comment.clone(),
        active_version: Some(version),
        spec: Some(spec.clone()),
        strays: Vec::new(),
        draft_version: service.draft_version().filter(|d| *d > version),
    }
}
