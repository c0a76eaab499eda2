//! The providers one run talks to, built from the standard AWS credential chain.

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use sslprov_provider::{Budget, Calls, Provider, ProviderError};

/// AWS client settings a run can override (tests use fast retries against the emulator).
#[derive(Clone, Debug)]
pub struct AwsOptions {
    pub max_attempts: u32,
    pub initial_backoff: Duration,
}

impl Default for AwsOptions {
    fn default() -> Self {
        // Standard mode with more attempts than the SDK's 3: a pipeline that applies a thousand
        // domains meets throttling, and a retried throttle is cheaper than a failed run.
        AwsOptions { max_attempts: 8, initial_backoff: Duration::from_secs(1) }
    }
}

#[derive(Clone, Debug)]
pub struct Providers {
    pub acm: Arc<dyn Provider>,
    pub cloudfront: Arc<dyn Provider>,
    pub route53: Arc<dyn Provider>,
    /// Only when a spec or state uses Cloudflare, which needs `CLOUDFLARE_API_TOKEN`.
    pub cloudflare: Option<Arc<dyn Provider>>,
    /// The same, for what only Cloudflare does (the token check, a rule's warnings before it exists).
    pub cloudflare_api: Option<Arc<sslprov_cloudflare::Cloudflare>>,
    pub calls: Calls,
}

impl Providers {
    /// Credentials and endpoint come from aws-config's default chain: environment, profiles, SSO,
    /// and `AWS_ENDPOINT_URL`, so the same binary runs against a local emulator.
    pub async fn new(opts: &AwsOptions, cloudflare: bool) -> Result<Providers, ProviderError> {
        let retry = RetryConfig::standard()
            .with_max_attempts(opts.max_attempts)
            .with_initial_backoff(opts.initial_backoff)
            .with_max_backoff(opts.initial_backoff.max(Duration::from_millis(1)) * 20);
        let mut sdk = aws_config::defaults(BehaviorVersion::latest()).retry_config(retry).load().await;
        if sdk.region().is_none() {
            // CloudFront and Route 53 are global and ACM is pinned to us-east-1 by its provider;
            // a region is still needed to sign.
            sdk = sdk.into_builder().region(Region::new("us-east-1")).build();
        }
        let calls = Calls::default();
        // Documented limits: Route 53 5 requests/s per account; ACM 5-10/s per operation;
        // CloudFront's control plane is lower still for writes. Stay under them by construction.
        let budget = |per_second, burst| Budget::per_second(per_second, burst, calls.clone());
        let cloudflare_api = match cloudflare {
            false => None,
            true => {
                let config = sslprov_cloudflare::CloudflareConfig::from_env()?;
                // Cloudflare allows 1,200 requests per 5 minutes per token and locks the token out
                // for 5 minutes beyond that. A bucket of 20 refilled at 1,080 per 5 minutes passes
                // at most 1,100 in any 5-minute window: room for the dashboard and other tools
                // using the same token.
                let window = Budget::per_window(1080, Duration::from_secs(300), 20, calls.clone());
                Some(Arc::new(sslprov_cloudflare::Cloudflare::new(config, window)?))
            }
        };
        Ok(Providers {
            acm: Arc::new(sslprov_acm::Acm::new(&sdk, budget(10, 10))),
            cloudfront: Arc::new(sslprov_cloudfront::CloudFront::new(&sdk, budget(5, 5))),
            route53: Arc::new(sslprov_route53::Route53::new(&sdk, budget(5, 5))),
            cloudflare: cloudflare_api.clone().map(|c| c as Arc<dyn Provider>),
            cloudflare_api,
            calls,
        })
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Provider>> {
        match name {
            "acm" => Some(&self.acm),
            "cloudfront" => Some(&self.cloudfront),
            "route53" => Some(&self.route53),
            "cloudflare" => self.cloudflare.as_ref(),
            _ => None,
        }
    }
}
