//! Editors and shells: `sslprov schema` prints the committed `sslprov.schema.json` that the
//! examples name on their first line, and `sslprov completions SHELL` scripts complete the
//! subcommands and flags. No cloud is involved.

use std::process::{Command, Stdio};

use crate::support::Run;

fn sslprov(args: &[&str]) -> Run {
    Command::new(env!("CARGO_BIN_EXE_sslprov")).args(args).stdin(Stdio::null()).output().expect("run sslprov").into()
}

#[test]
fn schema_prints_the_committed_schema_file() {
    let run = sslprov(&["schema"]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:?}");
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/sslprov.schema.json")).unwrap();
    assert!(run.stdout == committed, "regenerate: cargo run -q -- schema > sslprov.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
}

/// What bash completes `words` (the last one being typed) to, with the script sourced.
fn bash_completes(words: &str) -> Vec<String> {
    let script = sslprov(&["completions", "bash"]);
    assert_eq!(script.code, 0, "{script:?}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sslprov.bash");
    std::fs::write(&path, &script.stdout).unwrap();
    let complete = format!(
        "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
         _sslprov sslprov \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        path.display()
    );
    let out = Command::new("bash").args(["--norc", "-c", &complete]).output().expect("bash");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect()
}

#[test]
fn bash_completes_subcommands_and_their_flags() {
    assert_eq!(bash_completes("sslprov in"), ["init"]);
    assert_eq!(bash_completes("sslprov sch"), ["schema"]);
    assert_eq!(bash_completes("sslprov init --z"), ["--zone"]);
    assert_eq!(bash_completes("sslprov plan --allow"), ["--allow-mass-change"]);
    assert_eq!(bash_completes("sslprov completions f"), ["fish"]);
}

#[test]
fn zsh_and_fish_scripts_name_every_subcommand() {
    for (shell, first) in [("zsh", "#compdef sslprov"), ("fish", "# Print an optspec for argparse")] {
        let run = sslprov(&["completions", shell]);
        assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{shell}");
        assert!(run.stdout.starts_with(first), "{shell}: {}", &run.stdout[..200.min(run.stdout.len())]);
        for sub in ["init", "validate", "plan", "apply", "destroy", "verify", "handoff", "schema", "completions"] {
            assert!(run.stdout.contains(sub), "{shell}: no {sub}");
        }
        assert!(run.stdout.contains("allow-mass-change"), "{shell}");
    }
    let run = sslprov(&["completions", "tcsh"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("invalid value 'tcsh'"), "{run:?}");
}

/// `sslprov validate … | head -c 1`: a reader that stops early ends sslprov as it ends `cat`,
/// with no panic about a failed print.
#[test]
fn a_reader_that_stops_early_ends_the_print_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sslprov"))
        .args(["validate", "-f", concat!(env!("CARGO_MANIFEST_DIR"), "/examples/sendgrid.yaml")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sslprov");
    // Closed before sslprov has started printing: its first write meets a closed pipe.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.signal(), Some(13), "ended by SIGPIPE: {:?} {stderr}", out.status);
}
