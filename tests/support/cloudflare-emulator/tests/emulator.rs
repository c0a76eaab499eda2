//! The emulator over HTTP, as a client sees it: correct requests pass, wrong ones are refused and
//! recorded, and the behaviour sslprov depends on (paging, rulesets, packs, faults, budget).

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use sslprov_cf_emulator::{Emulator, Plan, Side};

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Client {
    fn new(cf: &Emulator) -> Client {
        Client { http: reqwest::Client::new(), base: cf.base_url(), token: cf.token() }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request).await
    }

    async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }
}

async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("emulator answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.expect("JSON body");
    Answer { status, headers, body }
}

fn error_code(a: &Answer) -> i64 {
    a.body["errors"][0]["code"].as_i64().unwrap_or_default()
}

#[tokio::test]
async fn correct_requests_pass_and_change_state() {
    let cf = Emulator::start();
    let zone = cf.add_zone("example.com", Plan::Free);
    let c = Client::new(&cf);

    let verify = c.get("user/tokens/verify").await;
    assert_eq!((verify.status, verify.body["result"]["status"].as_str()), (200, Some("active")));

    let zones = c.get("zones?name=example.com&per_page=50").await;
    assert_eq!(zones.body["result"][0]["id"], json!(zone));

    let created = c
        .call(Method::POST, &format!("zones/{zone}/dns_records"), Some(json!({"type": "CNAME", "name": "url1234", "content": "sendgrid.net.", "ttl": 300, "proxied": true, "comment": "sslprov"})))
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let record = &created.body["result"];
    assert_eq!(
        (record["name"].as_str(), record["content"].as_str(), record["ttl"].as_u64()),
        (Some("url1234.example.com"), Some("sendgrid.net"), Some(1)),
        "proxied means automatic TTL"
    );
    let id = record["id"].as_str().expect("id").to_owned();

    let patched =
        c.call(Method::PATCH, &format!("zones/{zone}/dns_records/{id}"), Some(json!({"proxied": false}))).await;
    assert_eq!(
        (patched.body["result"]["proxied"].as_bool(), patched.body["result"]["comment"].as_str()),
        (Some(false), Some("sslprov")),
        "PATCH merges"
    );
    let put = c
        .call(
            Method::PUT,
            &format!("zones/{zone}/dns_records/{id}"),
            Some(json!({"type": "CNAME", "name": "url1234.example.com", "content": "sendgrid.net", "ttl": 300})),
        )
        .await;
    assert!(put.body["result"].get("comment").is_none(), "PUT replaces: {}", put.body);
    assert_eq!(cf.records(&zone)[0].ttl, 300);

    let clash = c
        .call(
            Method::POST,
            &format!("zones/{zone}/dns_records"),
            Some(json!({"type": "A", "name": "url1234", "content": "192.0.2.1"})),
        )
        .await;
    assert_eq!((clash.status, error_code(&clash)), (400, 81054));
    let txt = c
        .call(
            Method::POST,
            &format!("zones/{zone}/dns_records"),
            Some(json!({"type": "TXT", "name": "url1234", "content": "hi", "proxied": true})),
        )
        .await;
    assert_eq!((txt.status, error_code(&txt)), (400, 9004), "TXT cannot be proxied");

    let deleted = c.call(Method::DELETE, &format!("zones/{zone}/dns_records/{id}"), None).await;
    assert_eq!(deleted.body["result"]["id"], json!(id));
    let gone = c.get(&format!("zones/{zone}/dns_records/{id}")).await;
    assert_eq!((gone.status, error_code(&gone)), (404, 81044));

    let ssl = c
        .call(Method::PATCH, &format!("zones/{zone}/settings/ssl_automatic_mode"), Some(json!({"value": "custom"})))
        .await;
    assert_eq!(ssl.status, 200, "{}", ssl.body);
    assert_eq!(cf.setting(&zone, "ssl_automatic_mode"), Some(json!("custom")));
    let all = c.get(&format!("zones/{zone}/settings")).await;
    assert!(all.body["result"].as_array().is_some_and(|s| s.iter().any(|s| s["id"] == "ssl")));

    assert!(
        c.get(&format!("zones/{zone}/ssl/universal/settings")).await.body["result"]["enabled"]
            .as_bool()
            .unwrap_or(false)
    );
    let packs = c.get(&format!("zones/{zone}/ssl/certificate_packs")).await;
    assert_eq!(packs.body["result"][0]["hosts"], json!(["example.com", "*.example.com"]), "Universal pack listed");
    cf.assert_no_violations();
}

#[tokio::test]
async fn wrong_requests_are_refused_and_recorded() {
    let cf = Emulator::start();
    let zone = cf.add_zone("example.com", Plan::Free);
    let c = Client::new(&cf);
    let records = format!("{}zones/{zone}/dns_records", c.base);

    let no_type = c
        .call(Method::POST, &format!("zones/{zone}/dns_records"), Some(json!({"name": "x", "content": "sendgrid.net"})))
        .await;
    assert_eq!(no_type.status, 400);
    let text_body = answer(
        c.http
            .post(&records)
            .bearer_auth(&c.token)
            .header("content-type", "text/plain")
            .body(r#"{"type":"TXT","name":"x","content":"y"}"#),
    )
    .await;
    assert_eq!((text_body.status, error_code(&text_body)), (400, 9207));
    let no_auth = answer(c.http.get(&records)).await;
    assert_eq!((no_auth.status, error_code(&no_auth)), (400, 9106));
    let bad_json =
        answer(c.http.post(&records).bearer_auth(&c.token).header("content-type", "application/json").body("{")).await;
    assert_eq!((bad_json.status, error_code(&bad_json)), (400, 6007));
    let typo = c.get(&format!("zones/{zone}/dns_records?perpage=10")).await;
    assert_eq!(typo.status, 400);
    let too_many = c.get("zones?per_page=100").await;
    assert_eq!(too_many.status, 400, "zones take 5 to 50 per page");
    let bad_setting =
        c.call(Method::PATCH, &format!("zones/{zone}/settings/ssl"), Some(json!({"value": "fullish"}))).await;
    assert_eq!((bad_setting.status, error_code(&bad_setting)), (400, 1007));
    let bad_phase = c.get(&format!("zones/{zone}/rulesets/phases/http_nonsense/entrypoint")).await;
    assert_eq!((bad_phase.status, error_code(&bad_phase)), (400, 7003));
    let unknown = answer(c.http.get(format!("{}zones/{zone}/dns_records/batch/x", c.base)).bearer_auth(&c.token)).await;
    assert_eq!(unknown.status, 400);
    let no_slash = answer(c.http.get(format!("http://{}/client/zones", cf.addr())).bearer_auth(&c.token)).await;
    assert_eq!(no_slash.status, 400);

    let violations = cf.take_violations();
    let sides: Vec<Side> = violations.iter().map(|v| v.side).collect();
    assert_eq!(sides.iter().filter(|s| **s == Side::Route).count(), 2, "{violations:#?}");
    assert!(sides.iter().all(|s| *s != Side::Response), "refusals are valid responses: {violations:#?}");
    for expected in [
        "oneOf",
        "content-type",
        "security requirement",
        "malformed JSON",
        "perpage",
        "per_page",
        "setting ssl",
        "ruleset_phase",
    ] {
        assert!(
            violations.iter().any(|v| v.detail.contains(expected)),
            "no violation mentions {expected}: {violations:#?}"
        );
    }
    assert!(cf.records(&zone).is_empty(), "nothing refused was stored");
    cf.assert_no_violations();
}

#[tokio::test]
#[should_panic(expected = "contract violation")]
async fn assert_no_violations_lists_them() {
    let cf = Emulator::start();
    let c = Client::new(&cf);
    c.get("zones/").await;
    cf.assert_no_violations();
}

#[tokio::test]
async fn dns_records_page_as_the_api_does() {
    let cf = Emulator::start();
    let zone = cf.add_zone("example.com", Plan::Pro);
    for i in 0..250 {
        cf.add_record(&zone, "TXT", &format!("r{i:03}"), "v", false);
    }
    let c = Client::new(&cf);
    let first = c.get(&format!("zones/{zone}/dns_records")).await;
    assert_eq!(
        first.body["result_info"],
        json!({"page": 1, "per_page": 100, "count": 100, "total_count": 250, "total_pages": 3})
    );
    let last = c.get(&format!("zones/{zone}/dns_records?page=3&per_page=100")).await;
    assert_eq!(
        (last.body["result_info"]["count"].as_u64(), last.body["result"][0]["name"].as_str()),
        (Some(50), Some("r200.example.com"))
    );
    let beyond = c.get(&format!("zones/{zone}/dns_records?page=4")).await;
    assert_eq!(beyond.body["result"], json!([]));
    let one_page = c.get(&format!("zones/{zone}/dns_records?per_page=5000")).await;
    assert_eq!(one_page.body["result"].as_array().map(Vec::len), Some(250));
    let filtered = c.get(&format!("zones/{zone}/dns_records?type=TXT&name=r007.example.com")).await;
    assert_eq!(filtered.body["result_info"]["total_count"], json!(1));
    let zero = c.get(&format!("zones/{zone}/dns_records?per_page=0")).await;
    assert_eq!(zero.status, 400, "per_page minimum is 1");
    assert_eq!(cf.take_violations().len(), 1);
    assert_eq!(cf.counts()["dns-records-for-a-zone-list-dns-records"], 6);
}

#[tokio::test]
async fn ruleset_put_then_get_round_trips() {
    let cf = Emulator::start();
    let zone = cf.add_zone("example.com", Plan::Free);
    let c = Client::new(&cf);
    let entrypoint = format!("zones/{zone}/rulesets/phases/http_config_settings/entrypoint");

    let missing = c.get(&entrypoint).await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("could not find entrypoint ruleset"))
    );

    let theirs = cf.set_ruleset(&zone, "http_config_settings", json!([{"expression": "(http.host eq \"www.example.com\")", "action": "set_config", "action_parameters": {"ssl": "strict"}}]));
    let mut rules = theirs["rules"].as_array().cloned().expect("rules");
    rules.push(json!({"ref": "sslprov:url1234", "description": "sslprov", "expression": "(http.host eq \"url1234.example.com\")", "action": "set_config", "action_parameters": {"ssl": "full"}}));
    let put = c.call(Method::PUT, &entrypoint, Some(json!({"rules": rules}))).await;
    assert_eq!(put.status, 200, "{}", put.body);
    let got = c.get(&entrypoint).await;
    assert_eq!(got.body["result"], put.body["result"]);
    let result = &got.body["result"];
    assert_eq!(
        (result["version"].as_str(), result["rules"][0]["version"].as_str(), result["rules"][1]["version"].as_str()),
        (Some("2"), Some("1"), Some("2")),
        "the untouched rule keeps its version"
    );
    assert_eq!(result["rules"][0]["id"], theirs["rules"][0]["id"]);
    assert_eq!(result["rules"][1]["ref"], json!("sslprov:url1234"));
    assert_eq!(cf.ruleset(&zone, "http_config_settings").as_ref(), Some(result));

    let host_override = json!({"rules": [{"expression": "true", "action": "route", "action_parameters": {"host_header": "sendgrid.net"}}]});
    let refused = c
        .call(Method::PUT, &format!("zones/{zone}/rulesets/phases/http_request_origin/entrypoint"), Some(host_override))
        .await;
    assert_eq!(refused.status, 400, "Host override is Enterprise-only");
    let wrong_action =
        c.call(Method::PUT, &entrypoint, Some(json!({"rules": [{"expression": "true", "action": "route"}]}))).await;
    assert_eq!(wrong_action.status, 400);
    cf.assert_no_violations();
}

#[tokio::test]
async fn certificate_pack_walks_one_step_per_get() {
    let cf = Emulator::start();
    let zone = cf.add_zone("example.com", Plan::Business);
    let c = Client::new(&cf);
    let order = json!({"type": "advanced", "hosts": ["example.com", "url1234.email.example.com"], "validation_method": "txt", "validity_days": 90, "certificate_authority": "lets_encrypt"});

    let no_acm = c.call(Method::POST, &format!("zones/{zone}/ssl/certificate_packs/order"), Some(order.clone())).await;
    assert_eq!((no_acm.status, error_code(&no_acm)), (403, 1450));
    cf.set_advanced_certificate_manager(&zone, true);
    let no_apex = c.call(Method::POST, &format!("zones/{zone}/ssl/certificate_packs/order"), Some(json!({"type": "advanced", "hosts": ["url1234.email.example.com"], "validation_method": "txt", "validity_days": 90, "certificate_authority": "lets_encrypt"}))).await;
    assert_eq!(no_apex.status, 400);

    let ordered = c.call(Method::POST, &format!("zones/{zone}/ssl/certificate_packs/order"), Some(order)).await;
    assert_eq!(ordered.body["result"]["status"], json!("initializing"), "{}", ordered.body);
    let id = ordered.body["result"]["id"].as_str().expect("pack id").to_owned();
    let pack = format!("zones/{zone}/ssl/certificate_packs/{id}");
    assert_eq!(c.get(&pack).await.body["result"]["status"], json!("pending_validation"));
    let listed = c.get(&format!("zones/{zone}/ssl/certificate_packs")).await;
    assert!(
        listed.body["result"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["id"] == id.as_str() && p["status"] == "active")),
        "the list is a GET too: {}",
        listed.body
    );
    assert_eq!(c.get(&pack).await.body["result"]["status"], json!("active"), "the walk stops at its end");
    let quota = c.get(&format!("zones/{zone}/ssl/certificate_packs/quota")).await;
    assert_eq!(quota.body["result"]["advanced"]["used"], json!(1));

    cf.set_pack_status_walk(&["pending_validation"]);
    let pending = cf.add_advanced_pack(&zone, &["example.com", "*.example.com"], "pending_validation");
    assert!(
        !c.get(&format!("zones/{zone}/ssl/certificate_packs")).await.body["result"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["id"] == pending.as_str())),
        "only active packs without status=all"
    );
    assert!(
        c.get(&format!("zones/{zone}/ssl/certificate_packs?status=all")).await.body["result"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["id"] == pending.as_str()))
    );
    cf.set_pack_status(&zone, &pending, "active");
    assert!(c.call(Method::DELETE, &pack, None).await.body["success"].as_bool().unwrap_or(false));
    assert_eq!(c.get(&pack).await.status, 404);

    let total_tls = c.call(Method::POST, &format!("zones/{zone}/acm/total_tls"), Some(json!({"enabled": true}))).await;
    assert_eq!(total_tls.body["result"]["enabled"], json!(true));
    assert!(cf.total_tls(&zone));
    cf.assert_no_violations();
}

#[tokio::test]
async fn injected_faults_and_the_rate_limit() {
    let cf = Emulator::start();
    let c = Client::new(&cf);
    cf.inject_429(2, 7);
    cf.inject_5xx(1, 503);
    for _ in 0..2 {
        let limited = c.get("zones").await;
        assert_eq!((limited.status, error_code(&limited)), (429, 10100));
        assert_eq!(limited.headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("7"));
    }
    assert_eq!(c.get("zones").await.status, 503);
    let ok = c.get("zones").await;
    assert_eq!(ok.status, 200);
    assert!(ok.headers.contains_key("ratelimit"));

    cf.set_rate_limit(6, Duration::from_secs(60));
    let over = c.get("zones").await;
    assert_eq!(over.status, 200, "the 5th request in the window");
    let blocked = c.get("zones").await;
    assert_eq!(blocked.status, 200, "the 6th");
    let blocked = c.get("zones").await;
    assert_eq!(blocked.status, 429, "the 7th is over the budget");
    assert!(
        blocked.headers.get("retry-after").and_then(|v| v.to_str().ok()?.parse::<u64>().ok()).is_some_and(|s| s > 50)
    );
    assert_eq!(cf.max_in_window(Duration::from_secs(300)), 7);
    assert_eq!(cf.request_log().len(), 7);
    cf.assert_no_violations();
}

#[tokio::test]
async fn token_scopes_are_enforced_per_operation() {
    let cf = Emulator::start();
    let zone = cf.add_zone("example.com", Plan::Free);
    let c = Client::new(&cf);
    cf.set_token_permissions(&["#zone:read", "#dns_records:read"]);

    let verify = c.get("user/tokens/verify").await;
    assert_eq!(
        verify.body["result"].as_object().map(|r| r.len()),
        Some(2),
        "id and status, no permissions: {}",
        verify.body
    );
    assert_eq!(c.get(&format!("zones/{zone}/dns_records")).await.status, 200);
    let write = c
        .call(
            Method::POST,
            &format!("zones/{zone}/dns_records"),
            Some(json!({"type": "TXT", "name": "x", "content": "y"})),
        )
        .await;
    assert_eq!((write.status, error_code(&write)), (403, 10000));
    assert_eq!(c.get(&format!("zones/{zone}/rulesets/phases/http_config_settings/entrypoint")).await.status, 403);

    cf.set_token_permissions(&[]);
    assert_eq!(c.get("zones").await.body["result"], json!([]), "a token without zone:read sees no zones");

    let stranger = Client { token: "not-the-token".into(), ..Client::new(&cf) };
    assert_eq!(stranger.get("user/tokens/verify").await.status, 401);
    assert_eq!(stranger.get("zones").await.status, 403);
    cf.set_token_status("disabled");
    assert_eq!(c.get("user/tokens/verify").await.body["result"]["status"], json!("disabled"));
    cf.assert_no_violations();
}
