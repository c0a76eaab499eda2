//! Request budgets and call counting, shared by everything that talks to one provider.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// A per-provider request budget: token buckets every request of that provider waits on (one for
/// each operation the vendor limits on its own, one for the rest), shared by all parallel work,
/// so a thousand domains still respect the vendor's documented limits.
#[derive(Clone, Debug)]
pub struct Budget {
    limiter: Arc<Bucket>,
    ops: Arc<BTreeMap<&'static str, Bucket>>,
    calls: Calls,
}

/// A token bucket served first come, first served. The limiter alone is not: each waiter sleeps
/// until the next token and whoever checks first takes it, so a wait's poll rounds, asking again
/// the moment they are served, took every token from a write that asked once (a second domain's
/// certificate stalled behind the first one's wait). Waiters now queue on a fair lock.
#[derive(Debug)]
struct Bucket {
    limiter: DefaultDirectRateLimiter,
    turn: tokio::sync::Mutex<()>,
}

impl Bucket {
    fn new(quota: Quota) -> Self {
        Bucket { limiter: RateLimiter::direct(quota), turn: tokio::sync::Mutex::new(()) }
    }

    async fn until_ready(&self) {
        let _turn = self.turn.lock().await;
        self.limiter.until_ready().await;
    }
}

fn limiter(rate: crate::Rate) -> Bucket {
    let period = std::time::Duration::from_secs(rate.per_seconds.max(1).into()) / rate.requests.max(1);
    let quota = Quota::with_period(period.max(std::time::Duration::from_nanos(1)))
        .expect("non-zero period")
        .allow_burst(NonZeroU32::new(rate.burst.max(1)).expect("max(1)"));
    Bucket::new(quota)
}

impl Budget {
    /// `per_second` sustained, with bursts of up to `burst` requests.
    pub fn per_second(per_second: u32, burst: u32, calls: Calls) -> Self {
        let quota = Quota::per_second(NonZeroU32::new(per_second.max(1)).expect("max(1)"))
            .allow_burst(NonZeroU32::new(burst.max(1)).expect("max(1)"));
        Budget { limiter: Arc::new(Bucket::new(quota)), ops: Arc::default(), calls }
    }

    /// `count` requests per `window`, with bursts of up to `burst` (Cloudflare: 1,200 per 5 min).
    pub fn per_window(count: u32, window: std::time::Duration, burst: u32, calls: Calls) -> Self {
        let period = window / count.max(1);
        let quota = Quota::with_period(period)
            .expect("non-zero period")
            .allow_burst(NonZeroU32::new(burst.max(1)).expect("max(1)"));
        Budget { limiter: Arc::new(Bucket::new(quota)), ops: Arc::default(), calls }
    }

    /// A budget of `rate`, the vendor's documented limit.
    pub fn of(rate: crate::Rate, calls: Calls) -> Self {
        Budget::per_window(rate.requests, std::time::Duration::from_secs(rate.per_seconds.into()), rate.burst, calls)
    }

    /// The budgets a provider declares: its own for each operation it names, `info.budget` for the
    /// rest.
    pub fn for_provider(info: &crate::ProviderInfo, calls: Calls) -> Self {
        let ops = info.op_budgets.iter().map(|(op, rate)| (*op, limiter(*rate))).collect();
        Budget { limiter: Arc::new(limiter(info.budget)), ops: Arc::new(ops), calls }
    }

    /// Waits for a request slot and counts the request as `<provider>:<op>`.
    pub async fn acquire(&self, provider: &str, op: &str) {
        match self.ops.get(op) {
            Some(own) => own.until_ready().await,
            None => self.limiter.until_ready().await,
        }
        self.calls.count(provider, op);
    }

    pub fn calls(&self) -> &Calls {
        &self.calls
    }
}

/// Counts API requests per `provider:Operation`, for benchmarks, tests and `--json` reports.
#[derive(Clone, Debug, Default)]
pub struct Calls(Arc<Mutex<BTreeMap<String, u64>>>);

impl Calls {
    pub fn count(&self, provider: &str, op: &str) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *m.entry(format!("{provider}:{op}")).or_default() += 1;
    }

    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_every_acquired_request() {
        let calls = Calls::default();
        let b = Budget::per_second(1000, 10, calls.clone());
        for _ in 0..3 {
            b.acquire("route53", "ListResourceRecordSets").await;
        }
        b.acquire("route53", "ChangeResourceRecordSets").await;
        assert_eq!(calls.snapshot()["route53:ListResourceRecordSets"], 3);
        assert_eq!(calls.total(), 4);
    }

    #[tokio::test]
    async fn an_operation_with_a_budget_of_its_own_waits_on_it_alone() {
        static INFO: crate::ProviderInfo = crate::ProviderInfo {
            name: "p",
            title: "P",
            kinds: &[],
            budget: crate::Rate::per_second(1000, 1000),
            op_budgets: &[("Slow", crate::Rate::per_second(20, 1))],
            batches_writes: false,
        };
        let b = Budget::for_provider(&INFO, Calls::default());
        let start = std::time::Instant::now();
        for _ in 0..50 {
            b.acquire("p", "Fast").await;
        }
        assert!(start.elapsed() < std::time::Duration::from_millis(100), "{:?}", start.elapsed());
        for _ in 0..5 {
            b.acquire("p", "Slow").await;
        }
        assert!(start.elapsed() >= std::time::Duration::from_millis(190), "{:?}", start.elapsed());
    }

    /// A caller that asks again the moment it is served (a wait's poll rounds) cannot take every
    /// slot from one that asked once (a write): slots go in the order they were asked for.
    #[tokio::test]
    async fn slots_go_in_the_order_they_were_asked_for() {
        let b = Budget::per_second(5, 1, Calls::default());
        let served = Mutex::new(Vec::new());
        let poller = async {
            for _ in 0..10 {
                b.acquire("p", "List").await;
                served.lock().unwrap().push("list");
            }
        };
        let writer = async {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            b.acquire("p", "Create").await;
            served.lock().unwrap().push("create");
        };
        // Polled in order, as the apply polls its domains: the poller always first.
        futures::join!(poller, writer);
        let served = served.into_inner().unwrap();
        let at = served.iter().position(|s| *s == "create");
        assert!(at.is_some_and(|i| i <= 2), "the write waited behind every poll: {served:?}");
    }

    #[tokio::test]
    async fn holds_requests_beyond_the_burst() {
        // 20/s with a burst of 1: five requests need at least four 50 ms slots.
        let b = Budget::per_second(20, 1, Calls::default());
        let start = std::time::Instant::now();
        for _ in 0..5 {
            b.acquire("p", "op").await;
        }
        assert!(start.elapsed() >= std::time::Duration::from_millis(190), "{:?}", start.elapsed());
    }
}
