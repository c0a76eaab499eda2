//! Waiting for readiness: polled in shared rounds, bounded by a timeout, reported as progress.
//!
//! Every object waited for (a certificate to be issued, a distribution to deploy) joins the next
//! round of its provider and kind; one round answers all of them with one `readiness` call (one
//! ListCertificates for a hundred certificates), at most once per poll interval. A wait holds no
//! slot of `--parallelism`: it costs nothing but its share of a round.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sslprov_provider::{ErrorKind, Live, Observed, Outputs, Provider, ProviderError, Readiness};
use tokio::sync::oneshot;

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

/// How long rounds may keep failing with a transient error before the waits they answer fail:
/// long enough to ride out a service's bad minutes (moto's ListCertificates answered 500 for
/// minutes on end while a thousand certificates were requested), short of the wait's timeout.
const TRANSIENT_SPAN: Duration = Duration::from_secs(300);

/// Waits that start this close together share their first round.
const GATHER: Duration = Duration::from_millis(50);

type Answer = oneshot::Sender<Result<Observed, ProviderError>>;

/// The round in preparation for one provider and kind.
#[derive(Default)]
struct Round {
    queue: Vec<(Live, Answer)>,
    /// A waiter is leading the next round (it sleeps until it is due, then asks for everyone).
    led: bool,
    /// When the last round ended, and how long it took.
    last: Option<(Instant, Duration)>,
    /// Held while a round asks: the next one starts only after it (rounds never overlap, so a
    /// list of many pages is never read twice at once).
    asking: Arc<tokio::sync::Mutex<()>>,
}

/// The waits of one apply.
pub struct Waits<'a> {
    pub opts: WaitOptions,
    progress: &'a dyn Progress,
    stop: &'a AtomicBool,
    rounds: Mutex<HashMap<(String, String), Round>>,
}

impl<'a> Waits<'a> {
    pub fn new(opts: WaitOptions, progress: &'a dyn Progress, stop: &'a AtomicBool) -> Self {
        Waits { opts, progress, stop, rounds: Mutex::default() }
    }

    fn rounds(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Round>> {
        self.rounds.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `live`'s readiness, from the next round of its provider and kind. The first waiter to
    /// join leads the round: it sleeps until the round is due (a poll interval after the last
    /// one, or at once after a short gathering), then asks once for every waiter queued by then.
    async fn readiness(&self, p: &dyn Provider, live: &Live) -> Result<Observed, ProviderError> {
        let key = (p.info().name.to_owned(), live.desired.kind.clone());
        let (tx, rx) = oneshot::channel();
        let (lead, asking) = {
            let mut rounds = self.rounds();
            let round = rounds.entry(key.clone()).or_default();
            round.queue.push((live.clone(), tx));
            (!std::mem::replace(&mut round.led, true), Arc::clone(&round.asking))
        };
        if lead {
            let _asking = asking.lock().await;
            // Due a poll interval after the last round ended, or as long as that round took if
            // longer: a list that takes longer to read than the interval is read at most half
            // the time, and the API's budget is left for the writes.
            let due = self.rounds().get(&key).and_then(|r| r.last).map(|(end, took)| end + self.opts.poll.max(took));
            let wait = due.map_or(GATHER, |d| d.saturating_duration_since(Instant::now()).max(GATHER));
            tokio::time::sleep(wait).await;
            let batch = {
                let mut rounds = self.rounds();
                let round = rounds.entry(key.clone()).or_default();
                round.led = false;
                std::mem::take(&mut round.queue)
            };
            let lives: Vec<Live> = batch.iter().map(|(l, _)| l.clone()).collect();
            let started = Instant::now();
            let answers = p.readiness(&lives).await;
            self.rounds().entry(key).or_default().last = Some((Instant::now(), started.elapsed()));
            match answers {
                Ok(answers) => {
                    let mut answers = answers.into_iter();
                    for (_, tx) in batch {
                        let _ = tx.send(Ok(answers.next().unwrap_or_else(Observed::gone)));
                    }
                }
                Err(e) => {
                    for (_, tx) in batch {
                        let mut copy = ProviderError::new(e.kind, e.provider, e.op, e.message.clone());
                        copy.code.clone_from(&e.code);
                        let _ = tx.send(Err(copy));
                    }
                }
            }
        }
        rx.await.unwrap_or_else(|_| {
            Err(ProviderError::new(ErrorKind::Unexpected, p.info().name, "readiness", "the round was dropped"))
        })
    }

    /// Waits until `live` is ready, round by round; what it reported when it was.
    pub async fn until_ready(
        &self,
        p: &dyn Provider,
        live: &Live,
        address: &str,
        gone: Gone,
    ) -> Result<Outputs, ApplyError> {
        let start = Instant::now();
        let mut failing_since: Option<Instant> = None;
        loop {
            let seen = match self.readiness(p, live).await {
                Ok(seen) => seen,
                // A round that failed after the client's own retries (a 5xx, throttling, a lost
                // connection) is asked again at the next interval: one bad answer to a list that
                // a hundred waits share must not fail them all.
                Err(e)
                    if e.is_transient()
                        && failing_since.get_or_insert_with(Instant::now).elapsed() < TRANSIENT_SPAN
                        && start.elapsed() < self.opts.timeout
                        && !self.stop.load(Ordering::SeqCst) =>
                {
                    self.progress.waiting(address, &format!("{e}; asking again"), start.elapsed());
                    continue;
                }
                Err(source) => {
                    return Err(ApplyError::Provider { address: address.to_owned(), source: Box::new(source) });
                }
            };
            failing_since = None;
            match seen.readiness {
                // Still usable: what waits for it may go ahead (its replacement is planned).
                Readiness::Ready | Readiness::Expiring { .. } => {
                    self.progress.ready(address, start.elapsed());
                    return Ok(seen.outputs);
                }
                Readiness::Failed { .. } if gone == Gone::Done => return Ok(seen.outputs),
                Readiness::Failed { reason } => {
                    return Err(ApplyError::Wait { address: address.to_owned(), message: reason });
                }
                Readiness::Pending { detail } => {
                    if start.elapsed() >= self.opts.timeout {
                        return Err(ApplyError::Wait {
                            address: address.to_owned(),
                            message: format!(
                                "still not ready after {} ({detail}); nothing is lost: the same command, run again, keeps waiting",
                                humantime::format_duration(round(self.opts.timeout))
                            ),
                        });
                    }
                    if self.stop.load(Ordering::SeqCst) {
                        return Err(ApplyError::Interrupted { address: address.to_owned() });
                    }
                    self.progress.waiting(address, &detail, start.elapsed());
                }
            }
        }
    }
}

fn round(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}
