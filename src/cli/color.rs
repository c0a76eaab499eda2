//! When sslprov colours what it writes: `--color auto|always|never`. `auto` (the default) colours
//! a stream only when it is a terminal, and not when `NO_COLOR` is set (https://no-color.org) or
//! the terminal is `dumb`; a flag on the command line overrides the environment. Piped output
//! (CI logs, files) is plain.

use std::ffi::OsString;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Color {
    #[default]
    Auto,
    Always,
    Never,
}

/// What `auto` looks at, read once so tests can set it.
#[derive(Clone, Debug, Default)]
pub struct Env {
    pub no_color: Option<OsString>,
    pub term: Option<OsString>,
}

impl Env {
    pub fn read() -> Env {
        Env { no_color: std::env::var_os("NO_COLOR"), term: std::env::var_os("TERM") }
    }
}

impl Color {
    /// Whether to colour a stream that is (or is not) a terminal.
    pub fn enabled(self, terminal: bool, env: &Env) -> bool {
        match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                terminal
                    && env.no_color.as_ref().is_none_or(|v| v.is_empty())
                    && env.term.as_deref() != Some("dumb".as_ref())
            }
        }
    }

    /// The `--color` in `args`, before clap has parsed them: clap's own messages (help, usage
    /// errors) are written before parsing finishes. A value clap would refuse counts as `auto`;
    /// clap then reports it.
    pub fn from_args(args: &[OsString]) -> Color {
        let mut found = Color::Auto;
        let mut iter = args.iter().skip(1).map(|a| a.to_str().unwrap_or_default());
        while let Some(arg) = iter.next() {
            let value = match arg {
                "--" => break,
                "--color" => iter.next().unwrap_or_default(),
                _ => match arg.strip_prefix("--color=") {
                    Some(v) => v,
                    None => continue,
                },
            };
            found = <Color as clap::ValueEnum>::from_str(value, false).unwrap_or_default();
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(no_color: Option<&str>, term: Option<&str>) -> Env {
        Env { no_color: no_color.map(Into::into), term: term.map(Into::into) }
    }

    #[test]
    fn auto_colours_only_a_terminal_without_no_color() {
        let plain = env(None, Some("xterm-256color"));
        assert!(Color::Auto.enabled(true, &plain));
        assert!(!Color::Auto.enabled(false, &plain));
        assert!(!Color::Auto.enabled(true, &env(Some("1"), None)));
        // An empty NO_COLOR is unset, as no-color.org says.
        assert!(Color::Auto.enabled(true, &env(Some(""), None)));
        assert!(!Color::Auto.enabled(true, &env(None, Some("dumb"))));
    }

    #[test]
    fn the_flag_overrides_the_environment_and_the_terminal() {
        let no_color = env(Some("1"), Some("dumb"));
        assert!(Color::Always.enabled(false, &no_color));
        assert!(!Color::Never.enabled(true, &env(None, None)));
    }

    #[test]
    fn the_flag_is_found_before_parsing() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(Color::from_args(&args(&["sslprov", "validate"])), Color::Auto);
        assert_eq!(Color::from_args(&args(&["sslprov", "--color", "never", "plan"])), Color::Never);
        assert_eq!(Color::from_args(&args(&["sslprov", "plan", "--color=always"])), Color::Always);
        assert_eq!(Color::from_args(&args(&["sslprov", "plan", "--color=blue"])), Color::Auto);
        assert_eq!(Color::from_args(&args(&["sslprov", "plan", "--", "--color=never"])), Color::Auto);
    }
}
