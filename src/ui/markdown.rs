//! The plan as a pull-request comment: a summary line, what needs a reviewer's eye (warnings,
//! adoptions, recovered objects) up front, one collapsed section per domain with its diff, and a
//! footer that ties the comment to the spec and state it was made from.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::plan::{quote, summary_line, value, verb};
use crate::plan::{Action, Change, Mode, Plan, Summary, attribute_changes};

/// GitHub refuses comments over 65,536 characters; this leaves room for what a workflow wraps
/// around the plan.
pub const LIMIT: usize = 60_000;

pub fn render_markdown(plan: &Plan) -> String {
    let mut head = String::new();
    let title = if plan.mode == Mode::Destroy { "sslprov destroy plan" } else { "sslprov plan" };
    if plan.changes.is_empty() && plan.recovered.is_empty() {
        let _ = writeln!(head, "#### {title}: no changes\n");
        head.push_str(match plan.mode {
            Mode::Apply => "The cloud matches the spec.\n",
            Mode::Destroy => "Nothing in state to destroy.\n",
        });
        return head + &footer(plan);
    }
    let _ = writeln!(head, "#### {title}: {}", summary_line(&plan.summary));
    for w in &plan.warnings {
        let _ = write!(head, "\n> [!WARNING]\n> {}\n", inline(w));
    }
    let adopted: Vec<&Change> = plan.changes.iter().filter(|c| c.adopt).collect();
    if !adopted.is_empty() {
        head.push_str("\n**Adopted** (existing objects sslprov takes over):\n");
        for c in adopted {
            let _ = writeln!(head, "- `{}`: {}", c.address, inline(c.reason.as_deref().unwrap_or("adopted")));
        }
    }
    if !plan.recovered.is_empty() {
        head.push_str("\n**Recovered** (in the cloud but not in the state; apply records them):\n");
        for r in &plan.recovered {
            let _ = writeln!(head, "- `{}` is `{}`: {}", r.address, r.live.id, inline(&r.how));
        }
    }

    if !plan.kept.is_empty() {
        head.push_str("\n**Kept** (shared objects that domains still use):\n");
        for k in &plan.kept {
            let _ = writeln!(head, "- `{}`: still used by {}", k.address, k.users.join(", "));
        }
    }

    // Shared objects (no domain of their own) in a section of their own, first.
    let mut by_domain: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
    for c in &plan.changes {
        let group = if c.shared.is_some() { "" } else { c.domain.as_str() };
        by_domain.entry(group).or_default().push(c);
    }
    let foot = footer(plan);
    let mut body = String::new();
    let mut shown = 0;
    for (domain, changes) in &by_domain {
        let section = section(domain, changes);
        let note_room = 200;
        if head.len() + body.len() + section.len() + foot.len() + note_room > LIMIT {
            break;
        }
        body.push_str(&section);
        shown += 1;
    }
    if shown < by_domain.len() {
        let _ = write!(
            body,
            "\n> [!NOTE]\n> {} of {} domains are not shown: the plan is longer than a comment holds. `sslprov show \
             PLAN` prints it whole.\n",
            by_domain.len() - shown,
            by_domain.len()
        );
    }
    head + &body + &foot
}

/// One domain, collapsed: its own summary, then each change as a diff.
fn section(domain: &str, changes: &[&Change]) -> String {
    let owned: Vec<Change> = changes.iter().map(|c| (*c).clone()).collect();
    let name = if domain.is_empty() { "shared objects" } else { domain };
    let mut out = format!(
        "\n<details><summary><code>{name}</code>: {}</summary>\n\n```diff\n",
        domain_summary(&Summary::of(&owned))
    );
    for (i, c) in changes.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        diff(&mut out, c);
    }
    out.push_str("```\n\n</details>\n");
    out
}

/// Only the counts that are not zero: "2 to add, 1 to change".
fn domain_summary(s: &Summary) -> String {
    let parts: Vec<String> = [
        (s.add, "to add"),
        (s.change, "to change"),
        (s.replace, "to replace"),
        (s.destroy, "to destroy"),
        (s.forget, "to forget"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    parts.join(", ")
}

/// A change in diff syntax, so a code host colours it: `+` added, `-` removed, `#` the header.
fn diff(out: &mut String, c: &Change) {
    let _ = writeln!(out, "# {} {}", c.address, verb(c));
    if let Some(reason) = &c.reason {
        let _ = writeln!(out, "# ({reason})");
    }
    if let Some(note) = super::plan::shared_note(c).filter(|_| !c.users.is_empty()) {
        let _ = writeln!(out, "# ({note})");
    }
    if let Some(id) = &c.id {
        let sign = if matches!(c.action, Action::Delete) { "-" } else { " " };
        let _ = writeln!(out, "{sign} id = {}", quote(id));
    }
    if matches!(c.action, Action::Delete | Action::Forget) {
        return;
    }
    for a in attribute_changes(c.before.as_ref(), c.after.as_ref()) {
        if let Some(b) = &a.before {
            let _ = writeln!(out, "- {} = {}", a.path, value(b));
        }
        if let Some(v) = &a.after {
            let _ = writeln!(out, "+ {} = {}", a.path, value(v));
        }
    }
}

fn footer(plan: &Plan) -> String {
    let state =
        if plan.state.exists { format!("state serial {}", plan.state.serial) } else { "no state yet".to_owned() };
    format!(
        "\n<sub>Spec <code>{}</code> (sha256 <code>{}</code>) · {state}, lineage <code>{}</code> · sslprov {} · {}</sub>\n",
        plan.spec.path.display(),
        &plan.spec.sha256[..plan.spec.sha256.len().min(12)],
        plan.state.lineage,
        plan.sslprov_version,
        plan.created
    )
}

/// Text for a Markdown line: no line breaks.
fn inline(text: &str) -> String {
    text.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use sslprov_provider::Desired;

    use super::*;
    use crate::plan::fixtures::{self, change};

    fn desired(fields: serde_json::Value) -> Desired {
        serde_json::from_value(fields).unwrap()
    }

    fn plan(changes: Vec<Change>) -> Plan {
        Plan { warnings: vec!["acme.distribution: the origin answers slowly".into()], ..fixtures::plan(changes) }
    }

    #[test]
    fn a_plan_reads_as_a_pull_request_comment() {
        let mut create = change("acme", "record", Action::Create);
        create.after = Some(desired(serde_json::json!({"kind": "record", "name": "url1.acme.com", "ttl": 300})));
        let mut adopt = change("beta", "tracking_record", Action::Update);
        adopt.adopt = true;
        adopt.id = Some("Z1/click.beta.io/CNAME".into());
        adopt.reason = Some("adopts the existing record".into());
        adopt.before = Some(desired(serde_json::json!({"kind": "record", "value": "sendgrid.net"})));
        adopt.after = Some(desired(serde_json::json!({"kind": "record", "value": "d1.cloudfront.net"})));
        let mut delete = change("beta", "old", Action::Delete);
        delete.id = Some("E1".into());
        let md = render_markdown(&plan(vec![create, adopt, delete]));
        assert_eq!(
            md,
            "\
#### sslprov plan: 1 to add, 1 to change, 0 to replace, 1 to destroy

> [!WARNING]
> acme.distribution: the origin answers slowly

**Adopted** (existing objects sslprov takes over):
- `beta.tracking_record`: adopts the existing record

<details><summary><code>acme</code>: 1 to add</summary>

```diff
# acme.record will be created
+ name = \"url1.acme.com\"
+ ttl = 300
```

</details>

<details><summary><code>beta</code>: 1 to change, 1 to destroy</summary>

```diff
# beta.tracking_record will be adopted and updated in place
# (adopts the existing record)
  id = \"Z1/click.beta.io/CNAME\"
- value = \"sendgrid.net\"
+ value = \"d1.cloudfront.net\"

# beta.old will be destroyed
- id = \"E1\"
```

</details>

<sub>Spec <code>sslprov.yaml</code> (sha256 <code>0123456789ab</code>) · state serial 7, lineage <code>lin-1</code> · sslprov 0.1.0 · 2026-12-01T12:00:00Z</sub>
"
        );
    }

    #[test]
    fn a_plan_without_changes_says_so() {
        let mut p = plan(Vec::new());
        p.warnings.clear();
        assert!(render_markdown(&p).starts_with("#### sslprov plan: no changes\n\nThe cloud matches the spec.\n"));
    }

    #[test]
    fn a_plan_too_long_for_a_comment_is_cut_between_domains_with_a_note() {
        let changes: Vec<Change> = (0..2000)
            .map(|i| {
                let mut c = change(&format!("brand{i:04}"), "record", Action::Create);
                c.after = Some(desired(serde_json::json!({"kind": "record", "name": format!("url{i}.brand.com")})));
                c
            })
            .collect();
        let md = render_markdown(&plan(changes));
        assert!(md.len() <= LIMIT, "{}", md.len());
        let shown = md.matches("<details>").count();
        assert!(shown > 100, "as many domains as fit: {shown}");
        assert!(md.contains(&format!("> {} of 2000 domains are not shown", 2000 - shown)), "{md}");
        assert!(md.ends_with("2026-12-01T12:00:00Z</sub>\n"), "the footer is always there");
    }
}
