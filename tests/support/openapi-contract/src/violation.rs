//! What an emulator records when a request or response breaks the contract, for the test to
//! assert on at the end.

use std::fmt;

/// A way a request or response broke the contract, or a request that matched no operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub side: Side,
    pub method: String,
    pub path: String,
    pub operation: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// No operation of the definition serves this method and path.
    Route,
    Request,
    Response,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = self.operation.as_deref().unwrap_or("no operation");
        write!(f, "{:?} {} {} ({op}): {}", self.side, self.method, self.path, self.detail)
    }
}

/// Panic, listing them, if there are any: `api` names whose contract they broke.
pub fn assert_none(api: &str, violations: &[Violation]) {
    if !violations.is_empty() {
        let list: Vec<String> = violations.iter().map(|v| format!("  - {v}")).collect();
        panic!("{} {api} API contract violation(s):\n{}", violations.len(), list.join("\n"));
    }
}
