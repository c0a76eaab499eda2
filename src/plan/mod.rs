//! Plans: what apply will do, decided before it starts, saved and shown as they are.
//!
//! A plan is pure data: built without I/O from the spec, the state and a refreshed inventory, and
//! bound to the state's lineage and serial and the spec's hash, so `apply PLAN` does exactly what
//! was shown or refuses.

mod build;
mod diff;
#[cfg(test)]
pub(crate) mod fixtures;
mod guard;

use serde::{Deserialize, Serialize};
use sslprov_provider::Desired;

pub use build::{Mode, PlanError, PlanInput, build};
pub use diff::{AttributeChange, attribute_changes};
pub use guard::mass_change;

pub const FORMAT_VERSION: &str = "1";

pub use crate::template::{Addressed, address, shared_address};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    /// Create the new object, move its dependents over, then delete the old one.
    Replace,
    Delete,
    /// Drop from state and leave the object as it is.
    Forget,
}

impl Action {
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "+/-",
            Action::Delete => "-",
            Action::Forget => ".",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub address: String,
    /// The domain key; empty (and left out of the JSON) for a shared object.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
    /// A shared object's identity (the address is `<part>@<identity>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<String>,
    /// For a shared object: the domains that use it once the plan is applied (none: it is
    /// deleted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// The template's part: the address suffix.
    pub part: String,
    pub provider: String,
    /// The provider's kind of object.
    pub kind: String,
    pub action: Action,
    /// Why, when it is not obvious: drift, adoption, a failed certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The existing object's provider id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The existing object's owned fields.
    pub before: Option<Desired>,
    /// What it will be; fields only known once an earlier step ran read "(known after apply)".
    pub after: Option<Desired>,
    /// Those fields, by path: apply renders them from the template once the steps they come from
    /// have run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after_unknown: Vec<String>,
    /// An existing object sslprov takes over (an HTTP-era tracking record).
    #[serde(default)]
    pub adopt: bool,
    /// The change is to an object this address replaced (`id`), not to its current one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deposed: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub replace: usize,
    pub destroy: usize,
    pub forget: usize,
}

impl Summary {
    pub fn of(changes: &[Change]) -> Summary {
        let mut s = Summary::default();
        for c in changes {
            match c.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Replace => s.replace += 1,
                Action::Delete => s.destroy += 1,
                Action::Forget => s.forget += 1,
            }
        }
        s
    }

    pub fn is_empty(&self) -> bool {
        *self == Summary::default()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecRef {
    pub path: std::path::PathBuf,
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateRef {
    pub path: std::path::PathBuf,
    /// The lineage of the state the plan was made against; for a state not yet written, the
    /// lineage apply will give it.
    pub lineage: String,
    /// 0 when no state existed.
    pub serial: u64,
    pub exists: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: String,
    pub sslprov_version: String,
    pub created: String,
    pub mode: Mode,
    pub spec: SpecRef,
    pub state: StateRef,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    #[serde(default)]
    pub restore_adopted: bool,
    pub changes: Vec<Change>,
    /// Objects a stopped run made or changed without recording the result; apply records them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recovered: Vec<Recovered>,
    /// What the providers noticed that a person should know before applying.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Shared objects a domain this plan destroys used, left in place for the domains that still
    /// use them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<Kept>,
    pub summary: Summary,
}

/// A shared object a destroyed domain used, kept for others.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    pub address: String,
    /// Who still uses it.
    pub users: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovered {
    pub address: String,
    /// How it came to be missing from the state: a run made it and stopped before recording it,
    /// or an interrupted delete left it in place.
    #[serde(default = "made_by_an_interrupted_run")]
    pub how: String,
    pub provider: String,
    pub live: sslprov_provider::Live,
}

fn made_by_an_interrupted_run() -> String {
    MADE_BY_AN_INTERRUPTED_RUN.to_owned()
}

pub const MADE_BY_AN_INTERRUPTED_RUN: &str = "made by an interrupted run";
pub const MARKED_BUT_NOT_IN_STATE: &str = "carries sslprov's mark, and the state has no entry for it";
pub const POINTS_AT_RECOVERED: &str =
    "points at what was recovered above, as the spec wants, and the state has no entry for it";

impl Plan {
    /// Whether apply has anything to do, in the cloud or in the state.
    pub fn has_changes(&self) -> bool {
        !self.summary.is_empty() || !self.recovered.is_empty()
    }
}
