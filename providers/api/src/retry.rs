//! Retrying a failed request: one loop for every provider that talks HTTP itself.
//!
//! Providers differ in how they read a failure (which statuses and error codes mean "try again",
//! where a wait comes from) and in their limits; they agree on the mechanism, which lives here:
//! jittered exponential backoff, never sooner than the vendor's `Retry-After`, a cap on retries,
//! a separate small cap on lost connections, and a total deadline.

use std::future::Future;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::time::Instant;

/// How failed requests are retried. Each provider sets its own values: they follow its vendor's
/// rate-limit windows.
#[derive(Clone, Debug)]
pub struct Retry {
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// Attempts after the first.
    pub max_retries: usize,
    /// No retry starts later than this after the first attempt (`Duration::MAX`: no deadline).
    pub max_total: Duration,
    /// Retries of a request that got no answer at all (refused, reset, timed out): an API that is
    /// down for longer than a few seconds stays down for the run, and the user should hear so now.
    pub lost_connection_retries: usize,
}

/// What the retry loop needs to know of a provider's failed attempt.
pub trait Transient {
    /// The HTTP status; `None` when no answer came at all (refused, reset, timed out). Such
    /// retries are also capped by [`Retry::lost_connection_retries`].
    fn status(&self) -> Option<u16>;

    /// May the request be sent again after this failure? `repeatable`: may it be sent twice (a
    /// request that may have been served, such as a create without an idempotency key, may not).
    /// By default as [`by_status`] says.
    fn retryable(&self, repeatable: bool) -> bool {
        by_status(self.status(), repeatable)
    }

    /// How long the vendor asked to wait before the next attempt.
    fn retry_after(&self) -> Option<Duration> {
        None
    }

    /// The vendor's error code or reason, for the log.
    fn code(&self) -> Option<&str> {
        None
    }
}

/// The rule every vendor shares: a 429 was refused unserved, so it is always retried; a 5xx or a
/// lost connection may have been served, so only a request that may be sent twice is; any other
/// answer was refused for what the request is.
pub fn by_status(status: Option<u16>, repeatable: bool) -> bool {
    match status {
        Some(429) => true,
        Some(s) if s >= 500 => repeatable,
        Some(_) => false,
        None => repeatable,
    }
}

/// Runs `attempt` until it succeeds or its failure may not be retried as `policy` says; returns
/// the last failure. Each retry waits the larger of the backoff and the failure's `Retry-After`,
/// and is logged once as `<provider>: retrying`.
pub async fn retry<T, E, F, Fut>(
    policy: &Retry,
    provider: &'static str,
    op: &'static str,
    repeatable: bool,
    mut attempt: F,
) -> Result<T, E>
where
    E: Transient,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = Instant::now().checked_add(policy.max_total);
    let mut backoff = ExponentialBuilder::default()
        .with_jitter()
        .with_min_delay(policy.min_delay)
        .with_max_delay(policy.max_delay)
        .with_max_times(policy.max_retries)
        .build();
    let mut lost = 0;
    loop {
        let failure = match attempt().await {
            Ok(v) => return Ok(v),
            Err(f) => f,
        };
        if !failure.retryable(repeatable) {
            return Err(failure);
        }
        if failure.status().is_none() {
            if lost >= policy.lost_connection_retries {
                return Err(failure);
            }
            lost += 1;
        }
        let Some(delay) = backoff.next() else { return Err(failure) };
        let wait = delay.max(failure.retry_after().unwrap_or_default());
        // A vendor's Retry-After may be any number: past the deadline, or past what an instant holds.
        if deadline.is_some_and(|d| Instant::now().checked_add(wait).is_none_or(|at| at > d)) {
            return Err(failure);
        }
        tracing::info!(op, status = ?failure.status(), code = ?failure.code(), ?wait, "{provider}: retrying");
        tokio::time::sleep(wait).await;
    }
}

/// A `Retry-After` in seconds. An HTTP date is not worth parsing: no vendor sslprov talks to sends
/// one, and the backoff still applies.
pub fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let v = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Failed(Option<u16>, Option<Duration>);

    impl Transient for Failed {
        fn retry_after(&self) -> Option<Duration> {
            self.1
        }
        fn status(&self) -> Option<u16> {
            self.0
        }
    }

    fn policy() -> Retry {
        Retry {
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            max_retries: 4,
            max_total: Duration::from_secs(60),
            lost_connection_retries: 1,
        }
    }

    async fn run(policy: &Retry, repeatable: bool, failures: Vec<Failed>) -> (Result<(), Failed>, usize) {
        let mut failures = failures.into_iter();
        let mut attempts = 0;
        let r = retry(policy, "test", "Op", repeatable, || {
            attempts += 1;
            let next = failures.next();
            async move { next.map_or(Ok(()), Err) }
        })
        .await;
        (r, attempts)
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_waited_and_lost_connections_are_capped() {
        let start = Instant::now();
        let (r, n) = run(&policy(), false, vec![Failed(Some(429), Some(Duration::from_secs(3)))]).await;
        assert!(r.is_ok() && n == 2);
        assert!(start.elapsed() >= Duration::from_secs(3));
        let (r, n) = run(&policy(), true, vec![Failed(None, None), Failed(None, None)]).await;
        assert_eq!((r.map_err(|f| f.0), n), (Err(None), 2));
        let (r, n) = run(&policy(), false, vec![Failed(Some(503), None)]).await;
        assert_eq!((r.map_err(|f| f.0), n), (Err(Some(503)), 1));
        let (r, n) = run(&policy(), true, (0..9).map(|_| Failed(Some(503), None)).collect()).await;
        assert_eq!((r.map_err(|f| f.0), n), (Err(Some(503)), 5));
    }

    #[tokio::test(start_paused = true)]
    async fn no_retry_starts_after_the_deadline() {
        let short = Retry { max_total: Duration::from_secs(2), ..policy() };
        let (r, n) = run(&short, false, vec![Failed(Some(429), Some(Duration::from_secs(3)))]).await;
        assert_eq!((r.map_err(|f| f.0), n), (Err(Some(429)), 1));
        // A Retry-After no instant can hold is past any deadline, not a panic.
        let (r, n) = run(&policy(), false, vec![Failed(Some(429), Some(Duration::MAX))]).await;
        assert_eq!((r.map_err(|f| f.0), n), (Err(Some(429)), 1));
    }
}
