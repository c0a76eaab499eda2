//! The emulated account: its token and user, its services, TLS subscriptions and configurations,
//! the fake DNS the subscriptions are validated against, and the dispatch from an operation to
//! the module that serves it.

use std::sync::Arc;
use std::time::SystemTime;

use sslprov_openapi_contract::{Call, Operation};

use crate::reply::Reply;
use crate::services::Service;
use crate::tls::{Configuration, Subscription};
use crate::token::Token;
use crate::{objects, services, tls, token};

/// What the emulator asks when a subscription is polled: the CNAME target published at a name
/// (`_acme-challenge.<domain>`), if any.
pub type Dns = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

pub(crate) struct State {
    pub token: Token,
    pub customer_id: String,
    pub services: Vec<Service>,
    pub subscriptions: Vec<Subscription>,
    pub configurations: Vec<Configuration>,
    pub dns: Option<Dns>,
    /// How many polls that find the challenge CNAME a new subscription needs to be issued.
    pub issue_polls: u32,
    /// `http://127.0.0.1:PORT`, for the links the API writes into its answers.
    pub base_url: String,
}

impl State {
    pub fn new(base_url: String) -> State {
        let customer_id = new_id();
        State {
            token: Token::new(&customer_id),
            customer_id,
            services: Vec::new(),
            subscriptions: Vec::new(),
            configurations: vec![Configuration::default_one()],
            dns: None,
            issue_polls: 2,
            base_url,
        }
    }

    /// Serve an operation that passed the contract and the token check.
    pub fn dispatch(&mut self, op: &Operation, call: &Call) -> Reply {
        match op.id.as_str() {
            "get-token-current" => token::token_self(&self.token),
            "get-current-user" => token::current_user(&self.token),
            "list-services" => services::list(self, call),
            "create-service" => services::create(self, call),
            "search-service" => services::search(self, call),
            "get-service" => services::get(self, call),
            "update-service" => services::update(self, call),
            "delete-service" => services::delete(self, call),
            "list-service-versions" => services::list_versions(self, call),
            "get-service-version" => services::get_version(self, call),
            "clone-service-version" => services::clone_version(self, call),
            "activate-service-version" => services::activate(self, call),
            "deactivate-service-version" => services::deactivate(self, call),
            "validate-service-version" => services::validate(self, call),
            "get-service-settings" => objects::get_settings(self, call),
            "update-service-settings" => objects::update_settings(self, call),
            "list-tls-subs" => tls::list_subscriptions(self, call),
            "create-tls-sub" => tls::create_subscription(self, call),
            "get-tls-sub" => tls::get_subscription(self, call),
            "patch-tls-sub" => tls::patch_subscription(self, call),
            "delete-tls-sub" => tls::delete_subscription(self, call),
            "list-tls-configs" => tls::list_configurations(self, call),
            "get-tls-config" => tls::get_configuration(self, call),
            other => match objects::Route::of(other) {
                Some(route) => objects::serve(self, route, call),
                None => Reply::error(501, "Not implemented", format!("the emulator does not serve {other}")),
            },
        }
    }

    pub fn service_mut(&mut self, id: &str) -> Option<&mut Service> {
        self.services.iter_mut().find(|s| s.id == id && !s.deleted)
    }

    /// The live service other than `except` that has `domain` in any of its versions.
    pub fn domain_owner(&self, domain: &str, except: &str) -> Option<&Service> {
        self.services.iter().filter(|s| !s.deleted && s.id != except).find(|s| s.has_domain(domain))
    }
}

/// A Fastly identifier: 22 alphanumeric characters (services, subscriptions, configurations).
pub(crate) fn new_id() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut n = uuid::Uuid::new_v4().as_u128();
    (0..22)
        .map(|_| {
            let c = ALPHABET[(n % 62) as usize] as char;
            n /= 62;
            c
        })
        .collect()
}

/// A timestamp as the classic endpoints write them: `2022-11-04T17:51:46Z`.
pub(crate) fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// A timestamp as the `/tls` endpoints write them: `2025-09-08T17:11:15.000Z`.
pub(crate) fn now_millis() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract;

    #[test]
    fn ids_look_like_fastly_ids() {
        let id = new_id();
        assert_eq!(id.len(), 22);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()), "{id}");
        assert_ne!(id, new_id());
    }

    #[test]
    fn every_operation_of_the_definition_is_served() {
        let mut state = State::new("http://127.0.0.1:1".to_owned());
        for op in contract::get().operations() {
            let mut call = Call::default();
            for name in ["service_id", "version_id", "domain_name", "backend_name", "header_name"] {
                call.path.insert(name.to_owned(), "1".to_owned());
            }
            assert_ne!(state.dispatch(op, &call).status, 501, "{} is not served", op.id);
        }
    }
}
