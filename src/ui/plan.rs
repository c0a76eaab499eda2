//! The human plan, Terraform-style: one block per change, attribute-level before → after.

use std::fmt::Write;

use serde_json::Value;

use crate::plan::{Action, Change, Mode, Plan, Summary, attribute_changes};
use crate::template::KNOWN_AFTER_APPLY;

pub fn render_plan(plan: &Plan) -> String {
    let mut out = String::new();
    for r in &plan.recovered {
        let _ = writeln!(out, "Recovered: {} is {} ({}; apply records it)", r.address, r.live.id, r.how);
    }
    if !plan.recovered.is_empty() {
        out.push('\n');
    }
    if plan.changes.is_empty() {
        out.push_str(match plan.mode {
            Mode::Apply => "No changes. The cloud matches the spec.\n",
            Mode::Destroy => "No changes. Nothing in state to destroy.\n",
        });
        return out;
    }
    out.push_str("sslprov will perform the following actions:\n");
    for c in &plan.changes {
        out.push('\n');
        render_change(&mut out, c);
    }
    for w in &plan.warnings {
        let _ = write!(out, "\nWarning: {w}");
    }
    if !plan.warnings.is_empty() {
        out.push('\n');
    }
    kept(&mut out, plan);
    let _ = writeln!(out, "\nPlan: {}.", summary_line(&plan.summary));
    out
}

/// The shared objects a destroyed domain used that stay, for the domains still using them.
pub(super) fn kept(out: &mut String, plan: &Plan) {
    for k in &plan.kept {
        let _ = write!(out, "\nKept: {} (shared; still used by {})", k.address, k.users.join(", "));
    }
    if !plan.kept.is_empty() {
        out.push('\n');
    }
}

/// Who uses a shared object once the plan is applied, for its header.
pub(super) fn shared_note(c: &Change) -> Option<String> {
    c.shared.as_ref()?;
    Some(match c.users.as_slice() {
        [] => "shared; no domain uses it any more".to_owned(),
        users => format!("shared by {}", users.join(", ")),
    })
}

/// "4 to add, 0 to change, 0 to replace, 0 to destroy", and the forgets when there are any.
pub(super) fn summary_line(s: &Summary) -> String {
    let mut line =
        format!("{} to add, {} to change, {} to replace, {} to destroy", s.add, s.change, s.replace, s.destroy);
    if s.forget > 0 {
        let _ = write!(line, ", {} to forget", s.forget);
    }
    line
}

/// What a change will do, after its address: "will be created".
pub(super) fn verb(c: &Change) -> &'static str {
    match c.action {
        Action::Create => "will be created",
        Action::Update if c.adopt => "will be adopted and updated in place",
        Action::Update => "will be updated in place",
        Action::Replace => "must be replaced (new one created first)",
        Action::Delete => "will be destroyed",
        Action::Forget => "will be removed from state; the object is left as it is",
    }
}

fn render_change(out: &mut String, c: &Change) {
    let _ = writeln!(out, "  # {} {}", c.address, verb(c));
    if let Some(reason) = &c.reason {
        let _ = writeln!(out, "  # ({reason})");
    }
    if let Some(note) = shared_note(c).filter(|_| !c.users.is_empty()) {
        let _ = writeln!(out, "  # ({note})");
    }
    let kind = &c.kind;
    let _ = writeln!(out, "  {} {kind} \"{}\" {{", c.action.symbol(), c.address);
    if let Some(id) = &c.id {
        let _ = writeln!(out, "        id = {}", quote(id));
    }
    match c.action {
        Action::Delete | Action::Forget => {}
        _ => {
            let changes = attribute_changes(c.before.as_ref(), c.after.as_ref());
            let width = changes.iter().map(|a| a.path.len()).max().unwrap_or(0);
            for a in &changes {
                let (sym, text) = match (&a.before, &a.after) {
                    (None, Some(v)) => ("+", value(v)),
                    (Some(b), Some(v)) => ("~", format!("{} -> {}", value(b), value(v))),
                    (Some(b), None) => ("-", format!("{} -> null", value(b))),
                    (None, None) => continue,
                };
                let _ = writeln!(out, "      {sym} {:width$} = {text}", a.path);
            }
            if c.before.is_some() {
                let total =
                    c.after.as_ref().map(|d| leaf_count(&serde_json::to_value(d).expect("serializes"))).unwrap_or(0);
                let hidden = total.saturating_sub(changes.len() + 1);
                if hidden > 0 {
                    let _ = writeln!(out, "        # ({hidden} unchanged attributes hidden)");
                }
            }
        }
    }
    out.push_str("    }\n");
}

fn leaf_count(v: &Value) -> usize {
    match v {
        Value::Object(m) => m.values().map(leaf_count).sum(),
        _ => 1,
    }
}

/// Values longer than this show their start and their length: a certificate chain or a sealed
/// key is not read in a plan, only seen to change (the JSON plan has them whole).
const SHOWN: usize = 48;

pub(super) fn quote(s: &str) -> String {
    if s == KNOWN_AFTER_APPLY {
        return s.to_owned();
    }
    let chars = s.chars().count();
    if chars <= SHOWN * 2 {
        return format!("{s:?}");
    }
    let start: String = s.chars().take(SHOWN).collect();
    format!("{:?}… ({chars} characters)", start)
}

pub(super) fn value(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::Array(items) => format!("[{}]", items.iter().map(value).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => {
            format!("{{ {} }}", m.iter().map(|(k, v)| format!("{k} = {}", value(v))).collect::<Vec<_>>().join(", "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_values_show_their_start_and_length() {
        assert_eq!(super::quote("sendgrid.net"), "\"sendgrid.net\"");
        let pem = format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", "A".repeat(200));
        let shown = super::quote(&pem);
        assert!(shown.starts_with("\"-----BEGIN CERTIFICATE-----\\nAAAA"), "{shown}");
        assert!(shown.ends_with("… (255 characters)"), "{shown}");
    }
}
