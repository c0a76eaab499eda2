//! Terminal conventions: colour only on a terminal, NO_COLOR honoured, `--color` overriding both;
//! logs plain when stderr is piped, as in CI.

use std::process::{Command, Stdio};

use crate::support::{Project, Run, SENDGRID};

const ESC: &str = "\x1b[";

#[tokio::test(flavor = "multi_thread")]
async fn piped_logs_are_plain_unless_colour_is_asked_for() {
    let p = Project::new(SENDGRID).await;
    // Piped, and NO_COLOR unset: what stops colour is that stderr is not a terminal.
    let plain: Run =
        p.command(&["plan", "-f", "sslprov.yaml", "--log", "debug"]).env_remove("NO_COLOR").output().unwrap().into();
    assert_eq!(plain.code, 0, "{plain:?}");
    // The AWS SDK logs every request at debug: there is plenty that could be coloured.
    assert!(plain.stderr.lines().count() > 10, "{plain:?}");
    assert!(!plain.stderr.contains(ESC), "{plain:?}");
    assert!(!plain.stdout.contains(ESC), "{plain:?}");

    let forced = p.ok(&["plan", "-f", "sslprov.yaml", "--log", "debug", "--color", "always"], 0);
    assert!(forced.stderr.contains(ESC), "{forced:?}");
    // The flag overrides NO_COLOR, as no-color.org asks of a per-run option.
    let mut c = p.command(&["--color=always", "validate", "-f", "missing.yaml"]);
    let r: Run = c.env("NO_COLOR", "1").output().unwrap().into();
    assert!(r.stderr.starts_with("\x1b[1;31mError\x1b[0m: missing.yaml: cannot read the spec"), "{r:?}");
}

/// `sslprov ARGS` on a pseudo-terminal (util-linux `script`), with `env`; what it wrote.
fn on_a_terminal(args: &str, env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let command = format!("'{}' {args}", env!("CARGO_BIN_EXE_sslprov"));
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir.path())
        .env_remove("NO_COLOR")
        .env("TERM", "xterm")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("util-linux `script` runs a command on a pseudo-terminal");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_terminal_gets_colour_unless_no_color_or_never() {
    let error = "validate -f missing.yaml";
    assert!(on_a_terminal(error, &[]).starts_with("\x1b[1;31mError\x1b[0m: missing.yaml"));
    assert!(on_a_terminal(error, &[("NO_COLOR", "1")]).starts_with("Error: missing.yaml"));
    assert!(on_a_terminal(&format!("--color never {error}"), &[]).starts_with("Error: missing.yaml"));
    assert!(on_a_terminal(&format!("{error} --color=never"), &[]).starts_with("Error: missing.yaml"));
    // clap's help follows the same rule.
    assert!(on_a_terminal("--help", &[]).contains(ESC));
    assert!(!on_a_terminal("--help", &[("NO_COLOR", "1")]).contains(ESC));
    // And piped, without a terminal, nothing is coloured.
    let piped = Command::new(env!("CARGO_BIN_EXE_sslprov")).arg("--help").env_remove("NO_COLOR").output().unwrap();
    assert!(!String::from_utf8_lossy(&piped.stdout).contains(ESC));
}
