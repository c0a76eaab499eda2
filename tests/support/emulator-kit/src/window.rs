//! How busy a client kept an API: the most requests in any span of a window, what a vendor's
//! rate limit counts.

use std::time::{Duration, Instant};

/// The most of `times` (in arrival order) in any span of `window`.
pub fn max_in_window(times: impl IntoIterator<Item = Instant>, window: Duration) -> usize {
    let times: Vec<Instant> = times.into_iter().collect();
    let mut start = 0;
    let mut best = 0;
    for (end, at) in times.iter().enumerate() {
        while at.duration_since(times[start]) >= window {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window_maximum() {
        let base = Instant::now();
        let times: Vec<Instant> =
            [0, 10, 20, 1000, 1005, 1010, 1015, 3000].iter().map(|ms| base + Duration::from_millis(*ms)).collect();
        assert_eq!(max_in_window(times.clone(), Duration::from_millis(100)), 4);
        assert_eq!(max_in_window(times, Duration::from_secs(10)), 8);
        assert_eq!(max_in_window([], Duration::from_secs(1)), 0);
    }
}
