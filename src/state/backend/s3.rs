//! A state in S3, as objects beside `key`:
//!
//! | object | what | written with |
//! |---|---|---|
//! | `<key>` | the snapshot (the same JSON as a local state) | `If-Match: <ETag read>`, or `If-None-Match: *` for the first |
//! | `<key>.journal/<ETag of the snapshot>/<serial, 20 digits>` | one journal entry each | `If-None-Match: *` |
//! | `<key>.lock` | the lock: [`LockInfo`] as JSON | `If-None-Match: *`; removed with `If-Match: <its ETag>` |
//! | `<key>.moved` | after `state migrate`: where the state went | |
//!
//! Every write is conditional, so a writer that read a stale state (its lock was forced, or
//! someone pushed a state) is refused with 412 instead of overwriting. Journal entries live under
//! the ETag of the snapshot they extend: once another snapshot replaces it, a stale writer's
//! entries are never replayed over the new one. The backup is the previous object version, kept
//! by the bucket's versioning, which `notes` warns about when it is off.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, Delete, ObjectIdentifier};
use futures::{StreamExt, TryStreamExt};
use sslprov_provider::ProviderError;

use super::{Backend, Moved, Version};
use crate::state::StoreError;
use crate::state::location::{Location, S3Location};
use crate::state::lock::{self, Held, LockError, LockInfo, RemoteLock, StateLock};
use crate::state::stats;

/// How often a held lock is looked at again while waiting for it.
const LOCK_POLL: Duration = Duration::from_secs(1);
/// Journal entries fetched at once when replaying.
const PARALLEL_READS: usize = 16;
/// S3 answers 409 to a conditional write that races another on the same key: try again.
const CONFLICT_RETRIES: u32 = 5;

#[derive(Debug)]
pub(crate) struct S3Backend {
    location: Location,
    s3: S3Location,
    client: Client,
}

/// How an S3 call failed, as far as the store cares.
enum Failure {
    /// 412: the condition did not hold.
    Precondition,
    /// 409 `ConditionalRequestConflict`: another conditional write on the key is in flight.
    Racing,
    NotFound,
    Other(ProviderError),
}

fn failure<E>(op: &'static str, err: SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    match (status, err.code()) {
        // A 404 for the bucket is an error to show, not an absent object.
        (_, Some("NoSuchBucket")) => Failure::Other(ProviderError::from_sdk("s3", op, err)),
        (Some(412), _) | (_, Some("PreconditionFailed")) => Failure::Precondition,
        (Some(409), _) | (_, Some("ConditionalRequestConflict")) => Failure::Racing,
        (Some(404), _) | (_, Some("NoSuchKey" | "NotFound")) => Failure::NotFound,
        _ => Failure::Other(ProviderError::from_sdk("s3", op, err)),
    }
}

impl S3Backend {
    /// A client from the AWS chain the providers use, in the state's region, at its endpoint.
    pub(crate) async fn connect(s3: &S3Location) -> Result<S3Backend, StoreError> {
        let location = Location::S3(s3.clone());
        let sdk = sslprov_provider::connect::aws::sdk_config(&sslprov_provider::Connect::default())
            .await
            .map_err(|e| StoreError::Remote { location: location.to_string(), source: Box::new(e) })?;
        let mut config = aws_sdk_s3::config::Builder::from(&*sdk);
        if let Some(region) = &s3.region {
            config = config.region(aws_sdk_s3::config::Region::new(region.clone()));
        }
        if let Some(endpoint) = &s3.endpoint {
            config = config.endpoint_url(endpoint);
        }
        // S3-compatible stores and emulators answer on one host: no bucket sub-domains.
        if s3.endpoint.is_some() || sdk.endpoint_url().is_some() || endpoint_from_env() {
            config = config.force_path_style(true);
        }
        Ok(S3Backend { location, s3: s3.clone(), client: Client::from_conf(config.build()) })
    }

    /// A backend on a client made elsewhere (tests: a client through the fault proxy).
    #[cfg(test)]
    pub(crate) fn with_client(s3: &S3Location, client: Client) -> S3Backend {
        S3Backend { location: Location::S3(s3.clone()), s3: s3.clone(), client }
    }

    fn describe(&self) -> String {
        self.location.to_string()
    }

    fn remote(&self, e: ProviderError) -> StoreError {
        let hint = match e.code.as_deref() {
            Some("PermanentRedirect" | "AuthorizationHeaderMalformed") => {
                " (the bucket is in another region: set state.s3.region to it)"
            }
            Some("NoSuchBucket") => " (create the bucket first, with versioning on; see the README)",
            _ => "",
        };
        let e = if hint.is_empty() { e } else { ProviderError { message: format!("{}{hint}", e.message), ..e } };
        StoreError::Remote { location: self.describe(), source: Box::new(e) }
    }

    fn conflict(&self, detail: impl Into<String>) -> StoreError {
        StoreError::Conflict { location: self.describe(), detail: detail.into() }
    }

    fn journal_prefix(&self) -> String {
        format!("{}.journal/", self.s3.key)
    }

    fn journal_dir(&self, base: &Version) -> String {
        let base = match base {
            Version::Absent => "none",
            Version::Tag(tag) => tag,
        };
        format!("{}{base}/", self.journal_prefix())
    }

    fn lock_key(&self) -> String {
        format!("{}.lock", self.s3.key)
    }

    fn moved_key(&self) -> String {
        format!("{}.moved", self.s3.key)
    }

    /// An object's bytes and ETag, or `None` when there is no such object.
    async fn get(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        let out = match self.client.get_object().bucket(&self.s3.bucket).key(key).send().await {
            Ok(out) => out,
            Err(e) => {
                return match failure("GetObject", e) {
                    Failure::NotFound => Ok(None),
                    Failure::Other(e) => Err(self.remote(e)),
                    Failure::Precondition | Failure::Racing => Err(self.conflict("an unconditional read failed")),
                };
            }
        };
        let etag = unquote(out.e_tag().unwrap_or_default());
        let body = out.body.collect().await.map_err(|e| {
            self.remote(ProviderError::new(sslprov_provider::ErrorKind::Unavailable, "s3", "GetObject", e.to_string()))
        })?;
        Ok(Some((body.into_bytes().to_vec(), etag)))
    }

    /// A conditional PUT: `Ok(Some(etag))` when written, `Ok(None)` when the condition did not
    /// hold (412), or the object was missing for an `If-Match` (404).
    async fn put(&self, key: &str, bytes: &[u8], condition: Condition<'_>) -> Result<Option<String>, StoreError> {
        let mut attempt = 0;
        loop {
            let mut req = self
                .client
                .put_object()
                .bucket(&self.s3.bucket)
                .key(key)
                .content_type("application/json")
                .body(ByteStream::from(bytes.to_vec()));
            req = match condition {
                Condition::Absent => req.if_none_match("*"),
                Condition::Matches(etag) => req.if_match(quote(etag)),
                Condition::None => req,
            };
            stats::requested();
            stats::wrote(bytes.len());
            match req.send().await {
                Ok(out) => return Ok(Some(unquote(out.e_tag().unwrap_or_default()))),
                Err(e) => match failure("PutObject", e) {
                    Failure::Precondition | Failure::NotFound => return Ok(None),
                    Failure::Racing if attempt < CONFLICT_RETRIES => {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                    }
                    Failure::Racing => return Ok(None),
                    Failure::Other(e) => return Err(self.remote(e)),
                },
            }
        }
    }

    /// Every key under `prefix`, in order.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let pages = self.client.list_objects_v2().bucket(&self.s3.bucket).prefix(prefix).into_paginator().send();
        let pages: Vec<_> = pages.try_collect().await.map_err(|e| match failure("ListObjectsV2", e) {
            Failure::Other(e) => self.remote(e),
            _ => self.conflict("listing the journal failed"),
        })?;
        let mut keys: Vec<String> =
            pages.iter().flat_map(|p| p.contents()).filter_map(|o| o.key().map(str::to_owned)).collect();
        keys.sort();
        Ok(keys)
    }
}

#[derive(Clone, Copy)]
enum Condition<'a> {
    /// `If-None-Match: *`: only if there is no such object.
    Absent,
    /// `If-Match`: only if the object is still this version.
    Matches(&'a str),
    None,
}

#[async_trait::async_trait]
impl Backend for S3Backend {
    fn location(&self) -> &Location {
        &self.location
    }

    async fn read_snapshot(&self) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
        Ok(self.get(&self.s3.key).await?.map(|(bytes, etag)| (bytes, Version::Tag(etag))))
    }

    async fn read_journal(&self, base: &Version) -> Result<Vec<Vec<u8>>, StoreError> {
        let keys = self.list(&self.journal_dir(base)).await?;
        let fetched: Vec<Option<Vec<u8>>> = futures::stream::iter(keys)
            .map(|key| async move { Ok::<_, StoreError>(self.get(&key).await?.map(|(bytes, _)| bytes)) })
            .buffered(PARALLEL_READS)
            .try_collect()
            .await?;
        // An entry gone between the listing and its read was compacted meanwhile: what came before
        // it is still a true (older) view.
        Ok(fetched.into_iter().map_while(|b| b).collect())
    }

    async fn append(&self, base: &Version, serial: u64, record: &[u8]) -> Result<(), StoreError> {
        let key = format!("{}{serial:020}", self.journal_dir(base));
        if self.put(&key, record, Condition::Absent).await?.is_some() {
            return Ok(());
        }
        // Our own write, retried after its answer was lost, finds itself: that is success.
        match self.get(&key).await? {
            Some((bytes, _)) if bytes == record => Ok(()),
            _ => Err(self.conflict(format!("journal entry {serial} was written by another run"))),
        }
    }

    async fn write_snapshot(&self, expected: &Version, bytes: &[u8]) -> Result<Version, StoreError> {
        let condition = match expected {
            Version::Absent => Condition::Absent,
            Version::Tag(etag) => Condition::Matches(etag),
        };
        if let Some(etag) = self.put(&self.s3.key, bytes, condition).await? {
            return Ok(Version::Tag(etag));
        }
        match (self.get(&self.s3.key).await?, expected) {
            (Some((current, etag)), _) if current == bytes => Ok(Version::Tag(etag)),
            (Some((_, etag)), Version::Tag(read)) => {
                Err(self.conflict(format!("its ETag is {etag}, this run read {read}")))
            }
            (Some(_), Version::Absent) => Err(self.conflict("a state was created since this run found none")),
            (None, _) => Err(self.conflict("the state object was deleted")),
        }
    }

    async fn clear_journal(&self) -> Result<(), StoreError> {
        let keys = self.list(&self.journal_prefix()).await?;
        for chunk in keys.chunks(1000) {
            let objects = chunk
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build().expect("a key is all an identifier needs"))
                .collect();
            let delete = Delete::builder().set_objects(Some(objects)).quiet(true).build().expect("objects are set");
            stats::requested();
            self.client.delete_objects().bucket(&self.s3.bucket).delete(delete).send().await.map_err(
                |e| match failure("DeleteObjects", e) {
                    Failure::Other(e) => self.remote(e),
                    _ => self.conflict("clearing the journal failed"),
                },
            )?;
        }
        Ok(())
    }

    async fn lock(&self, info: LockInfo, timeout: Duration) -> Result<StateLock, StoreError> {
        let key = self.lock_key();
        let body = serde_json::to_vec_pretty(&info).expect("serializes");
        let deadline = lock::deadline(timeout);
        let mut released_meanwhile = 0;
        loop {
            let holder = match self.put(&key, &body, Condition::Absent).await? {
                Some(etag) => return Ok(self.held(info, etag)),
                None => match self.get(&key).await? {
                    // Released between the two calls: try again at once (a few times).
                    None if released_meanwhile < 3 => {
                        released_meanwhile += 1;
                        continue;
                    }
                    None => None,
                    Some((bytes, etag)) => match serde_json::from_slice::<LockInfo>(&bytes) {
                        // Our own create, retried after its answer was lost.
                        Ok(held) if held.id == info.id => return Ok(self.held(info, etag)),
                        Ok(held) => Some(held),
                        Err(_) => None,
                    },
                },
            };
            match lock::next_try(deadline, LOCK_POLL) {
                Some(pause) => tokio::time::sleep(pause).await,
                None => {
                    let location = self.describe();
                    return Err(match holder {
                        Some(info) => LockError::HeldRemote { location, info: Box::new(info) },
                        None => LockError::HeldUnknown { location },
                    }
                    .into());
                }
            }
        }
    }

    async fn force_unlock(&self, id: &str) -> Result<LockInfo, StoreError> {
        let location = self.describe();
        let Some((bytes, etag)) = self.get(&self.lock_key()).await? else {
            return Err(LockError::NotLocked { location }.into());
        };
        let info: LockInfo = serde_json::from_slice(&bytes)
            .map_err(|source| StoreError::Parse { location: format!("{location}.lock"), source })?;
        if info.id != id {
            return Err(LockError::WrongId { location, given: id.to_owned(), info: Box::new(info) }.into());
        }
        stats::requested();
        let deleted = self.client.delete_object().bucket(&self.s3.bucket).key(self.lock_key()).if_match(quote(&etag));
        match deleted.send().await {
            Ok(_) => Ok(info),
            Err(e) => match failure("DeleteObject", e) {
                Failure::NotFound => Ok(info),
                Failure::Other(e) => Err(self.remote(e)),
                Failure::Precondition | Failure::Racing => {
                    Err(self.conflict("the lock changed while it was being removed; look at it again"))
                }
            },
        }
    }

    async fn notes(&self) -> Vec<String> {
        let bucket = &self.s3.bucket;
        let enabled = match self.client.get_bucket_versioning().bucket(bucket).send().await {
            Ok(v) => v.status() == Some(&BucketVersioningStatus::Enabled),
            // moto 5.2.5 answers 200 under a `GetBucketVersioningResponse` root, which the SDK
            // refuses to parse: read the status from the body then.
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 200) => e
                .raw_response()
                .and_then(|r| r.body().bytes())
                .is_some_and(|body| String::from_utf8_lossy(body).contains("<Status>Enabled</Status>")),
            Err(e) => {
                return vec![format!(
                    "could not check that the state bucket `{bucket}` keeps versions (s3:GetBucketVersioning): {}",
                    e.message().unwrap_or("no details")
                )];
            }
        };
        if enabled {
            return Vec::new();
        }
        vec![format!(
            "the state bucket `{bucket}` has versioning off, so no earlier version of {} is kept to go back to; \
             turn it on: aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled",
            self.location
        )]
    }

    async fn read_moved(&self) -> Result<Option<Moved>, StoreError> {
        let Some((bytes, _)) = self.get(&self.moved_key()).await? else { return Ok(None) };
        serde_json::from_slice(&bytes).map(Some).map_err(|source| StoreError::Parse {
            location: format!("s3://{}/{}", self.s3.bucket, self.moved_key()),
            source,
        })
    }

    async fn write_moved(&self, moved: Option<&Moved>) -> Result<(), StoreError> {
        match moved {
            Some(m) => {
                let bytes = serde_json::to_vec_pretty(m).expect("serializes");
                self.put(&self.moved_key(), &bytes, Condition::None).await?;
                Ok(())
            }
            None => {
                stats::requested();
                match self.client.delete_object().bucket(&self.s3.bucket).key(self.moved_key()).send().await {
                    Ok(_) => Ok(()),
                    Err(e) => match failure("DeleteObject", e) {
                        Failure::Other(e) => Err(self.remote(e)),
                        _ => Ok(()),
                    },
                }
            }
        }
    }
}

impl S3Backend {
    fn held(&self, info: LockInfo, etag: String) -> StateLock {
        let remote = S3Lock {
            client: self.client.clone(),
            bucket: self.s3.bucket.clone(),
            key: self.lock_key(),
            etag,
            released: AtomicBool::new(false),
        };
        StateLock::new(info, Held::Remote(Arc::new(remote)))
    }
}

/// This run's lock object, by the ETag it was created with.
#[derive(Debug)]
struct S3Lock {
    client: Client,
    bucket: String,
    key: String,
    etag: String,
    released: AtomicBool,
}

#[async_trait::async_trait]
impl RemoteLock for S3Lock {
    async fn release(&self) {
        if self.released.swap(true, Ordering::SeqCst) {
            return;
        }
        stats::requested();
        // If-Match: after a force-unlock, the object may be another run's lock now; leave that.
        let sent = self.client.delete_object().bucket(&self.bucket).key(&self.key).if_match(quote(&self.etag)).send();
        if let Err(e) = sent.await {
            match failure("DeleteObject", e) {
                Failure::NotFound => {}
                Failure::Precondition | Failure::Racing => {
                    tracing::warn!(
                        "the state lock s3://{}/{} is another run's now; left in place",
                        self.bucket,
                        self.key
                    )
                }
                Failure::Other(e) => tracing::warn!(
                    "could not release the state lock s3://{}/{}: {e}; `sslprov state force-unlock` removes it",
                    self.bucket,
                    self.key
                ),
            }
        }
    }
}

fn endpoint_from_env() -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    let ignored = std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    !ignored && (set("AWS_ENDPOINT_URL_S3") || set("AWS_ENDPOINT_URL"))
}

fn unquote(etag: &str) -> String {
    etag.trim_matches('"').to_owned()
}

fn quote(etag: &str) -> String {
    format!("\"{etag}\"")
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use sslprov_testsupport::{AwsEnv, Rule};

    use super::*;
    use crate::state::store::tests::run_steps;
    use crate::state::{State, Store};

    /// A store on a fresh bucket of a fresh account, through the test's fault proxy.
    async fn store(versioned: bool) -> (AwsEnv, Store, S3Location) {
        static N: AtomicU64 = AtomicU64::new(0);
        let env = AwsEnv::new().await;
        let bucket = format!("state-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        env.create_bucket(&bucket, versioned).await;
        let s3 = S3Location { bucket, key: "prod/sslprov.json".into(), region: None, endpoint: None };
        let store = Store::on(Arc::new(S3Backend::with_client(&s3, env.s3())));
        (env, store, s3)
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_killed_runs_journal_is_read_from_s3_and_compaction_clears_it() {
        let (env, store, s3) = store(true).await;
        let lock = store.lock("apply", Duration::ZERO).await.unwrap();
        let writer = store.writer(&lock, &store.read().await.unwrap()).await.unwrap();
        let mut state = State::new("lin".into());
        run_steps(&writer, &mut state, 0..3).await;
        let journal = env.list_objects(&s3.bucket, "prod/sslprov.json.journal/").await;
        assert_eq!(journal.len(), 6, "one object per step: {journal:?}");
        assert!(journal[0].ends_with("/none/00000000000000000001"), "{journal:?}");
        // Another reader, while the run is still going (or after it was killed).
        assert_eq!(store.read().await.unwrap().state, Some(state.clone()));

        writer.compact().await.unwrap();
        assert!(env.list_objects(&s3.bucket, "prod/sslprov.json.journal/").await.is_empty());
        let snapshot: State = serde_json::from_slice(&env.get_object(&s3.bucket, &s3.key).await.unwrap()).unwrap();
        assert_eq!(snapshot, state);
        run_steps(&writer, &mut state, 3..4).await;
        writer.compact().await.unwrap();
        assert_eq!(env.object_versions(&s3.bucket, &s3.key).await, 2, "the previous version is the backup");
        lock.release().await;
        assert_eq!(env.get_object(&s3.bucket, "prod/sslprov.json.lock").await, None, "released");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_write_based_on_a_stale_read_is_refused_with_412() {
        let (env, store, s3) = store(true).await;
        let lock = store.lock("push", Duration::ZERO).await.unwrap();
        let mut first = State::new("lin".into());
        first.serial = 3;
        store.replace(&lock, &store.read().await.unwrap(), &first).await.unwrap();

        let stale = store.read().await.unwrap();
        let mut theirs = first.clone();
        theirs.serial = 4;
        env.put_object(&s3.bucket, &s3.key, &crate::state::store::snapshot_bytes(&theirs)).await;
        let mut ours = first.clone();
        ours.serial = 5;
        let err = store.replace(&lock, &stale, &ours).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
        assert!(err.to_string().contains("changed since this run read it"), "{err}");
        let kept: State = serde_json::from_slice(&env.get_object(&s3.bucket, &s3.key).await.unwrap()).unwrap();
        assert_eq!(kept.serial, 4, "not overwritten");
        let refused: Vec<_> = env.proxy().log().into_iter().filter(|e| e.status == Some(412)).collect();
        assert_eq!(refused.len(), 1, "S3 itself refused the write: {refused:?}");

        // A state created by someone else after this run found none is not overwritten either.
        let (env, store, s3) = self::store(false).await;
        let lock = store.lock("push", Duration::ZERO).await.unwrap();
        let none = store.read().await.unwrap();
        env.put_object(&s3.bucket, &s3.key, &crate::state::store::snapshot_bytes(&theirs)).await;
        assert!(matches!(store.replace(&lock, &none, &ours).await, Err(StoreError::Conflict { .. })));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_lock_is_exclusive_names_its_holder_and_is_forced_only_by_its_id() {
        let (env, store, s3) = store(true).await;
        let first = store.lock("apply", Duration::ZERO).await.unwrap();
        let err = store.lock("plan", Duration::from_millis(1500)).await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("s3://") && text.contains("is locked: ID "), "{text}");
        assert!(
            text.contains("operation `apply`") && text.contains(&format!("(pid {} on ", std::process::id())),
            "{text}"
        );
        assert!(text.contains(&format!("sslprov state force-unlock {}", first.info.id)), "{text}");

        let wrong = store.force_unlock("not-the-id").await.unwrap_err();
        assert!(wrong.to_string().contains(&format!("has ID {}, not not-the-id", first.info.id)), "{wrong}");
        assert!(env.get_object(&s3.bucket, "prod/sslprov.json.lock").await.is_some(), "a wrong id removes nothing");
        let removed = store.force_unlock(&first.info.id).await.unwrap();
        assert_eq!(removed, first.info);

        let second = store.lock("apply", Duration::ZERO).await.unwrap();
        // The first holder's late release must not remove the second one's lock (If-Match).
        first.release().await;
        let held: LockInfo =
            serde_json::from_slice(&env.get_object(&s3.bucket, "prod/sslprov.json.lock").await.unwrap()).unwrap();
        assert_eq!(held, second.info);
        drop(second);
        assert_eq!(env.get_object(&s3.bucket, "prod/sslprov.json.lock").await, None, "released on drop");
        assert!(matches!(store.force_unlock("x").await, Err(StoreError::Lock(LockError::NotLocked { .. }))));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_lock_wait_ends_when_the_holder_lets_go() {
        let (_env, store, _) = store(true).await;
        let first = store.lock("apply", Duration::ZERO).await.unwrap();
        let waiter = {
            let store = store.clone();
            tokio::spawn(
                async move { store.lock("plan", Duration::from_secs(20)).await.map(|l| l.info.operation.clone()) },
            )
        };
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert!(!waiter.is_finished());
        first.release().await;
        assert_eq!(waiter.await.unwrap().unwrap(), "plan");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn writes_whose_answer_was_lost_are_not_taken_for_someone_elses() {
        let (env, store, s3) = store(true).await;
        // Each create reaches S3, the answer is lost, the SDK sends it again and gets 412.
        env.proxy().add_rule(Rule::forward_then_reset("s3", Some("PutObject")).path_suffix(".lock").times(1));
        env.proxy()
            .add_rule(Rule::forward_then_reset("s3", Some("PutObject")).path_suffix("00000000000000000001").times(1));
        env.proxy().add_rule(Rule::forward_then_reset("s3", Some("PutObject")).path_suffix("/sslprov.json").times(1));
        let lock = store.lock("apply", Duration::ZERO).await.unwrap();
        let writer = store.writer(&lock, &store.read().await.unwrap()).await.unwrap();
        let mut state = State::new("lin".into());
        run_steps(&writer, &mut state, 0..1).await;
        writer.compact().await.unwrap();
        assert_eq!(store.read().await.unwrap().state, Some(state));
        assert_eq!(env.proxy().log().iter().filter(|e| e.action == "forward_then_reset").count(), 3);
        lock.release().await;
        assert_eq!(env.get_object(&s3.bucket, "prod/sslprov.json.lock").await, None);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_bucket_without_versioning_is_noted() {
        let (_env, versioned, _) = store(true).await;
        let notes = versioned.notes().await;
        assert!(notes.is_empty(), "{notes:?}");
        let (_env, plain, s3) = store(false).await;
        let notes = plain.notes().await;
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains(&format!("put-bucket-versioning --bucket {}", s3.bucket)), "{notes:?}");
    }
}
