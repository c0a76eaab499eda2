//! Value parsers that bound what a flag takes, so a value that could not work is refused with
//! the flag's name before anything runs (a duration of 300000000000 years once overflowed a
//! deadline and panicked; a poll interval of 0 would poll without pause).

use std::time::Duration;

/// The longest duration any flag takes: a week is longer than any wait sslprov does.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);
const MAX_DURATION_TEXT: &str = "7d";

/// Most domains worked on at once; the providers' request budgets set the pace long before.
pub const MAX_PARALLELISM: usize = 1000;

/// A parser of durations from `min` to [`MAX_DURATION`] (`30s`, `10m`, `1h30m`).
pub fn duration(min: Duration) -> impl Fn(&str) -> Result<Duration, String> + Clone + Send + Sync + 'static {
    move |s| {
        let d = humantime::parse_duration(s).map_err(|e| format!("not a duration such as 30s, 10m or 1h30m ({e})"))?;
        if d > MAX_DURATION {
            return Err(format!("longer than the maximum of {MAX_DURATION_TEXT}"));
        }
        if d < min {
            return Err(format!("shorter than the minimum of {}", humantime::format_duration(min)));
        }
        Ok(d)
    }
}

pub fn parallelism(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n @ 1..=MAX_PARALLELISM) => Ok(n),
        Ok(_) | Err(_) => Err(format!("not a number from 1 to {MAX_PARALLELISM}")),
    }
}

/// A `--target`: a domain key, as the spec allows them.
pub fn target(s: &str) -> Result<String, String> {
    crate::spec::check_key(s).map(|()| s.to_owned()).map_err(|m| format!("{m} (allowed: {})", crate::spec::KEY_ALLOWED))
}

/// A `--zone`: a DNS name, as the spec takes zones.
pub fn zone(s: &str) -> Result<String, String> {
    crate::spec::check_dns_name(s)
        .map(|()| s.to_owned())
        .map_err(|m| format!("{m} (allowed: {})", crate::spec::DNS_ALLOWED))
}

/// A `--dns`: a provider that holds DNS records.
pub fn dns_host(s: &str) -> Result<String, String> {
    let hosts = crate::registry::dns_hosts();
    match hosts.contains(&s) {
        true => Ok(s.to_owned()),
        false => Err(format!("not a DNS host (allowed: {})", hosts.join(", "))),
    }
}

/// A `--log` filter that tracing accepts.
pub fn log_filter(s: &str) -> Result<String, String> {
    match tracing_subscriber::EnvFilter::try_new(s) {
        Ok(_) => Ok(s.to_owned()),
        Err(e) => Err(format!("not a log filter such as warn, info or sslprov=debug ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_bounded() {
        let lock = duration(Duration::ZERO);
        assert_eq!(lock("0s"), Ok(Duration::ZERO));
        assert_eq!(lock(MAX_DURATION_TEXT), Ok(MAX_DURATION));
        assert_eq!(lock("300000000000y"), Err("longer than the maximum of 7d".into()));
        assert!(
            lock("99999999999999999999999s").unwrap_err().starts_with("not a duration such as 30s, 10m or 1h30m (")
        );
        let poll = duration(Duration::from_millis(100));
        assert_eq!(poll("0s"), Err("shorter than the minimum of 100ms".into()));
        assert_eq!(poll("100ms"), Ok(Duration::from_millis(100)));
        assert!(poll("").unwrap_err().starts_with("not a duration"));
    }

    #[test]
    fn parallelism_is_from_one_to_the_maximum() {
        assert_eq!(parallelism("1"), Ok(1));
        assert_eq!(parallelism("1000"), Ok(1000));
        for bad in ["0", "1001", "-1", "x", "18446744073709551616"] {
            assert_eq!(parallelism(bad), Err("not a number from 1 to 1000".into()), "{bad}");
        }
    }

    #[test]
    fn targets_are_domain_keys() {
        assert_eq!(target("acme-eu"), Ok("acme-eu".into()));
        assert_eq!(
            target("a\nb").unwrap_err(),
            format!("invalid domain key `a b` (allowed: {})", crate::spec::KEY_ALLOWED)
        );
        assert_eq!(target("").unwrap_err(), format!("empty domain key (allowed: {})", crate::spec::KEY_ALLOWED));
    }

    #[test]
    fn log_filters_are_checked() {
        assert_eq!(log_filter("sslprov=debug,warn"), Ok("sslprov=debug,warn".into()));
        assert!(log_filter("[[").unwrap_err().starts_with("not a log filter"));
    }
}
