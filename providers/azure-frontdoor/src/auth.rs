//! The bearer token for Azure Resource Manager: Microsoft Entra ID's client-credentials grant with
//! a service principal's secret or a federated token (workload identity), or the Azure CLI's
//! token locally. Tokens are cached until five minutes before they expire; the flow has no refresh
//! token, so a new one is asked for then.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;
use sslprov_provider::{ErrorKind, ProviderError, Result};
use tokio::sync::Mutex;

use crate::NAME;

pub(crate) const SCOPE: &str = "https://management.azure.com/.default";
pub(crate) const AUTHORITY: &str = "https://login.microsoftonline.com";

/// How to give sslprov Azure credentials, said wherever they are missing or refused.
pub const HOW: &str = "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (a service principal), or \
                       AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE (workload identity in a \
                       pipeline), or run `az login` (the Azure CLI, locally)";

/// Where the token comes from. Secrets are held here only, never printed.
#[derive(Clone)]
pub enum Source {
    Secret { tenant: String, client: String, secret: String },
    Federated { tenant: String, client: String, file: PathBuf },
    Cli,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Secret { tenant, client, .. } => write!(f, "Secret {{ tenant: {tenant}, client: {client} }}"),
            Source::Federated { tenant, client, file } => {
                write!(f, "Federated {{ tenant: {tenant}, client: {client}, file: {} }}", file.display())
            }
            Source::Cli => f.write_str("Cli"),
        }
    }
}

fn unauthenticated(message: String) -> ProviderError {
    ProviderError::new(ErrorKind::Unauthenticated, NAME, "credentials", message)
}

impl Source {
    /// The first complete source in the environment, or an error naming what is missing. A
    /// source half given (a secret without its tenant) is an error, not a reason to try the next:
    /// the person meant that one.
    pub fn from_env(var: impl Fn(&str) -> Option<String>, cli_installed: bool) -> Result<Source> {
        let need = |names: &[&str], what: &str| -> Result<Vec<String>> {
            let missing: Vec<&str> = names.iter().copied().filter(|n| var(n).is_none()).collect();
            if missing.is_empty() {
                return Ok(names.iter().filter_map(|n| var(n)).collect());
            }
            Err(unauthenticated(format!("{what} is set but {} is not: {HOW}", missing.join(" and "))))
        };
        if var("AZURE_CLIENT_SECRET").is_some() {
            let v = need(&["AZURE_TENANT_ID", "AZURE_CLIENT_ID"], "AZURE_CLIENT_SECRET")?;
            let secret = var("AZURE_CLIENT_SECRET").unwrap_or_default();
            return Ok(Source::Secret { tenant: v[0].clone(), client: v[1].clone(), secret });
        }
        if let Some(file) = var("AZURE_FEDERATED_TOKEN_FILE") {
            let v = need(&["AZURE_TENANT_ID", "AZURE_CLIENT_ID"], "AZURE_FEDERATED_TOKEN_FILE")?;
            let file = PathBuf::from(file);
            if !file.is_file() {
                return Err(unauthenticated(format!(
                    "AZURE_FEDERATED_TOKEN_FILE names {}, which is not a file: {HOW}",
                    file.display()
                )));
            }
            return Ok(Source::Federated { tenant: v[0].clone(), client: v[1].clone(), file });
        }
        if cli_installed {
            return Ok(Source::Cli);
        }
        Err(unauthenticated(format!(
            "no Azure credentials found (no AZURE_CLIENT_SECRET, no AZURE_FEDERATED_TOKEN_FILE, no `az` on PATH): {HOW}"
        )))
    }
}

/// Whether the Azure CLI is on PATH.
pub(crate) fn cli_installed() -> bool {
    let exe = if cfg!(windows) { "az.cmd" } else { "az" };
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(exe).is_file()))
}

pub(crate) struct Auth {
    source: Source,
    authority: String,
    http: reqwest::Client,
    cached: Mutex<Option<(String, Instant)>>,
}

/// Without the cached token, which a derived `Debug` would print.
impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("source", &self.source).field("authority", &self.authority).finish_non_exhaustive()
    }
}

/// A token is renewed this long before it expires.
const EARLY: Duration = Duration::from_secs(300);

impl Auth {
    pub fn new(source: Source, authority: &str, http: reqwest::Client) -> Auth {
        Auth { source, authority: authority.trim_end_matches('/').to_owned(), http, cached: Mutex::new(None) }
    }

    /// The bearer token, from the cache or newly asked for.
    pub async fn token(&self) -> Result<String> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = match &self.source {
            Source::Secret { tenant, client, secret } => {
                self.grant(tenant, &[("client_id", client), ("client_secret", secret)]).await?
            }
            Source::Federated { tenant, client, file } => {
                // Re-read every time: the platform rotates the file.
                let assertion = std::fs::read_to_string(file).map_err(|e| {
                    unauthenticated(format!("cannot read AZURE_FEDERATED_TOKEN_FILE {}: {e}", file.display()))
                })?;
                let form = [
                    ("client_id", client.as_str()),
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    ("client_assertion", assertion.trim()),
                ];
                self.grant(tenant, &form).await?
            }
            Source::Cli => cli_token().await?,
        };
        // Tokens live an hour or so; a day bounds whatever `expires_in` says.
        *cached =
            Some((token.clone(), Instant::now() + lifetime.min(Duration::from_secs(86_400)).saturating_sub(EARLY)));
        Ok(token)
    }

    async fn grant(&self, tenant: &str, credential: &[(&str, &str)]) -> Result<(String, Duration)> {
        let url = format!("{}/{tenant}/oauth2/v2.0/token", self.authority);
        let form = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials").append_pair("scope", SCOPE);
            for (k, v) in credential {
                form.append_pair(k, v);
            }
            form.finish()
        };
        let response = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(|e| {
                unauthenticated(format!(
                    "cannot reach Microsoft Entra ID at {}: {}; check AZURE_AUTHORITY_HOST and the network",
                    self.authority,
                    sslprov_provider::error::transport_cause(&e)
                ))
            })?;
        let status = response.status().as_u16();
        let body: Value =
            response.bytes().await.ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(Value::Null);
        if status != 200 {
            // AADSTS messages carry a trace id and timestamp after the first line.
            let why = body["error_description"].as_str().and_then(|d| d.lines().next()).unwrap_or("no reason given");
            return Err(unauthenticated(format!(
                "Microsoft Entra ID refused the token request (HTTP {status}, {}): {why}; {HOW}",
                body["error"].as_str().unwrap_or("error")
            )));
        }
        let token = body["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthenticated("Microsoft Entra ID answered without an access_token".to_owned()))?;
        let lifetime = body["expires_in"].as_u64().unwrap_or(3599);
        Ok((token.to_owned(), Duration::from_secs(lifetime)))
    }
}

/// `az account get-access-token`: the signed-in user's token for ARM.
async fn cli_token() -> Result<(String, Duration)> {
    let out = tokio::process::Command::new(if cfg!(windows) { "az.cmd" } else { "az" })
        .args(["account", "get-access-token", "--resource", "https://management.azure.com/", "--output", "json"])
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| unauthenticated(format!("cannot run the Azure CLI: {e}; {HOW}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("no reason given").trim();
        return Err(unauthenticated(format!("the Azure CLI gave no token ({first}): {HOW}")));
    }
    let v: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| unauthenticated(format!("the Azure CLI answered something other than JSON: {e}")))?;
    let token = v["accessToken"].as_str().ok_or_else(|| unauthenticated("the Azure CLI gave no accessToken".into()))?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let lifetime = v["expires_on"].as_u64().map_or(1800, |until| until.saturating_sub(now));
    Ok((token.to_owned(), Duration::from_secs(lifetime)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn the_missing_piece_is_named() {
        let e = Source::from_env(env(&[("AZURE_CLIENT_SECRET", "s"), ("AZURE_CLIENT_ID", "c")]), true).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unauthenticated);
        assert!(
            e.message.starts_with("AZURE_CLIENT_SECRET is set but AZURE_TENANT_ID is not: set AZURE_TENANT_ID"),
            "{e}"
        );
        let e = Source::from_env(env(&[]), false).unwrap_err();
        assert!(e.message.starts_with("no Azure credentials found"), "{e}");
        assert!(e.message.contains("`az login`"), "{e}");
        let e = Source::from_env(env(&[("AZURE_FEDERATED_TOKEN_FILE", "/nonexistent/token")]), false).unwrap_err();
        assert!(e.message.contains("AZURE_TENANT_ID and AZURE_CLIENT_ID is not"), "{e}");
    }

    #[test]
    fn sources_in_order_and_secrets_never_printed() {
        let full = [("AZURE_CLIENT_SECRET", "hunter2"), ("AZURE_CLIENT_ID", "c"), ("AZURE_TENANT_ID", "t")];
        let s = Source::from_env(env(&full), true).unwrap();
        assert!(matches!(s, Source::Secret { .. }));
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(matches!(Source::from_env(env(&[]), true).unwrap(), Source::Cli));
    }
}
