//! `apply --json`: one JSON object per line on stdout, for pipeline logs and the tools that read
//! them. Every event has `event` and `time`; step events have `address`. The kinds: `plan`,
//! `started`, `finished`, `waiting` (at most every 10 s per address), `ready` (a wait over, every
//! time one ends), `note`, `failed`, `summary`.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use super::Progress;

pub struct JsonProgress {
    started: Mutex<HashMap<String, Instant>>,
    last_wait: Mutex<HashMap<String, Instant>>,
    heartbeat: Duration,
}

impl JsonProgress {
    pub fn new() -> Self {
        JsonProgress { started: Mutex::default(), last_wait: Mutex::default(), heartbeat: Duration::from_secs(10) }
    }
}

impl Default for JsonProgress {
    fn default() -> Self {
        Self::new()
    }
}

/// Writes `fields` as one line, with `event` and `time` added (keys in alphabetical order).
pub fn emit(event: &str, fields: Value) {
    let mut line = serde_json::Map::new();
    line.insert("event".into(), event.into());
    line.insert("time".into(), humantime::format_rfc3339_millis(SystemTime::now()).to_string().into());
    if let Value::Object(rest) = fields {
        line.extend(rest);
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", Value::Object(line));
    let _ = out.flush();
}

impl Progress for JsonProgress {
    fn start(&self, address: &str, what: &str) {
        self.started.lock().unwrap_or_else(|e| e.into_inner()).insert(address.to_owned(), Instant::now());
        emit("started", json!({ "address": address, "step": what }));
    }

    fn finish(&self, address: &str, what: &str) {
        let took = self.started.lock().unwrap_or_else(|e| e.into_inner()).remove(address).map(|t| t.elapsed());
        emit("finished", json!({ "address": address, "result": what, "seconds": took.map(|t| t.as_secs_f64()) }));
    }

    fn waiting(&self, address: &str, detail: &str, elapsed: Duration) {
        let mut last = self.last_wait.lock().unwrap_or_else(|e| e.into_inner());
        if last.get(address).is_none_or(|t| t.elapsed() >= self.heartbeat) {
            last.insert(address.to_owned(), Instant::now());
            drop(last);
            emit("waiting", json!({ "address": address, "detail": detail, "elapsed_seconds": elapsed.as_secs() }));
        }
    }

    fn ready(&self, address: &str, elapsed: Duration) {
        emit("ready", json!({ "address": address, "seconds": elapsed.as_secs_f64() }));
    }

    fn note(&self, address: &str, what: &str) {
        emit("note", json!({ "address": address, "message": what }));
    }

    fn failed(&self, address: &str, error: &str) {
        self.started.lock().unwrap_or_else(|e| e.into_inner()).remove(address);
        emit("failed", json!({ "address": address, "error": error }));
    }
}
