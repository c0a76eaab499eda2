//! Changes to one zone go out together: every record change submitted while a short window is
//! open joins one ChangeResourceRecordSets (within Route 53's limits: 1,000 records and 32,000
//! characters of values per request, an UPSERT counting twice), so a hundred domains' records cost
//! a request per zone rather than a request each, under the 5 requests a second Route 53 allows.
//!
//! A batch is atomic: Route 53 refuses all of it for one bad change. Then it is split in halves
//! and each half sent again, down to single changes, so that the good ones land and each error
//! reaches the change it belongs to.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_route53::types::{Change, ChangeAction};
use futures::future::BoxFuture;
use sslprov_provider::{ErrorKind, ProviderError, Result};
use tokio::sync::oneshot;

use crate::Route53;

/// How long the first change to a zone waits for others to join it.
const WINDOW: Duration = Duration::from_millis(100);
/// Route 53's limits on one ChangeResourceRecordSets.
const MAX_RECORDS: usize = 1000;
const MAX_CHARS: usize = 32_000;

/// One caller's changes (a record, or the DELETE and CREATE of a record changing type), which
/// succeed or fail together.
struct Item {
    changes: Vec<Change>,
    reply: oneshot::Sender<Result<()>>,
}

impl Item {
    /// Records and characters of values it counts for, as Route 53 counts them.
    fn weight(&self) -> (usize, usize) {
        self.changes.iter().fold((0, 0), |(records, chars), c| {
            let twice = if c.action() == &ChangeAction::Upsert { 2 } else { 1 };
            let set = c.resource_record_set();
            let values: Vec<&str> = set.map_or_else(Vec::new, |s| {
                let plain = s.resource_records().iter().map(|r| r.value());
                plain.chain(s.alias_target().map(|a| a.dns_name())).collect()
            });
            (records + twice * values.len().max(1), chars + twice * values.iter().map(|v| v.len()).sum::<usize>())
        })
    }
}

#[derive(Default)]
struct Queue {
    items: Vec<Item>,
    /// A caller is sending this zone's batches; the rest wait for its answer.
    flushing: bool,
}

#[derive(Default)]
pub(crate) struct Batches {
    zones: Mutex<HashMap<String, Queue>>,
}

impl std::fmt::Debug for Batches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batches").finish_non_exhaustive()
    }
}

fn copy(e: &ProviderError) -> ProviderError {
    let mut c = ProviderError::new(e.kind, e.provider, e.op, e.message.clone());
    c.code.clone_from(&e.code);
    c
}

/// Errors that mean "this batch holds a change Route 53 refuses", as opposed to Route 53 being
/// unreachable or the caller not allowed: only these are worth splitting for.
fn splittable(e: &ProviderError) -> bool {
    matches!(e.kind, ErrorKind::InvalidRequest | ErrorKind::AlreadyExists | ErrorKind::PreconditionFailed)
}

impl Route53 {
    /// Sends `changes` to zone `zone_id` with whatever else is submitted to it meanwhile; its
    /// answer is this caller's own.
    pub(crate) async fn submit(&self, zone_id: &str, changes: Vec<Change>) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        let lead = {
            let mut zones = self.batches.zones.lock().unwrap_or_else(|e| e.into_inner());
            let queue = zones.entry(zone_id.to_owned()).or_default();
            queue.items.push(Item { changes, reply });
            !std::mem::replace(&mut queue.flushing, true)
        };
        if lead {
            tokio::time::sleep(WINDOW).await;
            while self.queued(zone_id) {
                // The batch is what is queued when the budget lets the request through: while
                // Route 53's 5 a second hold it back (many zones, many domains), more changes join.
                self.budget.acquire(crate::NAME, "ChangeResourceRecordSets").await;
                let Some(batch) = self.next_batch(zone_id) else { continue };
                self.send_batch(zone_id, batch, true).await;
            }
        }
        answer.await.unwrap_or_else(|_| {
            Err(ProviderError::new(
                ErrorKind::Unexpected,
                crate::NAME,
                "ChangeResourceRecordSets",
                "the batch was dropped",
            ))
        })
    }

    /// Whether changes wait for zone `zone_id`; when none does, its flushing is done (under the
    /// same lock a new change takes to find out whether to lead).
    fn queued(&self, zone_id: &str) -> bool {
        let mut zones = self.batches.zones.lock().unwrap_or_else(|e| e.into_inner());
        let Some(queue) = zones.get_mut(zone_id) else { return false };
        if queue.items.is_empty() {
            queue.flushing = false;
        }
        queue.flushing
    }

    /// The queued items that fit one request (only the flushing caller takes them).
    fn next_batch(&self, zone_id: &str) -> Option<Vec<Item>> {
        let mut zones = self.batches.zones.lock().unwrap_or_else(|e| e.into_inner());
        let queue = zones.get_mut(zone_id)?;
        let (mut records, mut chars, mut take) = (0, 0, 0);
        for item in &queue.items {
            let (r, c) = item.weight();
            if take > 0 && (records + r > MAX_RECORDS || chars + c > MAX_CHARS) {
                break;
            }
            (records, chars, take) = (records + r, chars + c, take + 1);
        }
        (take > 0).then(|| queue.items.drain(..take).collect())
    }

    /// One request for all of `items` (`budgeted`: its budget already acquired); refused as a
    /// whole for a bad change, it is split until each error reaches its own change.
    fn send_batch<'a>(&'a self, zone_id: &'a str, mut items: Vec<Item>, budgeted: bool) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let changes: Vec<Change> = items.iter().flat_map(|i| i.changes.iter().cloned()).collect();
            if !budgeted {
                self.budget.acquire(crate::NAME, "ChangeResourceRecordSets").await;
            }
            match self.change(zone_id, changes).await {
                Ok(()) => {
                    for i in items {
                        let _ = i.reply.send(Ok(()));
                    }
                }
                Err(e) if items.len() > 1 && splittable(&e) => {
                    tracing::debug!(zone_id, changes = items.len(), "batch refused; splitting to find the change");
                    let second = items.split_off(items.len() / 2);
                    self.send_batch(zone_id, items, false).await;
                    self.send_batch(zone_id, second, false).await;
                }
                Err(e) => {
                    let mut items = items.into_iter();
                    let last = items.next_back();
                    for i in items {
                        let _ = i.reply.send(Err(copy(&e)));
                    }
                    if let Some(i) = last {
                        let _ = i.reply.send(Err(e));
                    }
                }
            }
        })
    }
}
