//! What a provider is connected with for one run: the call counter every budget reports to, and
//! clients several providers share (one AWS configuration for ACM, CloudFront and Route 53).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Mutex, OnceCell};

use crate::budget::Calls;
use crate::error::Result;

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

#[cfg(feature = "aws")]
pub mod aws {
    //! The AWS configuration the AWS providers share: aws-config's default credential chain
    //! (environment, profiles, SSO, credential process) and `AWS_ENDPOINT_URL`, with sslprov's
    //! retry settings.

    use std::sync::Arc;
    use std::time::Duration;

    use aws_config::retry::RetryConfig;
    use aws_config::{BehaviorVersion, Region, SdkConfig};

    use super::Connect;
    use crate::error::Result;

    /// Standard mode with more attempts than the SDK's 3: a pipeline that applies a thousand
    /// domains meets throttling, and a retried throttle is cheaper than a failed run. Tests set
    /// `SSLPROV_AWS_MAX_ATTEMPTS` and `SSLPROV_AWS_BACKOFF_MS` for fast retries.
    const MAX_ATTEMPTS: u32 = 8;
    const BACKOFF_MS: u64 = 1000;

    fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
        std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
    }

    /// The run's AWS configuration, loaded once.
    pub async fn sdk_config(cx: &Connect) -> Result<Arc<SdkConfig>> {
        cx.shared(|| async {
            let backoff = Duration::from_millis(setting("SSLPROV_AWS_BACKOFF_MS", BACKOFF_MS));
            let retry = RetryConfig::standard()
                .with_max_attempts(setting("SSLPROV_AWS_MAX_ATTEMPTS", MAX_ATTEMPTS).max(1))
                .with_initial_backoff(backoff)
                .with_max_backoff(backoff.max(Duration::from_millis(1)) * 20);
            let mut sdk = aws_config::defaults(BehaviorVersion::latest()).retry_config(retry).load().await;
            if sdk.region().is_none() {
                // CloudFront and Route 53 are global and ACM is pinned to us-east-1 by its
                // provider; a region is still needed to sign.
                sdk = sdk.into_builder().region(Region::new("us-east-1")).build();
            }
            Ok(sdk)
        })
        .await
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
}
