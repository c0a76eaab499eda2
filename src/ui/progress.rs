//! Apply progress: one line per step, and while waiting a line every 10 s (the heartbeat logs
//! and CI need), or a live spinner on a terminal.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub trait Progress: Send + Sync {
    fn start(&self, address: &str, what: &str);
    fn finish(&self, address: &str, what: &str);
    fn waiting(&self, address: &str, detail: &str, elapsed: Duration);
    /// A wait is over: what was waited for is ready (at once, or after `elapsed`).
    fn ready(&self, address: &str, elapsed: Duration);
    fn note(&self, address: &str, what: &str);
    /// A step failed; the run reports the error again at its end.
    fn failed(&self, address: &str, error: &str);
}

/// Progress as lines on stdout; on a terminal, waits redraw one line in place instead.
pub struct LineProgress {
    started: Mutex<HashMap<String, Instant>>,
    last_wait_line: Mutex<HashMap<String, Instant>>,
    spinner: Option<indicatif::MultiProgress>,
    bars: Mutex<HashMap<String, indicatif::ProgressBar>>,
    heartbeat: Duration,
}

impl LineProgress {
    pub fn new() -> Self {
        let tty = std::io::stdout().is_terminal();
        LineProgress {
            started: Mutex::default(),
            last_wait_line: Mutex::default(),
            spinner: tty.then(indicatif::MultiProgress::new),
            bars: Mutex::default(),
            heartbeat: Duration::from_secs(10),
        }
    }

    fn line(&self, text: &str) {
        match &self.spinner {
            Some(m) => {
                let _ = m.println(text);
            }
            None => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{text}");
            }
        }
    }

    fn clear_bar(&self, address: &str) {
        if let Some(bar) = self.bars.lock().unwrap_or_else(|e| e.into_inner()).remove(address) {
            bar.finish_and_clear();
        }
    }
}

impl Default for LineProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress for LineProgress {
    fn start(&self, address: &str, what: &str) {
        self.started.lock().unwrap_or_else(|e| e.into_inner()).insert(address.to_owned(), Instant::now());
        self.line(&format!("{address}: {what}..."));
        tracing::info!(address, what, "step started");
    }

    fn finish(&self, address: &str, what: &str) {
        self.clear_bar(address);
        let took = self.started.lock().unwrap_or_else(|e| e.into_inner()).remove(address).map(|t| t.elapsed());
        match took {
            Some(t) => self.line(&format!("{address}: {what} [{}s]", t.as_secs())),
            None => self.line(&format!("{address}: {what}")),
        }
        tracing::info!(address, what, "step finished");
    }

    fn waiting(&self, address: &str, detail: &str, elapsed: Duration) {
        if let Some(m) = &self.spinner {
            let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
            let bar = bars.entry(address.to_owned()).or_insert_with(|| {
                let b = m.add(indicatif::ProgressBar::new_spinner());
                b.enable_steady_tick(Duration::from_millis(120));
                b
            });
            bar.set_message(format!("{address}: waiting: {detail} [{}s elapsed]", elapsed.as_secs()));
            return;
        }
        let mut last = self.last_wait_line.lock().unwrap_or_else(|e| e.into_inner());
        let due = last.get(address).is_none_or(|t| t.elapsed() >= self.heartbeat);
        if due {
            last.insert(address.to_owned(), Instant::now());
            drop(last);
            self.line(&format!("{address}: still waiting: {detail} [{}s elapsed]", elapsed.as_secs()));
        }
    }

    /// Said only after a wait a person could have noticed.
    fn ready(&self, address: &str, elapsed: Duration) {
        self.clear_bar(address);
        if elapsed >= Duration::from_secs(1) {
            self.line(&format!(
                "{address}: ready after {}",
                humantime::format_duration(Duration::from_secs(elapsed.as_secs()))
            ));
        }
    }

    fn note(&self, address: &str, what: &str) {
        self.line(&format!("{address}: {what}"));
    }

    fn failed(&self, address: &str, _error: &str) {
        self.clear_bar(address);
        self.started.lock().unwrap_or_else(|e| e.into_inner()).remove(address);
        self.line(&format!("{address}: failed (the error follows at the end)"));
    }
}
