//! Discovery (`sslprov init`): the DNS zones a team's credentials can read, swept for HTTP-era
//! tracking CNAMEs, and a first spec that adopts them.
//!
//! Three steps, each its own module: `scan` reads zones and records through the DNS providers
//! (list calls only: nothing is written), `classify` says what each CNAME is, from the ESP and
//! CDN templates (the engine knows no ESP target itself), and `write` turns the findings into a
//! spec whose comments say what was found and what the user must confirm.

mod classify;
mod scan;
mod write;

pub use classify::{Finding, classify};
pub use scan::{Scan, Skipped, scan};
pub use write::{Written, write};

/// One CNAME a DNS host holds, as discovery saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cname {
    /// The DNS host's provider name (`dns:` in a spec).
    pub dns: String,
    pub zone: String,
    /// Lower case, no trailing dot.
    pub name: String,
    /// Lower case, no trailing dot.
    pub target: String,
    /// The DNS host serves the name through its own edge (a CDN) rather than answering the CNAME.
    pub proxied: bool,
}

impl Cname {
    /// `url1234.acme.com → sendgrid.net`, as comments show it.
    pub fn shown(&self) -> String {
        let proxied = if self.proxied { ", proxied" } else { "" };
        format!("{} CNAME {} ({} zone {}{proxied})", self.name, self.target, title(&self.dns), self.zone)
    }
}

/// What people call a provider: its registry title, or its name.
pub fn title(provider: &str) -> &str {
    crate::registry::get(provider).map_or(provider, |r| r.info.title)
}
