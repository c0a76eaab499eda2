//! `sslprov handoff`: what the Braze customer success manager needs to switch SSL on, for each
//! domain that verifies ready, with the evidence and the ESP's own notes (templates' `handoff`);
//! the domains not ready are listed with why.

use std::fmt::Write as _;

use serde::Serialize;

use super::report::{CertificateInfo, Check, Verification, cdn_name, proxied};
use crate::spec::Spec;
use crate::template::templates;

#[derive(Clone, Debug, Serialize)]
pub struct Handoff {
    /// RFC 3339: when the checks ran.
    pub verified_at: String,
    pub ready: Vec<ReadyDomain>,
    pub not_ready: Vec<NotReady>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ReadyDomain {
    pub key: String,
    pub tracking_domain: String,
    pub esp: String,
    pub esp_name: String,
    pub braze_cluster: String,
    pub cdn: String,
    pub cdn_name: String,
    pub endpoint: Option<String>,
    pub certificate: Option<CertificateInfo>,
    pub evidence: Vec<Check>,
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct NotReady {
    pub key: String,
    pub tracking_domain: String,
    pub esp: String,
    /// `check: what it saw (fix: …)`, one per failed check.
    pub why: Vec<String>,
}

pub fn build(spec: &Spec, v: &Verification) -> Handoff {
    let mut ready = Vec::new();
    let mut not_ready = Vec::new();
    for d in &v.domains {
        let Some(t) = templates().esp.get(&d.esp) else { continue };
        if d.ready {
            // With no CDN, the ESP's own HTTPS has its own notes; the CDN ones do not apply.
            let own = templates().cdn.get(&d.cdn).is_some_and(|c| c.requires.managed_https);
            let mut notes = match &t.managed_https {
                Some(m) if own => m.handoff.clone(),
                _ => t.handoff.clone(),
            };
            if let Some(note) = t.handoff_account.as_ref().filter(|_| !own) {
                notes.push(account_note(note, &d.esp, spec, v));
            }
            ready.push(ReadyDomain {
                key: d.key.clone(),
                tracking_domain: d.tracking_domain.clone(),
                esp: d.esp.clone(),
                esp_name: t.name.clone(),
                braze_cluster: d.braze_cluster.clone(),
                cdn: d.cdn.clone(),
                cdn_name: cdn_name(&d.cdn).to_owned(),
                endpoint: d.endpoint.clone(),
                certificate: d.certificate.clone(),
                evidence: d.checks.clone(),
                notes,
            });
        } else {
            let why = d
                .checks
                .iter()
                .filter(|c| c.status == super::Status::Fail)
                .map(|c| match &c.fix {
                    Some(f) => format!("{}: {} (fix: {f})", c.check.name(), c.saw),
                    None => format!("{}: {}", c.check.name(), c.saw),
                })
                .collect();
            not_ready.push(NotReady {
                key: d.key.clone(),
                tracking_domain: d.tracking_domain.clone(),
                esp: d.esp.clone(),
                why,
            });
        }
    }
    Handoff { verified_at: v.checked_at.clone(), ready, not_ready }
}

/// An ESP that switches HTTPS on for a whole account (SendGrid, gotcha 13) needs every domain of
/// the account ready first. The spec does not know accounts, so every domain of the ESP in it is
/// listed with its state, into the template's note.
fn account_note(note: &str, esp: &str, spec: &Spec, v: &Verification) -> String {
    let list: Vec<String> = spec
        .domains
        .values()
        .filter(|d| d.esp == esp)
        .map(|d| {
            let state = match v.domains.iter().find(|r| r.key == d.key) {
                Some(r) if r.ready => "ready",
                Some(_) => "NOT ready",
                None => "not verified in this run",
            };
            format!("{} ({state})", d.tracking_domain)
        })
        .collect();
    note.replace("{domains}", &list.join(", "))
}

pub fn render_markdown(h: &Handoff) -> String {
    let mut out = String::from("# HTTPS click tracking: hand-off to Braze\n\n");
    if h.ready.is_empty() {
        out.push_str("No domain is ready for SSL click tracking yet.\n");
    } else {
        let _ = writeln!(
            out,
            "Please turn on SSL click tracking for the domain(s) below. Each was verified end to end at {}.\n",
            h.verified_at
        );
    }
    for d in &h.ready {
        let _ = writeln!(out, "## {}\n", d.tracking_domain);
        let _ = writeln!(out, "- ESP: {}", d.esp_name);
        let _ = writeln!(out, "- Braze cluster: {}", d.braze_cluster);
        match &d.endpoint {
            Some(e) => {
                let _ = writeln!(out, "- CDN: {} (endpoint `{e}`)", d.cdn_name);
            }
            None if proxied(&d.cdn) => {
                let _ = writeln!(out, "- CDN: {} (proxied record)", d.cdn_name);
            }
            None => {
                let _ = writeln!(out, "- CDN: {}", d.cdn_name);
            }
        }
        if let Some(c) = &d.certificate {
            let _ = writeln!(
                out,
                "- Certificate: {} — expires {} ({} days left), issued by {}",
                c.names.join(", "),
                c.not_after,
                c.days_left,
                c.issuer
            );
        }
        out.push_str("- Verification:\n");
        for c in &d.evidence {
            let _ = writeln!(out, "  - {} {}: {}", c.status.symbol(), c.check.name(), c.saw);
        }
        let _ = writeln!(out, "- Notes for {}:", d.esp_name);
        for n in &d.notes {
            let _ = writeln!(out, "  - {n}");
        }
        out.push('\n');
    }
    if !h.not_ready.is_empty() {
        out.push_str("## Not ready (do not switch SSL on for these)\n\n");
        for d in &h.not_ready {
            let _ = writeln!(out, "- {} ({}):", d.tracking_domain, d.key);
            for w in &d.why {
                let _ = writeln!(out, "  - {w}");
            }
        }
    }
    out
}
