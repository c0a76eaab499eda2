//! A gate that holds requests until an instant: a vendor's `Retry-After`, or the reset of a
//! rate-limit window that runs low. One 429 holds every request that shares the limit, not only
//! the one that met it, since each request sent into an exhausted window is refused and counts
//! against it again.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Default)]
pub struct Hold(Mutex<Option<Instant>>);

impl Hold {
    /// Holds until `until`, or longer if already held longer.
    pub fn until(&self, until: Instant) {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if held.is_none_or(|h| h < until) {
            *held = Some(until);
        }
    }

    /// Holds for `wait` from now (a day at most: a vendor's `Retry-After` may be any number), or
    /// longer if already held longer.
    pub fn hold_for(&self, wait: Duration) {
        self.until(Instant::now() + wait.min(Duration::from_secs(86_400)));
    }

    /// When the current hold ends; `None` when nothing is held.
    pub fn held_until(&self) -> Option<Instant> {
        let until = *self.0.lock().unwrap_or_else(|e| e.into_inner());
        until.filter(|u| *u > Instant::now())
    }

    /// Returns once nothing is held (a hold that is extended meanwhile is waited for too).
    pub async fn wait(&self) {
        while let Some(until) = self.held_until() {
            tokio::time::sleep_until(until).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_hold_is_only_ever_extended() {
        let hold = Hold::default();
        hold.hold_for(Duration::from_secs(5));
        hold.hold_for(Duration::from_secs(1));
        let start = Instant::now();
        hold.wait().await;
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        assert_eq!(hold.held_until(), None);
        hold.hold_for(Duration::MAX);
        assert_eq!(hold.held_until(), Some(Instant::now() + Duration::from_secs(86_400)), "a day at most");
    }
}
