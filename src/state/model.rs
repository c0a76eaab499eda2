//! The state document.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::Digest;
use sslprov_provider::{Desired, IdempotencyToken, Outputs};

pub const STATE_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// Fixed when the state is first written; a plan made against another lineage is refused.
    pub lineage: String,
    /// Incremented on every write; a plan made against an older serial is stale.
    pub serial: u64,
    pub resources: BTreeMap<String, ResourceState>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceState {
    /// The provider's kind.
    pub kind: String,
    pub provider: String,
    /// The spec's domain key this resource serves; empty for a shared object, which serves every
    /// domain whose template renders its identity.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
    /// For a shared object (address `<part>@<identity>`): its identity. It is deleted once no
    /// domain left uses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<String>,
    /// The CDN template the domain's resources come from: how a domain removed from the spec is
    /// destroyed in the right order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdn: Option<String>,
    /// Provider id; `None` while the create that will give it one is in flight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The owned fields as last applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired: Option<Desired>,
    #[serde(default, skip_serializing_if = "Outputs::is_empty")]
    pub outputs: Outputs,
    /// Recorded before every mutating call and cleared when its result is recorded. A resource
    /// with an intent was being changed when a run stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<Intent>,
    /// The object as it was before sslprov adopted it (an existing tracking record), so destroy
    /// can put it back when asked (`--restore-adopted`) or, for an object the template shares
    /// rather than takes over, leave it in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted: Option<Desired>,
    /// Ids of objects this one replaced, still to be deleted once nothing uses them (a
    /// certificate the distribution served until it moved to the new one). Recorded with the
    /// replacement's intent, so a run stopped at any point leaves them to the next.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deposed: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Create,
    Update,
    Delete,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    pub op: Op,
    pub token: IdempotencyToken,
    pub started: String,
}

impl ResourceState {
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }
}

impl State {
    pub fn new(lineage: String) -> State {
        State { version: STATE_VERSION, lineage, serial: 0, resources: BTreeMap::new() }
    }

    /// The token for a create at `address`: the token of an unfinished create there (a run that
    /// was killed), or a new one derived from lineage, address and serial — so a retried or
    /// resumed create presents the same token and the vendor returns the same object.
    pub fn create_token(&self, address: &str) -> IdempotencyToken {
        if let Some(Intent { op: Op::Create, token, .. }) = self.resources.get(address).and_then(|r| r.intent.as_ref())
        {
            return token.clone();
        }
        let digest = sha2::Sha256::digest(format!("{}/{}/{}", self.lineage, address, self.serial));
        // ACM takes at most 32 word characters; CloudFront takes any string.
        IdempotencyToken(hex::encode(&digest[..16]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unfinished_create_keeps_its_token() {
        let mut s = State::new("lin".into());
        let t1 = s.create_token("acme.certificate");
        assert_eq!(t1.as_str().len(), 32);
        s.serial += 5;
        assert_ne!(s.create_token("acme.certificate"), t1, "a new intent gets a new token");
        s.resources.insert(
            "acme.certificate".into(),
            ResourceState {
                kind: "certificate".into(),
                provider: "p".into(),
                domain: "acme".into(),
                shared: None,
                cdn: None,
                id: None,
                desired: None,
                outputs: Outputs::default(),
                intent: Some(Intent { op: Op::Create, token: t1.clone(), started: "t".into() }),
                adopted: None,
                deposed: Vec::new(),
            },
        );
        s.serial += 1;
        assert_eq!(s.create_token("acme.certificate"), t1);
        assert_ne!(s.create_token("beta.certificate"), t1);
    }
}
