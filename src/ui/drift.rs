//! The drift report: each object not as sslprov left it, the fields as the state has them and
//! as the cloud has them.

use std::fmt::Write;

use super::plan::value;
use crate::drift::{Drifted, How};

pub fn render_drift(checked: usize, drifted: &[Drifted]) -> String {
    if drifted.is_empty() {
        return format!("No drift. The cloud matches the state ({checked} objects checked).\n");
    }
    let mut out = format!("Drift: {} of {checked} objects are not as sslprov left them.\n", drifted.len());
    for d in drifted {
        let _ = write!(out, "\n  # {} ({}) ", d.address, d.id);
        match &d.how {
            How::Deleted => out.push_str("was deleted outside sslprov\n"),
            How::Unfinished { op, since } => {
                let _ = writeln!(out, "was left unfinished by a run stopped during its {op} (since {since})");
            }
            How::Changed { changes } => {
                out.push_str("changed outside sslprov\n");
                for f in changes {
                    let shown = |v: &Option<serde_json::Value>| v.as_ref().map_or_else(|| "null".to_owned(), value);
                    let _ = writeln!(out, "      ~ {} = {} -> {}", f.path, shown(&f.state), shown(&f.cloud));
                }
            }
        }
    }
    out.push_str(
        "\n`sslprov plan` shows what apply would do about it; `sslprov apply` puts it back as the spec says.\n",
    );
    out
}
