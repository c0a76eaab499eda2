//! Spec errors: file, line, column, field, what is wrong and what is allowed.

use std::fmt;
use std::path::{Path, PathBuf};

use super::yaml::Pos;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SpecError {
    pub file: PathBuf,
    /// 1-based; 0 only when the file could not be read at all.
    pub line: usize,
    pub column: usize,
    /// Dotted path of the field, e.g. `domains.acme.esp`; empty for the document.
    pub field: String,
    pub message: String,
    pub allowed: Option<String>,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.file.display())?;
        if self.line > 0 {
            write!(f, "{}:{}:", self.line, self.column)?;
        }
        f.write_str(" ")?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)?;
        if let Some(a) = &self.allowed {
            write!(f, " (allowed: {a})")?;
        }
        Ok(())
    }
}

/// An error before it is known which file it is in: what each layer of the parse reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub at: Pos,
    pub field: String,
    pub message: String,
    pub allowed: Option<String>,
}

impl Problem {
    pub fn new(at: Pos, field: &str, message: impl Into<String>, allowed: impl Into<Option<String>>) -> Self {
        Problem { at, field: field.to_owned(), message: message.into(), allowed: allowed.into() }
    }

    pub fn in_file(self, file: &Path) -> SpecError {
        SpecError {
            file: file.to_path_buf(),
            line: self.at.line,
            column: self.at.column,
            field: self.field,
            message: self.message,
            allowed: self.allowed,
        }
    }
}

/// Every error found in one spec, in the order of the file, so a user fixes them in one pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SpecErrors(pub Vec<SpecError>);

impl SpecErrors {
    pub fn io(path: &Path, e: std::io::Error) -> Self {
        SpecErrors(vec![SpecError {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            field: String::new(),
            message: format!("cannot read the spec: {e}"),
            allowed: None,
        }])
    }

    /// `problems` in `file`, sorted by position (stable: problems at one position keep their
    /// order) and each reported once.
    pub fn of(file: &Path, mut problems: Vec<Problem>) -> Self {
        problems.sort_by_key(|p| p.at);
        let mut errors: Vec<SpecError> = Vec::with_capacity(problems.len());
        for p in problems {
            let e = p.in_file(file);
            if !errors.contains(&e) {
                errors.push(e);
            }
        }
        SpecErrors(errors)
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_prints_file_position_field_message_and_allowed() {
        let e =
            Problem::new(Pos { line: 8, column: 5 }, "domains.acme.esp", "unknown ESP `x`", Some("`a`, `b`".into()));
        assert_eq!(
            e.in_file(Path::new("s.yaml")).to_string(),
            "s.yaml:8:5: domains.acme.esp: unknown ESP `x` (allowed: `a`, `b`)"
        );
        let doc = Problem::new(Pos::START, "", "invalid YAML: x", None);
        assert_eq!(doc.in_file(Path::new("s.yaml")).to_string(), "s.yaml:1:1: invalid YAML: x");
    }

    #[test]
    fn an_unreadable_file_has_no_position() {
        let e = SpecErrors::io(Path::new("gone.yaml"), std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(e.to_string(), "gone.yaml: cannot read the spec: entity not found");
    }

    #[test]
    fn errors_come_in_file_order_once_each() {
        let at = |line| Pos { line, column: 1 };
        let p = |line, m: &str| Problem::new(at(line), "f", m, None);
        let e = SpecErrors::of(Path::new("s"), vec![p(3, "c"), p(1, "a"), p(3, "b"), p(1, "a")]);
        let messages: Vec<&str> = e.0.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages, ["a", "c", "b"]);
    }
}
