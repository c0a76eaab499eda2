//! The emulator holds itself to api.md: the envelope, strings, defaults, 403 for what does not
//! exist, credentials, the rate-limit headers, and a violation for what the table does not allow.

use serde_json::Value;
use sslprov_keycdn_emulator::Emulator;

async fn call(
    k: &Emulator,
    method: &str,
    path: &str,
    form: &[(&str, &str)],
    key: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let client = reqwest::Client::new();
    let mut r = client.request(method.parse().unwrap(), format!("{}{path}", k.base_url()));
    if let Some(key) = key {
        r = r.basic_auth(key, Some(""));
    }
    if !form.is_empty() {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        r = r.header("content-type", "application/x-www-form-urlencoded").body(body);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn zones_follow_the_table() {
    let k = Emulator::start();
    let key = k.api_key();
    let (status, headers, body) =
        call(&k, "POST", "/zones.json", &[("name", "sgclick01"), ("originurl", "https://sendgrid.net")], Some(&key))
            .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-rate-limit-limit"], "60");
    assert_eq!(headers["x-rate-limit-remaining"], "59");
    assert_eq!(body["status"], "success");
    let zone = &body["data"]["zone"];
    assert_eq!(zone["type"], "push", "the documented default: a client must send pull");
    assert_eq!(zone["cacheignorequerystring"], "enabled");
    assert_eq!(zone["cachemaxexpire"], "1440");
    assert!(zone["id"].is_string() && zone["customsslkey"].is_null());
    let id = zone["id"].as_str().unwrap().to_owned();

    let (status, _, body) = call(&k, "GET", "/zones/999.json", &[], Some(&key)).await;
    assert_eq!((status, body["status"].as_str()), (403, Some("error")), "403 for what does not exist");
    let (status, _, _) = call(&k, "DELETE", &format!("/zones/{id}.json"), &[], Some(&key)).await;
    assert_eq!(status, 200);
    let (status, _, _) = call(&k, "DELETE", &format!("/zones/{id}.json"), &[], Some(&key)).await;
    assert_eq!(status, 403, "a deleted zone is forbidden, as exkeycdn recorded");
    let (status, _, _) = call(&k, "GET", "/zones.json", &[], Some("sk_wrong")).await;
    assert_eq!(status, 401);
    k.assert_no_violations();
}

#[tokio::test]
async fn what_the_table_does_not_allow_is_refused_and_recorded() {
    let k = Emulator::start();
    let key = k.api_key();
    let bad = [
        vec![("name", "has-dash")],
        vec![("name", "ok"), ("cachehostheader", "yes")],
        vec![("name", "ok"), ("notafield", "x")],
        vec![("name", "ok"), ("cachemaxexpire", "one")],
        vec![("name", "ok"), ("sslcert", "custom")],
    ];
    for form in &bad {
        let (status, _, body) = call(&k, "POST", "/zones.json", form, Some(&key)).await;
        assert_eq!(status, 400, "{form:?}: {body}");
    }
    assert_eq!(k.zones().len(), 0);
    let (status, _, _) = call(&k, "GET", "/zones/purgeall.json/x", &[], Some(&key)).await;
    assert_eq!(status, 404);
    assert!(!k.violations().is_empty(), "an unknown endpoint is a violation");
    // A certificate with somebody else's key.
    let key_a = rcgen::KeyPair::generate().unwrap();
    let key_b = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["a.example".to_owned()]).unwrap().self_signed(&key_a).unwrap();
    let form = [
        ("name", "x1"),
        ("sslcert", "custom"),
        ("customsslcert", &cert.pem()),
        ("customsslkey", &key_b.serialize_pem()),
    ];
    let (status, _, body) = call(&k, "POST", "/zones.json", &form, Some(&key)).await;
    assert_eq!(status, 400);
    assert!(body["description"].as_str().unwrap().contains("does not belong"), "{body}");
    let form = [
        ("name", "x1"),
        ("sslcert", "custom"),
        ("customsslcert", &cert.pem()),
        ("customsslkey", &key_a.serialize_pem()),
    ];
    assert_eq!(call(&k, "POST", "/zones.json", &form, Some(&key)).await.0, 200);
}

#[tokio::test]
async fn the_bucket_empties_and_refills() {
    let k = Emulator::start();
    let key = k.api_key();
    k.set_rate_limit(3, std::time::Duration::from_secs(60));
    for remaining in ["2", "1", "0"] {
        let (status, headers, _) = call(&k, "GET", "/zones.json", &[], Some(&key)).await;
        assert_eq!((status, headers["x-rate-limit-remaining"].to_str().unwrap()), (200, remaining));
    }
    assert_eq!(call(&k, "GET", "/zones.json", &[], Some(&key)).await.0, 429);
}
