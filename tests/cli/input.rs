//! Bad input: a clear error naming file, line, column and field, exit 1, never a panic.

use crate::support::{Project, SENDGRID};

#[tokio::test(flavor = "multi_thread")]
async fn spec_errors_point_at_the_field() {
    let p = Project::new(SENDGRID).await;
    p.ok(&["validate", "-f", "sslprov.yaml"], 0);
    std::fs::write(
        p.path("bad.yaml"),
        SENDGRID.replace("esp: sendgrid", "esp: mailgun").replace("acme.com\n", "acme.org\n"),
    )
    .unwrap();
    let r = p.ok(&["validate", "-f", "bad.yaml"], 1);
    assert!(
        r.stderr.contains(
            "bad.yaml:7:5: domains.acme.esp: unknown ESP `mailgun` (allowed: `sendgrid`, `ses`, `sparkpost`)"
        ),
        "{r:?}"
    );
    assert!(!r.stderr.contains("panicked"), "{r:?}");

    std::fs::write(p.path("bad.yaml"), SENDGRID.replace("zone: acme.com", "zone: acme.org")).unwrap();
    let r = p.ok(&["validate", "-f", "bad.yaml", "--json"], 1);
    let json: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(json["valid"], false);
    assert_eq!(json["errors"][0]["line"], 8);
    assert_eq!(json["errors"][0]["field"], "domains.acme.zone");

    // plan refuses a bad spec before touching the cloud.
    let r = p.ok(&["plan", "-f", "bad.yaml"], 1);
    assert!(r.stderr.contains("is outside its zone"), "{r:?}");
    assert!(p.aws.proxy().log().is_empty(), "no API call for a bad spec");

    let r = p.ok(&["plan", "-f", "sslprov.yaml", "--target", "nope"], 1);
    assert!(r.stderr.contains("--target nope: no such domain"), "{r:?}");
    let r = p.ok(&["plan", "-f", "missing.yaml"], 1);
    assert!(r.stderr.contains("missing.yaml") && r.stderr.contains("cannot read the spec"), "{r:?}");
    let r = p.ok(&["show", "sslprov.yaml"], 1);
    assert!(r.stderr.contains("is not an sslprov plan file"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_zone_and_apply_without_approval_are_explained() {
    let p = Project::new(SENDGRID).await;
    std::fs::write(p.path("other.yaml"), SENDGRID.replace("acme.com", "other.net")).unwrap();
    let r = p.ok(&["plan", "-f", "other.yaml"], 1);
    assert!(r.stderr.contains("hosted zone other.net not found"), "{r:?}");
    let r = p.ok(&["apply", "-f", "sslprov.yaml"], 1);
    assert!(r.stderr.contains("needs approval") && r.stderr.contains("--auto-approve"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tracking_domain_is_never_moved_in_place() {
    let p = Project::new(SENDGRID).await;
    p.apply();
    std::fs::write(p.path("sslprov.yaml"), SENDGRID.replace("url1234.acme.com", "url9999.acme.com")).unwrap();
    let r = p.ok(&["plan", "-f", "sslprov.yaml"], 1);
    assert!(
        r.stderr.contains("domains.acme: tracking_domain changed from url1234.acme.com to url9999.acme.com"),
        "{r:?}"
    );
    assert!(r.stderr.contains("Put url9999.acme.com under a new key"), "{r:?}");
}
