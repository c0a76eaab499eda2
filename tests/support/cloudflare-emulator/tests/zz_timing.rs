use std::time::Instant;
use sslprov_cf_emulator::{Emulator, Plan};
#[tokio::test]
async fn timing() {
    let t0 = Instant::now();
    let cf = Emulator::start();
    let t_start = t0.elapsed();
    let zone = cf.add_zone("example.com", Plan::Free);
    for i in 0..1000 { cf.add_record(&zone, "TXT", &format!("r{i}"), "v", false); }
    let http = reqwest::Client::new();
    let t1 = Instant::now();
    for _ in 0..200 {
        let r = http.get(format!("{}zones/{zone}/dns_records/{}", cf.base_url(), "x".repeat(32))).bearer_auth(cf.token()).send().await.unwrap();
        assert_eq!(r.status(), 404);
    }
    let single = t1.elapsed() / 200;
    let t2 = Instant::now();
    for _ in 0..20 {
        let r = http.get(format!("{}zones/{zone}/dns_records?per_page=1000", cf.base_url())).bearer_auth(cf.token()).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let _ = r.bytes().await.unwrap();
    }
    let page = t2.elapsed() / 20;
    let t3 = Instant::now();
    for _ in 0..200 {
        let r = http.post(format!("{}zones/{zone}/dns_records", cf.base_url())).bearer_auth(cf.token()).json(&serde_json::json!({"type":"CNAME","name":format!("c{}", rand()), "content":"sendgrid.net"})).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let create = t3.elapsed() / 200;
    eprintln!("start {t_start:?}; 404 get {single:?}; list 1000 records {page:?}; create {create:?}");
    cf.assert_no_violations();
}
fn rand() -> String { format!("{:?}", Instant::now()).chars().filter(|c| c.is_ascii_digit()).collect() }
