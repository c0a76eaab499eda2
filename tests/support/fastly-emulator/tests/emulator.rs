//! The emulator over HTTP, as a client sees it: correct requests pass, wrong ones are refused and
//! recorded, and the behaviour sslprov depends on (versions, locking, domain ownership, the
//! subscription state machine, paging, rate limits, faults).

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use sslprov_fastly_emulator::{DEFAULT_CNAME_TARGET, Emulator, ObjectKind, Side};

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

#[derive(Debug)]
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Client {
    fn new(fastly: &Emulator) -> Client {
        Client { http: reqwest::Client::new(), base: fastly.base_url(), token: fastly.token() }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base)).header("Fastly-Key", &self.token)
    }

    async fn get(&self, path: &str) -> Answer {
        answer(self.request(Method::GET, path)).await
    }

    async fn tls_get(&self, path: &str) -> Answer {
        answer(self.request(Method::GET, path).header("accept", "application/vnd.api+json")).await
    }

    async fn form(&self, method: Method, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let mut request = self.request(method, path);
        if !fields.is_empty() {
            request = request.header("content-type", "application/x-www-form-urlencoded").body(body);
        }
        answer(request).await
    }

    async fn json_api(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut request = self.request(method, path).header("accept", "application/vnd.api+json");
        if let Some(body) = body {
            request = request.header("content-type", "application/vnd.api+json").body(body.to_string());
        }
        answer(request).await
    }
}

async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("emulator answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("a whole body");
    let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("JSON body") };
    Answer { status, headers, body }
}

/// A service named `name` with `domain` on version 1, via the API.
async fn service_with_domain(c: &Client, name: &str, domain: &str) -> String {
    let created = c.form(Method::POST, "/service", &[("name", name)]).await;
    let id = created.body["id"].as_str().expect("service id").to_owned();
    let added = c.form(Method::POST, &format!("/service/{id}/version/1/domain"), &[("name", domain)]).await;
    assert_eq!(added.status, 200, "{}", added.body);
    id
}

fn subscription_body(domain: &str) -> Value {
    json!({"data": {"type": "tls_subscription", "attributes": {"certificate_authority": "lets-encrypt"},
        "relationships": {"tls_domains": {"data": [{"type": "tls_domain", "id": domain}]}}}})
}

#[tokio::test]
async fn a_service_goes_through_its_versions() {
    let fastly = Emulator::start();
    let c = Client::new(&fastly);

    let created = c
        .form(Method::POST, "/service", &[("name", "sslprov-click.example.com"), ("comment", "managed-by=sslprov")])
        .await;
    assert_eq!(created.status, 200, "classic creates answer 200: {}", created.body);
    assert_eq!(
        created.body["versions"][0],
        json!({"number": 1, "active": false, "locked": false, "deployed": false,
        "staging": false, "testing": false, "comment": "", "service_id": created.body["id"],
        "created_at": created.body["versions"][0]["created_at"], "updated_at": created.body["versions"][0]["updated_at"],
        "deleted_at": null})
    );
    assert!(created.header("fastly-ratelimit-remaining").is_some(), "a classic write carries the limit headers");
    let id = created.body["id"].as_str().expect("id").to_owned();
    let v1 = format!("/service/{id}/version/1");

    assert_eq!(c.form(Method::POST, &format!("{v1}/domain"), &[("name", "click.example.com")]).await.status, 200);
    let backend = c
        .form(
            Method::POST,
            &format!("{v1}/backend"),
            &[
                ("name", "sendgrid"),
                ("address", "sendgrid.net"),
                ("port", "443"),
                ("ssl_cert_hostname", "sendgrid.net"),
                ("ssl_sni_hostname", "sendgrid.net"),
                ("min_tls_version", "1.2"),
            ],
        )
        .await;
    assert_eq!(
        (backend.body["port"].clone(), backend.body["use_ssl"].clone()),
        (json!(443), json!(true)),
        "{}",
        backend.body
    );
    let header = c
        .form(
            Method::POST,
            &format!("{v1}/header"),
            &[
                ("name", "xfh"),
                ("type", "request"),
                ("action", "set"),
                ("dst", "http.X-Forwarded-Host"),
                ("src", "\"click.example.com\""),
                ("priority", "10"),
                ("ignore_if_set", "0"),
            ],
        )
        .await;
    assert_eq!(
        (header.body["priority"].clone(), header.body["version"].clone()),
        (json!("10"), json!("1")),
        "numbers as strings"
    );
    let pass = c.form(Method::POST, &format!("{v1}/request_settings"), &[("name", "pass"), ("action", "pass")]).await;
    assert_eq!(pass.body["action"], json!("pass"));
    let settings = c.form(Method::PUT, &format!("{v1}/settings"), &[("general.default_ttl", "10")]).await;
    assert_eq!((settings.body["general.default_ttl"].clone(), settings.body["version"].clone()), (json!(10), json!(1)));
    assert_eq!(c.get(&format!("{v1}/validate")).await.body["status"], json!("ok"));

    let activated = c.form(Method::PUT, &format!("{v1}/activate"), &[]).await;
    assert_eq!((activated.body["active"].clone(), activated.body["locked"].clone()), (json!(true), json!(true)));
    let locked = c.form(Method::POST, &format!("{v1}/backend"), &[("name", "other"), ("address", "example.net")]).await;
    assert_eq!((locked.status, locked.body["msg"].as_str()), (422, Some("Version locked")), "{}", locked.body);
    assert_eq!(c.form(Method::PUT, &format!("{v1}/settings"), &[("general.default_ttl", "0")]).await.status, 422);
    assert_eq!(c.form(Method::DELETE, &format!("{v1}/header/xfh"), &[]).await.status, 422);

    let cloned = c.form(Method::PUT, &format!("{v1}/clone"), &[]).await;
    assert_eq!((cloned.body["number"].clone(), cloned.body["locked"].clone()), (json!(2), json!(false)));
    let v2 = format!("/service/{id}/version/2");
    assert_eq!(c.get(&format!("{v2}/backend/sendgrid")).await.body["address"], json!("sendgrid.net"), "a copy");
    let deleted = c.form(Method::DELETE, &format!("{v2}/request_settings/pass"), &[]).await;
    assert_eq!(deleted.body, json!({"status": "ok"}));
    assert_eq!(c.form(Method::PUT, &format!("{v2}/activate"), &[]).await.status, 200);
    let service = fastly.service(&id).expect("service");
    assert_eq!(service.active_version().map(|v| v.number), Some(2));
    assert!(service.version(1).is_some_and(|v| v.locked && !v.active), "the old version stays locked");
    assert!(service.version(2).is_some_and(|v| v.request_settings.is_empty()));

    let refused = c.form(Method::DELETE, &format!("/service/{id}"), &[]).await;
    assert_eq!(
        (refused.status, refused.body["detail"].as_str()),
        (400, Some("Cannot delete service with active version"))
    );
    assert_eq!(c.form(Method::PUT, &format!("{v1}/deactivate"), &[]).await.status, 400, "v1 is not active");
    assert_eq!(c.form(Method::PUT, &format!("{v2}/deactivate"), &[]).await.body["active"], json!(false));
    assert_eq!(c.form(Method::DELETE, &format!("/service/{id}"), &[]).await.body, json!({"status": "ok"}));
    assert_eq!(c.get(&format!("/service/{id}")).await.status, 404);
    assert!(fastly.services().is_empty());
    fastly.assert_no_violations();
}

#[tokio::test]
async fn domains_belong_to_one_service_and_names_to_one_object() {
    let fastly = Emulator::start();
    let c = Client::new(&fastly);
    let hand_made = fastly.add_http_service("hand-made", "click.example.com", "sendgrid.net");
    let ours = service_with_domain(&c, "ours", "other.example.com").await;

    let taken =
        c.form(Method::POST, &format!("/service/{ours}/version/1/domain"), &[("name", "click.example.com")]).await;
    assert_eq!(taken.status, 400);
    assert_eq!(
        taken.body["detail"],
        json!(format!("Domain 'click.example.com' is already taken by service '{hand_made}'"))
    );
    let twice =
        c.form(Method::POST, &format!("/service/{ours}/version/1/domain"), &[("name", "other.example.com")]).await;
    assert_eq!((twice.status, twice.body["msg"].as_str()), (409, Some("Duplicate record")));
    let backend = [("name", "origin"), ("address", "spgo.io")];
    assert_eq!(c.form(Method::POST, &format!("/service/{ours}/version/1/backend"), &backend).await.status, 200);
    let dup = c.form(Method::POST, &format!("/service/{ours}/version/1/backend"), &backend).await;
    assert_eq!((dup.status, dup.body["detail"].as_str()), (409, Some("Duplicate backend: 'origin'")));
    let no_address = c.form(Method::POST, &format!("/service/{ours}/version/1/backend"), &[("name", "x")]).await;
    assert_eq!(no_address.status, 400);

    // A service is only valid with a domain.
    let empty =
        c.form(Method::POST, "/service", &[("name", "empty")]).await.body["id"].as_str().expect("id").to_owned();
    assert_eq!(c.get(&format!("/service/{empty}/version/1/validate")).await.body["status"], json!("error"));
    assert_eq!(c.form(Method::PUT, &format!("/service/{empty}/version/1/activate"), &[]).await.status, 400);
    fastly.assert_no_violations();
}

#[tokio::test]
async fn services_page_with_link_headers_and_search_by_name() {
    let fastly = Emulator::start();
    let c = Client::new(&fastly);
    for i in 0..5 {
        fastly.add_service(&format!("svc-{i}"), "");
    }
    let first = c.get("/service?per_page=2").await;
    assert_eq!(first.body.as_array().map(Vec::len), Some(2));
    let link = first.header("link").expect("Link header").to_owned();
    assert!(link.contains("page=2>; rel=\"next\"") && link.contains("page=3>; rel=\"last\""), "{link}");
    assert!(!link.contains("rel=\"prev\""), "{link}");
    assert_eq!(first.body[0]["version"], json!(1), "no active version lists as 1");
    let last = c.get("/service?per_page=2&page=3").await;
    assert_eq!((last.body[0]["name"].as_str(), last.body.as_array().map(Vec::len)), (Some("svc-4"), Some(1)));
    assert!(!last.header("link").unwrap_or("").contains("rel=\"next\""));

    let found = c.get("/service/search?name=svc-3").await;
    assert_eq!((found.status, found.body["name"].as_str()), (200, Some("svc-3")));
    let missing = c.get("/service/search?name=nope").await;
    assert_eq!((missing.status, missing.body["msg"].as_str()), (404, Some("Record not found")));
    fastly.assert_no_violations();
}

#[tokio::test]
async fn a_subscription_is_issued_once_its_challenge_cname_is_published() {
    let fastly = Emulator::start();
    let c = Client::new(&fastly);
    let orphan = c.json_api(Method::POST, "/tls/subscriptions", Some(subscription_body("click.example.com"))).await;
    assert_eq!(orphan.status, 400, "the domain must be on a service first");
    service_with_domain(&c, "svc", "click.example.com").await;

    let created = c.json_api(Method::POST, "/tls/subscriptions", Some(subscription_body("click.example.com"))).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.header("content-type"), Some("application/vnd.api+json"));
    assert_eq!(created.body["data"]["attributes"]["state"], json!("pending"));
    let challenges = created.body["included"][0]["attributes"]["challenges"].as_array().cloned().expect("challenges");
    let dns = challenges.iter().find(|c| c["type"] == "managed-dns").expect("managed-dns");
    assert_eq!(dns["record_name"], json!("_acme-challenge.click.example.com"));
    let target = dns["values"][0].as_str().expect("target").to_owned();
    assert!(target.ends_with(".fastly-validations.com"), "{target}");
    let http = challenges.iter().find(|c| c["type"] == "managed-http-cname").expect("managed-http-cname");
    assert_eq!(http["values"], json!([DEFAULT_CNAME_TARGET]));
    let id = created.body["data"]["id"].as_str().expect("id").to_owned();
    let twin = c.json_api(Method::POST, "/tls/subscriptions", Some(subscription_body("click.example.com"))).await;
    assert_eq!(twin.status, 409);

    let path = format!("/tls/subscriptions/{id}");
    let plain = c.json_api(Method::GET, &path, None).await;
    assert_eq!(
        (plain.body["data"]["attributes"]["state"].as_str(), plain.body.get("included")),
        (Some("pending"), None)
    );
    let answer = target.clone();
    fastly.set_dns(move |name| (name == "_acme-challenge.click.example.com").then(|| format!("{answer}.")));
    let first = c.json_api(Method::GET, &format!("{path}?include=tls_authorizations"), None).await;
    assert_eq!(first.body["data"]["attributes"]["state"], json!("processing"));
    assert_eq!(first.body["included"][0]["attributes"]["state"], json!("passing"));
    let second = c.json_api(Method::GET, &format!("{path}?include=tls_certificates"), None).await;
    assert_eq!(second.body["data"]["attributes"]["state"], json!("issued"));
    assert_eq!(second.body["data"]["attributes"]["has_active_order"], json!(false));
    assert_eq!(second.body["included"][0]["type"], json!("tls_certificate"));
    assert_eq!(second.body["data"]["relationships"]["tls_certificates"]["data"].as_array().map(Vec::len), Some(1));

    let listed =
        c.tls_get("/tls/subscriptions?filter%5Btls_domains.id%5D=click.example.com&include=tls_authorizations").await;
    assert_eq!(
        (listed.body["data"][0]["id"].as_str(), listed.body["meta"]["record_count"].as_u64()),
        (Some(id.as_str()), Some(1))
    );
    assert_eq!(
        c.tls_get("/tls/subscriptions?filter%5Btls_domains.id%5D=other.example.com").await.body["data"],
        json!([])
    );

    let refused = c.json_api(Method::DELETE, &path, None).await;
    assert_eq!(refused.status, 400, "TLS is enabled on the domain: {}", refused.body);
    let deleted = c.json_api(Method::DELETE, &format!("{path}?force=true"), None).await;
    assert_eq!((deleted.status, deleted.body.clone()), (204, Value::Null));
    let gone = c.json_api(Method::GET, &path, None).await;
    assert_eq!((gone.status, gone.body["errors"][0]["title"].as_str()), (404, Some("Not found")));
    fastly.assert_no_violations();
}

#[tokio::test]
async fn a_failed_subscription_is_retried_and_issuance_can_take_longer() {
    let fastly = Emulator::start();
    let c = Client::new(&fastly);
    service_with_domain(&c, "svc", "click.example.com").await;
    fastly.set_issue_polls(3);
    let created = c.json_api(Method::POST, "/tls/subscriptions", Some(subscription_body("click.example.com"))).await;
    let id = created.body["data"]["id"].as_str().expect("id").to_owned();
    let path = format!("/tls/subscriptions/{id}");

    fastly.fail_subscription(&id, "CAA record forbids the CA");
    let failed = c.json_api(Method::GET, &format!("{path}?include=tls_authorizations"), None).await;
    assert_eq!(failed.body["data"]["attributes"]["state"], json!("failed"));
    assert_eq!(
        failed.body["included"][0]["attributes"]["warnings"][0]["instructions"],
        json!("CAA record forbids the CA")
    );
    let retry = json!({"data": {"type": "tls_subscription", "attributes": {"state": "retry"}}});
    let retried = c.json_api(Method::PATCH, &path, Some(retry.clone())).await;
    assert_eq!((retried.status, retried.body["data"]["attributes"]["state"].as_str()), (200, Some("pending")));
    assert_eq!(c.json_api(Method::PATCH, &path, Some(retry)).await.status, 400, "only failed ones retry");

    let sub = fastly.subscription(&id).expect("subscription");
    let target = sub.authorizations[0].cname_target.clone();
    fastly.set_dns(move |_| Some(target.clone()));
    let states: Vec<Value> = poll_states(&c, &path, 3).await;
    assert_eq!(states, [json!("processing"), json!("processing"), json!("issued")]);
    fastly.assert_no_violations();
}

async fn poll_states(c: &Client, path: &str, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(c.json_api(Method::GET, path, None).await.body["data"]["attributes"]["state"].clone());
    }
    out
}

#[tokio::test]
async fn the_default_configuration_gives_the_cname_target() {
    let fastly = Emulator::start();
    let c = Client::new(&fastly);
    let listed = c.tls_get("/tls/configurations?include=dns_records").await;
    assert_eq!(listed.body["data"][0]["attributes"]["default"], json!(true));
    let cname = listed.body["included"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["attributes"]["record_type"] == "CNAME"))
        .cloned();
    assert_eq!(
        cname.map(|r| (r["id"].clone(), r["attributes"]["region"].clone())),
        Some((json!(DEFAULT_CNAME_TARGET), json!("global")))
    );
    assert!(!DEFAULT_CNAME_TARGET.ends_with("sni.global.fastly.net"));

    fastly.set_cname_target("t.sni.example.test");
    let id = listed.body["data"][0]["id"].as_str().expect("id");
    let one = c.tls_get(&format!("/tls/configurations/{id}?include=dns_records")).await;
    assert_eq!(one.body["included"][0]["id"], json!("t.sni.example.test"));
    assert_eq!(c.tls_get("/tls/configurations/nope").await.status, 404);
    fastly.assert_no_violations();
}

#[tokio::test]
async fn writes_carry_rate_limit_headers_and_run_out() {
    let fastly = Emulator::start();
    let c = Client::new(&fastly);
    fastly.set_rate_limit(3, Duration::from_secs(60));
    let mut remaining = Vec::new();
    for i in 0..3 {
        let created = c.form(Method::POST, "/service", &[("name", &format!("s{i}"))]).await;
        remaining.push(created.header("fastly-ratelimit-remaining").map(str::to_owned));
        let reset: u64 = created.header("fastly-ratelimit-reset").and_then(|r| r.parse().ok()).expect("reset");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
        assert!(reset > now && reset <= now + 61, "{reset} vs {now}");
    }
    assert_eq!(remaining, [Some("2".into()), Some("1".into()), Some("0".into())]);
    let limited = c.form(Method::POST, "/service", &[("name", "s3")]).await;
    assert_eq!((limited.status, limited.header("fastly-ratelimit-remaining")), (429, Some("0")));
    let read = c.get("/service").await;
    assert_eq!((read.status, read.header("fastly-ratelimit-remaining")), (200, None), "reads are not limited");
    assert_eq!(fastly.services().len(), 3);
    assert_eq!(fastly.max_writes_in_window(Duration::from_secs(60)), 4);
    fastly.assert_no_violations();
}

#[tokio::test]
async fn injected_faults() {
    let fastly = Emulator::start();
    let c = Client::new(&fastly);
    fastly.inject_429(1);
    fastly.inject_5xx(1, 503);
    assert_eq!(c.get("/service").await.status, 429);
    assert_eq!(c.get("/service").await.status, 503);
    assert_eq!(c.get("/service").await.status, 200);

    fastly.inject_disconnect(1);
    let cut = c.request(Method::GET, "/service").send().await;
    assert!(cut.is_err() || cut.expect("headers").bytes().await.is_err(), "the connection is cut");
    fastly.lose_answer("create-service", 1);
    let lost = c
        .request(Method::POST, "/service")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=lost")
        .send()
        .await;
    assert!(lost.is_err() || lost.expect("headers").bytes().await.is_err());
    assert_eq!(fastly.services_named("lost").len(), 1, "served, though the answer was lost");
    assert_eq!(c.get("/service/search?name=lost").await.status, 200);
    assert!(fastly.request_log().iter().filter(|r| r.cut).count() == 2);
    fastly.assert_no_violations();
}

#[tokio::test]
async fn tokens_report_scope_and_are_enforced() {
    let fastly = Emulator::start();
    let c = Client::new(&fastly);
    let me = c.get("/tokens/self").await;
    assert_eq!((me.body["scope"].as_str(), me.body["services"].clone()), (Some("global"), json!([])));
    assert_eq!(c.get("/current_user").await.body["role"], json!("engineer"));

    fastly.set_token_scope("global:read");
    assert_eq!(c.get("/service").await.status, 200);
    assert_eq!(c.form(Method::POST, "/service", &[("name", "x")]).await.status, 403);
    fastly.set_token_scope("global");
    let mine = fastly.add_service("mine", "");
    let theirs = fastly.add_service("theirs", "");
    fastly.set_token_services(&[&mine]);
    assert_eq!(c.get(&format!("/service/{theirs}")).await.status, 403);
    assert_eq!(c.get(&format!("/service/{mine}")).await.status, 200);
    assert_eq!(c.get("/service").await.body.as_array().map(Vec::len), Some(1));

    let stranger = Client { token: "wrong".into(), ..Client::new(&fastly) };
    let refused = stranger.get("/tokens/self").await;
    assert_eq!(
        (refused.status, refused.body["msg"].as_str()),
        (401, Some("Provided credentials are missing or invalid"))
    );
    assert_eq!(stranger.tls_get("/tls/subscriptions").await.body["errors"][0]["title"], json!("Unauthorized"));
    fastly.revoke_token();
    assert_eq!(c.get("/tokens/self").await.status, 401);
    fastly.assert_no_violations();
}

#[tokio::test]
async fn malformed_requests_are_refused_and_recorded() {
    let fastly = Emulator::start();
    let c = Client::new(&fastly);
    let id = fastly.add_service("svc", "");

    let json_body =
        answer(c.request(Method::POST, "/service").header("content-type", "application/json").body(r#"{"name":"x"}"#))
            .await;
    assert_eq!(json_body.status, 400);
    let typo = c
        .form(
            Method::POST,
            &format!("/service/{id}/version/1/backend"),
            &[("name", "b"), ("address", "a"), ("sslcerthostname", "a")],
        )
        .await;
    assert_eq!(typo.status, 400);
    let bad_port = c
        .form(
            Method::POST,
            &format!("/service/{id}/version/1/backend"),
            &[("name", "b"), ("address", "a"), ("port", "https")],
        )
        .await;
    assert_eq!(bad_port.status, 400);
    let no_key = answer(c.http.get(format!("{}/service", c.base))).await;
    assert_eq!(
        (no_key.status, no_key.body["msg"].as_str()),
        (401, Some("Provided credentials are missing or invalid"))
    );
    assert_eq!(c.get("/service?perpage=10").await.status, 400);
    assert_eq!(c.get(&format!("/service/{id}/version/latest")).await.status, 400);
    assert_eq!(c.get("/services").await.status, 404);
    let bad_ca = json!({"data": {"type": "tls_subscription", "attributes": {"certificate_authority": "digicert"}}});
    assert_eq!(c.json_api(Method::POST, "/tls/subscriptions", Some(bad_ca)).await.status, 400);
    let no_accept = c.get("/tls/subscriptions?filter%5Bstate%5D=issued").await;
    assert_eq!(no_accept.status, 200, "the filter is ignored, not refused");

    let violations = fastly.take_violations();
    assert!(violations.iter().all(|v| v.side != Side::Response), "refusals are valid responses: {violations:#?}");
    assert_eq!(violations.iter().filter(|v| v.side == Side::Route).count(), 1, "{violations:#?}");
    for expected in [
        "content-type",
        "unknown form field \"sslcerthostname\"",
        "\"https\"",
        "security requirement",
        "perpage",
        "version_id",
        "digicert",
        "Accept: application/vnd.api+json",
    ] {
        assert!(
            violations.iter().any(|v| v.detail.contains(expected)),
            "no violation mentions {expected}: {violations:#?}"
        );
    }
    assert!(fastly.service(&id).is_some_and(|s| s.versions[0].backends.is_empty()), "nothing refused was stored");
    fastly.assert_no_violations();
}

#[tokio::test]
#[should_panic(expected = "contract violation")]
async fn assert_no_violations_lists_them() {
    let fastly = Emulator::start();
    Client::new(&fastly).get("/nothing/here").await;
    fastly.assert_no_violations();
}

#[test]
fn seeding_leaves_what_a_killed_run_would() {
    let fastly = Emulator::start();
    let id = fastly.add_http_service("sslprov-click.example.com", "click.example.com", "sendgrid.net");
    let draft = fastly.clone_version(&id, 1);
    fastly.add_object(&id, draft, ObjectKind::Backend, json!({"name": "half", "address": "sendgrid.net", "port": 443}));
    fastly.set_settings(&id, draft, json!({"general.default_ttl": 0}));
    let service = fastly.service(&id).expect("service");
    let v2 = service.version(draft).expect("draft");
    assert_eq!((v2.locked, v2.active, v2.backends.len()), (false, false, 2));
    assert_eq!(v2.backends["half"]["use_ssl"], json!(true));
    assert_eq!(service.active_version().map(|v| v.number), Some(1));

    let sub = fastly.add_subscription("click.example.com", "lets-encrypt");
    let seeded = fastly.subscription_for("click.example.com").expect("seeded");
    assert_eq!((seeded.id, seeded.state.as_str(), seeded.authorizations.len()), (sub, "pending", 1));
}
