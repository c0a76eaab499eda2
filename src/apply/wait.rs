//! Waiting for readiness: polled, bounded by a timeout, reported as progress.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sslprov_provider::{Live, Provider, Readiness};

use super::ApplyError;
use crate::ui::Progress;

#[derive(Clone, Debug)]
pub struct WaitOptions {
    pub poll: Duration,
    pub timeout: Duration,
}

/// What a wait makes of an object that will never be ready (failed, or gone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gone {
    /// The wait is over: waiting for a deletion to progress, an object gone is what was wanted.
    Done,
    /// An error: what depends on it cannot go ahead.
    Fails,
}

pub async fn until_ready(
    p: &dyn Provider,
    live: &Live,
    address: &str,
    opts: &WaitOptions,
    progress: &dyn Progress,
    stop: &AtomicBool,
    gone: Gone,
) -> Result<(), ApplyError> {
    let start = Instant::now();
    loop {
        let answer = p
            .readiness(std::slice::from_ref(live))
            .await
            .map_err(|source| ApplyError::Provider { address: address.to_owned(), source: Box::new(source) })?;
        let readiness = answer.into_iter().next().unwrap_or(Readiness::Failed { reason: "no answer".into() });
        match readiness {
            Readiness::Ready => {
                if start.elapsed() > opts.poll {
                    progress.finish(
                        address,
                        &format!("ready after {}", humantime::format_duration(round(start.elapsed()))),
                    );
                }
                return Ok(());
            }
            Readiness::Failed { .. } if gone == Gone::Done => return Ok(()),
            Readiness::Failed { reason } => {
                return Err(ApplyError::Wait { address: address.to_owned(), message: reason });
            }
            Readiness::Pending { detail } => {
                if start.elapsed() >= opts.timeout {
                    return Err(ApplyError::Wait {
                        address: address.to_owned(),
                        message: format!(
                            "still not ready after {} ({detail}); nothing is lost: run apply again to keep waiting",
                            humantime::format_duration(round(opts.timeout))
                        ),
                    });
                }
                if stop.load(Ordering::SeqCst) {
                    return Err(ApplyError::Interrupted { address: address.to_owned() });
                }
                progress.waiting(address, &detail, start.elapsed());
                tokio::time::sleep(opts.poll).await;
            }
        }
    }
}

fn round(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}
