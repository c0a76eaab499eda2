//! When the cloud cannot be reached or refuses: one line that says what sslprov was doing, the
//! cause in plain words and the fix, soon; never a Debug dump, a chain of SDK internals or a
//! screen of warnings.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use sslprov_testsupport::Rule;

use crate::support::{Project, Run, SENDGRID};

/// The line after `Error: `, asserting it is the only thing on stderr and carries nothing a
/// person cannot read.
fn one_line_error(r: &Run) -> &str {
    assert_eq!(r.code, 1, "{r:?}");
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {r:?}");
    for internal in ["DispatchFailure", "ConnectorError", "caused by", " { ", "WARN"] {
        assert!(!r.stderr.contains(internal), "no `{internal}` for users: {r:?}");
    }
    lines[0].strip_prefix("Error: ").unwrap_or_else(|| panic!("starts with `Error: `: {r:?}"))
}

fn timed(p: &Project, args: &[&str], adjust: impl FnOnce(&mut std::process::Command)) -> (Run, Duration) {
    let mut command = p.command(args);
    adjust(&mut command);
    let started = Instant::now();
    let run = command.output().expect("run sslprov").into();
    (run, started.elapsed())
}

fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_endpoint_stops_the_run_at_once_and_names_it() {
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let p = Project::new(SENDGRID).await.env("AWS_ENDPOINT_URL", &endpoint);
    let (r, took) = timed(&p, &["plan"], |_| {});
    let line = one_line_error(&r);
    assert!(
        line.ends_with(&format!("cannot reach {endpoint}: connection refused; check AWS_ENDPOINT_URL and the network")),
        "{r:?}"
    );
    // The bound the README documents: one connect timeout (3 s), not every call's retries.
    assert!(took < Duration::from_secs(3), "failed in {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_lost_mid_run_is_retried_then_named() {
    let p = Project::new(SENDGRID).await.env("SSLPROV_AWS_MAX_ATTEMPTS", "2");
    p.aws.proxy().add_rule(Rule::reset("cloudfront", Some("ListDistributions")));
    let r = p.run(&["plan"]);
    assert_eq!(
        one_line_error(&r),
        "cloudfront ListDistributions: service unavailable: cannot reach the service: connection closed before \
         the answer (gave up after 2 attempts); check AWS_ENDPOINT_URL and the network"
    );
    assert_eq!(p.aws.proxy().count("cloudfront:ListDistributions"), 2, "tried as often as it says");
}

/// A connection that stalls (an answer that never comes, a socket never closed, as a NAT that
/// dropped it leaves) is given up after the attempt timeout and asked again: the run goes on
/// instead of hanging the pipeline.
#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_answer_is_given_up_and_asked_again() {
    let p = Project::new(SENDGRID).await.env("SSLPROV_AWS_ATTEMPT_TIMEOUT_MS", "3000");
    // Held 40 s, then closed: without the attempt timeout the run waits it out and is too slow.
    p.aws.proxy().add_rule(Rule::hang("route53", Some("ListHostedZonesByName"), Duration::from_secs(40)).times(1));
    let (r, took) = timed(&p, &["plan", "--detailed-exitcode"], |_| {});
    assert_eq!(r.code, 2, "planned: {r:?}");
    assert_eq!(p.aws.proxy().count("route53:ListHostedZonesByName"), 2, "the stalled call, then its retry");
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

/// Moto answers ListCertificates with a 500 when a request for a new certificate lands while it
/// lists; one such answer to the list a hundred waits share is asked again at the next round, not
/// the failure of every wait it answers.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_round_of_a_shared_wait_is_asked_again() {
    let p = Project::new(SENDGRID).await.env("SSLPROV_AWS_MAX_ATTEMPTS", "1");
    // The plan's inventory lists certificates once; the rounds of the certificate's wait follow,
    // failing for a while (moto answered 500 for minutes while many certificates were requested).
    p.aws.proxy().add_rule(Rule::error("acm", Some("ListCertificates"), 500, "InternalFailure").skip(1).times(6));
    let r = p.run(&["apply", "--auto-approve", "--poll-interval", "100ms"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(p.aws.proxy().count("acm:ListCertificates") >= 8, "six failed rounds, then the one that answered");
    p.ok(&["plan", "--detailed-exitcode"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_credentials_a_run_stops_at_once_and_says_how_to_set_them() {
    let p = Project::new(SENDGRID).await;
    // Instance metadata as it is on a laptop behind a firewall that swallows its packets: a
    // listener that never answers.
    let metadata = TcpListener::bind("127.0.0.1:0").unwrap();
    let metadata_url = format!("http://{}", metadata.local_addr().unwrap());
    let (r, took) = timed(&p, &["plan"], |c| {
        c.env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_EC2_METADATA_DISABLED")
            .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &metadata_url)
            .env("HOME", p.dir.path());
    });
    let line = one_line_error(&r);
    assert!(line.starts_with("aws credentials: not authenticated: none found in the environment"), "{r:?}");
    assert!(line.contains("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"), "{r:?}");
    // Under a second on a quiet machine (the README's figure), with room for a busy one; the SDK's
    // own metadata timeouts took over 4 s.
    assert!(took < Duration::from_secs(2), "failed in {took:?}");
    assert!(p.aws.proxy().log().is_empty(), "nothing was called without credentials");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_permission_names_the_iam_action_to_allow() {
    let p = Project::new(SENDGRID).await;
    p.aws.proxy().add_rule(Rule::error("cloudfront", Some("CreateDistribution"), 403, "AccessDenied").message(
        "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: cloudfront:CreateDistribution",
    ));
    let r = p.run(&["apply", "--auto-approve", "--poll-interval", "200ms"]);
    assert_eq!(r.code, 1, "{r:?}");
    let fix = "acme.distribution: cloudfront CreateDistribution: permission denied (AccessDenied): User: \
               arn:aws:iam::123456789012:user/ci is not authorized to perform: cloudfront:CreateDistribution; \
               allow `cloudfront:CreateDistribution` in the IAM policy of the identity sslprov runs as";
    assert!(r.stderr.contains(&format!("Error: {fix}\n")), "{r:?}");
    assert!(!r.stderr.contains("caused by"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_out_run_says_it_was_throttled_and_what_to_do() {
    let p = Project::new(SENDGRID).await.env("SSLPROV_AWS_MAX_ATTEMPTS", "3");
    p.aws
        .proxy()
        .add_rule(Rule::error("route53", Some("ListHostedZonesByName"), 400, "Throttling").message("Rate exceeded"));
    let r = p.run(&["plan"]);
    assert_eq!(
        one_line_error(&r),
        "route53 ListHostedZonesByName: rate limited (Throttling): Rate exceeded; still throttled after the SDK's \
         retries (up to 3 attempts); run again later"
    );
    assert_eq!(p.aws.proxy().count("route53:ListHostedZonesByName"), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_that_is_not_aws_is_named_as_such() {
    // Something answers, but not an AWS API: every request gets an empty 404.
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", server.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut stream in server.incoming().flatten() {
            // The whole request, headers and body, before answering: closing a socket with
            // unread bytes resets it, and the client would see a reset instead of the 404.
            let (mut got, mut buf) = (Vec::new(), [0u8; 8192]);
            let complete = |got: &[u8]| {
                let text = String::from_utf8_lossy(got);
                let Some(end) = text.find("\r\n\r\n") else { return false };
                let length = text[..end]
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                got.len() >= end + 4 + length
            };
            while !complete(&got) {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    let p = Project::new(SENDGRID).await.env("AWS_ENDPOINT_URL", &endpoint).env("SSLPROV_AWS_MAX_ATTEMPTS", "1");
    let r = p.run(&["plan"]);
    let line = one_line_error(&r);
    assert!(line.contains("(HTTP 404)"), "{r:?}");
    assert!(line.ends_with("check that AWS_ENDPOINT_URL names an AWS API"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_cloudflare_api_stops_the_run_at_once_and_names_it() {
    let base = format!("http://127.0.0.1:{}/client/v4", closed_port());
    let p = Project::new(crate::cloudflare::SENDGRID_ON_CLOUDFLARE).await.env("CLOUDFLARE_API_BASE_URL", &base);
    let (r, took) = timed(&p, &["plan"], |_| {});
    assert_eq!(
        one_line_error(&r),
        format!(
            "cloudflare connect: service unavailable: cannot reach {base}: connection refused; check \
             CLOUDFLARE_API_BASE_URL and the network"
        )
    );
    assert!(took < Duration::from_secs(3), "failed in {took:?}");
}
