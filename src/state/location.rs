//! Where a state lives, as the spec's `state:` names it.

use std::fmt;
use std::path::PathBuf;

/// A state's home: a local file (`state.path`) or an S3 object (`state.s3`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
    S3(S3Location),
}

/// `state: { s3: { bucket, key, region?, endpoint? } }`. Credentials come from the AWS chain the
/// providers use; `endpoint` (or `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`) points elsewhere
/// than AWS, for S3-compatible stores and emulators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub key: String,
    pub region: Option<String>,
    pub endpoint: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(path) => write!(f, "{}", path.display()),
            Location::S3(s3) => write!(f, "{s3}"),
        }
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

impl S3Location {
    /// What is wrong with it, as `(field, message)` under `state.s3`, for the spec's errors.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Err(why) = check_bucket(&self.bucket) {
            out.push(("bucket", format!("invalid S3 bucket name `{}`: {why}", self.bucket)));
        }
        if self.key.is_empty() || self.key.starts_with('/') || self.key.ends_with('/') {
            out.push((
                "key",
                format!("invalid S3 key `{}`: it names the state object, e.g. `sslprov/prod.state.json`", self.key),
            ));
        }
        if let Some(endpoint) = &self.endpoint
            && !(endpoint.starts_with("https://") || endpoint.starts_with("http://"))
        {
            out.push(("endpoint", format!("`{endpoint}` is not an http(s) URL")));
        }
        out
    }
}

/// S3's bucket naming rules, so a typo is a spec error with a position rather than a 400 later.
fn check_bucket(name: &str) -> Result<(), &'static str> {
    if !(3..=63).contains(&name.len()) {
        return Err("3 to 63 characters");
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.') {
        return Err("lower-case letters, digits, `-` and `.` only");
    }
    let first_last = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !first_last(name.as_bytes()[0]) || !first_last(name.as_bytes()[name.len() - 1]) {
        return Err("starts and ends with a letter or digit");
    }
    if name.contains("..") {
        return Err("no two adjacent dots");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(bucket: &str, key: &str) -> S3Location {
        S3Location { bucket: bucket.into(), key: key.into(), region: None, endpoint: None }
    }

    #[test]
    fn displays_as_users_write_it() {
        assert_eq!(
            Location::S3(s3("acme-state", "sslprov/prod.json")).to_string(),
            "s3://acme-state/sslprov/prod.json"
        );
        assert_eq!(Location::Local("dir/s.json".into()).to_string(), "dir/s.json");
    }

    #[test]
    fn bad_buckets_and_keys_are_named() {
        assert!(s3("acme-state", "prod.json").problems().is_empty());
        let fields = |l: S3Location| l.problems().into_iter().map(|(f, _)| f).collect::<Vec<_>>();
        assert_eq!(fields(s3("Acme_State", "prod.json")), ["bucket"]);
        assert_eq!(fields(s3("ab", "")), ["bucket", "key"]);
        assert_eq!(fields(s3("acme-state", "dir/")), ["key"]);
        let mut bad_endpoint = s3("acme-state", "k");
        bad_endpoint.endpoint = Some("localhost:9000".into());
        assert_eq!(fields(bad_endpoint), ["endpoint"]);
    }
}
