//! A service version's configuration: read from the API, projected onto a [`ServiceSpec`], and
//! made to match one.
//!
//! sslprov owns the whole of a service it names: every domain, backend, header object, request
//! setting and cache setting in it. What the spec does not describe is a stray: the projection
//! lists it, and making a draft match the spec removes it. sslprov's own objects have fixed
//! names: the header object [`FORWARDED_HOST_HEADER`] and the request setting [`PASS_SETTING`];
//! the backend is named by the spec. The service-wide override host (`general.default_host`) is
//! not a spec field, since no ESP wants one: a non-empty one is a stray, and writing the
//! settings clears it.

use sslprov_provider::{ErrorKind, Result};

use crate::Fastly;
use crate::answers::{BackendAnswer, HeaderAnswer, Named, RequestSettingAnswer, SettingsAnswer};
use crate::endpoints::{self, Collection, flag};
use crate::spec::{BackendSpec, CacheSpec, ServiceSpec};

/// The request header object that sets `X-Forwarded-Host`.
pub const FORWARDED_HOST_HEADER: &str = "sslprov-x-forwarded-host";
/// The request setting that passes every request to the origin.
pub const PASS_SETTING: &str = "sslprov-pass";
const XFH: &str = "http.X-Forwarded-Host";
/// Header objects run in priority order, lowest first; sslprov's runs early.
const XFH_PRIORITY: &str = "10";
/// What a version's settings hold when no one set the fallback TTL.
const DEFAULT_TTL: u64 = 3600;

/// What one version holds of what sslprov reads.
#[derive(Debug, Clone, Default)]
pub(crate) struct VersionConfig {
    pub domains: Vec<String>,
    pub backends: Vec<BackendAnswer>,
    pub headers: Vec<HeaderAnswer>,
    pub request_settings: Vec<RequestSettingAnswer>,
    pub cache_settings: Vec<String>,
    /// `None` when not read (a version sslprov just created, whose settings it will write).
    pub settings: Option<SettingsAnswer>,
}

impl VersionConfig {
    /// Six reads, at once (reads are not rate-limited).
    pub async fn read(fastly: &Fastly, service: &str, version: u32) -> Result<VersionConfig> {
        let api = &fastly.api;
        let list = |c| endpoints::list(service, version, c);
        let requests = (
            list(Collection::Domains),
            list(Collection::Backends),
            list(Collection::Headers),
            list(Collection::RequestSettings),
            list(Collection::CacheSettings),
            endpoints::get_settings(service, version),
        );
        let (domains, backends, headers, request_settings, cache_settings, settings) = futures::try_join!(
            api.json::<Vec<Named>>(&requests.0),
            api.json::<Vec<BackendAnswer>>(&requests.1),
            api.json::<Vec<HeaderAnswer>>(&requests.2),
            api.json::<Vec<RequestSettingAnswer>>(&requests.3),
            api.json::<Vec<Named>>(&requests.4),
            api.json::<SettingsAnswer>(&requests.5),
        )?;
        Ok(VersionConfig {
            domains: domains.into_iter().map(|d| d.name).collect(),
            backends,
            headers,
            request_settings,
            cache_settings: cache_settings.into_iter().map(|c| c.name).collect(),
            settings: Some(settings),
        })
    }

    /// The spec this version amounts to (with the service's name and comment), and its strays.
    /// Where the version holds several of what the spec has one of, the first by name is
    /// projected and the rest are strays.
    pub fn project(&self, name: &str, comment: &str) -> (ServiceSpec, Vec<String>) {
        let mut strays = Vec::new();
        let mut domains = self.domains.clone();
        domains.sort();
        let domain = domains.first().cloned().unwrap_or_default();
        strays.extend(domains.iter().skip(1).map(|d| format!("domain {d}")));

        let mut backends: Vec<&BackendAnswer> = self.backends.iter().collect();
        backends.sort_by(|a, b| a.name.cmp(&b.name));
        let backend = backends.first().map_or_else(empty_backend, |b| project_backend(b));
        strays.extend(backends.iter().skip(1).map(|b| format!("backend {}", b.name)));

        let mut forwarded_host = String::new();
        for h in &self.headers {
            match plain_forwarded_host(h) {
                Some(value) if h.name == FORWARDED_HOST_HEADER => forwarded_host = value,
                _ if h.name == FORWARDED_HOST_HEADER => {
                    strays.push(format!("header {} is not a plain set of {XFH}", h.name));
                }
                _ => strays.push(format!("header {}", h.name)),
            }
        }

        let mut pass = false;
        for r in &self.request_settings {
            if r.name == PASS_SETTING && is_plain_pass(r) {
                pass = true;
            } else if r.name == PASS_SETTING {
                strays.push(format!("request setting {} is not an unconditional pass", r.name));
            } else {
                strays.push(format!("request setting {}", r.name));
            }
        }
        strays.extend(self.cache_settings.iter().map(|c| format!("cache setting {c}")));

        let settings = self.settings.as_ref();
        let fallback_ttl = settings.and_then(|s| s.default_ttl).unwrap_or(DEFAULT_TTL);
        if let Some(host) = settings.and_then(|s| s.default_host.as_deref()).filter(|h| !h.is_empty()) {
            strays
                .push(format!("settings general.default_host is {host:?}: Fastly replaces every client Host with it"));
        }
        let spec = ServiceSpec {
            name: name.to_owned(),
            comment: comment.to_owned(),
            domain,
            backend,
            forwarded_host,
            cache: CacheSpec { pass, fallback_ttl: u32::try_from(fallback_ttl).unwrap_or(u32::MAX) },
        };
        (spec, strays)
    }

    /// Whether this version is exactly what `spec` asks (service name and comment aside).
    pub fn matches(&self, spec: &ServiceSpec) -> bool {
        let (projected, strays) = self.project(&spec.name, &spec.comment);
        strays.is_empty() && projected == *spec && self.settings.is_some()
    }
}

fn empty_backend() -> BackendSpec {
    BackendSpec {
        name: String::new(),
        address: String::new(),
        port: 0,
        use_ssl: false,
        ssl_cert_hostname: String::new(),
        ssl_sni_hostname: String::new(),
        min_tls_version: String::new(),
        override_host: None,
    }
}

fn project_backend(b: &BackendAnswer) -> BackendSpec {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    BackendSpec {
        name: b.name.clone(),
        address: text(&b.address),
        port: b.port.and_then(|p| u16::try_from(p).ok()).unwrap_or(0),
        use_ssl: b.use_ssl.unwrap_or(false),
        ssl_cert_hostname: text(&b.ssl_cert_hostname),
        ssl_sni_hostname: text(&b.ssl_sni_hostname),
        min_tls_version: text(&b.min_tls_version),
        override_host: b.override_host.clone().filter(|h| !h.is_empty()),
    }
}

fn blank(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(str::is_empty)
}

/// The literal a header object sets `X-Forwarded-Host` to, if that is all it does: a request
/// header, set (not appended), even when the client sent one, with no condition.
fn plain_forwarded_host(h: &HeaderAnswer) -> Option<String> {
    let plain = h.kind.as_deref() == Some("request")
        && h.action.as_deref() == Some("set")
        && h.dst.as_deref().is_some_and(|d| d.eq_ignore_ascii_case(XFH))
        && h.ignore_if_set != Some(true)
        && blank(&h.request_condition)
        && blank(&h.cache_condition)
        && blank(&h.response_condition);
    let literal = h.src.as_deref()?.strip_prefix('"')?.strip_suffix('"')?;
    (plain && !literal.contains('"')).then(|| literal.to_owned())
}

fn is_plain_pass(r: &RequestSettingAnswer) -> bool {
    r.action.as_deref() == Some("pass") && blank(&r.request_condition)
}

/// The form fields of the backend `spec` describes; with `current`, only those that differ
/// (empty text clears a field).
fn backend_fields(spec: &BackendSpec, current: Option<&BackendSpec>) -> Vec<(&'static str, String)> {
    let wanted: [(&'static str, String); 8] = [
        ("name", spec.name.clone()),
        ("address", spec.address.clone()),
        ("port", spec.port.to_string()),
        ("use_ssl", flag(spec.use_ssl)),
        ("ssl_cert_hostname", spec.ssl_cert_hostname.clone()),
        ("ssl_sni_hostname", spec.ssl_sni_hostname.clone()),
        ("min_tls_version", spec.min_tls_version.clone()),
        ("override_host", spec.override_host.clone().unwrap_or_default()),
    ];
    match current {
        None => wanted.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
        Some(current) => {
            let have = backend_fields(current, None);
            wanted
                .into_iter()
                .filter(|(k, v)| have.iter().find(|(hk, _)| hk == k).map_or(!v.is_empty(), |(_, hv)| hv != v))
                .collect()
        }
    }
}

/// Delete a named object; one already gone is deleted.
async fn delete_object(fastly: &Fastly, service: &str, version: u32, c: Collection, name: String) -> Result<()> {
    match fastly.api.send(&endpoints::delete(service, version, c, &name)).await {
        Err(e) if !e.is(ErrorKind::NotFound) => Err(e),
        _ => Ok(()),
    }
}

/// Make draft `version` of `service` hold exactly what `spec` asks, given what it holds now.
/// Deletes strays first, so a renamed object never meets its old self.
pub(crate) async fn write_draft(
    fastly: &Fastly,
    service: &str,
    version: u32,
    current: &VersionConfig,
    spec: &ServiceSpec,
) -> Result<()> {
    let api = &fastly.api;
    let delete = |c: Collection, name: &str| delete_object(fastly, service, version, c, name.to_owned());

    for d in current.domains.iter().filter(|d| **d != spec.domain) {
        delete(Collection::Domains, d).await?;
    }
    for b in current.backends.iter().filter(|b| b.name != spec.backend.name) {
        delete(Collection::Backends, &b.name).await?;
    }
    for h in current.headers.iter().filter(|h| h.name != FORWARDED_HOST_HEADER) {
        delete(Collection::Headers, &h.name).await?;
    }
    for r in current.request_settings.iter().filter(|r| r.name != PASS_SETTING || !spec.cache.pass) {
        delete(Collection::RequestSettings, &r.name).await?;
    }
    for c in &current.cache_settings {
        delete(Collection::CacheSettings, c).await?;
    }

    if !current.domains.contains(&spec.domain) {
        api.send(&endpoints::create(service, version, Collection::Domains, vec![("name", spec.domain.clone())]))
            .await?;
    }

    match current.backends.iter().find(|b| b.name == spec.backend.name).map(project_backend) {
        None => {
            let fields = backend_fields(&spec.backend, None);
            api.send(&endpoints::create(service, version, Collection::Backends, fields)).await?;
        }
        Some(have) if have != spec.backend => {
            let fields = backend_fields(&spec.backend, Some(&have));
            api.send(&endpoints::update(service, version, Collection::Backends, &have.name, fields)).await?;
        }
        Some(_) => {}
    }

    let src = format!("\"{}\"", spec.forwarded_host);
    match current.headers.iter().find(|h| h.name == FORWARDED_HOST_HEADER) {
        None => {
            let fields = vec![
                ("name", FORWARDED_HOST_HEADER.to_owned()),
                ("type", "request".to_owned()),
                ("action", "set".to_owned()),
                ("dst", XFH.to_owned()),
                ("src", src),
                ("ignore_if_set", flag(false)),
                ("priority", XFH_PRIORITY.to_owned()),
            ];
            api.send(&endpoints::create(service, version, Collection::Headers, fields)).await?;
        }
        Some(h) if plain_forwarded_host(h).as_deref() != Some(spec.forwarded_host.as_str()) => {
            let mut fields = vec![
                ("type", "request".to_owned()),
                ("action", "set".to_owned()),
                ("dst", XFH.to_owned()),
                ("src", src),
                ("ignore_if_set", flag(false)),
            ];
            for (field, value) in [
                ("request_condition", &h.request_condition),
                ("cache_condition", &h.cache_condition),
                ("response_condition", &h.response_condition),
            ] {
                if !blank(value) {
                    fields.push((field, String::new()));
                }
            }
            api.send(&endpoints::update(service, version, Collection::Headers, FORWARDED_HOST_HEADER, fields)).await?;
        }
        Some(_) => {}
    }

    if spec.cache.pass {
        match current.request_settings.iter().find(|r| r.name == PASS_SETTING) {
            None => {
                let fields = vec![("name", PASS_SETTING.to_owned()), ("action", "pass".to_owned())];
                api.send(&endpoints::create(service, version, Collection::RequestSettings, fields)).await?;
            }
            Some(r) if !is_plain_pass(r) => {
                let mut fields = vec![("action", "pass".to_owned())];
                if !blank(&r.request_condition) {
                    fields.push(("request_condition", String::new()));
                }
                api.send(&endpoints::update(service, version, Collection::RequestSettings, PASS_SETTING, fields))
                    .await?;
            }
            Some(_) => {}
        }
    }

    let settings = current.settings.as_ref();
    let ttl_ok = settings.and_then(|s| s.default_ttl) == Some(u64::from(spec.cache.fallback_ttl));
    let host_ok = settings.is_some_and(|s| blank(&s.default_host));
    if !(ttl_ok && host_ok) {
        let fields =
            vec![("general.default_ttl", spec.cache.fallback_ttl.to_string()), ("general.default_host", String::new())];
        api.send(&endpoints::update_settings(service, version, fields)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(name: &str) -> BackendAnswer {
        BackendAnswer {
            name: name.to_owned(),
            address: Some("sendgrid.net".into()),
            port: Some(443),
            use_ssl: Some(true),
            ssl_cert_hostname: Some("sendgrid.net".into()),
            ssl_sni_hostname: Some("sendgrid.net".into()),
            min_tls_version: Some("1.2".into()),
            override_host: None,
        }
    }

    fn header(src: &str, action: &str) -> HeaderAnswer {
        HeaderAnswer {
            name: FORWARDED_HOST_HEADER.to_owned(),
            kind: Some("request".into()),
            action: Some(action.into()),
            dst: Some(XFH.into()),
            src: Some(src.into()),
            ignore_if_set: Some(false),
            request_condition: None,
            cache_condition: None,
            response_condition: Some(String::new()),
        }
    }

    fn config() -> VersionConfig {
        VersionConfig {
            domains: vec!["click.example.com".into()],
            backends: vec![backend("sendgrid")],
            headers: vec![header("\"click.example.com\"", "set")],
            request_settings: vec![RequestSettingAnswer {
                name: PASS_SETTING.into(),
                action: Some("pass".into()),
                request_condition: Some(String::new()),
            }],
            cache_settings: vec![],
            settings: Some(SettingsAnswer { default_ttl: Some(0), default_host: Some(String::new()) }),
        }
    }

    #[test]
    fn a_clean_version_projects_without_strays() {
        let (spec, strays) = config().project("svc", "c");
        assert_eq!(strays, Vec::<String>::new());
        assert_eq!((spec.domain.as_str(), spec.forwarded_host.as_str()), ("click.example.com", "click.example.com"));
        assert_eq!(spec.cache, CacheSpec { pass: true, fallback_ttl: 0 });
        assert_eq!(spec.backend.port, 443);
        assert!(config().matches(&spec));
    }

    #[test]
    fn what_the_spec_cannot_say_is_a_stray() {
        let mut c = config();
        c.domains.push("zz.example.com".into());
        c.backends.push(backend("legacy"));
        c.headers[0] = header("req.http.host", "set");
        c.cache_settings.push("ttl".into());
        c.settings = Some(SettingsAnswer { default_ttl: Some(10), default_host: Some("sendgrid.net".into()) });
        let (spec, strays) = c.project("svc", "c");
        assert_eq!(spec.forwarded_host, "", "not a literal");
        assert_eq!(strays.len(), 5, "{strays:?}");
        assert!(strays.iter().any(|s| s.contains("default_host")), "{strays:?}");
        c.headers[0] = header("\"click.example.com\"", "append");
        assert!(c.project("svc", "c").1.iter().any(|s| s.contains("not a plain set")));
    }

    #[test]
    fn only_differing_backend_fields_are_written() {
        let have = project_backend(&backend("sendgrid"));
        let mut want = have.clone();
        want.min_tls_version = String::new();
        want.port = 8443;
        assert_eq!(
            backend_fields(&want, Some(&have)),
            vec![("port", "8443".to_owned()), ("min_tls_version", String::new())]
        );
        let created = backend_fields(&want, None);
        assert!(created.iter().all(|(k, _)| *k != "min_tls_version" && *k != "override_host"), "{created:?}");
    }
}
