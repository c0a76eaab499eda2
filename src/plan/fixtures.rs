//! Plans and changes for the tests of what reads a plan (the guard, the renderers, verify).

use super::{Action, Change, FORMAT_VERSION, Mode, Plan, SpecRef, StateRef, Summary};

/// A change of `domain`'s `part`, a DNS record, with nothing known before or after.
pub(crate) fn change(domain: &str, part: &str, action: Action) -> Change {
    Change {
        address: format!("{domain}.{part}"),
        domain: domain.into(),
        shared: None,
        users: Vec::new(),
        part: part.into(),
        provider: "dns".into(),
        kind: "record".into(),
        action,
        reason: None,
        id: None,
        before: None,
        after: None,
        after_unknown: Vec::new(),
        adopt: false,
        deposed: false,
    }
}

/// An apply plan of `changes` from sslprov.yaml, against state serial 7.
pub(crate) fn plan(changes: Vec<Change>) -> Plan {
    Plan {
        format_version: FORMAT_VERSION.into(),
        sslprov_version: "0.1.0".into(),
        created: "2026-12-01T12:00:00Z".into(),
        mode: Mode::Apply,
        spec: SpecRef { path: "sslprov.yaml".into(), sha256: "0123456789abcdef0123".into() },
        state: StateRef { path: "sslprov.state.json".into(), lineage: "lin-1".into(), serial: 7, exists: true },
        targets: Vec::new(),
        restore_adopted: false,
        summary: Summary::of(&changes),
        changes,
        recovered: Vec::new(),
        kept: Vec::new(),
        warnings: Vec::new(),
    }
}
