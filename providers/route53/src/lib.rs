//! Route 53 DNS records (CNAME, A, AAAA, TXT) in public hosted zones.
//!
//! Route 53 changes take no idempotency token. None is needed: a CREATE replayed after its
//! response was lost (the SDK retries a reset connection) finds the record it made and returns
//! it, UPSERT is "make it so", and a DELETE of a record already gone answers [`Deletion::Done`].
//!
//! Records are always ready: a change is INSYNC within about a minute on AWS (and at once on
//! moto), and waiting on GetChange would add nothing the next step needs.

mod batch;
mod error;
mod rrset;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecordSet, RrType};
use futures::{StreamExt, TryStreamExt};
use sslprov_provider::connect::aws;
use sslprov_provider::{
    Budget, Deletion, Desired, ErrorKind, IdempotencyToken, KindInfo, Live, Outputs, Provider, ProviderError,
    ProviderInfo, RECORD, Rate, RecordSpec, RecordType, Registration, Result, Scope,
};

use crate::error::{from_change, from_sdk};

const NAME: &str = "route53";
/// Route 53's largest ListResourceRecordSets page.
const PAGE: i32 = 300;
/// Zones are listed by name from the one asked for onwards; a few suffice to see a private zone
/// or a second public zone of the same name next to it, in the same single request.
const ZONE_PAGE: i32 = 10;
/// Zones swept at once in a refresh: enough that round trips hide under the budget's pace.
const SWEEPS_AT_ONCE: usize = 4;

pub static INFO: ProviderInfo = ProviderInfo {
    name: NAME,
    title: "Amazon Route 53",
    kinds: &[KindInfo {
        name: RECORD,
        replace_on: &["zone"],
        adoptable: true,
        becomes_ready: false,
        repair_in_place: false,
    }],
    // Five requests per second per account, all operations together (Route 53 developer guide,
    // "Quotas", requests to the Route 53 API).
    budget: Rate::per_second(5, 5),
    op_budgets: &[],
    batches_writes: true,
};

pub static REGISTRATION: Registration = Registration {
    info: &INFO,
    connect: |cx| {
        Box::pin(async move {
            let (sdk, budget) = aws::service(&cx, &INFO, "Route 53", "https://route53.amazonaws.com").await?;
            Ok(Arc::new(Route53::new(&sdk, budget)) as Arc<dyn Provider>)
        })
    },
};

#[derive(Debug)]
pub struct Route53 {
    client: aws_sdk_route53::Client,
    budget: Budget,
    /// Zone name → hosted zone id, looked up once per run.
    zones: Mutex<HashMap<String, String>>,
    /// Held while a zone is looked up, so that the first records of a zone, written together,
    /// share one lookup (and reach the batch window together) instead of a lookup each.
    looking_up: tokio::sync::Mutex<()>,
    /// Changes waiting to go out with others to the same zone.
    batches: batch::Batches,
}

fn record(desired: &Desired, op: &'static str) -> Result<RecordSpec> {
    if desired.kind != RECORD {
        return Err(ProviderError::new(
            ErrorKind::InvalidRequest,
            NAME,
            op,
            format!("route53 holds DNS records, not a {}", desired.kind),
        ));
    }
    desired.parse(NAME, op)
}

fn live(zone_id: &str, spec: RecordSpec) -> Live {
    Live {
        id: format!("{zone_id}/{}/{}", spec.name, spec.rtype),
        outputs: Outputs::default().with("zone_id", zone_id),
        desired: Desired::of(RECORD, &spec),
        readiness: Default::default(),
        marked: false,
    }
}

/// `spec` as `list` will show it once written.
fn normalised(spec: &RecordSpec) -> Result<RecordSpec> {
    if spec.proxied == Some(true) {
        return Err(ProviderError::new(
            ErrorKind::Unsupported,
            NAME,
            "normalise",
            format!("{}: Route 53 serves DNS only and cannot proxy a record", spec.name),
        ));
    }
    let spec =
        RecordSpec { zone: rrset::name(&spec.zone), name: rrset::name(&spec.name), proxied: None, ..spec.clone() };
    if let Some(alias) = rrset::listed_alias(&spec) {
        return Ok(alias);
    }
    let listed: Vec<RecordSpec> =
        rrset::record_sets(&spec)?.iter().filter_map(|set| rrset::spec(&spec.zone, set)).collect();
    Ok(rrset::pair_aliases(listed).pop().unwrap_or(spec))
}

/// What `list` will show once `spec` is written.
fn written(zone_id: &str, spec: &RecordSpec) -> Result<Live> {
    Ok(live(zone_id, normalised(spec)?))
}

/// The changes that apply `action` to `spec`: one per record set (two for an alias pair).
fn changes(action: ChangeAction, spec: &RecordSpec) -> Result<Vec<Change>> {
    rrset::record_sets(spec)?
        .into_iter()
        .map(|set| {
            Change::builder().action(action.clone()).resource_record_set(set).build().map_err(|e| {
                ProviderError::new(ErrorKind::InvalidRequest, NAME, "ChangeResourceRecordSets", e.to_string())
            })
        })
        .collect()
}

impl Route53 {
    pub fn new(sdk: &aws_config::SdkConfig, budget: Budget) -> Self {
        Route53 {
            client: aws_sdk_route53::Client::new(sdk),
            budget,
            zones: Mutex::default(),
            looking_up: Default::default(),
            batches: Default::default(),
        }
    }

    /// The id (without `/hostedzone/`) of the one public hosted zone named `zone`.
    async fn zone_id(&self, zone: &str) -> Result<String> {
        let cached = || self.zones.lock().unwrap_or_else(|e| e.into_inner()).get(zone).cloned();
        if let Some(id) = cached() {
            return Ok(id);
        }
        let _one_at_a_time = self.looking_up.lock().await;
        if let Some(id) = cached() {
            return Ok(id);
        }
        self.budget.acquire(NAME, "ListHostedZonesByName").await;
        let out = self
            .client
            .list_hosted_zones_by_name()
            .dns_name(zone)
            .max_items(ZONE_PAGE)
            .send()
            .await
            .map_err(|e| from_sdk("ListHostedZonesByName", e))?;
        let ids: Vec<&str> = out
            .hosted_zones()
            .iter()
            .filter(|z| rrset::name(z.name()) == zone && !z.config().is_some_and(|c| c.private_zone()))
            .map(|z| z.id().trim_start_matches("/hostedzone/"))
            .collect();
        let id = match ids.as_slice() {
            [id] => id.to_string(),
            [] => {
                return Err(ProviderError::new(
                    ErrorKind::NotFound,
                    NAME,
                    "ListHostedZonesByName",
                    format!("hosted zone {zone} not found"),
                ));
            }
            // Writing to the undelegated twin would succeed and change nothing anyone resolves.
            _ => {
                return Err(ProviderError::new(
                    ErrorKind::Conflict,
                    NAME,
                    "ListHostedZonesByName",
                    format!(
                        "{} public hosted zones are named {zone}; sslprov cannot tell which is delegated",
                        ids.len()
                    ),
                ));
            }
        };
        self.zones.lock().unwrap_or_else(|e| e.into_inner()).insert(zone.to_owned(), id.clone());
        Ok(id)
    }

    /// Zone ids for many zones in one paginated ListHostedZones sweep (100 a page) instead of a
    /// lookup per zone, stopping once every wanted zone is seen. A name seen twice in the pages
    /// read is left out, so that [`Route53::zone_id`] looks it up and reports the ambiguity.
    async fn load_zone_ids(&self, wanted: &BTreeSet<String>) -> Result<()> {
        let missing = |cache: &HashMap<String, String>| wanted.iter().filter(|z| !cache.contains_key(*z)).count();
        if missing(&self.zones.lock().unwrap_or_else(|e| e.into_inner())) < 2 {
            return Ok(());
        }
        let mut seen: HashMap<String, Vec<String>> = HashMap::new();
        let mut marker = None;
        loop {
            let (page, next) = self.public_zones(marker).await?;
            for (name, id) in page {
                seen.entry(name).or_default().push(id);
            }
            let mut cache = self.zones.lock().unwrap_or_else(|e| e.into_inner());
            for zone in wanted {
                match seen.get(zone).map(Vec::as_slice) {
                    Some([id]) => cache.insert(zone.clone(), id.clone()),
                    Some([_, _, ..]) => cache.remove(zone),
                    _ => None,
                };
            }
            marker = next;
            if marker.is_none() || missing(&cache) == 0 {
                return Ok(());
            }
        }
    }

    /// One ListHostedZones page (100 zones): the public zones on it as (name, id), and the
    /// marker of the next page, if any.
    async fn public_zones(&self, marker: Option<String>) -> Result<(Vec<(String, String)>, Option<String>)> {
        self.budget.acquire(NAME, "ListHostedZones").await;
        let page = self
            .client
            .list_hosted_zones()
            .max_items(100)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| from_sdk("ListHostedZones", e))?;
        let zones = page
            .hosted_zones()
            .iter()
            .filter(|z| !z.config().is_some_and(|c| c.private_zone()))
            .map(|z| (rrset::name(z.name()), z.id().trim_start_matches("/hostedzone/").to_owned()))
            .collect();
        Ok((zones, page.next_marker().map(str::to_owned).filter(|_| page.is_truncated())))
    }

    async fn zone_id_of(&self, live: &Live, spec: &RecordSpec) -> Result<String> {
        match live.outputs.str("zone_id") {
            Some(id) => Ok(id.to_owned()),
            None => self.zone_id(&spec.zone).await,
        }
    }

    /// One sweep of a zone, keeping the records whose names are in `names` (all when `None`).
    async fn sweep(&self, zone: &str, names: Option<&BTreeSet<String>>) -> Result<Vec<Live>> {
        let zone_id = self.zone_id(zone).await?;
        let mut specs = Vec::new();
        let mut next: Option<(String, RrType, Option<String>)> = None;
        // By hand: the SDK has no paginator for ListResourceRecordSets.
        loop {
            self.budget.acquire(NAME, "ListResourceRecordSets").await;
            let mut req = self.client.list_resource_record_sets().hosted_zone_id(&zone_id).max_items(PAGE);
            if let Some((name, rtype, ident)) = next.take() {
                req = req.start_record_name(name).start_record_type(rtype).set_start_record_identifier(ident);
            }
            let page = req.send().await.map_err(|e| from_sdk("ListResourceRecordSets", e))?;
            for set in page.resource_record_sets() {
                if let Some(spec) = rrset::spec(zone, set)
                    && names.is_none_or(|n| n.contains(&spec.name))
                {
                    specs.push(spec);
                }
            }
            if !page.is_truncated() {
                // After the last page: an alias pair's two sets may straddle pages.
                return Ok(rrset::pair_aliases(specs).into_iter().map(|s| live(&zone_id, s)).collect());
            }
            let (Some(name), Some(rtype)) = (page.next_record_name(), page.next_record_type()) else {
                return Err(ProviderError::new(
                    ErrorKind::Unexpected,
                    NAME,
                    "ListResourceRecordSets",
                    format!("a truncated page of {zone} named no next record"),
                ));
            };
            next = Some((name.to_owned(), rtype.clone(), page.next_record_identifier().map(str::to_owned)));
        }
    }

    /// The record of `spec`'s name and type as it is now, if any: one page of one set.
    async fn current(&self, zone_id: &str, spec: &RecordSpec) -> Result<Option<RecordSpec>> {
        let listed = self.listed(zone_id, spec).await?.iter().filter_map(|set| rrset::spec(&spec.zone, set)).collect();
        Ok(rrset::pair_aliases(listed).into_iter().find(|now| now.name == spec.name && now.rtype == spec.rtype))
    }

    /// The record sets of `spec`'s name and type as Route 53 lists them (an alias: its A and AAAA
    /// sets), byte for byte: a DELETE must repeat a set exactly as it is stored, and a record made
    /// by hand may spell its values otherwise than sslprov would (no trailing dot).
    async fn listed(&self, zone_id: &str, spec: &RecordSpec) -> Result<Vec<ResourceRecordSet>> {
        self.budget.acquire(NAME, "ListResourceRecordSets").await;
        let page = self
            .client
            .list_resource_record_sets()
            .hosted_zone_id(zone_id)
            .start_record_name(format!("{}.", spec.name))
            .start_record_type(rrset::rr_type(spec.rtype))
            .max_items(if spec.rtype == RecordType::Alias { 2 } else { 1 })
            .send()
            .await
            .map_err(|e| from_sdk("ListResourceRecordSets", e))?;
        let types: &[RecordType] = match spec.rtype {
            RecordType::Alias => &[RecordType::A, RecordType::Aaaa],
            t => &[t],
        };
        Ok(page
            .resource_record_sets()
            .iter()
            .filter(|set| set.set_identifier().is_none() && rrset::name(set.name()) == spec.name)
            .filter(|set| types.iter().any(|t| rrset::rr_type(*t) == *set.r#type()))
            .cloned()
            .collect())
    }

    /// One ChangeResourceRecordSets, now, its budget acquired (the batches' sending step).
    async fn change(&self, zone_id: &str, changes: Vec<Change>) -> Result<()> {
        let batch = ChangeBatch::builder().set_changes(Some(changes)).build().map_err(|e| {
            ProviderError::new(ErrorKind::InvalidRequest, NAME, "ChangeResourceRecordSets", e.to_string())
        })?;
        self.client
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(batch)
            .send()
            .await
            .map_err(from_change)?;
        Ok(())
    }
}

#[async_trait]
impl Provider for Route53 {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    fn normalise(&self, desired: &Desired) -> Result<Desired> {
        Ok(Desired::of(RECORD, &normalised(&record(desired, "normalise")?)?))
    }

    fn key(&self, desired: &Desired) -> Option<String> {
        let rtype = desired.get("type").and_then(|t| serde_json::from_value::<RecordType>(t.clone()).ok());
        Some(RecordSpec::key(&rrset::name(desired.str("zone")?), &rrset::name(desired.str("name")?), rtype))
    }

    /// One ListHostedZones sweep for the zones' ids (once per run), then one
    /// ListResourceRecordSets sweep of each zone, in pages of 300, keeping the wanted names (all
    /// of a zone where a wanted record's name is not known yet).
    async fn list(&self, scope: &Scope) -> Result<Vec<Live>> {
        let mut by_zone: std::collections::BTreeMap<String, Option<BTreeSet<String>>> = Default::default();
        for d in &scope.wanted {
            let Some(zone) = d.str("zone").map(rrset::name) else { continue };
            let names = by_zone.entry(zone).or_insert_with(|| Some(BTreeSet::new()));
            match (names.as_mut(), d.str("name")) {
                (Some(set), Some(n)) => {
                    set.insert(rrset::name(n));
                }
                _ => *names = None,
            }
        }
        let zones: BTreeSet<String> = by_zone.keys().cloned().collect();
        self.load_zone_ids(&zones).await?;
        // Several zones at a time: one after another, each page's round trip would add to the
        // budget's pace instead of hiding under it.
        let sweeps: Vec<_> = by_zone.iter().map(|(zone, names)| self.sweep(zone, names.as_ref())).collect();
        let swept: Vec<Vec<Live>> = futures::stream::iter(sweeps).buffered(SWEEPS_AT_ONCE).try_collect().await?;
        Ok(swept.into_iter().flatten().collect())
    }

    /// Every public hosted zone, in one ListHostedZones sweep (100 a page); private zones are
    /// left out, as everywhere. The id of a name held by one zone is kept for the record sweeps
    /// that follow; a name two public zones share is listed, and its sweep reports the ambiguity.
    async fn zones(&self) -> Result<Vec<String>> {
        let mut seen: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        let mut marker = None;
        loop {
            let (page, next) = self.public_zones(marker).await?;
            for (name, id) in page {
                seen.entry(name).or_default().push(id);
            }
            marker = next;
            if marker.is_none() {
                break;
            }
        }
        let mut cache = self.zones.lock().unwrap_or_else(|e| e.into_inner());
        for (name, ids) in &seen {
            if let [id] = ids.as_slice() {
                cache.insert(name.clone(), id.clone());
            }
        }
        Ok(seen.into_keys().collect())
    }

    /// CREATE: fails with [`ErrorKind::AlreadyExists`] if the name already has a set of the type.
    async fn create(&self, desired: &Desired, _token: &IdempotencyToken) -> Result<Live> {
        let spec = normalised(&record(desired, "create")?)?;
        let zone_id = self.zone_id(&spec.zone).await?;
        match self.submit(&zone_id, changes(ChangeAction::Create, &spec)?).await {
            Ok(()) => written(&zone_id, &spec),
            // Exactly the record asked for: this create's own earlier attempt, whose answer was
            // lost. Anything else there is someone else's record, and an error.
            Err(e)
                if e.is(ErrorKind::AlreadyExists) && self.current(&zone_id, &spec).await?.as_ref() == Some(&spec) =>
            {
                written(&zone_id, &spec)
            }
            Err(e) => Err(e),
        }
    }

    /// UPSERT when name and type stay; otherwise DELETE of `live` and CREATE of `desired` in one
    /// atomic batch, which fails as a whole if `live` changed since it was listed.
    async fn update(&self, live: &Live, desired: &Desired) -> Result<Live> {
        let (old, new) = (record(&live.desired, "update")?, normalised(&record(desired, "update")?)?);
        if old.zone != new.zone {
            return Err(ProviderError::new(
                ErrorKind::InvalidRequest,
                NAME,
                "update",
                format!("{} cannot move from zone {} to {}; the engine replaces it", old.name, old.zone, new.zone),
            ));
        }
        let zone_id = self.zone_id_of(live, &new).await?;
        // One atomic batch either way: an HTTP-era CNAME swapped for an alias pair (or back, on a
        // restoring destroy) never leaves the name without an answer.
        let batch = if (&old.name, old.rtype) == (&new.name, new.rtype) {
            changes(ChangeAction::Upsert, &new)?
        } else {
            // The old sets as stored, once they are checked to be what was listed: the batch then
            // fails as a whole if they change before it lands.
            let stored = self.listed(&zone_id, &old).await?;
            let now: Vec<RecordSpec> = stored.iter().filter_map(|set| rrset::spec(&old.zone, set)).collect();
            if rrset::pair_aliases(now).first() != Some(&old) {
                return Err(ProviderError::new(
                    ErrorKind::PreconditionFailed,
                    NAME,
                    "ChangeResourceRecordSets",
                    format!("{} {} changed since it was listed", old.name, old.rtype),
                ));
            }
            let mut batch: Vec<Change> = stored
                .into_iter()
                .map(|set| Change::builder().action(ChangeAction::Delete).resource_record_set(set).build())
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| {
                    ProviderError::new(ErrorKind::InvalidRequest, NAME, "ChangeResourceRecordSets", e.to_string())
                })?;
            batch.extend(changes(ChangeAction::Create, &new)?);
            batch
        };
        self.submit(&zone_id, batch).await?;
        written(&zone_id, &new)
    }

    /// DELETE with the listed values, which Route 53 requires to match exactly.
    async fn delete(&self, live: &Live) -> Result<Deletion> {
        let spec = record(&live.desired, "delete")?;
        let zone_id = match self.zone_id_of(live, &spec).await {
            Err(e) if e.is(ErrorKind::NotFound) => return Ok(Deletion::Done),
            other => other?,
        };
        match self.submit(&zone_id, changes(ChangeAction::Delete, &spec)?).await {
            Ok(()) => Ok(Deletion::Done),
            // The zone is gone, and the record with it.
            Err(e) if e.is(ErrorKind::NotFound) => Ok(Deletion::Done),
            // A DELETE that matches nothing is rejected (AWS: InvalidChangeBatch, moto:
            // InvalidInput) with no code of its own; one read tells a record already gone from
            // one that changed since it was listed.
            Err(e) if e.is(ErrorKind::InvalidRequest) => match self.current(&zone_id, &spec).await? {
                None => Ok(Deletion::Done),
                Some(now) if now != spec => Err(ProviderError::new(
                    ErrorKind::PreconditionFailed,
                    NAME,
                    "ChangeResourceRecordSets",
                    format!(
                        "{} {} changed since it was listed: now {:?} with TTL {}",
                        now.name, now.rtype, now.values, now.ttl
                    ),
                )
                .with_source(e)),
                Some(_) => Err(e),
            },
            Err(e) => Err(e),
        }
    }
}
