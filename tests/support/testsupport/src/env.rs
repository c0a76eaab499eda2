//! One test's AWS: the shared moto, a fresh account, and a fault proxy of its own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_route53::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_route53::config::{ConfigBag, Credentials, Intercept, RuntimeComponents};
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};

use crate::moto::MotoServer;
use crate::proxy::FaultProxy;

pub(crate) const REGION: &str = "us-east-1";
const MAX_ATTEMPTS: u32 = 5;
const BACKOFF_MS: u64 = 5;

/// Variables that would let the developer's own AWS identity or settings leak into a subprocess;
/// [`AwsEnv::apply_to`] removes them.
const LEAKY_VARS: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_ENDPOINT_URL_ACM",
    "AWS_ENDPOINT_URL_CLOUDFRONT",
    "AWS_ENDPOINT_URL_ROUTE_53",
    "AWS_ENDPOINT_URL_S3",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
];

/// A test's view of AWS: moto behind its own [`FaultProxy`], in an account no other test uses.
#[derive(Debug)]
pub struct AwsEnv {
    moto: MotoServer,
    proxy: FaultProxy,
    account: String,
    config: SdkConfig,
    // Straight to moto with the account header, so fixtures neither count nor hit fault rules.
    direct: aws_sdk_route53::Client,
    direct_s3: aws_sdk_s3::Client,
}

impl AwsEnv {
    /// The shared moto of this test binary (started on first use), a fresh account, a new proxy.
    ///
    /// # Panics
    /// If moto cannot be started.
    pub async fn new() -> AwsEnv {
        AwsEnv::with_moto(MotoServer::shared()).await
    }

    /// Like [`AwsEnv::new`] on a server of the test's own ([`MotoServer::start_dedicated`]).
    pub async fn with_moto(moto: &MotoServer) -> AwsEnv {
        let account = fresh_account();
        let proxy = FaultProxy::start(moto.addr(), Some(&account));
        let config = sdk_config(&proxy.endpoint()).await;
        let direct_config = sdk_config(&moto.url()).await;
        let direct = aws_sdk_route53::Client::from_conf(
            aws_sdk_route53::config::Builder::from(&direct_config).interceptor(MotoAccount(account.clone())).build(),
        );
        let direct_s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&direct_config)
                .force_path_style(true)
                .interceptor(MotoAccount(account.clone()))
                .build(),
        );
        AwsEnv { moto: moto.clone(), proxy, account, config, direct, direct_s3 }
    }

    /// The proxy's URL: what the code under test must use as its endpoint.
    pub fn endpoint(&self) -> String {
        self.proxy.endpoint()
    }

    /// Region us-east-1, static `testing` credentials, endpoint = the proxy, standard retries
    /// with 5 attempts and 5–50 ms backoff so that injected throttles cost milliseconds.
    pub fn sdk_config(&self) -> SdkConfig {
        self.config.clone()
    }

    pub fn proxy(&self) -> &FaultProxy {
        &self.proxy
    }

    pub fn moto(&self) -> &MotoServer {
        &self.moto
    }

    /// The 12-digit account this test's requests land in.
    pub fn account(&self) -> &str {
        &self.account
    }

    pub fn acm(&self) -> aws_sdk_acm::Client {
        aws_sdk_acm::Client::new(&self.config)
    }

    pub fn cloudfront(&self) -> aws_sdk_cloudfront::Client {
        aws_sdk_cloudfront::Client::new(&self.config)
    }

    pub fn route53(&self) -> aws_sdk_route53::Client {
        aws_sdk_route53::Client::new(&self.config)
    }

    /// S3 through the proxy, path-style (`/bucket/key`: moto has no bucket sub-domains), so its
    /// calls are counted and faulted as `s3:PutObject`, `s3:GetObject`, …
    pub fn s3(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&self.config).force_path_style(true).build())
    }

    /// Create a bucket in this account, with versioning on or off. Goes straight to moto: not
    /// counted, not faulted.
    ///
    /// # Panics
    /// If moto refuses.
    pub async fn create_bucket(&self, name: &str, versioned: bool) {
        use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
        self.direct_s3
            .create_bucket()
            .bucket(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create bucket {name}: {e:?}"));
        if versioned {
            let on = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
            self.direct_s3
                .put_bucket_versioning()
                .bucket(name)
                .versioning_configuration(on)
                .send()
                .await
                .unwrap_or_else(|e| panic!("versioning on {name}: {e:?}"));
        }
    }

    /// An object's bytes, or `None` when there is none. Straight to moto.
    ///
    /// # Panics
    /// If moto fails otherwise.
    pub async fn get_object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        match self.direct_s3.get_object().bucket(bucket).key(key).send().await {
            Ok(out) => Some(out.body.collect().await.expect("object body").into_bytes().to_vec()),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => None,
            Err(e) => panic!("get s3://{bucket}/{key}: {e:?}"),
        }
    }

    /// Write an object unconditionally, as another writer would. Straight to moto.
    ///
    /// # Panics
    /// If moto refuses.
    pub async fn put_object(&self, bucket: &str, key: &str, body: &[u8]) {
        self.direct_s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(body.to_vec().into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("put s3://{bucket}/{key}: {e:?}"));
    }

    /// The keys under `prefix`, in order. Straight to moto.
    ///
    /// # Panics
    /// If moto refuses.
    pub async fn list_objects(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let out = self
            .direct_s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .send()
            .await
            .unwrap_or_else(|e| panic!("list s3://{bucket}/{prefix}: {e:?}"));
        out.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect()
    }

    /// How many versions of `key` the bucket keeps (1 without versioning). Straight to moto.
    ///
    /// # Panics
    /// If moto refuses.
    pub async fn object_versions(&self, bucket: &str, key: &str) -> usize {
        let out = self
            .direct_s3
            .list_object_versions()
            .bucket(bucket)
            .prefix(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("versions of s3://{bucket}/{key}: {e:?}"));
        out.versions().iter().filter(|v| v.key() == Some(key)).count()
    }

    /// Environment for running the real `sslprov` binary against this env. The config files
    /// point at /dev/null so that the developer's own profile never leaks in; use
    /// [`AwsEnv::apply_to`] to also remove the variables that would.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        let vars = [
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_DEFAULT_REGION", REGION.to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
            ("AWS_RETRY_MODE", "standard".to_owned()),
            ("AWS_MAX_ATTEMPTS", MAX_ATTEMPTS.to_string()),
            ("SSLPROV_AWS_MAX_ATTEMPTS", MAX_ATTEMPTS.to_string()),
            ("SSLPROV_AWS_BACKOFF_MS", BACKOFF_MS.to_string()),
        ];
        vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    /// Set [`AwsEnv::env_vars`] on `command` and remove the variables that carry a developer's
    /// own identity (`AWS_PROFILE`, `AWS_SESSION_TOKEN`, …).
    pub fn apply_to<'c>(&self, command: &'c mut std::process::Command) -> &'c mut std::process::Command {
        for var in LEAKY_VARS {
            command.env_remove(var);
        }
        command.envs(self.env_vars())
    }

    /// Create a public hosted zone in this account; returns its id without `/hostedzone/`.
    /// Goes straight to moto: not counted, not faulted.
    ///
    /// # Panics
    /// If moto refuses.
    pub async fn create_zone(&self, name: &str) -> String {
        static N: AtomicU64 = AtomicU64::new(0);
        let reference = format!("testsupport-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let out = self
            .direct
            .create_hosted_zone()
            .name(name)
            .caller_reference(reference)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create zone {name}: {e:?}"));
        let id = out.hosted_zone().map(|z| z.id()).unwrap_or_default();
        id.trim_start_matches("/hostedzone/").to_owned()
    }

    /// UPSERT one record with one value (`record_type` as Route 53 spells it: `CNAME`, `TXT`…).
    /// Goes straight to moto: not counted, not faulted.
    ///
    /// # Panics
    /// If moto refuses.
    pub async fn put_record(&self, zone_id: &str, name: &str, record_type: &str, value: &str, ttl: i64) {
        let record = ResourceRecordSet::builder()
            .name(name)
            .r#type(RrType::from(record_type))
            .ttl(ttl)
            .resource_records(ResourceRecord::builder().value(value).build().expect("record value"))
            .build()
            .expect("record set");
        self.upsert(zone_id, vec![record]).await;
    }

    /// Points `name` at a CloudFront distribution with an A and an AAAA alias, as a person would
    /// in the console, bypassing the fault proxy.
    ///
    /// # Panics
    /// If moto refuses.
    pub async fn put_alias(&self, zone_id: &str, name: &str, distribution: &str) {
        let target = AliasTarget::builder()
            .hosted_zone_id("Z2FDTNDATAQYW2")
            .dns_name(distribution)
            .evaluate_target_health(false)
            .build()
            .expect("alias target");
        let sets = [RrType::A, RrType::Aaaa].map(|t| {
            ResourceRecordSet::builder().name(name).r#type(t).alias_target(target.clone()).build().expect("record set")
        });
        self.upsert(zone_id, sets.to_vec()).await;
    }

    async fn upsert(&self, zone_id: &str, sets: Vec<ResourceRecordSet>) {
        let what = format!("{sets:?}");
        let changes = sets.into_iter().map(|set| {
            Change::builder().action(ChangeAction::Upsert).resource_record_set(set).build().expect("change")
        });
        let batch = ChangeBatch::builder().set_changes(Some(changes.collect())).build().expect("change batch");
        self.direct
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(batch)
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {what} in {zone_id}: {e:?}"));
    }
}

async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "sslprov-testsupport"))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(BACKOFF_MS))
                .with_max_backoff(Duration::from_millis(50)),
        )
        .load()
        .await
}

/// 12 digits, unique within this process (each test binary has its own shared moto), and never
/// moto's default account 123456789012.
fn fresh_account() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{:012}", 200_000_000_000 + u64::from(std::process::id() % 1000) * 1_000_000 + n)
}

/// Puts a request in a moto account, for clients that talk to moto without the proxy.
#[derive(Debug, Clone)]
struct MotoAccount(String);

impl Intercept for MotoAccount {
    fn name(&self) -> &'static str {
        "MotoAccount"
    }

    fn modify_before_signing(
        &self,
        ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_route53::error::BoxError> {
        ctx.request_mut().headers_mut().insert("x-moto-account-id", self.0.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_twelve_digits_and_fresh() {
        let (a, b) = (fresh_account(), fresh_account());
        assert_ne!(a, b);
        assert!(a.len() == 12 && a.bytes().all(|c| c.is_ascii_digit()), "{a}");
    }

    #[test]
    fn an_env_can_move_between_threads_and_tasks() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<AwsEnv>();
    }
}
