//! Drift: what changed in the cloud, outside sslprov, since the state was written. Unlike a plan,
//! which compares the cloud with the spec, drift compares it with the state: a spec edited but
//! not applied yet is not drift, a record someone repointed by hand is.

use serde::Serialize;
use serde_json::Value;

use crate::plan::attribute_changes;
use crate::refresh::{Inventory, selected};
use crate::state::State;

/// One object that is not as sslprov left it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Drifted {
    pub address: String,
    pub id: String,
    #[serde(flatten)]
    pub how: How,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "drift", rename_all = "snake_case")]
pub enum How {
    /// Its owned fields differ from the state's.
    Changed { changes: Vec<Field> },
    /// It is gone.
    Deleted,
    /// A run stopped while changing it: the state cannot say what it should be.
    Unfinished { op: String, since: String },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Field {
    pub path: String,
    /// As the state has it.
    pub state: Option<Value>,
    /// As the cloud has it.
    pub cloud: Option<Value>,
}

/// Every object the state records for the selected domains, held against what the refresh found.
pub fn detect(state: &State, inventory: &Inventory, targets: &[String]) -> (usize, Vec<Drifted>) {
    let mut checked = 0;
    let mut drifted = Vec::new();
    // Shared objects serve every domain: checked whatever the targets.
    for (address, r) in state.resources.iter().filter(|(_, r)| r.is_shared() || selected(targets, &r.domain)) {
        let Some(id) = &r.id else { continue };
        checked += 1;
        let drift = |how| Drifted { address: address.clone(), id: id.clone(), how };
        if let Some(intent) = &r.intent {
            drifted.push(drift(How::Unfinished {
                op: format!("{:?}", intent.op).to_lowercase(),
                since: intent.started.clone(),
            }));
            continue;
        }
        let Some(live) = inventory.lives(&r.provider, &r.kind).iter().find(|l| &l.id == id) else {
            drifted.push(drift(How::Deleted));
            continue;
        };
        let changes: Vec<Field> = attribute_changes(r.desired.as_ref(), Some(&live.desired))
            .into_iter()
            .map(|a| Field { path: a.path, state: a.before, cloud: a.after })
            .collect();
        if !changes.is_empty() && r.desired.is_some() {
            drifted.push(drift(How::Changed { changes }));
        }
    }
    (checked, drifted)
}
