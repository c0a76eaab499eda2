//! What reached the emulator and what it does to traffic: the request log, injected faults, and
//! the API's own rate limit.
//!
//! Fastly allows 1,000 non-read requests per hour per user; reads are not limited. Recorded
//! traffic shows the window is the clock hour (`Fastly-RateLimit-Reset` always fell on the top of
//! the next hour) and the headers only on non-GET calls to the classic endpoints, never on
//! `/tls/…`. The emulator does the same: every non-GET classic call answers with
//! `Fastly-RateLimit-Remaining` and `Fastly-RateLimit-Reset` (UTC epoch seconds), and once the
//! window's budget is spent, such calls get 429 until the window ends. Whether `/tls` writes count
//! is not known; here they do not.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::reply::{self, Ending, Reply};

/// One request the emulator received, in arrival order.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub at: Instant,
    pub time: SystemTime,
    pub method: String,
    pub path: String,
    pub query: String,
    /// The operationId it matched, if it matched one.
    pub operation: Option<String>,
    pub status: u16,
    /// The emulator cut the connection instead of answering (an injected fault).
    pub cut: bool,
}

impl RequestRecord {
    /// A non-read request: what the hourly limit counts (on the classic endpoints).
    pub fn is_write(&self) -> bool {
        self.method != "GET" && self.method != "HEAD"
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Answer with this status (429 or 5xx) without serving the request.
    Status(u16),
    /// Cut the connection without serving the request.
    Cut,
    /// Serve the request, then cut the connection before the answer is out: the change is made
    /// and the client never learns it.
    LoseAnswer,
}

#[derive(Debug)]
struct Fault {
    effect: Effect,
    operation: Option<String>,
    remaining: u32,
}

/// The rate-limit window: the clock hour, or (for tests) fixed windows of a set length from the
/// moment the limit was set.
#[derive(Debug, Clone, Copy)]
enum Window {
    Hour,
    Every { start: f64, length: f64 },
}

#[derive(Debug)]
pub(crate) struct Traffic {
    pub log: Vec<RequestRecord>,
    faults: Vec<Fault>,
    limit: u32,
    window: Window,
    /// The window the count belongs to, and how many limited calls it has served.
    used: (u64, u32),
}

impl Traffic {
    pub fn new() -> Traffic {
        Traffic { log: Vec::new(), faults: Vec::new(), limit: 1000, window: Window::Hour, used: (0, 0) }
    }

    /// `limit` non-read calls per `window`; a window of an hour is the clock hour, as the API's.
    pub fn set_rate_limit(&mut self, limit: u32, window: Duration) {
        self.limit = limit;
        self.window = if window == Duration::from_secs(3600) {
            Window::Hour
        } else {
            Window::Every { start: epoch(SystemTime::now()), length: window.as_secs_f64().max(0.001) }
        };
        self.used = (0, 0);
    }

    pub fn inject(&mut self, effect: Effect, times: u32, operation: Option<&str>) {
        self.faults.push(Fault { effect, operation: operation.map(str::to_owned), remaining: times });
    }

    /// The first queued fault that applies to `operation`, used up by one.
    pub fn take_fault(&mut self, operation: &str) -> Option<Effect> {
        let i = self.faults.iter().position(|f| f.operation.as_deref().is_none_or(|op| op == operation))?;
        let fault = &mut self.faults[i];
        fault.remaining = fault.remaining.saturating_sub(1);
        let effect = fault.effect;
        if fault.remaining == 0 {
            self.faults.remove(i);
        }
        Some(effect)
    }

    /// Count a limited call arriving `now`; past the window's budget, the API's 429.
    pub fn rate_limit(&mut self, now: SystemTime) -> Option<Reply> {
        let (index, _) = self.window_of(now);
        if self.used.0 != index {
            self.used = (index, 0);
        }
        if self.used.1 >= self.limit {
            let detail = format!("You have exceeded the limit of {} non-read requests for this period", self.limit);
            let reply = Reply::error(429, reply::RATE_LIMITED, detail);
            return Some(self.headers(now).into_iter().fold(reply, |r, (name, value)| r.header(name, value)));
        }
        self.used.1 += 1;
        None
    }

    /// `Fastly-RateLimit-Remaining` and `Fastly-RateLimit-Reset` as of `now`.
    pub fn headers(&self, now: SystemTime) -> [(&'static str, String); 2] {
        let (index, reset) = self.window_of(now);
        let used = if self.used.0 == index { self.used.1 } else { 0 };
        [
            ("Fastly-RateLimit-Remaining", self.limit.saturating_sub(used).to_string()),
            ("Fastly-RateLimit-Reset", reset.to_string()),
        ]
    }

    /// The index of the window `now` falls in, and when it ends (UTC epoch seconds, rounded up).
    fn window_of(&self, now: SystemTime) -> (u64, u64) {
        let now = epoch(now);
        let (start, length) = match self.window {
            Window::Hour => (0.0, 3600.0),
            Window::Every { start, length } => (start, length),
        };
        let index = ((now - start) / length).floor().max(0.0);
        (index as u64, (start + (index + 1.0) * length).ceil() as u64)
    }
}

/// How a reply ends when a fault cuts it.
pub(crate) fn cut(reply: Reply) -> Reply {
    Reply { ending: Ending::Cut, ..reply }
}

fn epoch(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hour_window_resets_on_the_hour() {
        let t = Traffic::new();
        let now = UNIX_EPOCH + Duration::from_secs(1_557_594_230);
        let [(_, remaining), (_, reset)] = t.headers(now);
        assert_eq!((remaining.as_str(), reset.as_str()), ("1000", "1557597600"));
    }

    #[test]
    fn past_the_budget_answers_429_until_the_window_ends() {
        let mut t = Traffic::new();
        t.set_rate_limit(2, Duration::from_secs(60));
        let now = SystemTime::now();
        assert!(t.rate_limit(now).is_none());
        assert!(t.rate_limit(now).is_none());
        let limited = t.rate_limit(now).expect("third call is over the budget");
        assert_eq!(limited.status, 429);
        assert!(limited.headers.contains(&("Fastly-RateLimit-Remaining".to_owned(), "0".to_owned())));
        assert!(t.rate_limit(now + Duration::from_secs(61)).is_none(), "a new window");
    }

    #[test]
    fn faults_apply_in_order_and_to_their_operation() {
        let mut t = Traffic::new();
        t.inject(Effect::LoseAnswer, 1, Some("create-service"));
        t.inject(Effect::Status(503), 2, None);
        assert_eq!(t.take_fault("list-services"), Some(Effect::Status(503)));
        assert_eq!(t.take_fault("create-service"), Some(Effect::LoseAnswer));
        assert_eq!(t.take_fault("create-service"), Some(Effect::Status(503)));
        assert_eq!(t.take_fault("create-service"), None);
    }
}
