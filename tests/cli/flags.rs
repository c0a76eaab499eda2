//! Flags that could not work are refused before anything runs: exit 1 and one line saying which
//! flag and why, never a panic (exit 101). No cloud is involved.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Stdio};

use crate::support::{Run, SENDGRID};

fn sslprov(dir: &std::path::Path, args: &[&OsStr]) -> Run {
    Command::new(env!("CARGO_BIN_EXE_sslprov"))
        .args(args)
        .current_dir(dir)
        .env_remove("SSLPROV_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("run sslprov")
        .into()
}

/// Runs `args` in a directory holding a valid spec, and expects exit 1 and `stderr`, one line.
fn refused(args: &[&str], stderr: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("sslprov.yaml"), SENDGRID).expect("write spec");
    std::fs::create_dir(dir.path().join("a-directory")).expect("mkdir");
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    let r = sslprov(dir.path(), &args);
    assert_eq!((r.code, r.stdout.as_str(), r.stderr.as_str()), (1, "", format!("{stderr}\n").as_str()), "{args:?}");
}

#[test]
fn durations_are_bounded_when_parsed() {
    // This overflowed a deadline and panicked.
    refused(
        &["plan", "--lock-timeout", "300000000000y"],
        "Error: invalid value '300000000000y' for '--lock-timeout <DURATION>': longer than the maximum of 7d",
    );
    refused(
        &["apply", "--poll-interval", "0s"],
        "Error: invalid value '0s' for '--poll-interval <DURATION>': shorter than the minimum of 100ms",
    );
    refused(
        &["destroy", "--wait-timeout", "8d"],
        "Error: invalid value '8d' for '--wait-timeout <DURATION>': longer than the maximum of 7d",
    );
    refused(
        &["destroy", "--wait-timeout", "0s"],
        "Error: invalid value '0s' for '--wait-timeout <DURATION>': shorter than the minimum of 1s",
    );
    refused(
        &["verify", "--timeout", "0s"],
        "Error: invalid value '0s' for '--timeout <DURATION>': shorter than the minimum of 100ms",
    );
    let r = sslprov(tempfile::tempdir().unwrap().path(), &[OsStr::new("plan"), OsStr::new("--lock-timeout=-1s")]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.starts_with(
            "Error: invalid value '-1s' for '--lock-timeout <DURATION>': not a duration such as 30s, 10m or 1h30m ("
        ),
        "{r:?}"
    );
}

#[test]
fn counts_and_ports_are_bounded() {
    for n in ["0", "1001", "18446744073709551616"] {
        refused(
            &["apply", "--parallelism", n],
            &format!("Error: invalid value '{n}' for '--parallelism <N>': not a number from 1 to 1000"),
        );
    }
    refused(
        &["verify", "--https-port", "0"],
        "Error: invalid value '0' for '--https-port <HTTPS_PORT>': 0 is not in 1..=65535",
    );
    refused(
        &["verify", "--nameserver", "10.0.0.1:0"],
        "Error: invalid value '10.0.0.1:0' for '--nameserver <IP[:PORT]>': port 0 is not a port a DNS server listens on",
    );
}

#[test]
fn targets_logs_and_colours_are_checked() {
    refused(
        &["plan", "--target", "Acme"],
        "Error: invalid value 'Acme' for '--target <KEY>': invalid domain key `Acme` (allowed: lower-case letters, digits, `-` and `_`, starting with a letter or digit)",
    );
    refused(
        &["plan", "--target", "a\nb"],
        "Error: invalid value 'a b' for '--target <KEY>': invalid domain key `a b` (allowed: lower-case letters, digits, `-` and `_`, starting with a letter or digit)",
    );
    refused(
        &["validate", "--log", "[["],
        "Error: invalid value '[[' for '--log <FILTER>': not a log filter such as warn, info or sslprov=debug (invalid filter directive)",
    );
    refused(
        &["validate", "--color", "blue"],
        "Error: invalid value 'blue' for '--color <WHEN>' [possible values: auto, always, never]",
    );
    refused(
        &["plan", "--frobnicate"],
        "Error: unexpected argument '--frobnicate' found (tip: a similar argument exists: '--format')",
    );
    refused(&["plan", "-f"], "Error: a value is required for '--file <FILE>' but none was supplied");
}

#[test]
fn paths_that_are_not_files_are_errors() {
    refused(
        &["validate", "-f", "a-directory"],
        "Error: a-directory: cannot read the spec: Is a directory (os error 21)",
    );
    refused(
        &["plan", "-f", "missing.yaml"],
        "Error: missing.yaml: cannot read the spec: No such file or directory (os error 2)",
    );
    refused(&["show", "a-directory"], "Error: cannot read plan a-directory: Is a directory (os error 21)");
    refused(&["apply", "sslprov.yaml"], "Error: sslprov.yaml is not an sslprov plan file");
    refused(
        &["state", "list", "--state", "a-directory"],
        "Error: cannot read state a-directory: Is a directory (os error 21)",
    );
    // A path that is not UTF-8 is still a path.
    let dir = tempfile::tempdir().unwrap();
    let r = sslprov(dir.path(), &[OsStr::new("validate"), OsStr::new("-f"), OsStr::from_bytes(b"\xff.yaml")]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (1, "Error: \u{fffd}.yaml: cannot read the spec: No such file or directory (os error 2)\n")
    );
    let r = sslprov(dir.path(), &[OsStr::new("plan"), OsStr::new("--target"), OsStr::from_bytes(b"\xff")]);
    assert_eq!((r.code, r.stderr.lines().count()), (1, 1), "{r:?}");
    assert!(!r.stderr.contains("panicked"), "{r:?}");
}
