//! The bearer token: Application Default Credentials through `google-cloud-auth`, which finds
//! them (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's well-known file, the metadata server), makes
//! and caches the token, and refreshes it.

use std::path::PathBuf;
use std::time::Duration;

use google_cloud_auth::credentials::{Builder, CacheableResource, Credentials};
use reqwest::header::HeaderMap;
use sslprov_provider::{ErrorKind, ProviderError, Result};

use crate::NAME;

const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
const HOW: &str = "set GOOGLE_APPLICATION_CREDENTIALS to a service-account key or a workload identity federation \
                   configuration, or run `gcloud auth application-default login`";

#[derive(Clone, Debug)]
pub(crate) struct Auth {
    credentials: Credentials,
}

fn unauthenticated(message: String) -> ProviderError {
    ProviderError::new(ErrorKind::Unauthenticated, NAME, "credentials", message)
}

/// gcloud's well-known file of Application Default Credentials.
fn well_known_file() -> Option<PathBuf> {
    if cfg!(windows) {
        std::env::var_os("APPDATA").map(|d| PathBuf::from(d).join("gcloud/application_default_credentials.json"))
    } else {
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/gcloud/application_default_credentials.json"))
    }
}

impl Auth {
    /// Application Default Credentials, or an error that says how to provide them. Where neither
    /// a file is named nor gcloud's exists, the metadata server must answer at once (on Google
    /// Cloud it does): elsewhere the run stops here, not after a minute of token retries.
    pub async fn from_environment() -> Result<Auth> {
        match std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS").filter(|v| !v.is_empty()) {
            Some(path) if !PathBuf::from(&path).is_file() => {
                return Err(unauthenticated(format!(
                    "GOOGLE_APPLICATION_CREDENTIALS names {}, which is not a file: {HOW}",
                    PathBuf::from(path).display()
                )));
            }
            Some(_) => {}
            None if well_known_file().is_some_and(|f| f.is_file()) => {}
            None => {
                let host = std::env::var("GCE_METADATA_HOST").unwrap_or_else(|_| "169.254.169.254".into());
                let host = if host.contains(':') { host } else { format!("{host}:80") };
                let probe = tokio::time::timeout(Duration::from_millis(500), tokio::net::TcpStream::connect(host));
                if !matches!(probe.await, Ok(Ok(_))) {
                    return Err(unauthenticated(format!("no Google Cloud credentials found: {HOW}")));
                }
            }
        }
        let credentials = Builder::default()
            .with_scopes([SCOPE])
            .build()
            .map_err(|e| unauthenticated(format!("the Application Default Credentials cannot be used ({e}): {HOW}")))?;
        Ok(Auth { credentials })
    }

    /// Credentials given as JSON (`authorized_user` or `service_account`), not looked for: a
    /// key held somewhere other than a file, and tests.
    pub fn from_json(json: serde_json::Value) -> Result<Auth> {
        use google_cloud_auth::credentials::{service_account, user_account};
        let built = match json["type"].as_str() {
            Some("authorized_user") => user_account::Builder::new(json).with_scopes([SCOPE]).build(),
            Some("service_account") => service_account::Builder::new(json)
                .with_access_specifier(service_account::AccessSpecifier::from_scopes([SCOPE]))
                .build(),
            other => return Err(unauthenticated(format!("credentials of type {other:?}: {HOW}"))),
        };
        let credentials = built.map_err(|e| unauthenticated(format!("the credentials cannot be used ({e}): {HOW}")))?;
        Ok(Auth { credentials })
    }

    /// The `Authorization` header (and the quota project's, where the credentials name one).
    pub async fn headers(&self) -> Result<HeaderMap> {
        match self.credentials.headers(http::Extensions::new()).await {
            Ok(CacheableResource::New { data, .. }) => Ok(data),
            Ok(CacheableResource::NotModified) => {
                Err(unauthenticated("the credentials gave no token (no cached token was asked for)".into()))
            }
            Err(e) => Err(unauthenticated(format!("no token from the Application Default Credentials ({e}): {HOW}"))),
        }
    }
}
