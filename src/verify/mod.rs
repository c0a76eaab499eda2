//! `sslprov verify`: the runbook's checks, automated (DNS through the CDN, TLS, the ESP's paths
//! over HTTPS and HTTP, Host-header safety, state agreement).
