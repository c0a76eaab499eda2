//! The emulator through HTTP: what a client sees.

use serde_json::{Value, json};
use sslprov_gcp_emulator::{ACCESS_TOKEN, Emulator};

async fn call(e: &Emulator, method: reqwest::Method, url: &str, body: Option<Value>) -> (u16, Value) {
    let mut r = reqwest::Client::new().request(method, url).bearer_auth(ACCESS_TOKEN);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.expect("send");
    let status = resp.status().as_u16();
    let _ = e;
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_url_map_write_with_a_stale_fingerprint_answers_412() {
    let e = Emulator::start();
    let base = format!("{}/projects/p/global/urlMaps", e.compute_url());
    let (s, op) = call(
        &e,
        reqwest::Method::POST,
        &base,
        Some(json!({"name": "lb", "defaultUrlRedirect": {"hostRedirect": "x.com"}})),
    )
    .await;
    assert_eq!((s, op["kind"].as_str()), (200, Some("compute#operation")), "{op}");
    let (_, map) = call(&e, reqwest::Method::GET, &format!("{base}/lb"), None).await;
    let fp = map["fingerprint"].clone();
    e.interfere_with_url_map(1);
    let patch = json!({"fingerprint": fp, "hostRules": []});
    let (s, err) = call(&e, reqwest::Method::PATCH, &format!("{base}/lb"), Some(patch)).await;
    assert_eq!((s, err["error"]["errors"][0]["reason"].as_str()), (412, Some("conditionNotMet")));
    let (_, map) = call(&e, reqwest::Method::GET, &format!("{base}/lb"), None).await;
    let (s, _) =
        call(&e, reqwest::Method::PATCH, &format!("{base}/lb"), Some(json!({"fingerprint": map["fingerprint"]}))).await;
    assert_eq!(s, 200);
    e.assert_no_violations();
}

#[tokio::test]
async fn unknown_fields_are_violations_and_refused() {
    let e = Emulator::start();
    let url = format!("{}/projects/p/global/addresses", e.compute_url());
    let (s, _) = call(&e, reqwest::Method::POST, &url, Some(json!({"name": "a", "ipAdress": "1.2.3.4"}))).await;
    assert_eq!(s, 400);
    assert_eq!(e.violations().len(), 1, "{:?}", e.violations());
}

#[tokio::test]
async fn a_certificate_is_active_once_its_challenge_cname_is_seen() {
    let e = Emulator::start();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None::<(String, String)>));
    let dns = seen.clone();
    e.set_dns(move |name| dns.lock().unwrap().as_ref().filter(|(n, _)| n == name).map(|(_, v)| v.clone()));
    let base = format!("{}/projects/p/locations/global", e.certificate_manager_url());
    let (s, op) = call(
        &e,
        reqwest::Method::POST,
        &format!("{base}/dnsAuthorizations?dnsAuthorizationId=a1"),
        Some(json!({"domain": "click.acme.com"})),
    )
    .await;
    assert_eq!((s, op["done"].as_bool()), (200, Some(false)), "{op}");
    let (_, a) = call(&e, reqwest::Method::GET, &format!("{base}/dnsAuthorizations/a1"), None).await;
    let record = a["dnsResourceRecord"].clone();
    assert_eq!(record["name"], "_acme-challenge.click.acme.com.");
    let body = json!({"managed": {"domains": ["click.acme.com"], "dnsAuthorizations": [a["name"]]}});
    call(&e, reqwest::Method::POST, &format!("{base}/certificates?certificateId=c1"), Some(body)).await;
    let state = |e: &Emulator| e.certificate_manager_of("certificates")[0]["managed"]["state"].clone();
    assert_eq!(state(&e), "PROVISIONING");
    *seen.lock().unwrap() =
        Some(("_acme-challenge.click.acme.com".into(), record["data"].as_str().unwrap().trim_end_matches('.').into()));
    assert_eq!(state(&e), "ACTIVE");
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let (_, done) = call(
        &e,
        reqwest::Method::GET,
        &format!("{}/{}", e.certificate_manager_url(), op["name"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(done["response"]["@type"], "type.googleapis.com/google.cloud.certificatemanager.v1.DnsAuthorization");
    e.assert_no_violations();
}
