//! What verify found: one row per check and domain, for people (a table) and pipelines (JSON).

use std::fmt::Write as _;

use serde::Serialize;

use crate::spec::Domain;
use crate::template::{DnsShape, templates};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    /// Works now, needs attention soon (a certificate close to expiry).
    Warn,
    /// Not run because a check it needs failed.
    Skip,
    Fail,
}

impl Status {
    pub fn symbol(self) -> &'static str {
        match self {
            Status::Pass => "✔",
            Status::Warn => "!",
            Status::Skip => "-",
            Status::Fail => "✖",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    Dns,
    Tls,
    Certificate,
    Https,
    Http,
    HostHeader,
    State,
}

impl CheckKind {
    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Dns => "dns",
            CheckKind::Tls => "tls",
            CheckKind::Certificate => "certificate",
            CheckKind::Https => "https",
            CheckKind::Http => "http",
            CheckKind::HostHeader => "host_header",
            CheckKind::State => "state",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    pub check: CheckKind,
    pub status: Status,
    /// What the check saw: the evidence, pass or fail.
    pub saw: String,
    /// What to do about a failure or warning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn pass(check: CheckKind, saw: impl Into<String>) -> Check {
        Check { check, status: Status::Pass, saw: saw.into(), fix: None }
    }

    pub fn warn(check: CheckKind, saw: impl Into<String>, fix: impl Into<String>) -> Check {
        Check { check, status: Status::Warn, saw: saw.into(), fix: Some(fix.into()) }
    }

    pub fn fail(check: CheckKind, saw: impl Into<String>, fix: impl Into<String>) -> Check {
        Check { check, status: Status::Fail, saw: saw.into(), fix: Some(fix.into()) }
    }

    pub fn skip(check: CheckKind, why: impl Into<String>) -> Check {
        Check { check, status: Status::Skip, saw: why.into(), fix: None }
    }
}

/// The certificate the CDN served, as handoff reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertificateInfo {
    pub names: Vec<String>,
    pub issuer: String,
    /// RFC 3339.
    pub not_after: String,
    pub days_left: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct DomainReport {
    pub key: String,
    pub tracking_domain: String,
    /// The ESP template's name.
    pub esp: String,
    pub braze_cluster: String,
    /// The CDN template's name.
    pub cdn: String,
    /// The CDN endpoint the state's tracking record points at (a distribution's domain name).
    pub endpoint: Option<String>,
    pub ready: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateInfo>,
    pub checks: Vec<Check>,
}

impl DomainReport {
    pub fn new(d: &Domain, endpoint: Option<String>) -> DomainReport {
        DomainReport {
            key: d.key.clone(),
            tracking_domain: d.tracking_domain.clone(),
            esp: d.esp.clone(),
            braze_cluster: d.braze_cluster.clone(),
            cdn: d.cdn.clone(),
            endpoint,
            ready: false,
            certificate: None,
            checks: Vec::new(),
        }
    }

    /// Adds a check and keeps `ready` in step: ready means no check failed or was skipped.
    pub fn push(&mut self, c: Check) {
        self.checks.push(c);
        self.ready = self.checks.iter().all(|c| matches!(c.status, Status::Pass | Status::Warn));
    }

    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.status == Status::Fail)
    }
}

/// The whole run: `verify --json` prints this.
#[derive(Clone, Debug, Serialize)]
pub struct Verification {
    pub ready: bool,
    /// RFC 3339.
    pub checked_at: String,
    pub domains: Vec<DomainReport>,
}

impl Verification {
    pub fn new(checked_at: String, domains: Vec<DomainReport>) -> Verification {
        Verification { ready: domains.iter().all(|d| d.ready), checked_at, domains }
    }
}

/// What people call the CDN of a template.
pub fn cdn_name(cdn: &str) -> &str {
    templates().cdn.get(cdn).map_or(cdn, |t| t.name.as_str())
}

/// Whether the CDN proxies a record rather than being the target of a CNAME.
pub fn proxied(cdn: &str) -> bool {
    templates().cdn.get(cdn).is_some_and(|t| t.verify.dns == DnsShape::Proxied)
}

/// A compact table per domain: a row per check with ✔/!/✖/-, what it saw, and the fix.
pub fn render(v: &Verification) -> String {
    let mut out = String::new();
    for d in &v.domains {
        let esp = templates().esp.get(&d.esp).map_or(d.esp.as_str(), |t| t.name.as_str());
        let endpoint = match d.endpoint.as_deref() {
            Some(e) => e,
            None if proxied(&d.cdn) => "proxied",
            None => "no endpoint in the state",
        };
        let _ = writeln!(
            out,
            "{} {}  ({}, {}, {} {})",
            d.key,
            d.tracking_domain,
            esp,
            d.braze_cluster,
            cdn_name(&d.cdn),
            endpoint
        );
        for c in &d.checks {
            let _ = writeln!(out, "  {} {:<12} {}", c.status.symbol(), c.check.name(), c.saw);
            if let Some(fix) = &c.fix {
                let _ = writeln!(out, "  {:<14} fix: {fix}", "");
            }
        }
        let _ = writeln!(out);
    }
    let ready: Vec<&str> = v.domains.iter().filter(|d| d.ready).map(|d| d.key.as_str()).collect();
    let not: Vec<&str> = v.domains.iter().filter(|d| !d.ready).map(|d| d.key.as_str()).collect();
    let _ = write!(out, "Ready: {} of {}.", ready.len(), v.domains.len());
    if !not.is_empty() {
        let _ = write!(out, " Not ready: {}.", not.join(", "));
    }
    out.push('\n');
    out
}
