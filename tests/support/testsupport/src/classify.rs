//! Which AWS call a request is: `service:Operation`, as the proxy counts and matches it.

use http::{HeaderMap, Method};

/// Classify a request as `(service, Operation)`.
///
/// The service is the SigV4 signing name from the `Authorization` credential scope; the operation
/// comes from `X-Amz-Target` (awsJson services such as ACM) or from method and path (the restXml
/// services CloudFront and Route 53, and S3 addressed path-style: `/bucket/key`). What is not
/// recognised is `Unknown`.
pub fn classify(method: &Method, path_and_query: &str, headers: &HeaderMap) -> (String, String) {
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    // boto3 keeps trailing slashes and aws-sdk-rust drops them; count both the same.
    let path = path.trim_end_matches('/');
    let service = signing_service(headers).unwrap_or_else(|| guess_service(path, headers));
    let operation = match header(headers, "x-amz-target") {
        Some(target) => target.rsplit('.').next().unwrap_or(target).to_owned(),
        None if service == "s3" => s3_operation(method, path, query).to_owned(),
        None => rest_operation(method, path, query).unwrap_or("Unknown").to_owned(),
    };
    (service, operation)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `AWS4-HMAC-SHA256 Credential=AKID/20261123/us-east-1/cloudfront/aws4_request, ...`
fn signing_service(headers: &HeaderMap) -> Option<String> {
    let auth = header(headers, "authorization")?;
    let (_, credential) = auth.split_once("Credential=")?;
    let scope = credential.split([',', ' ']).next()?;
    scope.split('/').nth(3).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn guess_service(path: &str, headers: &HeaderMap) -> String {
    let service = if header(headers, "x-amz-target").is_some_and(|t| t.starts_with("CertificateManager.")) {
        "acm"
    } else if path.starts_with("/2020-05-31/") {
        "cloudfront"
    } else if path.starts_with("/2013-04-01/") {
        "route53"
    } else {
        "unknown"
    };
    service.to_owned()
}

/// S3, path-style: `/bucket` is a bucket operation (picked by its sub-resource in the query),
/// `/bucket/key` an object one.
fn s3_operation(method: &Method, path: &str, query: &str) -> &'static str {
    let has = |key: &str| query.split('&').any(|kv| kv.split('=').next() == Some(key));
    let object = path.trim_start_matches('/').contains('/');
    match (method.as_str(), object) {
        ("GET", true) => "GetObject",
        ("HEAD", true) => "HeadObject",
        ("PUT", true) if has("tagging") => "PutObjectTagging",
        ("PUT", true) => "PutObject",
        ("DELETE", true) => "DeleteObject",
        ("POST", false) if has("delete") => "DeleteObjects",
        ("GET", false) if has("versioning") => "GetBucketVersioning",
        ("PUT", false) if has("versioning") => "PutBucketVersioning",
        ("GET", false) if has("versions") => "ListObjectVersions",
        ("GET", false) if has("list-type") => "ListObjectsV2",
        ("GET", false) if path.trim_matches('/').is_empty() => "ListBuckets",
        ("GET", false) => "ListObjects",
        ("PUT", false) => "CreateBucket",
        ("DELETE", false) => "DeleteBucket",
        ("HEAD", false) => "HeadBucket",
        _ => "Unknown",
    }
}

fn rest_operation(method: &Method, path: &str, query: &str) -> Option<&'static str> {
    let has = |key: &str| query.split('&').any(|kv| kv.split('=').next() == Some(key));
    let query_value =
        |key: &str| query.split('&').find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| v));
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let m = method.as_str();
    let op = match segments.as_slice() {
        ["2020-05-31", rest @ ..] => match (m, rest) {
            ("GET", ["distribution"]) => "ListDistributions",
            ("POST", ["distribution"]) if has("WithTags") => "CreateDistributionWithTags",
            ("POST", ["distribution"]) => "CreateDistribution",
            ("GET", ["distribution", _]) => "GetDistribution",
            ("DELETE", ["distribution", _]) => "DeleteDistribution",
            ("GET", ["distribution", _, "config"]) => "GetDistributionConfig",
            ("PUT", ["distribution", _, "config"]) => "UpdateDistribution",
            ("POST", ["distribution", _, "invalidation"]) => "CreateInvalidation",
            ("GET", ["distribution", _, "invalidation"]) => "ListInvalidations",
            ("GET", ["distribution", _, "invalidation", _]) => "GetInvalidation",
            ("GET", ["tagging"]) => "ListTagsForResource",
            ("POST", ["tagging"]) if query_value("Operation") == Some("Tag") => "TagResource",
            ("POST", ["tagging"]) if query_value("Operation") == Some("Untag") => "UntagResource",
            _ => return None,
        },
        ["2013-04-01", rest @ ..] => match (m, rest) {
            ("POST", ["hostedzone"]) => "CreateHostedZone",
            ("GET", ["hostedzone"]) => "ListHostedZones",
            ("GET", ["hostedzonesbyname"]) => "ListHostedZonesByName",
            ("GET", ["hostedzonecount"]) => "GetHostedZoneCount",
            ("GET", ["hostedzone", _]) => "GetHostedZone",
            ("DELETE", ["hostedzone", _]) => "DeleteHostedZone",
            ("GET", ["hostedzone", _, "rrset"]) => "ListResourceRecordSets",
            ("POST", ["hostedzone", _, "rrset"]) => "ChangeResourceRecordSets",
            ("GET", ["change", _]) => "GetChange",
            ("GET", ["tags", _, _]) => "ListTagsForResource",
            ("POST", ["tags", _, _]) => "ChangeTagsForResource",
            _ => return None,
        },
        _ => return None,
    };
    Some(op)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(service: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=testing/20261123/us-east-1/{service}/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=00"
        );
        headers.insert("authorization", auth.parse().unwrap());
        headers
    }

    fn op(method: Method, path: &str, service: &str) -> String {
        let (s, o) = classify(&method, path, &signed(service));
        format!("{s}:{o}")
    }

    #[test]
    fn acm_operation_comes_from_the_target_header() {
        let mut headers = signed("acm");
        headers.insert("x-amz-target", "CertificateManager.RequestCertificate".parse().unwrap());
        assert_eq!(classify(&Method::POST, "/", &headers), ("acm".into(), "RequestCertificate".into()));
    }

    #[test]
    fn cloudfront_paths() {
        let cases = [
            (Method::GET, "/2020-05-31/distribution?MaxItems=100", "ListDistributions"),
            (Method::POST, "/2020-05-31/distribution", "CreateDistribution"),
            (Method::POST, "/2020-05-31/distribution?WithTags", "CreateDistributionWithTags"),
            (Method::GET, "/2020-05-31/distribution/E1/", "GetDistribution"),
            (Method::DELETE, "/2020-05-31/distribution/E1", "DeleteDistribution"),
            (Method::GET, "/2020-05-31/distribution/E1/config", "GetDistributionConfig"),
            (Method::PUT, "/2020-05-31/distribution/E1/config", "UpdateDistribution"),
            (Method::POST, "/2020-05-31/tagging?Operation=Tag&Resource=arn", "TagResource"),
            (Method::GET, "/2020-05-31/tagging?Resource=arn", "ListTagsForResource"),
            (Method::GET, "/2020-05-31/origin-request-policy", "Unknown"),
        ];
        for (method, path, want) in cases {
            assert_eq!(op(method, path, "cloudfront"), format!("cloudfront:{want}"), "{path}");
        }
    }

    #[test]
    fn route53_paths() {
        let cases = [
            (Method::POST, "/2013-04-01/hostedzone", "CreateHostedZone"),
            (Method::GET, "/2013-04-01/hostedzone?maxitems=100", "ListHostedZones"),
            (Method::GET, "/2013-04-01/hostedzonesbyname?dnsname=a.com", "ListHostedZonesByName"),
            (Method::GET, "/2013-04-01/hostedzone/Z1", "GetHostedZone"),
            (Method::DELETE, "/2013-04-01/hostedzone/Z1/", "DeleteHostedZone"),
            (Method::GET, "/2013-04-01/hostedzone/Z1/rrset?maxitems=300", "ListResourceRecordSets"),
            (Method::POST, "/2013-04-01/hostedzone/Z1/rrset/", "ChangeResourceRecordSets"),
            (Method::GET, "/2013-04-01/change/C1", "GetChange"),
        ];
        for (method, path, want) in cases {
            assert_eq!(op(method, path, "route53"), format!("route53:{want}"), "{path}");
        }
    }

    #[test]
    fn s3_paths() {
        let cases = [
            (Method::GET, "/state-bucket/prod/sslprov.json?x-id=GetObject", "GetObject"),
            (Method::PUT, "/state-bucket/prod/sslprov.json.lock?x-id=PutObject", "PutObject"),
            (Method::DELETE, "/state-bucket/prod/sslprov.json.lock?x-id=DeleteObject", "DeleteObject"),
            (Method::GET, "/state-bucket?list-type=2&prefix=prod%2Fsslprov.json.journal%2F", "ListObjectsV2"),
            (Method::POST, "/state-bucket?delete", "DeleteObjects"),
            (Method::GET, "/state-bucket?versioning", "GetBucketVersioning"),
            (Method::PUT, "/state-bucket", "CreateBucket"),
        ];
        for (method, path, want) in cases {
            assert_eq!(op(method, path, "s3"), format!("s3:{want}"), "{path}");
        }
    }

    #[test]
    fn unsigned_requests_fall_back_to_the_path() {
        let (service, operation) = classify(&Method::GET, "/2013-04-01/change/C1", &HeaderMap::new());
        assert_eq!((service.as_str(), operation.as_str()), ("route53", "GetChange"));
        let (service, operation) = classify(&Method::GET, "/moto-api/", &HeaderMap::new());
        assert_eq!((service.as_str(), operation.as_str()), ("unknown", "Unknown"));
    }
}
