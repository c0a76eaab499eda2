//! The contract between sslprov's engine and its providers.
//!
//! A provider owns API calls, pagination, the mapping of its vendor's errors, and what its specs
//! mean; the engine owns the resource graph (from the templates), diffing, ordering, state,
//! intent and waits. Everything crosses this boundary as a kind name plus a JSON spec
//! ([`Desired`]), which the provider validates, normalises and types inside its own crate.
//!
//! A provider crate exports one [`Registration`]; the engine's registry lists them, and a run
//! connects only the providers its spec and state name.

pub mod budget;
#[cfg(feature = "testkit")]
pub mod conformance;
pub mod connect;
pub mod error;
pub mod hold;
pub mod names;
pub mod resource;
pub mod retry;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;

pub use budget::{Budget, Calls};
pub use connect::Connect;
pub use error::{ErrorKind, ProviderError, Result};
pub use hold::Hold;
pub use resource::*;
pub use retry::{Retry, Transient};

/// One cloud API (ACM, CloudFront, Route 53, Cloudflare, …) as the engine sees it.
///
/// Every method is safe to call again after the process was killed in the middle of it: creates
/// carry an [`IdempotencyToken`] the provider hands to the vendor's own idempotency mechanism (or
/// finds its own earlier attempt by name where the vendor has none), and updates and deletes are
/// written as "make it so" rather than "change by delta".
#[async_trait]
pub trait Provider: Send + Sync + fmt::Debug {
    /// Name, kinds (with what forces a replace and what may be adopted) and budget.
    fn info(&self) -> &'static ProviderInfo;

    /// Checks a desired object and puts it in the form `list` reports, so that an object created
    /// from it lists as exactly it. Pure. Errors are the spec's: `InvalidRequest` (or
    /// `Unsupported`) with a message that says what to change.
    fn normalise(&self, desired: &Desired) -> Result<Desired>;

    /// The identity of an object of `desired`'s kind among everything `list` returns: how the
    /// engine finds, with no state, the object a desired one stands for (a record by zone and
    /// name, a distribution by sslprov's comment). `None` when `desired` lacks what identifies it
    /// (a field not known yet).
    fn key(&self, desired: &Desired) -> Option<String>;

    /// Before planning: credentials work, and may do what `wanted` needs. An `Err` stops the run
    /// with its message (name the missing permission as the vendor's dashboard does); the `Ok`
    /// strings are warnings. The default checks nothing.
    async fn preflight(&self, wanted: &[Desired]) -> Result<Vec<String>> {
        let _ = wanted;
        Ok(Vec::new())
    }

    /// Before anyone applies: what stops this plan and what a person should know, for the objects
    /// of this provider the plan wants, given everything this provider's `list` returned in this
    /// run (`inventory`). Pure; it may also use what `list` learned besides objects (a zone's
    /// settings). The default has nothing to say.
    fn review(&self, wanted: &[Wanted<'_>], inventory: &[Live]) -> Review {
        let _ = (wanted, inventory);
        Review::default()
    }

    /// Observe what exists, in one paginated sweep per kind (per zone, for DNS).
    ///
    /// Returns every object of `scope.kind` relevant to `scope.wanted`, with its owned fields
    /// projected onto the normalised [`Desired`], its readiness, and whether it carries sslprov's
    /// mark. Providers must not issue one read per resource where a list call can tell; a
    /// describe is allowed only for what no list returns.
    async fn list(&self, scope: &Scope) -> Result<Vec<Live>>;

    /// Discovery (`sslprov init`): the names of the DNS zones these credentials can read, in one
    /// paginated list sweep, sorted. A zone the provider could not write to unambiguously (two
    /// public zones of one name) is still listed: `list` of its records says why it cannot be
    /// read. Their records are then read with `list`, one [`Scope`] of kind [`RECORD`] per zone
    /// whose wanted record names only the zone (a whole-zone sweep). Providers that hold no
    /// zones keep the default, [`ErrorKind::Unsupported`].
    async fn zones(&self) -> Result<Vec<String>> {
        Err(ProviderError::new(
            ErrorKind::Unsupported,
            self.info().name,
            "zones",
            format!("{} holds no DNS zones to list", self.info().title),
        ))
    }

    /// Create `desired`. The token is stable across retries and re-runs of the same intent, so a
    /// create whose response was lost returns (or lets `list` find) the same object, never a twin.
    async fn create(&self, desired: &Desired, token: &IdempotencyToken) -> Result<Live>;

    /// Make `live` match `desired` in place.
    async fn update(&self, live: &Live, desired: &Desired) -> Result<Live>;

    /// Delete `live`. Objects that must be taken out of service first (a CloudFront distribution
    /// is disabled, then deployed, then deleted) answer [`Deletion::InProgress`]; the engine waits
    /// for readiness and calls `delete` again. An object already gone is [`Deletion::Done`].
    async fn delete(&self, live: &Live) -> Result<Deletion>;

    /// The readiness of objects being waited for, all of one kind, in as few requests as the API
    /// allows (many waits share one list), with the outputs seen (the vendor's status word), so
    /// that the state records what was true when the wait ended. An object that is gone reports
    /// `Failed`.
    async fn readiness(&self, lives: &[Live]) -> Result<Vec<Observed>> {
        if lives.is_empty() {
            return Ok(Vec::new());
        }
        let scope = Scope::of(lives);
        let mut found: BTreeMap<String, Observed> = self
            .list(&scope)
            .await?
            .into_iter()
            .map(|l| (l.id, Observed { readiness: l.readiness, outputs: l.outputs }))
            .collect();
        Ok(lives.iter().map(|l| found.remove(&l.id).unwrap_or_else(Observed::gone)).collect())
    }
}

/// How a provider crate makes itself known: its info, and how to connect it for a run.
#[derive(Clone, Copy)]
pub struct Registration {
    pub info: &'static ProviderInfo,
    /// Credentials and endpoints come from the environment (and for AWS, aws-config's chain);
    /// a missing credential is an `Unauthenticated` error that says what to set.
    pub connect: Connector,
}

/// Connects a provider for one run.
pub type Connector = fn(Connect) -> BoxFuture<'static, Result<Arc<dyn Provider>>>;

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration").field("provider", &self.info.name).finish_non_exhaustive()
    }
}
