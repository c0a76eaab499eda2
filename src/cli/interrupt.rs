//! Ctrl-C and SIGTERM while a command holds the state lock.
//!
//! A local lock goes with the process, but a remote one (S3) stays until someone removes it, so a
//! run that is interrupted releases its lock before it exits. While apply carries out steps, the
//! first interrupt only asks it to stop between steps (and it releases the lock as it returns);
//! the second stops at once. Before that (planning) the first interrupt stops at once. Either way
//! the journal holds what was in flight, for the next run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::state::Releaser;

/// Watches for interrupts. Once dropped (the lock is released), an interrupt simply ends the
/// process: a signal handler, once installed, stays for the life of the process, so the watcher
/// stays too rather than leave interrupts ignored.
#[derive(Debug)]
pub struct Interrupts {
    stop: Arc<AtomicBool>,
    graceful: Arc<AtomicBool>,
    /// The command that finishes an interrupted run, for the message.
    resume: Arc<Mutex<String>>,
}

impl Interrupts {
    /// Starts watching. Signal handlers are installed before this returns, so no interrupt
    /// falls back to the default (exit without releasing the lock).
    pub fn watch(releaser: Releaser) -> Interrupts {
        let stop = Arc::new(AtomicBool::new(false));
        let graceful = Arc::new(AtomicBool::new(false));
        let resume = Arc::new(Mutex::new(String::new()));
        let signals = Signals::install();
        tokio::spawn(watch(signals, releaser, Arc::clone(&stop), Arc::clone(&graceful), Arc::clone(&resume)));
        Interrupts { stop, graceful, resume }
    }

    /// From now on the first interrupt sets the returned flag (the run stops between steps) and
    /// only the second exits.
    pub fn graceful(&self, resume: &str) -> Arc<AtomicBool> {
        *self.resume.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = resume.to_owned();
        self.graceful.store(true, Ordering::SeqCst);
        Arc::clone(&self.stop)
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        self.graceful.store(false, Ordering::SeqCst);
    }
}

async fn watch(
    mut signals: Signals,
    releaser: Releaser,
    stop: Arc<AtomicBool>,
    graceful: Arc<AtomicBool>,
    resume: Arc<Mutex<String>>,
) {
    loop {
        let code = signals.next().await;
        if graceful.load(Ordering::SeqCst) && !stop.swap(true, Ordering::SeqCst) {
            eprintln!("\nInterrupt received: finishing the steps in flight. Press Ctrl-C again to stop at once.");
            continue;
        }
        if graceful.load(Ordering::SeqCst) {
            let again = resume.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
            eprintln!("Stopped. Run `{again}` again to finish: the state records what was in flight.");
        } else {
            eprintln!("\nInterrupted.");
        }
        releaser.release().await;
        std::process::exit(code);
    }
}

/// SIGINT and SIGTERM (how CI systems cancel a job), registered at once.
struct Signals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn install() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals { interrupt: signal(SignalKind::interrupt()).ok(), terminate: signal(SignalKind::terminate()).ok() }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// Waits for the next signal; returns the exit code it calls for (128 + its number).
    async fn next(&mut self) -> i32 {
        #[cfg(unix)]
        {
            async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
                match s {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                () = recv(&mut self.interrupt) => 130,
                () = recv(&mut self.terminate) => 143,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            130
        }
    }
}
