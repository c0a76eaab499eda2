//! One conformance suite for every provider (feature `testkit`): what the engine relies on, checked
//! against each provider's emulator.
//!
//! A provider's tests implement [`Fixture`] for its emulator and call [`run`]. The checks, for
//! every sample object (one or more per kind):
//! - the object normalises to itself (normalising is idempotent);
//! - create → list round trip: `list` finds what `create` returned, with exactly the normalised
//!   spec, so a re-plan right after apply shows no change;
//! - a create repeated with the same token (a retry after a lost answer) returns the same object,
//!   never a twin;
//! - readiness moves from pending to ready (for kinds that become ready);
//! - requests answered "throttled" are retried: the operation still succeeds;
//! - an object made outside sslprov is matched by its key, carries no mark, and is adopted in
//!   place (or, for kinds only ever shared, found as it is);
//! - delete, and delete again of what is gone, are both done, and `list` no longer finds it.

use std::time::Duration;

use async_trait::async_trait;

use crate::{Deletion, Desired, IdempotencyToken, Live, Provider, Readiness, Scope};

/// A provider connected to its emulator, and the emulator's knobs.
#[async_trait]
pub trait Fixture: Send + Sync {
    fn provider(&self) -> &dyn Provider;

    /// Objects to create, at least one per kind the provider holds, as a template would render
    /// them (before normalising). Each must be creatable on its own.
    fn samples(&self) -> Vec<Desired>;

    /// Makes `desired` exist as someone else would have made it (the dashboard, an HTTP-era
    /// set-up), for the adoption check of adoptable kinds. Called with a sample changed so that it
    /// differs from what sslprov will write; never for a provider without adoptable kinds.
    async fn make_outside(&self, desired: &Desired) {
        unreachable!("{} is not adoptable, so nothing is made outside sslprov", desired.kind)
    }

    /// An object like `sample` that differs from it, for the adoption check; `None` where an
    /// object made outside sslprov is only ever used as it is (shared), never changed, or where
    /// the kind is not adoptable.
    fn outside_variant(&self, _sample: &Desired) -> Option<Desired> {
        None
    }

    /// The next `n` requests are answered "throttled" (429, or the vendor's throttling error).
    async fn throttle(&self, n: usize);

    /// Lets `live` become ready (a certificate issued, a deployment finished); whether the first
    /// readiness answer is pending is up to the fixture ([`Fixture::holds_readiness`]).
    async fn make_ready(&self, live: &Live);

    /// Whether objects of `kind` that become ready stay pending until [`Fixture::make_ready`].
    fn holds_readiness(&self, kind: &str) -> bool {
        let _ = kind;
        true
    }
}

/// The retry rules at test speed (milliseconds, a 10 s deadline), for a provider under test against
/// its emulator: `max_retries` answered failures and `lost_connection_retries` lost connections.
pub fn fast_retry(max_retries: usize, lost_connection_retries: usize) -> crate::Retry {
    crate::Retry {
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_retries,
        max_total: Duration::from_secs(10),
        lost_connection_retries,
    }
}

/// A DNS record, as tests of every DNS provider build one. `proxied` only where the DNS host
/// proxies.
pub fn record(zone: &str, name: &str, rtype: crate::RecordType, ttl: u32, values: &[&str]) -> crate::RecordSpec {
    crate::RecordSpec {
        zone: zone.into(),
        name: name.into(),
        rtype,
        ttl,
        values: values.iter().map(|v| (*v).to_owned()).collect(),
        proxied: None,
    }
}

/// What a test lists records with: the zone, and the names (every name when none is given).
pub fn record_scope(zone: &str, names: &[&str]) -> Scope {
    let wanted = if names.is_empty() {
        vec![Desired { kind: crate::RECORD.into(), spec: [("zone".to_owned(), zone.into())].into_iter().collect() }]
    } else {
        names
            .iter()
            .map(|n| Desired {
                kind: crate::RECORD.into(),
                spec: [("zone".to_owned(), zone.into()), ("name".to_owned(), (*n).into())].into_iter().collect(),
            })
            .collect()
    };
    Scope { kind: crate::RECORD.into(), wanted, ..Scope::default() }
}

fn scope_of(d: &Desired) -> Scope {
    Scope { kind: d.kind.clone(), wanted: vec![d.clone()], ..Scope::default() }
}

async fn list(p: &dyn Provider, d: &Desired) -> Vec<Live> {
    p.list(&scope_of(d)).await.unwrap_or_else(|e| panic!("list {}: {e}", d.kind))
}

/// The object `list` reports for `d` (by `d`'s key), if any.
async fn find(p: &dyn Provider, d: &Desired) -> Option<Live> {
    let key = p.key(d).unwrap_or_else(|| panic!("{}: no key for a complete spec {d:?}", p.info().name));
    list(p, d).await.into_iter().find(|l| p.key(&l.desired).as_ref() == Some(&key))
}

async fn delete_until_gone(f: &dyn Fixture, live: &Live) {
    let p = f.provider();
    for _ in 0..200 {
        match p.delete(live).await.unwrap_or_else(|e| panic!("delete {}: {e}", live.id)) {
            Deletion::Done => return,
            Deletion::InProgress => {
                f.make_ready(live).await;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    panic!("{} was never deleted", live.id);
}

/// Every check, for every sample.
pub async fn run(f: &dyn Fixture) {
    let p = f.provider();
    let samples = f.samples();
    for kind in p.info().kinds {
        assert!(samples.iter().any(|s| s.kind == kind.name), "{}: no sample of kind {}", p.info().name, kind.name);
    }
    for (i, sample) in samples.iter().enumerate() {
        let d = p.normalise(sample).unwrap_or_else(|e| panic!("sample {i} does not normalise: {e}"));
        assert_eq!(p.normalise(&d).expect("normalises again"), d, "normalising is idempotent");
        round_trip(f, &d, i).await;
        if p.info().kind(&d.kind).is_some_and(|k| k.adoptable) {
            adoption(f, sample).await;
        }
    }
}

async fn round_trip(f: &dyn Fixture, d: &Desired, i: usize) {
    let p = f.provider();
    let info = p.info().kind(&d.kind).expect("a kind of the provider");
    let token = IdempotencyToken(format!("conformance{i:02}{}", "0".repeat(20)));
    f.throttle(2).await;
    let made =
        p.create(d, &token).await.unwrap_or_else(|e| panic!("create {} (after 2 throttled answers): {e}", d.kind));
    assert_eq!(made.desired, *d, "create returns the object as list will show it");

    let again = p.create(d, &token).await.unwrap_or_else(|e| panic!("create {} again: {e}", d.kind));
    assert_eq!(again.id, made.id, "a repeated create (a lost answer retried) finds the same object");

    let listed = find(p, d).await.unwrap_or_else(|| panic!("list does not find the {} it created", d.kind));
    assert_eq!(listed.id, made.id);
    assert_eq!(listed.desired, *d, "re-plan right after create: no change");
    let twins = list(p, d).await.into_iter().filter(|l| p.key(&l.desired) == p.key(d)).count();
    assert_eq!(twins, 1, "no twin of the {}", d.kind);

    if info.becomes_ready {
        let first = p.readiness(std::slice::from_ref(&listed)).await.expect("readiness");
        if f.holds_readiness(&d.kind) {
            assert!(matches!(first[0].readiness, Readiness::Pending { .. }), "a new {} is pending: {first:?}", d.kind);
        }
        f.make_ready(&listed).await;
        let mut ready = false;
        for _ in 0..100 {
            if p.readiness(std::slice::from_ref(&listed)).await.expect("readiness")[0].readiness == Readiness::Ready {
                ready = true;
                break;
            }
            f.make_ready(&listed).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(ready, "the {} never became ready", d.kind);
    }

    delete_until_gone(f, &listed).await;
    assert_eq!(p.delete(&listed).await.expect("delete again"), Deletion::Done, "deleting what is gone is done");
    assert!(find(p, d).await.is_none_or(|l| l.id != listed.id), "list still finds the deleted {}", d.kind);
}

async fn adoption(f: &dyn Fixture, sample: &Desired) {
    let p = f.provider();
    let want = p.normalise(sample).expect("normalises");
    let variant = f.outside_variant(sample);
    f.make_outside(variant.as_ref().unwrap_or(sample)).await;
    let found = find(p, &want).await.unwrap_or_else(|| panic!("an outside {} is not found by its key", want.kind));
    assert!(!found.marked, "an object sslprov did not make carries no mark");
    let listed = match variant {
        None => {
            assert_eq!(found.desired, want, "a shared object lists as the spec");
            found
        }
        Some(_) => {
            assert_ne!(found.desired, want, "the outside variant differs from what sslprov wants");
            let adopted = p.update(&found, &want).await.unwrap_or_else(|e| panic!("adopting the {}: {e}", want.kind));
            assert_eq!(adopted.desired, want);
            let listed = find(p, &want).await.expect("still there");
            assert_eq!(listed.desired, want, "adopted in place: re-plan shows no change");
            listed
        }
    };
    delete_until_gone(f, &listed).await;
}
