//! `state migrate`: move a state between a local file and S3.
//!
//! The spec names where its state is, so migrate cannot switch a spec by itself. It copies the
//! spec's state to the target, reads the copy back and compares, and only then marks the old
//! place as moved (a small marker beside it, which makes every later command refuse the old place
//! and say where the state went). The user then changes the spec's `state:`. Each step leaves
//! the state whole: interrupted before the marker, the old place is still the state, and running
//! migrate again copies again; after it, the new place is. The old state itself is never deleted.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::error::Report;
use crate::state::{Location, Moved, S3Location, Store};

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["to_s3", "to_local"])))]
pub struct MigrateArgs {
    /// Copy to this S3 object: `s3://bucket/key`.
    #[arg(long, value_name = "S3_URL")]
    to_s3: Option<String>,
    /// With --to-s3: the bucket's region (default: the AWS configuration's).
    #[arg(long, requires = "to_s3")]
    region: Option<String>,
    /// With --to-s3: an S3-compatible endpoint instead of AWS's.
    #[arg(long, requires = "to_s3")]
    endpoint: Option<String>,
    /// Copy to this local file, relative to the spec's directory (default: sslprov.state.json).
    #[arg(long, value_name = "PATH", num_args = 0..=1, default_missing_value = "sslprov.state.json")]
    to_local: Option<PathBuf>,
    /// How long to wait for either state's lock.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0s")]
    lock_timeout: Duration,
    /// The spec file (its `state:` names the state to move).
    #[arg(short = 'f', long = "file", default_value_os_t = super::default_spec())]
    file: PathBuf,
}

impl MigrateArgs {
    /// The target, and the `state:` line the spec should say once it is there.
    fn target(&self, spec_dir: &std::path::Path) -> Result<(Location, String), Report> {
        if let Some(path) = &self.to_local {
            let line = format!("state: {{ path: {} }}", path.display());
            return Ok((Location::Local(spec_dir.join(path)), line));
        }
        let url = self.to_s3.as_deref().unwrap_or_default();
        let (bucket, key) = url
            .strip_prefix("s3://")
            .and_then(|rest| rest.split_once('/'))
            .ok_or_else(|| Report::new(format!("--to-s3 {url}: expected s3://bucket/key")))?;
        let s3 = S3Location {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            region: self.region.clone(),
            endpoint: self.endpoint.clone(),
        };
        if let Some((field, why)) = s3.problems().into_iter().next() {
            return Err(Report::new(format!("--to-s3 {url}: {field}: {why}")));
        }
        let mut fields = vec![format!("bucket: {}", s3.bucket), format!("key: {}", s3.key)];
        fields.extend(s3.region.iter().map(|r| format!("region: {r}")));
        fields.extend(s3.endpoint.iter().map(|e| format!("endpoint: {e}")));
        Ok((Location::S3(s3), format!("state: {{ s3: {{ {} }} }}", fields.join(", "))))
    }
}

pub async fn exec(a: MigrateArgs) -> Result<(), Report> {
    let spec = super::load_spec(&a.file)?;
    let spec_dir = spec.path.parent().map(PathBuf::from).unwrap_or_default();
    let (target_location, spec_line) = a.target(&spec_dir)?;
    if target_location == spec.state {
        return Err(Report::new(format!("the spec's state is already at {target_location}")));
    }
    let source = Store::open(&spec.state).await?;
    let target = Store::open(&target_location).await?;

    // Both locks, source first: no run writes either while the copy is made and checked.
    let source_lock = source.lock("migrate", a.lock_timeout).await?;
    if let Some(moved) = source.moved().await? {
        return Err(Report::new(format!(
            "the state at {} was migrated to {} already (serial {}, {}); change the spec's `state:` to it",
            source.location(),
            moved.to,
            moved.serial,
            moved.at
        )));
    }
    let state = source
        .read()
        .await?
        .state
        .ok_or_else(|| Report::new(format!("no state at {} to migrate", source.location())))?;
    let target_lock = target.lock("migrate", a.lock_timeout).await?;
    let _interrupts = super::interrupt::Interrupts::watch(source_lock.releaser().and(target_lock.releaser()));
    let there = target.read_even_if_moved().await?;
    if let Some(existing) = &there.state
        && (existing.lineage != state.lineage || existing.serial > state.serial)
    {
        return Err(Report::new(format!(
            "{} already holds a state (lineage {}, serial {}) that is not an older copy of this one (lineage {}, \
             serial {}); nothing was copied. Move it away first",
            target.location(),
            existing.lineage,
            existing.serial,
            state.lineage,
            state.serial
        )));
    }

    target.replace(&target_lock, &there, &state).await?;
    let copy = target.read_even_if_moved().await?.state;
    if copy.as_ref() != Some(&state) {
        return Err(Report::new(format!(
            "the copy at {} does not read back as the state at {}; the state stays at {}",
            target.location(),
            source.location(),
            source.location()
        )));
    }
    // The switch: the target is the state from here on, and the source says so.
    target.mark_moved(&target_lock, None).await?;
    let moved = Moved {
        to: target.location().to_string(),
        lineage: state.lineage.clone(),
        serial: state.serial,
        at: super::now(),
    };
    source.mark_moved(&source_lock, Some(&moved)).await?;
    target_lock.release().await;
    source_lock.release().await;

    outln!(
        "Copied the state (lineage {}, serial {}, {} resources) from {} to {}, and read it back.",
        state.lineage,
        state.serial,
        state.resources.len(),
        source.location(),
        target.location()
    );
    outln!("{} is marked as moved: sslprov refuses it from now on. It is kept, not deleted.", source.location());
    outln!("\nNow change the spec's state to:\n\n  {spec_line}\n");
    Ok(())
}
