//! What reached the emulator and what it does to traffic: the request log, injected faults, and
//! the API's own rate limit (1,200 requests per 5 minutes per token; past it, every call is
//! answered 429 for the next 5 minutes).

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use crate::reply::{self, Reply};

/// One request the emulator received, in arrival order.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub at: Instant,
    pub time: SystemTime,
    pub method: String,
    /// The full path, `/client/v4/...`.
    pub path: String,
    pub query: String,
    /// The operationId it matched, if it matched one.
    pub operation: Option<String>,
    pub status: u16,
}

#[derive(Debug)]
struct Fault {
    status: u16,
    retry_after: Option<u64>,
    remaining: u32,
}

#[derive(Debug)]
pub(crate) struct Traffic {
    pub log: Vec<RequestRecord>,
    faults: VecDeque<Fault>,
    limit: usize,
    window: Duration,
    blocked_until: Option<Instant>,
}

impl Traffic {
    pub fn new() -> Traffic {
        Traffic {
            log: Vec::new(),
            faults: VecDeque::new(),
            limit: 1200,
            window: Duration::from_secs(300),
            blocked_until: None,
        }
    }

    pub fn set_rate_limit(&mut self, limit: usize, window: Duration) {
        self.limit = limit;
        self.window = window;
        self.blocked_until = None;
    }

    pub fn inject(&mut self, times: u32, status: u16, retry_after: Option<u64>) {
        self.faults.push_back(Fault { status, retry_after, remaining: times });
    }

    /// The next injected fault, if one is queued.
    pub fn take_fault(&mut self) -> Option<Reply> {
        let fault = self.faults.front_mut()?;
        fault.remaining = fault.remaining.saturating_sub(1);
        let (status, retry_after) = (fault.status, fault.retry_after);
        if fault.remaining == 0 {
            self.faults.pop_front();
        }
        let reply = if status == 429 {
            rate_limited()
        } else {
            Reply::error(status, reply::SERVER_ERROR, "Internal server error (injected)")
        };
        Some(match retry_after {
            Some(secs) => reply.header("retry-after", secs.to_string()),
            None => reply,
        })
    }

    /// The API's answer to a request arriving `now` if the token is over its budget: counting
    /// this request, more than `limit` in the trailing window starts a block of one window.
    pub fn rate_limit(&mut self, now: Instant) -> Option<Reply> {
        if self.blocked_until.is_none_or(|until| now >= until) && self.in_window(now) + 1 > self.limit {
            self.blocked_until = Some(now + self.window);
        }
        let until = self.blocked_until.filter(|until| now < *until)?;
        let secs = (until - now).as_secs_f64().ceil() as u64;
        Some(rate_limited().header("retry-after", secs.max(1).to_string()))
    }

    /// `Ratelimit` and `Ratelimit-Policy`, as the API sends them on every response.
    pub fn headers(&self, now: Instant) -> [(&'static str, String); 2] {
        let remaining = self.limit.saturating_sub(self.in_window(now));
        let reset = self
            .log
            .iter()
            .find(|r| now.duration_since(r.at) < self.window)
            .map_or(0, |r| (self.window - now.duration_since(r.at)).as_secs());
        [
            ("ratelimit", format!("\"default\";r={remaining};t={reset}")),
            ("ratelimit-policy", format!("\"default\";q={};w={}", self.limit, self.window.as_secs())),
        ]
    }

    fn in_window(&self, now: Instant) -> usize {
        self.log.iter().rev().take_while(|r| now.duration_since(r.at) < self.window).count()
    }
}

fn rate_limited() -> Reply {
    Reply::error(
        429,
        reply::RATE_LIMITED,
        "More than 1200 requests per 300 seconds reached. Please wait and consider throttling your request speed",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(base: Instant, ms: u64) -> RequestRecord {
        RequestRecord {
            at: base + Duration::from_millis(ms),
            time: SystemTime::now(),
            method: "GET".into(),
            path: "/client/v4/zones".into(),
            query: String::new(),
            operation: None,
            status: 200,
        }
    }

    #[test]
    fn going_over_the_budget_blocks_for_a_window() {
        let mut t = Traffic::new();
        t.set_rate_limit(2, Duration::from_secs(60));
        let now = Instant::now();
        for _ in 0..2 {
            assert!(t.rate_limit(now).is_none());
            t.log.push(at(now, 0));
        }
        let blocked = t.rate_limit(now).expect("third request is over the budget");
        assert_eq!(blocked.status, 429);
        assert!(blocked.headers.contains(&("retry-after", "60".to_owned())));
        assert!(t.rate_limit(now + Duration::from_secs(30)).is_some(), "still blocked");
        t.log.clear();
        assert!(t.rate_limit(now + Duration::from_secs(61)).is_none(), "block over");
    }

    #[test]
    fn faults_come_in_order_and_run_out() {
        let mut t = Traffic::new();
        t.inject(2, 429, Some(3));
        t.inject(1, 503, None);
        let statuses: Vec<u16> = std::iter::from_fn(|| t.take_fault()).map(|r| r.status).collect();
        assert_eq!(statuses, [429, 429, 503]);
    }
}
