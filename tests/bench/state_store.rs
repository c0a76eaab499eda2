//! `cargo bench --bench state_store`: what recording an apply costs the local state store, for N
//! domains (SSLPROV_BENCH_DOMAINS, default 1000). It drives the store with the writes an apply
//! makes on CloudFront: four steps per domain (certificate, validation record, distribution,
//! tracking record), each an intent before the call and a result after it, with resources as a
//! real apply records them (`state_store_domain.json`, one domain's four, from moto).
//!
//! It prints bytes written and fsyncs for:
//! - before: the store up to this change, which rewrote and fsynced the whole state, plus a
//!   backup copy, after every step. Its figures come from replaying its algorithm below: for real
//!   on disk up to SSLPROV_BENCH_LEGACY_MAX domains (default 100), and beyond that by counting
//!   what it would write (the same serialisation, into a counter instead of a file): 1,000
//!   domains would write tens of gigabytes.
//! - after: the journal (one entry and one fdatasync per record, the snapshot once at the end),
//!   through sslprov's own store, on disk.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use sslprov::state::{Location, ResourceState, State, Store, io_stats};

const PARTS: [&str; 4] = ["certificate", "validation_record", "distribution", "tracking_record"];

fn main() {
    let n: usize = env("SSLPROV_BENCH_DOMAINS", 1000);
    let legacy_max: usize = env("SSLPROV_BENCH_LEGACY_MAX", 100);
    let template: std::collections::BTreeMap<String, ResourceState> =
        serde_json::from_str(include_str!("state_store_domain.json")).expect("the domain fixture parses");
    let steps = apply_steps(&template, n);
    println!("state store: {n} domains, {} records (intent and result of 4 steps per domain)\n", steps.len());
    println!("{:<34} {:>16} {:>9} {:>10} {:>14}", "", "bytes written", "fsyncs", "wall", "bytes/record");

    let dir = tempfile::tempdir().expect("temp dir");
    let legacy =
        if n <= legacy_max { legacy_on_disk(&dir.path().join("legacy.json"), &steps) } else { legacy_counted(&steps) };
    let mode = if n <= legacy_max { "on disk" } else { "counted" };
    report(&format!("before (whole file per step, {mode})"), legacy, steps.len());

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let journal = rt.block_on(journal_on_disk(&dir.path().join("sslprov.state.json"), &steps));
    report("after (journal + one snapshot)", journal, steps.len());
    println!(
        "\nratio: {:.0}× fewer bytes, {:.1}× fewer fsyncs",
        legacy.bytes as f64 / journal.bytes.max(1) as f64,
        legacy.fsyncs as f64 / journal.fsyncs.max(1) as f64
    );
}

#[derive(Clone, Copy, Debug)]
struct Cost {
    bytes: u64,
    fsyncs: u64,
    wall: Option<Duration>,
}

fn report(label: &str, c: Cost, records: usize) {
    let wall = c.wall.map_or_else(|| "-".to_owned(), |w| format!("{:.2} s", w.as_secs_f64()));
    println!(
        "{label:<34} {:>16} {:>9} {wall:>10} {:>14}",
        group(c.bytes),
        group(c.fsyncs),
        group(c.bytes / records as u64)
    );
}

/// One record: the address and its value after the step (`None`: removed).
type Step = (String, ResourceState);

/// The records an apply of `n` new domains makes, in order: per resource, the intent (no id,
/// no outputs yet) and then the result.
fn apply_steps(template: &std::collections::BTreeMap<String, ResourceState>, n: usize) -> Vec<Step> {
    let mut steps = Vec::with_capacity(n * 8);
    for i in 0..n {
        for part in PARTS {
            let json = serde_json::to_string(&template[&format!("acme.{part}")]).expect("serializes");
            let json = json
                .replace("url1234.acme.com", &format!("url{i}.brand{}.example", i % 10))
                .replace("acme", &format!("d{i}"));
            let done: ResourceState = serde_json::from_str(&json).expect("parses");
            let mut intent = done.clone();
            intent.id = None;
            intent.outputs = Default::default();
            intent.intent = Some(sslprov::state::Intent {
                op: sslprov::state::Op::Create,
                token: sslprov_provider::IdempotencyToken(format!("{i:032x}")),
                started: "2026-11-23T11:00:00Z".into(),
            });
            let address = format!("d{i}.{part}");
            steps.push((address.clone(), intent));
            steps.push((address, done));
        }
    }
    steps
}

/// The store before the journal (`StateFile::write`): serial + 1, the whole state as pretty JSON
/// to a temp file, fsync, the current file copied to `.backup`, rename, directory fsync.
fn legacy_on_disk(path: &Path, steps: &[Step]) -> Cost {
    let mut state = State::new("bench".into());
    let (mut bytes, mut fsyncs) = (0u64, 0u64);
    let start = Instant::now();
    for (address, r) in steps {
        state.resources.insert(address.clone(), r.clone());
        state.serial += 1;
        let mut json = serde_json::to_vec_pretty(&state).expect("serializes");
        json.push(b'\n');
        let tmp = path.with_extension("json.tmp");
        let mut f = fs::File::create(&tmp).expect("create");
        f.write_all(&json).expect("write");
        f.sync_all().expect("fsync");
        bytes += json.len() as u64;
        fsyncs += 1;
        if path.exists() {
            let backup_tmp = path.with_extension("json.backup.tmp");
            bytes += fs::copy(path, &backup_tmp).expect("copy");
            fs::rename(&backup_tmp, path.with_extension("json.backup")).expect("rename");
        }
        fs::rename(&tmp, path).expect("rename");
        fs::File::open(path.parent().expect("in a directory")).expect("dir").sync_all().expect("fsync dir");
        fsyncs += 1;
    }
    Cost { bytes, fsyncs, wall: Some(start.elapsed()) }
}

/// The same bytes and fsyncs, counted rather than written.
fn legacy_counted(steps: &[Step]) -> Cost {
    let mut state = State::new("bench".into());
    let (mut bytes, mut fsyncs, mut previous) = (0u64, 0u64, 0u64);
    for (address, r) in steps {
        state.resources.insert(address.clone(), r.clone());
        state.serial += 1;
        let mut counter = Counter(0);
        serde_json::to_writer_pretty(&mut counter, &state).expect("serializes");
        let size = counter.0 + 1;
        bytes += size + previous;
        previous = size;
        fsyncs += 2;
    }
    Cost { bytes, fsyncs, wall: None }
}

/// The store as it is: a writer recording every step, then compaction.
async fn journal_on_disk(path: &Path, steps: &[Step]) -> Cost {
    let store = Store::open(&Location::Local(path.to_path_buf())).await.expect("store");
    let lock = store.lock("apply", Duration::ZERO).await.expect("lock");
    let loaded = store.read().await.expect("read");
    let before = io_stats();
    let start = Instant::now();
    let writer = store.writer(&lock, &loaded).await.expect("writer");
    let mut state = State::new("bench".into());
    for (address, r) in steps {
        state.resources.insert(address.clone(), r.clone());
        writer.record(&mut state, address).await.expect("record");
    }
    writer.compact().await.expect("compact");
    let wall = start.elapsed();
    let cost = io_stats().since(before);
    assert_eq!(store.read().await.expect("read back").state, Some(state), "the snapshot is the recorded state");
    Cost { bytes: cost.bytes_written, fsyncs: cost.fsyncs, wall: Some(wall) }
}

struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// 12345678 → "12,345,678".
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
