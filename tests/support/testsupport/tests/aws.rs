//! The support crate against a real moto: classification, fault injection as the SDK sees it,
//! account isolation, and the moto lifecycle.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_acm::types::ValidationMethod;
use aws_sdk_cloudfront::types::{
    CustomOriginConfig, DefaultCacheBehavior, DistributionConfig, Origin, OriginProtocolPolicy, Origins, Tag, Tags,
    ViewerProtocolPolicy,
};
use aws_sdk_route53::error::SdkError;
use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};
use sslprov_testsupport::{AwsEnv, Exchange, MotoOptions, MotoServer, Rule};

/// The smallest distribution moto accepts, with the managed CachingDisabled policy.
fn distribution_config(reference: &str, enabled: bool) -> DistributionConfig {
    let origin = Origin::builder()
        .id("esp")
        .domain_name("sendgrid.net")
        .custom_origin_config(
            CustomOriginConfig::builder()
                .http_port(80)
                .https_port(443)
                .origin_protocol_policy(OriginProtocolPolicy::HttpsOnly)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    DistributionConfig::builder()
        .caller_reference(reference)
        .comment("testsupport")
        .enabled(enabled)
        .origins(Origins::builder().quantity(1).items(origin).build().unwrap())
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id("esp")
                .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                .cache_policy_id("4135ea2d-6df8-44a3-9df3-4b5a84be39ad")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn cname(action: ChangeAction, name: &str, value: &str) -> ChangeBatch {
    let record = ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::Cname)
        .ttl(300)
        .resource_records(ResourceRecord::builder().value(value).build().unwrap())
        .build()
        .unwrap();
    let change = Change::builder().action(action).resource_record_set(record).build().unwrap();
    ChangeBatch::builder().changes(change).build().unwrap()
}

fn ex(call: &str, action: &'static str, status: Option<u16>) -> Exchange {
    Exchange { call: call.into(), action, status }
}

#[tokio::test]
async fn classifies_sdk_calls_of_all_three_services() {
    let env = AwsEnv::new().await;
    let (acm, cf, r53) = (env.acm(), env.cloudfront(), env.route53());

    let arn = acm
        .request_certificate()
        .domain_name("links.acme.com")
        .validation_method(ValidationMethod::Dns)
        .send()
        .await
        .unwrap()
        .certificate_arn
        .unwrap();
    acm.describe_certificate().certificate_arn(&arn).send().await.unwrap();
    acm.list_certificates().send().await.unwrap();

    let zone = r53.create_hosted_zone().name("acme.com").caller_reference("c1").send().await.unwrap();
    let zone = zone.hosted_zone.unwrap().id;
    r53.list_hosted_zones().send().await.unwrap();
    r53.list_hosted_zones_by_name().dns_name("acme.com").send().await.unwrap();
    r53.get_hosted_zone().id(&zone).send().await.unwrap();
    let change = r53
        .change_resource_record_sets()
        .hosted_zone_id(&zone)
        .change_batch(cname(ChangeAction::Create, "links.acme.com", "sendgrid.net"))
        .send()
        .await
        .unwrap();
    r53.get_change().id(change.change_info.unwrap().id).send().await.unwrap();
    r53.list_resource_record_sets().hosted_zone_id(&zone).send().await.unwrap();
    r53.change_resource_record_sets()
        .hosted_zone_id(&zone)
        .change_batch(cname(ChangeAction::Delete, "links.acme.com", "sendgrid.net"))
        .send()
        .await
        .unwrap();
    r53.delete_hosted_zone().id(&zone).send().await.unwrap();

    let created = cf.create_distribution().distribution_config(distribution_config("d1", true)).send().await.unwrap();
    let (id, arn) = {
        let d = created.distribution.unwrap();
        (d.id, d.arn)
    };
    cf.get_distribution().id(&id).send().await.unwrap();
    let config = cf.get_distribution_config().id(&id).send().await.unwrap();
    let updated = cf
        .update_distribution()
        .id(&id)
        .if_match(config.e_tag.unwrap())
        .distribution_config(distribution_config("d1", false))
        .send()
        .await
        .unwrap();
    cf.list_distributions().send().await.unwrap();
    let tag = Tag::builder().key("sslprov").value("yes").build().unwrap();
    cf.tag_resource().resource(&arn).tags(Tags::builder().items(tag).build()).send().await.unwrap();
    cf.list_tags_for_resource().resource(&arn).send().await.unwrap();
    cf.delete_distribution().id(&id).if_match(updated.e_tag.unwrap()).send().await.unwrap();

    let want: BTreeMap<String, u64> = [
        ("acm:DescribeCertificate", 1),
        ("acm:ListCertificates", 1),
        ("acm:RequestCertificate", 1),
        ("cloudfront:CreateDistribution", 1),
        ("cloudfront:DeleteDistribution", 1),
        ("cloudfront:GetDistribution", 1),
        ("cloudfront:GetDistributionConfig", 1),
        ("cloudfront:ListDistributions", 1),
        ("cloudfront:ListTagsForResource", 1),
        ("cloudfront:TagResource", 1),
        ("cloudfront:UpdateDistribution", 1),
        ("route53:ChangeResourceRecordSets", 2),
        ("route53:CreateHostedZone", 1),
        ("route53:DeleteHostedZone", 1),
        ("route53:GetChange", 1),
        ("route53:GetHostedZone", 1),
        ("route53:ListHostedZones", 1),
        ("route53:ListHostedZonesByName", 1),
        ("route53:ListResourceRecordSets", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(env.proxy().counts(), want);
    assert!(env.proxy().log().iter().all(|e| e.action == "forward" && e.status.is_some_and(|s| s < 300)));
}

#[tokio::test]
async fn injected_modelled_errors_reach_the_sdk_typed() {
    let env = AwsEnv::new().await;
    let proxy = env.proxy();
    proxy.add_rule(Rule::error("cloudfront", Some("UpdateDistribution"), 412, "PreconditionFailed").times(1));
    proxy.add_rule(Rule::error("cloudfront", Some("CreateDistribution"), 409, "CNAMEAlreadyExists").times(1));
    proxy.add_rule(
        Rule::error("acm", Some("RequestCertificate"), 400, "InvalidParameterException").message("bad").times(1),
    );
    let (cf, acm) = (env.cloudfront(), env.acm());

    let err = cf
        .update_distribution()
        .id("E000000000000")
        .if_match("E1")
        .distribution_config(distribution_config("u", true))
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_precondition_failed());

    let err = cf.create_distribution().distribution_config(distribution_config("c", true)).send().await.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(409));
    assert!(err.into_service_error().is_cname_already_exists());

    let err = acm.request_certificate().domain_name("a.acme.com").send().await;
    let err = err.unwrap_err().into_service_error();
    assert!(err.is_invalid_parameter_exception(), "{err:?}");
    assert_eq!(aws_sdk_acm::error::ProvideErrorMetadata::message(&err), Some("bad"));

    // Modelled errors are not retried: one request each, and moto never saw them.
    assert_eq!(
        proxy.log(),
        [
            ex("cloudfront:UpdateDistribution", "error", Some(412)),
            ex("cloudfront:CreateDistribution", "error", Some(409)),
            ex("acm:RequestCertificate", "error", Some(400)),
        ]
    );
    assert_eq!(cf.list_distributions().send().await.unwrap().distribution_list.unwrap().quantity, 0);
}

#[tokio::test]
async fn transient_faults_are_retried_by_the_sdk_to_success() {
    let env = AwsEnv::new().await;
    // Moto loads each service on its first call (a few hundred ms): not part of the retries timed.
    env.route53().list_hosted_zones().send().await.unwrap();
    env.acm().list_certificates().send().await.unwrap();
    env.cloudfront().list_distributions().send().await.unwrap();
    let proxy = env.proxy();
    proxy.reset_counts();
    proxy.add_rule(Rule::error("route53", Some("ListHostedZones"), 400, "Throttling").times(3));
    proxy.add_rule(Rule::error("acm", Some("ListCertificates"), 400, "ThrottlingException").retry_after(0).times(2));
    proxy.add_rule(Rule::error("cloudfront", Some("ListDistributions"), 503, "ServiceUnavailable").times(1));
    proxy.add_rule(Rule::reset("cloudfront", Some("ListDistributions")).times(1));
    proxy.add_rule(Rule::delay("route53", Some("GetHostedZoneCount"), Duration::from_millis(100)).times(1));

    let started = Instant::now();
    env.route53().list_hosted_zones().send().await.unwrap();
    env.acm().list_certificates().send().await.unwrap();
    env.cloudfront().list_distributions().send().await.unwrap();
    let retried_in = started.elapsed();
    assert!(retried_in < Duration::from_secs(2), "fast retries took {retried_in:?}");

    let started = Instant::now();
    env.route53().get_hosted_zone_count().send().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(100));

    let counts = proxy.counts();
    assert_eq!(counts["route53:ListHostedZones"], 4);
    assert_eq!(counts["acm:ListCertificates"], 3);
    assert_eq!(counts["cloudfront:ListDistributions"], 3);
    let cloudfront: Vec<Exchange> = proxy.log().into_iter().filter(|e| e.call.starts_with("cloudfront")).collect();
    assert_eq!(
        cloudfront,
        [
            ex("cloudfront:ListDistributions", "error", Some(503)),
            ex("cloudfront:ListDistributions", "reset", None),
            ex("cloudfront:ListDistributions", "forward", Some(200)),
        ]
    );
    assert_eq!(proxy.log().last(), Some(&ex("route53:GetHostedZoneCount", "delay", Some(200))));

    proxy.reset_counts();
    assert!(proxy.counts().is_empty() && proxy.log().is_empty());
}

#[tokio::test]
async fn a_hung_request_is_retried_after_the_attempt_timeout() {
    let env = AwsEnv::new().await;
    // moto loads a service's backend on its first call (~0.3 s): not the hang we mean to test.
    env.route53().list_hosted_zones().send().await.unwrap();
    env.proxy().add_rule(Rule::hang("route53", Some("ListHostedZones"), Duration::MAX).times(1));
    let config = aws_sdk_route53::config::Builder::from(&env.sdk_config())
        .timeout_config(TimeoutConfig::builder().operation_attempt_timeout(Duration::from_millis(300)).build())
        .build();
    let started = Instant::now();
    aws_sdk_route53::Client::from_conf(config).list_hosted_zones().send().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    let calls: Vec<&str> = env.proxy().log().iter().map(|e| e.action).collect();
    assert_eq!(calls, ["forward", "hang", "forward"]);
}

#[tokio::test]
async fn forward_then_reset_creates_while_the_caller_sees_a_failure() {
    let env = AwsEnv::new().await;
    env.proxy().add_rule(Rule::forward_then_reset("route53", Some("CreateHostedZone")).times(2));

    // One attempt: the caller gets no answer, yet the zone exists.
    let once = aws_sdk_route53::Client::from_conf(
        aws_sdk_route53::config::Builder::from(&env.sdk_config()).retry_config(RetryConfig::disabled()).build(),
    );
    let err = once.create_hosted_zone().name("lost.com").caller_reference("lost-1").send().await.unwrap_err();
    assert!(matches!(err, SdkError::DispatchFailure(_)), "{err:?}");
    let zones = once.list_hosted_zones().send().await.unwrap().hosted_zones;
    assert_eq!(zones.iter().map(|z| z.name.as_str()).collect::<Vec<_>>(), ["lost.com."]);
    assert_eq!(env.proxy().log()[0], ex("route53:CreateHostedZone", "forward_then_reset", Some(201)));

    // With retries, the SDK sends the same CallerReference again. Route 53 would answer
    // HostedZoneAlreadyExists; moto does not dedupe CallerReference and makes a twin.
    env.route53().create_hosted_zone().name("lost2.com").caller_reference("lost-2").send().await.unwrap();
    assert_eq!(env.proxy().count("route53:CreateHostedZone"), 3);
    let zones = once.list_hosted_zones().send().await.unwrap().hosted_zones;
    assert_eq!(zones.iter().filter(|z| z.name == "lost2.com.").count(), 2);
}

#[tokio::test]
async fn accounts_are_isolated_and_fixtures_are_not_counted() {
    let (a, b) = (AwsEnv::new().await, AwsEnv::new().await);
    assert_ne!(a.account(), b.account());
    assert_eq!(a.account().len(), 12);

    let zone = a.create_zone("acme.com").await;
    a.put_record(&zone, "links.acme.com", "CNAME", "sendgrid.net", 300).await;

    let seen = a.route53().list_hosted_zones().send().await.unwrap().hosted_zones;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].id.trim_start_matches("/hostedzone/"), zone);
    let records = a.route53().list_resource_record_sets().hosted_zone_id(&zone).send().await.unwrap();
    assert!(records.resource_record_sets.iter().any(|r| r.name == "links.acme.com." && r.r#type == RrType::Cname));
    assert!(b.route53().list_hosted_zones().send().await.unwrap().hosted_zones.is_empty());

    assert_eq!(a.proxy().count("route53:CreateHostedZone"), 0);
    assert_eq!(a.proxy().count("route53:ChangeResourceRecordSets"), 0);
    assert_eq!(a.proxy().count("route53:ListHostedZones"), 1);
}

#[tokio::test]
async fn env_vars_point_a_subprocess_at_the_proxy_only() {
    let env = AwsEnv::new().await;
    let mut command = std::process::Command::new("sh");
    command.args(["-c", "echo \"$AWS_ENDPOINT_URL|$AWS_CONFIG_FILE|${AWS_PROFILE-unset}|$AWS_REGION\""]);
    command.env("AWS_PROFILE", "developer");
    let out = env.apply_to(&mut command).output().unwrap();
    let want = format!("{}|/dev/null|unset|us-east-1\n", env.endpoint());
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
    let vars: BTreeMap<String, String> = env.env_vars().into_iter().collect();
    assert_eq!(vars["AWS_SHARED_CREDENTIALS_FILE"], "/dev/null");
    assert_eq!(vars["AWS_EC2_METADATA_DISABLED"], "true");
}

#[tokio::test]
async fn the_proxy_answers_while_the_test_runtime_is_blocked() {
    use std::io::{Read, Write};
    let env = AwsEnv::new().await;
    // Blocking I/O on the test's only runtime thread, as when a test waits for a subprocess.
    let mut stream = std::net::TcpStream::connect(env.proxy().addr()).unwrap();
    stream.write_all(b"GET /2013-04-01/hostedzone HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 "), "{answer}");
    assert_eq!(env.proxy().count("route53:ListHostedZones"), 1);
}

#[tokio::test]
async fn a_dedicated_server_has_its_own_waits_and_stops_when_dropped() {
    let moto = MotoServer::start_dedicated(MotoOptions { acm_validation_wait_secs: 3600, ..Default::default() });
    assert_ne!(moto.url(), MotoServer::shared().url());
    let env = AwsEnv::with_moto(&moto).await;

    let arn = env
        .acm()
        .request_certificate()
        .domain_name("a.acme.com")
        .validation_method(ValidationMethod::Dns)
        .send()
        .await
        .unwrap()
        .certificate_arn
        .unwrap();
    let cert = env.acm().describe_certificate().certificate_arn(&arn).send().await.unwrap().certificate.unwrap();
    assert_eq!(cert.status.unwrap().as_str(), "PENDING_VALIDATION");

    moto.set_distribution_transition_manual(3).await;
    let cf = env.cloudfront();
    let id = cf
        .create_distribution()
        .distribution_config(distribution_config("m", true))
        .send()
        .await
        .unwrap()
        .distribution
        .unwrap()
        .id;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(cf.get_distribution().id(&id).send().await.unwrap().distribution.unwrap().status);
    }
    assert_eq!(statuses, ["InProgress", "InProgress", "Deployed"]);
    moto.unset_distribution_transition().await;

    let addr = moto.addr();
    drop(env);
    drop(moto);
    assert!(std::net::TcpStream::connect(addr).is_err(), "moto still listens on {addr}");
}
