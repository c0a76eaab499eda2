//! `sslprov init`: a first spec from the tracking CNAMEs the DNS hosts already hold.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::args;
use crate::discover::{self, Finding};
use crate::error::{Report, exit};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the spec; `-` for standard output. An existing file is kept unless --force.
    #[arg(short = 'o', long = "output", value_name = "FILE", default_value_os_t = super::default_spec())]
    output: PathBuf,
    /// Only this zone (repeatable); by default every zone the credentials can read.
    #[arg(long = "zone", value_name = "ZONE", value_parser = args::zone)]
    zones: Vec<String>,
    /// Only this DNS host (repeatable), which must then be readable; by default every DNS host is
    /// tried and one without credentials is skipped.
    #[arg(long = "dns", value_name = "HOST", value_parser = args::dns_host)]
    dns: Vec<String>,
    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
}

pub async fn exec(a: InitArgs) -> Result<u8, Report> {
    let stdout = a.output == Path::new("-");
    // Before any call: a spec someone wrote by hand is not replaced by accident.
    if !stdout && !a.force && a.output.exists() {
        return Err(Report::new(format!(
            "{} exists: pass --force to replace it, or write elsewhere with -o FILE (-o - for standard output)",
            a.output.display()
        )));
    }
    let explicit = !a.dns.is_empty();
    let hosts: Vec<String> = match explicit {
        true => a.dns.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect(),
        false => crate::registry::dns_hosts().into_iter().map(str::to_owned).collect(),
    };
    let only: BTreeSet<String> = a.zones.iter().cloned().collect();
    let scan = discover::scan(&hosts, explicit, &only).await.map_err(|e| Report::new(e.message))?;
    for s in &scan.skipped {
        tracing::warn!("{} not scanned: {}", discover::title(&s.dns), s.why);
    }
    for (dns, zone, why) in &scan.unread {
        tracing::warn!("{} zone {zone} not read: {why}", discover::title(dns));
    }
    let findings = discover::classify(&scan.cnames);
    let written = discover::write(&scan, &findings);
    let zones: usize = scan.zones.values().map(Vec::len).sum();
    let calls: u64 = scan.calls.values().sum();
    let read = format!("Read {zones} zone(s) in {calls} API call(s), all reads");
    if written.domains == 0 {
        for f in findings.iter().filter(|f| !matches!(f, Finding::AtCdn { .. })) {
            if let Finding::NotAdded { cname, why } = f {
                eprintln!("  - {}: {why}", cname.shown());
            }
        }
        return Err(Report::new(format!(
            "{read}: no HTTP-era tracking CNAME to adopt{}, so no spec was written",
            match written.not_added {
                0 => String::new(),
                n => format!(" ({n} ESP record(s) found and not adoptable, listed above)"),
            }
        )));
    }
    // What init writes, validate must accept: a spec that does not parse is sslprov's defect.
    let path = if stdout { super::default_spec() } else { a.output.clone() };
    if let Err(e) = crate::spec::Spec::parse(&path, &written.text) {
        return Err(Report::new(format!("sslprov wrote a spec it does not accept itself (a defect): {e}")));
    }
    if stdout {
        out!("{}", written.text);
    } else {
        write(&a.output, &written.text, a.force)?;
    }
    let wrote = if stdout { "the spec to standard output".to_owned() } else { a.output.display().to_string() };
    eprintln!(
        "{read}: {} tracking domain(s) to adopt, {} other record(s) noted and not added. Wrote {wrote}: check its \
         `confirm` comments (braze_cluster first), then run `sslprov validate` and `sslprov plan`.",
        written.domains,
        written.not_added + written.at_cdn
    );
    Ok(exit::OK)
}

/// Writes the spec; without `force`, only as a new file (another process may have made one
/// since the check).
fn write(path: &Path, text: &str, force: bool) -> Result<(), Report> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path).map_err(|e| Report::new(format!("cannot write {}: {e}", path.display())))?;
    file.write_all(text.as_bytes()).map_err(|e| Report::new(format!("cannot write {}: {e}", path.display())))
}
