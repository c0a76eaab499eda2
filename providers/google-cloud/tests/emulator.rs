//! The Google Cloud client against the emulator: the conformance suite every provider runs, and
//! the shared URL map's fingerprinted writes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use sslprov_gcp_emulator::Emulator;
use sslprov_google_cloud::{CERTIFICATE, CERTIFICATE_MAP_ENTRY, GoogleCloud, GoogleCloudConfig, HOST_RULE, Retry};
use sslprov_provider::conformance::{self, Fixture};
use sslprov_provider::{Calls, Desired, IdempotencyToken, Live, Provider};

fn desired(kind: &str, spec: Value) -> Desired {
    Desired { kind: kind.into(), spec: spec.as_object().cloned().unwrap_or_default() }
}

fn fast_retry() -> Retry {
    Retry {
        requests: sslprov_provider::conformance::fast_retry(6, 6),
        operation_poll: Duration::from_millis(20),
        operation_timeout: Duration::from_secs(10),
    }
}

struct Gcp {
    emulator: Emulator,
    client: GoogleCloud,
    /// The `_acme-challenge` CNAMEs published so far.
    dns: Arc<Mutex<BTreeMap<String, String>>>,
    /// Self links and names of the objects the samples refer to.
    refs: BTreeMap<&'static str, String>,
}

impl Gcp {
    async fn start() -> Gcp {
        let emulator = Emulator::start();
        emulator.set_operation_delay(Duration::from_millis(10));
        let dns: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
        let seen = Arc::clone(&dns);
        emulator.set_dns(move |name| seen.lock().unwrap_or_else(|e| e.into_inner()).get(name).cloned());
        let config = GoogleCloudConfig {
            project: "sslprov-test".into(),
            compute_url: emulator.compute_url(),
            certificate_manager_url: emulator.certificate_manager_url(),
        };
        // A directory of its own: tests run side by side, each with its emulator's token URL.
        let dir = tempfile::tempdir().expect("temp dir");
        let creds: Value =
            serde_json::from_str(&std::fs::read_to_string(emulator.write_credentials(dir.path())).expect("read"))
                .expect("json");
        let client =
            GoogleCloud::with_credentials(&config, creds, Calls::default()).expect("client").with_retry(fast_retry());
        let mut g = Gcp { emulator, client, dns, refs: BTreeMap::new() };
        g.prerequisites().await;
        g
    }

    async fn make(&self, kind: &str, spec: Value) -> Live {
        let token = IdempotencyToken(format!("prereq-{kind}-{}", spec));
        self.client.create(&desired(kind, spec), &token).await.unwrap_or_else(|e| panic!("prerequisite {kind}: {e}"))
    }

    /// What the samples refer to, made once: a NEG and backend, a URL map, an SSL policy, a
    /// certificate map, an ACTIVE certificate.
    async fn prerequisites(&mut self) {
        let link = |l: &Live| l.outputs.str("self_link").expect("self link").to_owned();
        let neg = self.make("internet_neg", json!({"fqdn": "prereq.example", "port": 443})).await;
        let backend = self
            .make("backend_service", json!({"origin": "prereq.example", "neg": link(&neg), "timeout_sec": 30}))
            .await;
        let map = self.make("url_map", json!({"name": "prereq-map", "default_redirect": "example.com"})).await;
        let policy = self
            .make("ssl_policy", json!({"name": "prereq-tls", "profile": "MODERN", "min_tls_version": "TLS_1_2"}))
            .await;
        let proxy = self.make("target_http_proxy", json!({"name": "prereq-http", "url_map": link(&map)})).await;
        self.make("certificate_map", json!({"name": "prereq-certs"})).await;
        let authz = self.make("dns_authorization", json!({"domain": "prereq.acme.com"})).await;
        self.publish(&authz);
        let cert = self
            .make("certificate", json!({"domain": "prereq.acme.com", "dns_authorization": authz.outputs.str("name")}))
            .await;
        let authz2 = self.make("dns_authorization", json!({"domain": "sample2.acme.com"})).await;
        for (k, v) in [
            ("authz2", authz2.outputs.str("name").expect("name").to_owned()),
            ("neg", link(&neg)),
            ("backend", link(&backend)),
            ("url_map", link(&map)),
            ("ssl_policy", link(&policy)),
            ("http_proxy", link(&proxy)),
            ("certificate", cert.outputs.str("name").expect("name").to_owned()),
            ("authz", authz.outputs.str("name").expect("name").to_owned()),
        ] {
            self.refs.insert(k, v);
        }
    }

    /// Publishes a DNS authorization's CNAME.
    fn publish(&self, authz: &Live) {
        let r = authz.outputs.get("record").expect("record");
        let (name, value) = (r["name"].as_str().expect("name"), r["values"][0].as_str().expect("value"));
        self.dns.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_owned(), value.to_owned());
    }
}

#[async_trait]
impl Fixture for Gcp {
    fn provider(&self) -> &dyn Provider {
        &self.client
    }

    fn samples(&self) -> Vec<Desired> {
        let r = |k: &str| self.refs[k].clone();
        vec![
            desired("address", json!({"name": "sample-ip"})),
            desired("ssl_policy", json!({"name": "sample-tls", "profile": "MODERN", "min_tls_version": "TLS_1_2"})),
            desired("internet_neg", json!({"fqdn": "R.US-EAST-1.awstrack.me.", "port": 443})),
            desired("backend_service", json!({"origin": "sample.example", "neg": r("neg"), "timeout_sec": 30})),
            desired("url_map", json!({"name": "sample-map", "default_redirect": "example.com"})),
            desired(
                "target_https_proxy",
                json!({"name": "sample-https", "url_map": r("url_map"), "ssl_policy": r("ssl_policy"),
                       "certificate_map": "prereq-certs"}),
            ),
            desired("target_http_proxy", json!({"name": "sample-http", "url_map": r("url_map")})),
            desired(
                "forwarding_rule",
                json!({"name": "sample-rule", "ip": "34.120.9.9", "port": 80, "target": r("http_proxy")}),
            ),
            desired(
                HOST_RULE,
                json!({"url_map": "prereq-map", "host": "Click.Acme.com", "backend": r("backend"),
                       "forwarded_host": "click.acme.com"}),
            ),
            desired("dns_authorization", json!({"domain": "sample.acme.com"})),
            desired(CERTIFICATE, json!({"domain": "sample2.acme.com", "dns_authorization": r("authz2")})),
            desired("certificate_map", json!({"name": "sample-certs"})),
            desired(
                CERTIFICATE_MAP_ENTRY,
                json!({"map": "prereq-certs", "hostname": "prereq.acme.com", "certificate": r("certificate")}),
            ),
        ]
    }

    async fn throttle(&self, n: usize) {
        self.emulator.throttle(n);
    }

    /// A certificate issues once its authorization's CNAME is seen: publish them all.
    async fn make_ready(&self, _: &Live) {
        for a in self.emulator.certificate_manager_of("dnsAuthorizations") {
            let r = &a["dnsResourceRecord"];
            let (Some(n), Some(v)) = (r["name"].as_str(), r["data"].as_str()) else { continue };
            self.dns
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(n.trim_end_matches('.').to_owned(), v.trim_end_matches('.').to_owned());
        }
    }

    fn holds_readiness(&self, _: &str) -> bool {
        false
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn conformance() {
    let gcp = Gcp::start().await;
    conformance::run(&gcp).await;
    gcp.emulator.assert_no_violations();
}

/// Host rules of many domains written at once into one URL map: each write is serialised and
/// fingerprinted, a stale fingerprint (someone else's write) is read again, and every rule lands.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_host_rules_all_land_in_the_shared_url_map() {
    let gcp = Arc::new(Gcp::start().await);
    gcp.emulator.interfere_with_url_map(3);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let g = Arc::clone(&gcp);
        tasks.push(tokio::spawn(async move {
            let host = format!("click{i}.acme.com");
            let d = desired(
                HOST_RULE,
                json!({"url_map": "prereq-map", "host": host, "backend": g.refs["backend"], "forwarded_host": host}),
            );
            g.client.create(&d, &IdempotencyToken(format!("hr{i}"))).await.expect("host rule")
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let map = &gcp.emulator.objects("urlMaps")["prereq-map"];
    assert_eq!(map["hostRules"].as_array().map(Vec::len), Some(8), "{map:#}");
    assert_eq!(gcp.emulator.count("compute.urlMaps.patch", Some(412)), 3);
    gcp.emulator.assert_no_violations();
}
