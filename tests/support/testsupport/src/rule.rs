//! Fault rules: which calls they catch, what they do, and how often.

use std::time::Duration;

/// One fault. The first rule that matches a request and has budget left fires.
///
/// ```
/// use std::time::Duration;
/// use sslprov_testsupport::Rule;
/// Rule::error("cloudfront", Some("CreateDistribution"), 409, "CNAMEAlreadyExists").times(1);
/// Rule::error("route53", None, 400, "Throttling").skip(2).times(3);
/// Rule::forward_then_reset("acm", Some("RequestCertificate")).times(1);
/// Rule::hang("cloudfront", Some("CreateDistribution"), Duration::from_secs(600));
/// Rule::hang("s3", Some("PutObject"), Duration::from_secs(600)).path_suffix(".lock");
/// ```
#[derive(Debug, Clone)]
pub struct Rule {
    pub(crate) service: String,
    pub(crate) operation: Option<String>,
    /// Only requests whose path (without the query) ends with this: one S3 object of several.
    path_suffix: Option<String>,
    pub(crate) action: Action,
    skip: u64,
    times: Option<u64>,
    matched: u64,
    fired: u64,
}

#[derive(Debug, Clone)]
pub(crate) enum Action {
    Error { status: u16, code: String, message: Option<String>, retry_after: Option<u64> },
    Delay(Duration),
    Reset,
    ForwardThenReset,
    Hang(Duration),
}

impl Action {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Action::Error { .. } => "error",
            Action::Delay(_) => "delay",
            Action::Reset => "reset",
            Action::ForwardThenReset => "forward_then_reset",
            Action::Hang(_) => "hang",
        }
    }
}

impl Rule {
    fn new(service: &str, operation: Option<&str>, action: Action) -> Rule {
        Rule {
            service: service.to_owned(),
            operation: operation.map(str::to_owned),
            path_suffix: None,
            action,
            skip: 0,
            times: None,
            matched: 0,
            fired: 0,
        }
    }

    /// Answer with an AWS-shaped error: restXml `ErrorResponse` for CloudFront and Route 53,
    /// awsJson `__type` plus `x-amzn-ErrorType` for ACM. `service` may be `*`; `None` is any
    /// operation.
    pub fn error(service: &str, operation: Option<&str>, status: u16, code: &str) -> Rule {
        let action = Action::Error { status, code: code.to_owned(), message: None, retry_after: None };
        Rule::new(service, operation, action)
    }

    /// Wait, then forward.
    pub fn delay(service: &str, operation: Option<&str>, delay: Duration) -> Rule {
        Rule::new(service, operation, Action::Delay(delay))
    }

    /// Close the connection without answering; moto never sees the request.
    pub fn reset(service: &str, operation: Option<&str>) -> Rule {
        Rule::new(service, operation, Action::Reset)
    }

    /// Forward to moto, so the side effect happens, then close the connection instead of
    /// answering: a create that reached the server whose answer was lost.
    pub fn forward_then_reset(service: &str, operation: Option<&str>) -> Rule {
        Rule::new(service, operation, Action::ForwardThenReset)
    }

    /// Hold the request without answering for `hold` (`Duration::MAX`: forever), then close the
    /// connection. Moto never sees it.
    pub fn hang(service: &str, operation: Option<&str>, hold: Duration) -> Rule {
        Rule::new(service, operation, Action::Hang(hold))
    }

    /// Fire at most `n` times; then the rule is spent and later rules get their turn.
    pub fn times(mut self, n: u64) -> Rule {
        self.times = Some(n);
        self
    }

    /// Let the first `n` matching requests through (to later rules, then to moto) before firing.
    pub fn skip(mut self, n: u64) -> Rule {
        self.skip = n;
        self
    }

    /// Fire only for requests whose path (query excluded) ends with `suffix`, e.g. one S3 key.
    pub fn path_suffix(mut self, suffix: &str) -> Rule {
        self.path_suffix = Some(suffix.to_owned());
        self
    }

    /// The error message (default: one naming the injection).
    pub fn message(mut self, message: &str) -> Rule {
        if let Action::Error { message: m, .. } = &mut self.action {
            *m = Some(message.to_owned());
        }
        self
    }

    /// Add a `Retry-After: <secs>` header to the error.
    pub fn retry_after(mut self, secs: u64) -> Rule {
        if let Action::Error { retry_after, .. } = &mut self.action {
            *retry_after = Some(secs);
        }
        self
    }

    /// Whether this rule fires for the call; counts the match against its budget if it does.
    pub(crate) fn fire(&mut self, service: &str, operation: &str, path: &str) -> bool {
        let matches = (self.service == "*" || self.service == service)
            && self.operation.as_deref().is_none_or(|op| op == operation)
            && self.path_suffix.as_deref().is_none_or(|s| path.ends_with(s));
        if !matches || self.times.is_some_and(|t| self.fired >= t) {
            return false;
        }
        self.matched += 1;
        if self.matched <= self.skip {
            return false;
        }
        self.fired += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_then_times() {
        let mut rule = Rule::reset("route53", Some("GetChange")).skip(1).times(2);
        let fired: Vec<bool> = (0..5).map(|_| rule.fire("route53", "GetChange", "/")).collect();
        assert_eq!(fired, [false, true, true, false, false]);
    }

    #[test]
    fn matches_service_and_operation() {
        let mut any_op = Rule::reset("acm", None);
        assert!(any_op.fire("acm", "ListCertificates", "/"));
        assert!(!any_op.fire("route53", "ListHostedZones", "/"));
        let mut any_service = Rule::reset("*", Some("TagResource"));
        assert!(any_service.fire("cloudfront", "TagResource", "/"));
        assert!(!any_service.fire("cloudfront", "GetDistribution", "/"));
    }

    #[test]
    fn a_path_suffix_picks_one_object() {
        let mut lock_only = Rule::reset("s3", Some("PutObject")).path_suffix(".lock");
        assert!(!lock_only.fire("s3", "PutObject", "/bucket/prod.json"));
        assert!(lock_only.fire("s3", "PutObject", "/bucket/prod.json.lock"));
    }
}
