//! What this run has seen of the account's zones, or of its aliases.
//!
//! KeyCDN has no search and allows about 60 requests a minute, so "did an earlier attempt make
//! this zone?" and "is this alias's zone sslprov's?" must not cost a list each: with a hundred
//! domains that was three lists per domain, five minutes of the limit. Every list answer and
//! every write's answer lands here, and a question is answered from here while what is here is
//! the whole account as this run left it. One lock on the state is the premise: nobody else
//! makes sslprov's objects while it runs. A write whose answer did not come may have made
//! something this does not hold; from then on questions go to KeyCDN again.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Mutex, PoisonError};

use serde_json::{Map, Value};

type Object = Map<String, Value>;

#[derive(Debug, Default)]
pub(crate) struct Known {
    inner: Mutex<Inner>,
    /// One list at a time: a question asked while a list is read waits for its answer (a refresh
    /// lists zones, and its aliases ask whose zones they point at, at the same moment).
    listing: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct Inner {
    /// A list was read and no write since has left doubt.
    whole: bool,
    by_id: BTreeMap<String, Object>,
}

impl Known {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads `list` (all there is) and keeps its answer.
    pub async fn list<E>(&self, list: impl Future<Output = Result<Vec<Object>, E>>) -> Result<Vec<Object>, E> {
        let _one = self.listing.lock().await;
        let all = list.await?;
        self.listed(&all);
        Ok(all)
    }

    /// The objects as this run knows them; `list` is read only when it does not.
    pub async fn known<E>(&self, list: impl Future<Output = Result<Vec<Object>, E>>) -> Result<Vec<Object>, E> {
        if let Some(all) = self.all() {
            return Ok(all);
        }
        let _one = self.listing.lock().await;
        if let Some(all) = self.all() {
            return Ok(all);
        }
        let all = list.await?;
        self.listed(&all);
        Ok(all)
    }

    fn listed(&self, all: &[Object]) {
        let mut inner = self.inner();
        inner.by_id = all.iter().map(|o| (id(o), o.clone())).collect();
        inner.whole = true;
    }

    /// A write's answer: the object as it is now.
    pub fn wrote(&self, object: &Object) {
        self.inner().by_id.insert(id(object), object.clone());
    }

    pub fn deleted(&self, id: &str) {
        self.inner().by_id.remove(id);
    }

    /// A write failed, perhaps after it was done.
    pub fn doubt(&self) {
        self.inner().whole = false;
    }

    /// The objects, while they are the whole account; `None` when a list must be read.
    fn all(&self) -> Option<Vec<Object>> {
        let inner = self.inner();
        inner.whole.then(|| inner.by_id.values().cloned().collect())
    }
}

fn id(o: &Object) -> String {
    match o.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(id: u64, name: &str) -> Object {
        serde_json::json!({ "id": id.to_string(), "name": name }).as_object().unwrap().clone()
    }

    fn names(all: &[Object]) -> Vec<Value> {
        all.iter().map(|o| o["name"].clone()).collect()
    }

    #[tokio::test]
    async fn answers_only_while_it_holds_the_whole_account() {
        let known = Known::default();
        let lists = std::sync::atomic::AtomicUsize::new(0);
        let list = |all: Vec<Object>| {
            let lists = &lists;
            async move {
                lists.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok::<_, ()>(all)
            }
        };
        known.wrote(&object(1, "a"));
        assert!(known.all().is_none(), "one write's answer is not the account");
        known.known(list(vec![object(1, "a"), object(2, "b")])).await.unwrap();
        known.wrote(&object(3, "c"));
        known.deleted("1");
        assert_eq!(names(&known.known(list(vec![])).await.unwrap()), ["b", "c"]);
        assert_eq!(lists.load(std::sync::atomic::Ordering::Relaxed), 1, "the second question is answered here");
        known.doubt();
        assert!(known.all().is_none(), "a failed write may have made what it does not hold");
        assert_eq!(names(&known.known(list(vec![object(4, "d")])).await.unwrap()), ["d"]);
    }

    #[tokio::test]
    async fn a_question_asked_during_a_list_waits_for_its_answer() {
        let known = Known::default();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let listing = known.list(async {
            released.await.unwrap();
            Ok::<_, ()>(vec![object(1, "a")])
        });
        let asking = known.known(async { Ok::<_, ()>(vec![object(2, "a second list while one is read")]) });
        let (listed, asked, _) = tokio::join!(listing, asking, async { release.send(()).unwrap() });
        assert_eq!((names(&listed.unwrap()), names(&asked.unwrap())), (vec![Value::from("a")], vec![Value::from("a")]));
    }
}
