//! What a provider is connected with for one run: the call counter every budget reports to, and
//! clients several providers share (one AWS configuration for ACM, CloudFront and Route 53).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, OnceCell};

use crate::budget::Calls;
use crate::error::{ErrorKind, ProviderError, Result, transport_cause};

/// One shared value, made once.
type Shared = Arc<OnceCell<Arc<dyn Any + Send + Sync>>>;

#[derive(Clone, Debug, Default)]
pub struct Connect {
    pub calls: Calls,
    shared: Arc<Mutex<HashMap<TypeId, Shared>>>,
}

impl Connect {
    pub fn new(calls: Calls) -> Self {
        Connect { calls, shared: Arc::default() }
    }

    /// The one value of type `T` for this run, made by the first caller's `init`. Providers that
    /// share credentials and settings (the AWS ones) load them once this way.
    pub async fn shared<T, F, Fut>(&self, init: F) -> Result<Arc<T>>
    where
        T: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let cell = Arc::clone(self.shared.lock().await.entry(TypeId::of::<T>()).or_default());
        let value =
            cell.get_or_try_init(|| async { Ok::<_, crate::ProviderError>(Arc::new(init().await?) as _) }).await?;
        Ok(Arc::clone(value).downcast::<T>().unwrap_or_else(|_| unreachable!("keyed by its own TypeId")))
    }
}

/// A TCP connection to an API endpoint takes milliseconds; one that takes seconds is not coming.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Opens (and drops) a TCP connection to `endpoint`, so that a wrong endpoint setting (`setting`,
/// the variable that names it) or a network without a route fails the run at once with one line,
/// instead of after every call's retries. It costs no request.
pub async fn reachable(provider: &'static str, endpoint: &str, setting: &str) -> Result<()> {
    let unreachable = |cause: String| {
        ProviderError::new(
            ErrorKind::Unavailable,
            provider,
            "connect",
            format!("cannot reach {endpoint}: {cause}; check {setting} and the network"),
        )
    };
    let (host, port) = host_port(endpoint).ok_or_else(|| unreachable("not an http(s) URL".into()))?;
    let connect = tokio::net::TcpStream::connect((host.as_str(), port));
    match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(unreachable(transport_cause(&e))),
        Err(_) => Err(unreachable(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()))),
    }
}

fn host_port(endpoint: &str) -> Option<(String, u16)> {
    let uri: http::Uri = endpoint.parse().ok()?;
    let default = match uri.scheme_str()? {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
    Some((host.to_owned(), uri.port_u16().unwrap_or(default)))
}

#[cfg(feature = "aws")]
pub mod aws {
    //! The AWS configuration the AWS providers share: aws-config's default credential chain
    //! (environment, profiles, SSO, credential process, container and instance roles) and
    //! `AWS_ENDPOINT_URL`, with sslprov's retry settings and bounds on how long a missing
    //! credential or an unreachable endpoint can keep a run waiting.

    use std::sync::Arc;
    use std::time::Duration;

    use aws_config::default_provider::credentials::DefaultCredentialsChain;
    use aws_config::retry::RetryConfig;
    use aws_config::timeout::TimeoutConfig;
    use aws_config::{BehaviorVersion, Region, SdkConfig};
    use aws_credential_types::provider::ProvideCredentials;
    use aws_credential_types::provider::error::CredentialsError;

    use super::{CONNECT_TIMEOUT, Connect};
    use crate::budget::Budget;
    use crate::error::{CREDENTIALS_FIX, ErrorKind, ProviderError, Result, transport_cause};
    use crate::resource::ProviderInfo;

    /// Standard mode with more attempts than the SDK's 3: a pipeline that applies a thousand
    /// domains meets throttling, and a retried throttle is cheaper than a failed run. Tests set
    /// `SSLPROV_AWS_MAX_ATTEMPTS` and `SSLPROV_AWS_BACKOFF_MS` for fast retries.
    const MAX_ATTEMPTS: u32 = 8;
    const BACKOFF_MS: u64 = 1000;
    /// The instance metadata service answers within milliseconds where it exists; elsewhere its
    /// address may swallow packets, and the SDK's defaults (1 s, 4 attempts, for the region and
    /// again for credentials) made a run without credentials wait seconds before saying so.
    const IMDS_TIMEOUT: Duration = Duration::from_millis(300);
    /// The SDK waits for an answer forever by default: a connection that stalls (a NAT or proxy
    /// dropping it silently) would hang a pipeline's run. AWS answers these APIs in seconds; an
    /// attempt that takes a minute is abandoned and retried like a lost connection (every write
    /// carries its idempotency token or is checked against what it made). Tests set
    /// `SSLPROV_AWS_ATTEMPT_TIMEOUT_MS`.
    const ATTEMPT_TIMEOUT_MS: u64 = 60_000;

    fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
        std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
    }

    /// How many times the SDK tries a call before giving up.
    pub fn max_attempts() -> u32 {
        setting("SSLPROV_AWS_MAX_ATTEMPTS", MAX_ATTEMPTS).max(1)
    }

    /// The run's AWS configuration, loaded once, with credentials that were found: a run without
    /// them stops here, before any plan, rather than at its first call.
    pub async fn sdk_config(cx: &Connect) -> Result<Arc<SdkConfig>> {
        cx.shared(|| async {
            let backoff = Duration::from_millis(setting("SSLPROV_AWS_BACKOFF_MS", BACKOFF_MS));
            let retry = RetryConfig::standard()
                .with_max_attempts(max_attempts())
                .with_initial_backoff(backoff)
                .with_max_backoff(backoff.max(Duration::from_millis(1)) * 20);
            let imds = aws_config::imds::Client::builder()
                .connect_timeout(IMDS_TIMEOUT)
                .read_timeout(IMDS_TIMEOUT)
                .max_attempts(1)
                .build();
            let credentials = DefaultCredentialsChain::builder().imds_client(imds).build().await;
            let sdk = aws_config::defaults(BehaviorVersion::latest())
                // CloudFront and Route 53 are global and ACM is pinned to us-east-1 by its
                // provider: the region only signs, and naming it spares a lookup in instance
                // metadata.
                .region(Region::new("us-east-1"))
                .credentials_provider(credentials)
                .retry_config(retry)
                .timeout_config(
                    TimeoutConfig::builder()
                        .connect_timeout(CONNECT_TIMEOUT)
                        .operation_attempt_timeout(Duration::from_millis(
                            setting("SSLPROV_AWS_ATTEMPT_TIMEOUT_MS", ATTEMPT_TIMEOUT_MS).max(1),
                        ))
                        .build(),
                )
                .load()
                .await;
            let provider =
                sdk.credentials_provider().ok_or_else(|| no_credentials("no credential provider is configured"))?;
            if let Err(e) = provider.provide_credentials().await {
                tracing::debug!(error = ?e, "no AWS credentials");
                // The chain answers with the last source it tried (instance metadata, typically,
                // whose refusal says nothing about what to do); a configuration it could not
                // read is the one failure worth naming.
                return Err(match e {
                    CredentialsError::InvalidConfiguration(_) => no_credentials(&transport_cause(&e)),
                    _ => no_credentials(
                        "none found in the environment, the shared config and credentials files, SSO, or \
                         container and instance metadata",
                    ),
                });
            }
            Ok(sdk)
        })
        .await
    }

    fn no_credentials(cause: &str) -> ProviderError {
        ProviderError::new(ErrorKind::Unauthenticated, "aws", "credentials", format!("{cause}; {CREDENTIALS_FIX}"))
    }

    /// What an AWS provider connects with: the run's configuration, once the endpoint the SDK will
    /// call for `service_id` answers (else `default`, the service's public endpoint), and the
    /// provider's budget.
    pub async fn service(
        cx: &Connect,
        info: &'static ProviderInfo,
        service_id: &str,
        default: &str,
    ) -> Result<(Arc<SdkConfig>, Budget)> {
        let sdk = sdk_config(cx).await?;
        super::reachable(info.name, &endpoint(&sdk, service_id, default), "AWS_ENDPOINT_URL").await?;
        Ok((sdk, Budget::for_provider(info, cx.calls.clone())))
    }

    /// The endpoint the SDK will call for `service_id` (as the SDK names it: "Route 53",
    /// "CloudFront", "ACM"): `AWS_ENDPOINT_URL_<SERVICE>`, the profile's `endpoint_url`, or
    /// `AWS_ENDPOINT_URL`, the way the service clients look them up; else `default`.
    pub fn endpoint(sdk: &SdkConfig, service_id: &str, default: &str) -> String {
        let env = format!("AWS_ENDPOINT_URL_{}", service_id.to_uppercase().replace(' ', "_"));
        let key = aws_types::service_config::ServiceConfigKey::builder()
            .service_id(service_id)
            .env(&env)
            .profile("endpoint_url")
            .build()
            .ok();
        key.and_then(|k| sdk.service_config().and_then(|c| c.load_config(k)))
            .or_else(|| sdk.endpoint_url().map(str::to_owned))
            .unwrap_or_else(|| default.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_shared_value_is_made_once() {
        let cx = Connect::default();
        let made = std::sync::atomic::AtomicU32::new(0);
        for _ in 0..3 {
            let v = cx
                .shared(|| async {
                    made.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    Ok(String::from("config"))
                })
                .await
                .unwrap();
            assert_eq!(*v, "config");
        }
        assert_eq!(made.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn endpoints_are_split_into_host_and_port() {
        assert_eq!(host_port("http://127.0.0.1:5000"), Some(("127.0.0.1".into(), 5000)));
        assert_eq!(host_port("https://route53.amazonaws.com"), Some(("route53.amazonaws.com".into(), 443)));
        assert_eq!(
            host_port("https://acm.us-east-1.amazonaws.com/"),
            Some(("acm.us-east-1.amazonaws.com".into(), 443))
        );
        assert_eq!(host_port("http://[::1]:8080/x"), Some(("::1".into(), 8080)));
        assert_eq!(host_port("http://[::1]"), Some(("::1".into(), 80)));
        assert_eq!(host_port("localhost:5000"), None);
        assert_eq!(host_port("ftp://x"), None);
    }

    #[tokio::test]
    async fn a_refused_connection_is_named_in_one_line() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = reachable("route53", &format!("http://127.0.0.1:{port}"), "AWS_ENDPOINT_URL").await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unavailable);
        assert_eq!(
            e.message,
            format!("cannot reach http://127.0.0.1:{port}: connection refused; check AWS_ENDPOINT_URL and the network")
        );
    }
}
