//! The contract between sslprov's engine and its providers.
//!
//! A provider owns API calls, pagination and the mapping of its vendor's errors; the engine owns
//! diffing, ordering, state, intent and waits. Everything crosses this boundary as the typed
//! resources of [`resource`], which serialize so that plans and state can hold them as they are.

pub mod budget;
pub mod error;
pub mod resource;

use std::fmt;

use async_trait::async_trait;

pub use budget::{Budget, Calls};
pub use error::{ErrorKind, ProviderError, Result};
pub use resource::*;

/// One cloud API (ACM, CloudFront, Route 53, Cloudflare, …) as the engine sees it.
///
/// Every method is safe to call again after the process was killed in the middle of it: creates
/// carry an [`IdempotencyToken`] the provider hands to the vendor's own idempotency mechanism,
/// and updates and deletes are written as "make it so" rather than "change by delta".
#[async_trait]
pub trait Provider: Send + Sync + fmt::Debug {
    /// Short name used in addresses, logs and call counts: `acm`, `cloudfront`, `route53`.
    fn name(&self) -> &'static str;

    /// The resource kinds this provider manages.
    fn kinds(&self) -> &'static [Kind];

    /// Observe what exists, in one paginated sweep per kind.
    ///
    /// Returns every object of `scope.kind` that is relevant to `scope` (by name or zone), with
    /// its owned fields projected onto [`Desired`] and normalised, so that the engine can compare
    /// it to what the spec wants without provider knowledge. Providers must not issue one read per
    /// resource where a list call can tell; a describe is allowed only for what no list returns.
    async fn list(&self, scope: &Scope) -> Result<Vec<Live>>;

    /// Create `desired`. The token is stable across retries and re-runs of the same intent, so a
    /// create whose response was lost returns (or lets `list` find) the same object, never a twin.
    async fn create(&self, desired: &Desired, token: &IdempotencyToken) -> Result<Live>;

    /// Make `live` match `desired` in place.
    async fn update(&self, live: &Live, desired: &Desired) -> Result<Live>;

    /// Delete `live`. Objects that must be taken out of service first (a CloudFront distribution
    /// is disabled, then deployed, then deleted) answer [`Deletion::InProgress`]; the engine waits
    /// for [`Provider::readiness`] and calls `delete` again.
    async fn delete(&self, live: &Live) -> Result<Deletion>;

    /// Whether `live` is usable by what depends on it: a certificate is issued, a distribution is
    /// deployed. Objects with no such notion are always ready.
    async fn readiness(&self, live: &Live) -> Result<Readiness> {
        let _ = live;
        Ok(Readiness::Ready)
    }
}
