//! The engine names no provider, CDN, DNS host or ESP: that knowledge lives in providers/ and
//! templates/, and the one registry file lists the provider crates. The same check as
//! `shared/tools/engine-names`, so that it runs with every test run.

use std::path::Path;

/// What counts as naming one, as the shared tool's pattern has it (`\b` where it has one).
const NAMES: &[(&str, bool)] = &[
    ("cloudfront", false),
    ("cloudflare", false),
    ("route53", false),
    ("route 53", false),
    ("acm", true),
    ("fastly", false),
    ("keycdn", false),
    ("azure", false),
    ("frontdoor", false),
    ("front door", false),
    ("google", false),
    ("gcp", true),
    ("sendgrid", false),
    ("sparkpost", false),
    ("ses", true),
    ("awstrack", false),
    ("spgo", false),
];

fn names_one(line: &str) -> Option<&'static str> {
    let line = line.to_ascii_lowercase();
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    NAMES.iter().find_map(|(name, bounded)| {
        line.match_indices(name)
            .any(|(i, _)| !bounded || (!word(line[..i].chars().last()) && !word(line[i + name.len()..].chars().next())))
            .then_some(*name)
    })
}

fn walk(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            walk(&path, out);
            continue;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if !name.ends_with(".rs") || name == "tests.rs" || name.ends_with("_test.rs") || name == "registry.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        for (i, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("#[cfg(test)]") {
                break;
            }
            if line.trim_start().starts_with("//") {
                continue;
            }
            if let Some(n) = names_one(line) {
                out.push(format!("{}:{}: names {n}: {}", path.display(), i + 1, line.trim()));
            }
        }
    }
}

#[test]
fn the_engine_names_no_provider_or_esp_outside_the_registry() {
    let mut found = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut found);
    assert!(found.is_empty(), "move this knowledge into providers/ or templates/:\n{}", found.join("\n"));
}

#[test]
fn the_check_can_fail() {
    assert_eq!(names_one("let p = sslprov_route53::Route53::new();"), Some("route53"));
    assert_eq!(names_one("if esp == \"SES\" {"), Some("ses"));
    assert_eq!(names_one("let uses = sessions;"), None, "ses inside a word is not SES");
    assert_eq!(names_one("let t = templates();"), None);
}
