//! The engine's own tests: a fake provider that keeps its objects in memory, and plan → apply
//! scenarios on the test CDN template (`template/testdata/test-shared.yaml`), whose load balancer
//! is shared by every domain and whose pools are shared per ESP origin. Nothing here reaches a
//! cloud: what these tests prove is the engine's part (addresses, who uses a shared object, the
//! order of steps, what a failure stops, crash recovery).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use sslprov_provider::{
    Deletion, Desired, ErrorKind, IdempotencyToken, KindInfo, Live, Outputs, Provider, ProviderError, ProviderInfo,
    RECORD, Rate, Registration, Result, Scope,
};

pub const NAME: &str = "test";
pub const THING: &str = "thing";

pub static INFO: ProviderInfo = ProviderInfo {
    name: NAME,
    title: "Test",
    kinds: &[
        KindInfo { name: THING, replace_on: &[], adoptable: false, becomes_ready: false, repair_in_place: false },
        KindInfo { name: RECORD, replace_on: &["zone"], adoptable: true, becomes_ready: false, repair_in_place: false },
    ],
    budget: Rate::per_second(1000, 1000),
    op_budgets: &[],
    batches_writes: false,
};

pub static REGISTRATION: Registration =
    Registration { info: &INFO, connect: |_| Box::pin(async { Ok(Arc::new(Fake::default()) as Arc<dyn Provider>) }) };

/// Objects by id; a thing's key is its name, a record's its zone and name. Things carry
/// sslprov's mark, records do not.
#[derive(Debug, Default)]
pub struct Fake {
    objects: Mutex<BTreeMap<String, Live>>,
    next: AtomicU32,
    /// `create <name>`, `update <name>`, `delete <name>`, in order.
    pub log: Mutex<Vec<String>>,
    /// Names whose create fails.
    pub fail: Mutex<BTreeSet<String>>,
    /// Names whose create is made but answered with an error (the answer lost).
    pub lose: Mutex<BTreeSet<String>>,
    /// Writes under way, and the most there ever were at once.
    in_flight: AtomicU32,
    pub most_in_flight: AtomicU32,
}

fn name(d: &Desired) -> String {
    d.str("name").unwrap_or_default().to_owned()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Fake {
    pub fn log(&self) -> Vec<String> {
        lock(&self.log).clone()
    }

    /// Live objects by name.
    pub fn names(&self) -> Vec<String> {
        lock(&self.objects).values().map(|l| name(&l.desired)).collect()
    }

    fn say(&self, what: &str, d: &Desired) {
        lock(&self.log).push(format!("{what} {}", name(d)));
    }

    /// A write takes a moment, as a cloud's does: long enough for every other task to start
    /// theirs, so that what bounds the writes in flight is seen.
    async fn write_takes_a_moment(&self) {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl Provider for Fake {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    fn normalise(&self, desired: &Desired) -> Result<Desired> {
        match desired.str("name") {
            Some(_) => Ok(desired.clone()),
            None => Err(ProviderError::new(ErrorKind::InvalidRequest, NAME, "normalise", "no name")),
        }
    }

    fn key(&self, desired: &Desired) -> Option<String> {
        let n = desired.str("name")?;
        Some(match desired.kind.as_str() {
            RECORD => format!("{}/{n}", desired.str("zone")?),
            _ => n.to_owned(),
        })
    }

    async fn list(&self, scope: &Scope) -> Result<Vec<Live>> {
        Ok(lock(&self.objects).values().filter(|l| l.desired.kind == scope.kind).cloned().collect())
    }

    async fn create(&self, desired: &Desired, token: &IdempotencyToken) -> Result<Live> {
        self.write_takes_a_moment().await;
        let n = name(desired);
        if lock(&self.fail).contains(&n) {
            return Err(ProviderError::new(ErrorKind::Unavailable, NAME, "create", format!("{n} refused")));
        }
        // The same create again (its answer was lost) finds what it made.
        if let Some(l) = lock(&self.objects).values().find(|l| l.outputs.token() == Some(token.as_str())) {
            return Ok(l.clone());
        }
        self.say("create", desired);
        let id = format!("{}-{}", desired.kind, self.next.fetch_add(1, Ordering::SeqCst));
        let live = Live {
            id: id.clone(),
            desired: desired.clone(),
            outputs: Outputs::default().with("id", &id).with("name", &n).with("token", token.as_str()),
            readiness: Default::default(),
            marked: desired.kind == THING,
        };
        lock(&self.objects).insert(id, live.clone());
        if lock(&self.lose).remove(&n) {
            return Err(ProviderError::new(ErrorKind::Unavailable, NAME, "create", "connection reset"));
        }
        Ok(live)
    }

    async fn update(&self, live: &Live, desired: &Desired) -> Result<Live> {
        self.write_takes_a_moment().await;
        self.say("update", desired);
        let mut objects = lock(&self.objects);
        let l = objects
            .get_mut(&live.id)
            .ok_or_else(|| ProviderError::new(ErrorKind::NotFound, NAME, "update", format!("{} is gone", live.id)))?;
        l.desired = desired.clone();
        Ok(l.clone())
    }

    async fn delete(&self, live: &Live) -> Result<Deletion> {
        if lock(&self.objects).remove(&live.id).is_some() {
            self.say("delete", &live.desired);
        }
        Ok(Deletion::Done)
    }
}

/// Progress nobody reads.
pub struct Quiet;

impl crate::ui::Progress for Quiet {
    fn start(&self, _: &str, _: &str) {}
    fn finish(&self, _: &str, _: &str) {}
    fn waiting(&self, _: &str, _: &str, _: std::time::Duration) {}
    fn ready(&self, _: &str, _: std::time::Duration) {}
    fn note(&self, _: &str, _: &str) {}
    fn failed(&self, _: &str, _: &str) {}
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::apply::{ApplyOptions, Outcome, WaitOptions};
    use crate::plan::{Action, Mode, Plan, PlanInput};
    use crate::providers::Providers;
    use crate::spec::Spec;
    use crate::state::{Location, State, StateFile, Store};

    /// A project: a spec on the test CDN, the fake, and a state file.
    struct World {
        dir: tempfile::TempDir,
        fake: Arc<Fake>,
        providers: Providers,
    }

    fn spec_text(domains: &[(&str, &str, &str)]) -> String {
        let mut s =
            String::from("version: 1\nbraze_cluster: US-01\ndefaults: { cdn: test-shared, dns: test }\ndomains:\n");
        for (key, host, esp) in domains {
            s.push_str(&format!("  {key}: {{ tracking_domain: {host}, esp: {esp}, zone: example.com }}\n"));
        }
        s
    }

    impl World {
        fn new() -> World {
            let fake = Arc::new(Fake::default());
            let providers = Providers::of([fake.clone() as Arc<dyn Provider>]);
            World { dir: tempfile::tempdir().expect("temp dir"), fake, providers }
        }

        fn spec(&self, domains: &[(&str, &str, &str)]) -> Spec {
            let path = self.dir.path().join("sslprov.yaml");
            std::fs::write(&path, spec_text(domains)).expect("write spec");
            Spec::load(&path).expect("test spec is valid")
        }

        fn file(&self) -> StateFile {
            StateFile::new(self.dir.path().join("sslprov.state.json"))
        }

        fn state(&self) -> Option<State> {
            self.file().read().expect("state reads")
        }

        async fn plan(&self, spec: &Spec, mode: Mode, targets: &[&str]) -> std::result::Result<Plan, Vec<String>> {
            let state = self.state();
            let targets: Vec<String> = targets.iter().map(|t| (*t).to_owned()).collect();
            let scopes = crate::refresh::scopes(spec, state.as_ref(), &targets);
            let inventory = crate::refresh::refresh(&self.providers, &scopes).await.expect("refresh");
            crate::plan::build(PlanInput {
                spec,
                state: state.as_ref(),
                inventory: &inventory,
                providers: &self.providers,
                mode,
                targets: &targets,
                restore_adopted: false,
                new_lineage: "lineage",
                created: "now".into(),
            })
            .map_err(|errs| errs.iter().map(ToString::to_string).collect())
        }

        /// As `sslprov apply` does it: the lock, the store's writer, the apply, the compaction.
        async fn apply(&self, spec: &Spec, plan: &Plan) -> Outcome {
            let store = Store::open(&Location::Local(self.file().path)).await.expect("store");
            let lock = store.lock("apply", Duration::from_secs(5)).await.expect("lock");
            let loaded = store.read().await.expect("state reads");
            let journal = store.writer(&lock, &loaded).await.expect("writer");
            let state = loaded.state.unwrap_or_else(|| State::new(plan.state.lineage.clone()));
            let opts = ApplyOptions {
                parallelism: 4,
                wait: WaitOptions { poll: Duration::from_millis(10), timeout: Duration::from_secs(5) },
            };
            let stop = AtomicBool::new(false);
            let outcome = crate::apply::apply(plan, spec, state, &journal, &self.providers, opts, &Quiet, &stop)
                .await
                .expect("apply runs");
            journal.compact().await.expect("compacts");
            lock.release().await;
            outcome
        }

        /// Plan and apply; the apply must succeed.
        async fn converge(&self, spec: &Spec, mode: Mode, targets: &[&str]) -> Plan {
            let plan = self.plan(spec, mode, targets).await.expect("plans");
            let outcome = self.apply(spec, &plan).await;
            assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
            plan
        }
    }

    fn actions(plan: &Plan) -> Vec<(String, Action)> {
        plan.changes.iter().map(|c| (c.address.clone(), c.action)).collect()
    }

    fn position(log: &[String], entry: &str) -> usize {
        log.iter().position(|l| l == entry).unwrap_or_else(|| panic!("{entry} not in {log:?}"))
    }

    const TWO: &[(&str, &str, &str)] =
        &[("acme", "click.acme.example.com", "sendgrid"), ("beta", "click.beta.example.com", "sendgrid")];

    #[tokio::test]
    async fn two_domains_share_one_load_balancer_and_one_pool_per_origin() {
        let w = World::new();
        let spec = w.spec(&[
            ("acme", "click.acme.example.com", "sendgrid"),
            ("beta", "click.beta.example.com", "sendgrid"),
            ("gamma", "click.gamma.example.com", "sparkpost"),
        ]);
        let plan = w.plan(&spec, Mode::Apply, &[]).await.expect("plans");
        let created: Vec<String> = plan.changes.iter().map(|c| c.address.clone()).collect();
        assert_eq!(created.iter().filter(|a| a.as_str() == "lb@lb").count(), 1, "{created:?}");
        assert!(created.contains(&"pool@sendgrid.net".to_owned()) && created.contains(&"pool@spgo.io".to_owned()));
        assert_eq!(created.len(), 3 + 3 * 3, "one lb, two pools, three parts per domain: {created:?}");
        let lb = plan.changes.iter().find(|c| c.address == "lb@lb").expect("lb");
        assert_eq!((lb.domain.as_str(), lb.shared.as_deref()), ("", Some("lb")));
        assert_eq!(lb.users, ["acme", "beta", "gamma"]);
        let pool = plan.changes.iter().find(|c| c.address == "pool@sendgrid.net").expect("pool");
        assert_eq!(pool.users, ["acme", "beta"]);
        let text = crate::ui::render_plan(&plan);
        assert!(text.contains("# pool@sendgrid.net will be created\n  # (shared by acme, beta)"), "{text}");

        w.apply(&spec, &plan).await;
        let log = w.fake.log();
        assert_eq!(log.iter().filter(|l| *l == "create lb").count(), 1, "{log:?}");
        assert_eq!(log.iter().filter(|l| *l == "create pool-sendgrid.net").count(), 1, "{log:?}");
        // Each domain's first step does not wait for shared objects it does not need: the
        // certificates are asked for before the load balancer is made.
        assert!(position(&log, "create cert-click.acme.example.com") < position(&log, "create lb"), "{log:?}");
        assert!(position(&log, "create lb") < position(&log, "create pool-sendgrid.net"), "{log:?}");
        assert!(position(&log, "create pool-spgo.io") < position(&log, "create route-click.gamma.example.com"));
        let state = w.state().expect("state");
        let lb = &state.resources["lb@lb"];
        assert_eq!(
            (lb.domain.as_str(), lb.shared.as_deref(), lb.cdn.as_deref()),
            ("", Some("lb"), Some("test-shared"))
        );
        let route = &state.resources["acme.route"];
        assert_eq!(route.desired.as_ref().and_then(|d| d.str("lb")), lb.id.as_deref(), "routes use the shared lb");
        let again = w.plan(&spec, Mode::Apply, &[]).await.expect("plans");
        assert!(again.changes.is_empty() && again.recovered.is_empty(), "{:?}", actions(&again));
    }

    /// Every domain starts at once; `--parallelism` bounds the writes in flight (4 here).
    #[tokio::test]
    async fn parallelism_bounds_the_writes_in_flight() {
        let w = World::new();
        let domains: Vec<(String, String)> =
            (0..12).map(|i| (format!("d{i}"), format!("click.d{i}.example.com"))).collect();
        let domains: Vec<(&str, &str, &str)> =
            domains.iter().map(|(k, h)| (k.as_str(), h.as_str(), "sendgrid")).collect();
        let spec = w.spec(&domains);
        w.converge(&spec, Mode::Apply, &[]).await;
        assert_eq!(w.fake.most_in_flight.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn destroying_one_brand_keeps_what_others_use_and_the_last_removes_it_all() {
        let w = World::new();
        let spec = w.spec(&[
            ("acme", "click.acme.example.com", "sendgrid"),
            ("beta", "click.beta.example.com", "sparkpost"),
            ("gamma", "click.gamma.example.com", "sparkpost"),
        ]);
        w.converge(&spec, Mode::Apply, &[]).await;

        let plan = w.plan(&spec, Mode::Destroy, &["beta"]).await.expect("plans");
        assert!(plan.changes.iter().all(|c| c.domain == "beta"), "{:?}", actions(&plan));
        let kept: Vec<(&str, Vec<String>)> = plan.kept.iter().map(|k| (k.address.as_str(), k.users.clone())).collect();
        assert_eq!(
            kept,
            [("lb@lb", vec!["acme".to_owned(), "gamma".to_owned()]), ("pool@spgo.io", vec!["gamma".to_owned()])]
        );
        let text = crate::ui::render_plan(&plan);
        assert!(text.contains("Kept: lb@lb (shared; still used by acme, gamma)"), "{text}");
        w.apply(&spec, &plan).await;

        // acme goes: its pool is used by nobody else, and goes after acme's route.
        let plan = w.plan(&spec, Mode::Destroy, &["acme"]).await.expect("plans");
        let pool = plan.changes.iter().find(|c| c.address == "pool@sendgrid.net").expect("the pool goes");
        assert_eq!((pool.action, pool.reason.as_deref()), (Action::Delete, Some("no domain uses it any more")));
        assert_eq!(plan.changes.last().map(|c| c.address.as_str()), Some("pool@sendgrid.net"));
        w.apply(&spec, &plan).await;
        let log = w.fake.log();
        assert!(position(&log, "delete route-click.acme.example.com") < position(&log, "delete pool-sendgrid.net"));

        // The last domain: everything, the shared objects last and each before what it uses.
        let plan = w.converge(&spec, Mode::Destroy, &[]).await;
        let order: Vec<&str> = plan.changes.iter().map(|c| c.address.as_str()).collect();
        assert_eq!(order[order.len() - 2..], ["pool@spgo.io", "lb@lb"], "{order:?}");
        assert!(w.fake.names().is_empty(), "{:?}", w.fake.names());
        assert!(w.state().expect("state").resources.is_empty());
    }

    #[tokio::test]
    async fn a_domain_removed_from_the_spec_takes_its_pool_with_it_and_a_new_esp_moves_pools() {
        let w = World::new();
        let spec = w.spec(TWO);
        w.converge(&spec, Mode::Apply, &[]).await;
        // beta moves to SparkPost: a new pool, beta's route moves to it, and the SendGrid pool
        // stays for acme.
        let spec =
            w.spec(&[("acme", "click.acme.example.com", "sendgrid"), ("beta", "click.beta.example.com", "sparkpost")]);
        let plan = w.converge(&spec, Mode::Apply, &[]).await;
        assert_eq!(
            actions(&plan),
            [("pool@spgo.io".to_owned(), Action::Create), ("beta.route".to_owned(), Action::Update)]
        );
        // acme leaves the spec: its parts go, then the pool nobody uses.
        let spec = w.spec(&[("beta", "click.beta.example.com", "sparkpost")]);
        let plan = w.converge(&spec, Mode::Apply, &[]).await;
        let last = plan.changes.last().expect("changes");
        assert_eq!((last.address.as_str(), last.action), ("pool@sendgrid.net", Action::Delete));
        assert!(!w.fake.names().contains(&"pool-sendgrid.net".to_owned()));
        let again = w.plan(&spec, Mode::Apply, &[]).await.expect("plans");
        assert!(again.changes.is_empty(), "{:?}", actions(&again));
    }

    #[tokio::test]
    async fn a_removed_domain_not_targeted_keeps_the_shared_objects_it_may_use() {
        let w = World::new();
        let gamma = ("gamma", "click.gamma.example.com", "ses");
        w.converge(&w.spec(&[TWO[0], TWO[1], gamma]), Mode::Apply, &[]).await;
        // acme and beta leave the spec, but only beta is destroyed now: acme's parts stay, and
        // so does what they may use.
        let spec = w.spec(&[gamma]);
        let plan = w.converge(&spec, Mode::Apply, &["beta"]).await;
        assert!(plan.changes.iter().all(|c| c.domain == "beta"), "{:?}", actions(&plan));
        let pool = plan.kept.iter().find(|k| k.address == "pool@sendgrid.net").expect("kept");
        assert_eq!(pool.users, ["acme (removed from the spec, not destroyed yet)"]);
        assert!(w.fake.names().contains(&"pool-sendgrid.net".to_owned()));
        let plan = w.converge(&spec, Mode::Apply, &[]).await;
        assert_eq!(plan.changes.last().map(|c| c.address.as_str()), Some("pool@sendgrid.net"));
        assert!(!w.fake.names().contains(&"pool-sendgrid.net".to_owned()), "{:?}", w.fake.names());
        assert!(w.fake.names().contains(&"lb".to_owned()), "gamma still uses the lb");
    }

    #[tokio::test]
    async fn a_failed_shared_object_stops_the_domains_that_need_it_and_only_what_needs_it() {
        let w = World::new();
        let spec = w.spec(TWO);
        lock(&w.fake.fail).insert("lb".into());
        let plan = w.plan(&spec, Mode::Apply, &[]).await.expect("plans");
        let outcome = w.apply(&spec, &plan).await;
        let errors: Vec<String> = outcome.errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.iter().filter(|e| e.starts_with("lb@lb: test create")).count(), 1, "{errors:#?}");
        for d in ["acme", "beta"] {
            assert!(
                errors.contains(&format!(
                    "{d}.route: not done: it needs the shared lb@lb, which failed (lb@lb: test create: service unavailable: lb refused)"
                )),
                "{errors:#?}"
            );
        }
        let names = w.fake.names();
        assert!(names.contains(&"cert-click.acme.example.com".to_owned()), "what needs no lb is done: {names:?}");
        assert!(!names.iter().any(|n| n.starts_with("route-") || n == "click.acme.example.com"), "{names:?}");

        lock(&w.fake.fail).clear();
        w.converge(&spec, Mode::Apply, &[]).await;
        assert_eq!(w.fake.log().iter().filter(|l| *l == "create lb").count(), 1);
    }

    #[tokio::test]
    async fn a_shared_create_whose_answer_was_lost_is_recovered_not_made_twice() {
        let w = World::new();
        let spec = w.spec(TWO);
        lock(&w.fake.lose).insert("lb".into());
        let plan = w.plan(&spec, Mode::Apply, &[]).await.expect("plans");
        let outcome = w.apply(&spec, &plan).await;
        assert!(!outcome.errors.is_empty());
        let state = w.state().expect("state");
        assert!(state.resources["lb@lb"].intent.is_some(), "the intent is recorded before the call");
        let plan = w.plan(&spec, Mode::Apply, &[]).await.expect("plans");
        let recovered: Vec<(&str, &str)> =
            plan.recovered.iter().map(|r| (r.address.as_str(), r.how.as_str())).collect();
        assert_eq!(recovered, [("lb@lb", crate::plan::MADE_BY_AN_INTERRUPTED_RUN)]);
        assert!(!plan.changes.iter().any(|c| c.address == "lb@lb"), "{:?}", actions(&plan));
        w.apply(&spec, &plan).await;
        assert_eq!(w.fake.log().iter().filter(|l| *l == "create lb").count(), 1, "{:?}", w.fake.log());
        assert!(w.plan(&spec, Mode::Apply, &[]).await.expect("plans").changes.is_empty());
    }

    #[tokio::test]
    async fn without_state_marked_shared_objects_are_recovered_and_nothing_is_made_again() {
        let w = World::new();
        let spec = w.spec(TWO);
        w.converge(&spec, Mode::Apply, &[]).await;
        let made = w.fake.log().len();
        std::fs::remove_file(w.file().path).expect("state removed");
        let plan = w.plan(&spec, Mode::Apply, &[]).await.expect("plans");
        let recovered: BTreeSet<&str> = plan.recovered.iter().map(|r| r.address.as_str()).collect();
        for a in ["lb@lb", "pool@sendgrid.net", "acme.cert", "acme.route", "beta.route", "acme.tracking_record"] {
            assert!(recovered.contains(a), "{a} not in {recovered:?}");
        }
        assert!(plan.changes.is_empty(), "{:?}", actions(&plan));
        w.apply(&spec, &plan).await;
        assert_eq!(w.fake.log().len(), made, "nothing made again: {:?}", w.fake.log());
        let state = w.state().expect("state");
        assert_eq!(state.resources["pool@sendgrid.net"].shared.as_deref(), Some("sendgrid.net"));
        assert!(w.plan(&spec, Mode::Apply, &[]).await.expect("plans").changes.is_empty());
    }

    #[tokio::test]
    async fn a_targeted_plan_makes_only_the_shared_objects_its_domains_need() {
        let w = World::new();
        let spec = w.spec(&[("acme", "click.acme.example.com", "sendgrid"), ("beta", "click.beta.example.com", "ses")]);
        let plan = w.converge(&spec, Mode::Apply, &["acme"]).await;
        let addresses: Vec<&str> = plan.changes.iter().map(|c| c.address.as_str()).collect();
        assert!(addresses.contains(&"pool@sendgrid.net") && !addresses.iter().any(|a| a.contains("awstrack")));
        let lb = plan.changes.iter().find(|c| c.address == "lb@lb").expect("lb");
        assert_eq!(lb.users, ["acme", "beta"], "users count every domain of the spec, targeted or not");
        let plan = w.plan(&spec, Mode::Apply, &[]).await.expect("plans");
        assert!(plan.changes.iter().all(|c| c.domain == "beta" || c.address == "pool@r.us-east-1.awstrack.me"));
    }
}
