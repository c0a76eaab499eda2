//! The corpus of malformed specs (tests/specs/malformed.txt): each spec, validated by the binary,
//! prints exactly the expected errors (file:line:col, field, what is wrong, what is allowed),
//! exits 1 and prints nothing on stdout. No cloud is involved.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::Run;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/specs/malformed.txt");

struct Case {
    name: String,
    spec: String,
    stderr: String,
}

/// The header (comment lines before the first case), then the cases.
fn read(text: &str) -> (String, Vec<Case>) {
    let mut header = String::new();
    let mut cases: Vec<Case> = Vec::new();
    let mut in_stderr = false;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("=== ") {
            cases.push(Case { name: name.to_owned(), spec: String::new(), stderr: String::new() });
            in_stderr = false;
        } else if line == "--- stderr" {
            in_stderr = true;
        } else if let Some(case) = cases.last_mut() {
            let part = if in_stderr { &mut case.stderr } else { &mut case.spec };
            part.push_str(line);
            part.push('\n');
        } else {
            header.push_str(line);
            header.push('\n');
        }
    }
    for case in &mut cases {
        case.stderr = case.stderr.trim_end().to_owned();
    }
    (header, cases)
}

fn validate(dir: &Path, spec: &str) -> Run {
    let file: PathBuf = dir.join("sslprov.yaml");
    std::fs::write(&file, spec).expect("write spec");
    Command::new(env!("CARGO_BIN_EXE_sslprov"))
        .args(["validate", "-f", "sslprov.yaml"])
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .expect("run sslprov")
        .into()
}

#[test]
fn every_malformed_spec_prints_exactly_its_errors() {
    let text = std::fs::read_to_string(CORPUS).expect("corpus");
    let (header, cases) = read(&text);
    assert!(cases.len() >= 50, "the corpus has {} cases", cases.len());
    let dir = tempfile::tempdir().expect("temp dir");
    let bless = std::env::var_os("SSLPROV_BLESS").is_some();
    let mut blessed = header;
    let mut wrong = Vec::new();
    for case in &cases {
        let r = validate(dir.path(), &case.spec);
        let stderr = r.stderr.trim_end();
        blessed.push_str(&format!("=== {}\n{}--- stderr\n{stderr}\n\n", case.name, case.spec));
        if r.code != 1 || !r.stdout.is_empty() || stderr != case.stderr {
            wrong.push(format!("--- {}\nexpected:\n{}\n{r:?}", case.name, case.stderr));
        }
    }
    if bless {
        std::fs::write(CORPUS, blessed.trim_end().to_owned() + "\n").expect("rewrite the corpus");
        return;
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases differ (SSLPROV_BLESS=1 rewrites them):\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

#[test]
fn the_corpus_reader_keeps_specs_verbatim() {
    let (header, cases) = read("# h\n\n=== a\nversion: 1\n\n--- stderr\nE1\nE2\n\n=== empty\n--- stderr\nE3\n");
    assert_eq!(header, "# h\n\n");
    assert_eq!((cases[0].spec.as_str(), cases[0].stderr.as_str()), ("version: 1\n\n", "E1\nE2"));
    assert_eq!((cases[1].spec.as_str(), cases[1].stderr.as_str()), ("", "E3"));
}
