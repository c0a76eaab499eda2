//! The providers one run talks to: those its spec and state name, connected from the registry,
//! sharing one call counter.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use sslprov_provider::{Calls, Connect, ErrorKind, Provider, ProviderError};

#[derive(Clone, Debug, Default)]
pub struct Providers {
    by_name: BTreeMap<String, Arc<dyn Provider>>,
    pub calls: Calls,
}

impl Providers {
    /// Connects every provider in `names`, concurrently. A name no provider of this build has (a
    /// hand-edited state, or one written by a newer sslprov) is an error.
    pub async fn connect(names: &BTreeSet<String>) -> Result<Providers, ProviderError> {
        let calls = Calls::default();
        let cx = Connect::new(calls.clone());
        let connecting = names.iter().map(|name| {
            let cx = cx.clone();
            async move {
                let registration = crate::registry::get(name).ok_or_else(|| {
                    let known: Vec<&str> = crate::registry::PROVIDERS.iter().map(|r| r.info.name).collect();
                    ProviderError::new(
                        ErrorKind::Unsupported,
                        "sslprov",
                        "connect",
                        format!("no provider `{name}` in this build of sslprov (it has {})", known.join(", ")),
                    )
                })?;
                Ok::<_, ProviderError>((name.clone(), (registration.connect)(cx).await?))
            }
        });
        let by_name = futures::future::try_join_all(connecting).await?.into_iter().collect();
        Ok(Providers { by_name, calls })
    }

    /// Providers already connected (tests hand in fakes).
    pub fn of(providers: impl IntoIterator<Item = Arc<dyn Provider>>) -> Providers {
        let by_name = providers.into_iter().map(|p| (p.info().name.to_owned(), p)).collect();
        Providers { by_name, calls: Calls::default() }
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Provider>> {
        self.by_name.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Arc<dyn Provider>)> {
        self.by_name.iter()
    }
}
