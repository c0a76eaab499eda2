//! The CLI's edge: every failure becomes a report with an exit code.

use std::fmt;

use sslprov_provider::ProviderError;

/// Exit codes, as documented in the README.
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    /// `plan --detailed-exitcode`: the plan has changes.
    pub const CHANGES: u8 = 2;
    /// `verify`: a domain is not ready.
    pub const NOT_READY: u8 = 3;
}

/// A failure as the user sees it: what happened, with the chain of causes.
#[derive(Debug)]
pub struct Report {
    pub message: String,
    pub code: u8,
}

impl Report {
    pub fn new(message: impl Into<String>) -> Self {
        Report { message: message.into(), code: exit::ERROR }
    }

    /// A report of `err` and each of its sources, down to the first provider error: that one
    /// already says what failed, where and the fix in a line, and what lies below it is the
    /// vendor library's own chain, shown with `--log debug`.
    pub fn chain(err: &(dyn std::error::Error + 'static)) -> Self {
        let mut message = err.to_string();
        let mut link = Some(err);
        while let Some(e) = link {
            // Boxed where an enum keeps it small, and a box is an error of its own type.
            if e.is::<ProviderError>() || e.is::<Box<ProviderError>>() {
                if let Some(below) = e.source() {
                    tracing::debug!(error = %message, cause = ?below, "the vendor's error");
                }
                break;
            }
            let text = e.to_string();
            if !message.contains(&text) {
                message.push_str(&format!("\n  caused by: {text}"));
            }
            link = e.source();
        }
        Report::new(message)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

macro_rules! report_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Report {
            fn from(e: $t) -> Self {
                Report::chain(&e)
            }
        }
    )*};
}

report_from!(
    crate::spec::SpecErrors,
    crate::state::StateFileError,
    crate::state::LockError,
    crate::apply::ApplyError,
    ProviderError,
    std::io::Error,
    serde_json::Error
);
