//! The spec's YAML as a tree of nodes, each knowing the line and column where it starts.
//!
//! Built from yaml-rust2's marked events, so every error can point at its field, and so what
//! YAML itself lets through is caught here: a key written twice in one mapping (YAML loaders keep
//! the last entry, which made a copied brand block silently replace the first), a second
//! document, nesting no spec needs. Scalars keep the text as written (`1e3` stays `1e3`, not
//! 1000): the spec's fields are names, and the reader decides what a scalar may be.
//!
//! The events are pulled one by one rather than through `Parser::load`, which recurses once per
//! nesting level and overflows the stack on a deeply nested input.

use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::error::Problem;

/// A position in the text, both 1-based; columns count characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    /// Where a document without content starts.
    pub const START: Pos = Pos { line: 1, column: 1 };

    fn of(m: &Marker) -> Pos {
        Pos { line: m.line().max(1), column: m.col() + 1 }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

#[derive(Clone, Debug)]
pub struct Node {
    pub at: Pos,
    /// Shared, so that an alias costs nothing however often an anchor is repeated.
    pub value: Rc<Value>,
}

#[derive(Debug)]
pub enum Value {
    /// `plain`: written without quotes or block indicators, so `~`, `null` and `true` keep their
    /// YAML meaning.
    Scalar { text: String, plain: bool },
    /// A list. No spec field is one, so its items are not kept.
    Seq,
    /// Entries in document order; a key's second entry is not kept (it is an error).
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The text of a scalar, `None` for a collection.
    pub fn scalar(&self) -> Option<&str> {
        match &*self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// YAML's null: an empty value, `~` or `null`, unquoted.
    pub fn is_null(&self) -> bool {
        matches!(&*self.value, Value::Scalar { text, plain: true } if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// What the node is, for an error saying it is not what belongs there.
    pub fn describe(&self) -> String {
        match &*self.value {
            _ if self.is_null() => "an empty value".into(),
            Value::Scalar { text, plain: true } => format!("`{}`", shorten(text)),
            Value::Scalar { text, plain: false } => format!("the quoted text `{}`", shorten(text)),
            Value::Seq => "a list".into(),
            Value::Map(_) => "a mapping".into(),
        }
    }
}

/// A value quoted in a message stays on one line and short.
pub fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    let one_line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    match one_line.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

/// The document, and what is wrong with its YAML. With a syntax error (or a second document, or
/// too deep a nesting) there is no tree; a duplicate key leaves the tree without the second entry.
#[derive(Debug)]
pub struct Document {
    /// `None` for an empty document.
    pub root: Option<Node>,
    pub errors: Vec<Problem>,
}

/// Deeper than any spec (a spec nests four levels); a bound keeps pathological input cheap.
pub const MAX_DEPTH: usize = 32;

pub fn parse(text: &str) -> Result<Document, Vec<Problem>> {
    let mut b = Builder::default();
    // A byte-order mark (some Windows editors write one) starts a YAML stream; yaml-rust2 would
    // read it as part of the first key.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut parser = Parser::new_from_str(text);
    let mut documents = 0;
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(next) => next,
            Err(e) => {
                b.errors.push(Problem {
                    at: Pos::of(e.marker()),
                    field: String::new(),
                    message: format!("invalid YAML: {}", e.info()),
                    allowed: None,
                });
                return Err(b.errors);
            }
        };
        let at = Pos::of(&mark);
        match event {
            Event::StreamEnd => break,
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    b.errors.push(Problem {
                        at,
                        field: String::new(),
                        message: "a second YAML document starts here".into(),
                        allowed: Some("one document per spec file".into()),
                    });
                    return Err(b.errors);
                }
            }
            Event::Scalar(text, style, anchor, _tag) => {
                // Tags are ignored: a spec's fields say what they hold.
                let plain = style == TScalarStyle::Plain;
                b.node(Node { at, value: Rc::new(Value::Scalar { text, plain }) }, anchor);
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if b.stack.len() >= MAX_DEPTH => {
                b.errors.push(Problem {
                    at,
                    field: b.child_path(),
                    message: format!("nested more than {MAX_DEPTH} levels deep"),
                    allowed: Some("a spec's own structure: mappings of at most four levels".into()),
                });
                return Err(b.errors);
            }
            Event::SequenceStart(anchor, _) => {
                let path = b.child_path();
                b.stack.push(Frame { at, anchor, path, kind: Kind::Seq(0) });
            }
            Event::MappingStart(anchor, _) => {
                let path = b.child_path();
                let kind = Kind::Map { entries: Vec::new(), key: None, seen: HashMap::new() };
                b.stack.push(Frame { at, anchor, path, kind });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(f) = b.stack.pop() {
                    let value = match f.kind {
                        Kind::Seq(_) => Value::Seq,
                        Kind::Map { entries, .. } => Value::Map(entries),
                    };
                    b.node(Node { at: f.at, value: Rc::new(value) }, f.anchor);
                }
            }
            Event::Alias(id) => match b.anchors.get(&id) {
                Some(n) => {
                    let value = n.value.clone();
                    b.node(Node { at, value }, 0);
                }
                None => {
                    b.errors.push(Problem {
                        at,
                        field: b.child_path(),
                        message: "an alias to a node that contains it".into(),
                        allowed: Some("aliases to anchors defined before them".into()),
                    });
                    return Err(b.errors);
                }
            },
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => {}
        }
    }
    Ok(Document { root: b.root, errors: b.errors })
}

struct Frame {
    at: Pos,
    anchor: usize,
    /// Dotted path of this collection.
    path: String,
    kind: Kind,
}

enum Kind {
    Seq(usize),
    Map {
        entries: Vec<(Node, Node)>,
        /// The key read, its value not yet; `skip` when it repeats an earlier key.
        key: Option<(Node, bool)>,
        /// Where each scalar key was first written.
        seen: HashMap<String, Pos>,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    errors: Vec<Problem>,
}

impl Builder {
    /// The path of the node that starts now (for a key, the path of the mapping).
    fn child_path(&self) -> String {
        match self.stack.last() {
            None => String::new(),
            Some(Frame { path, kind: Kind::Seq(len), .. }) => format!("{path}[{len}]"),
            Some(Frame { path, kind: Kind::Map { key: Some((k, _)), .. }, .. }) => join(path, &key_text(k)),
            Some(Frame { path, kind: Kind::Map { key: None, .. }, .. }) => path.clone(),
        }
    }

    /// A complete node: into its parent, and under its anchor for later aliases.
    fn node(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(node);
            return;
        };
        match &mut frame.kind {
            Kind::Seq(len) => *len += 1,
            Kind::Map { entries, key, seen } => match key.take() {
                Some((k, false)) => entries.push((k, node)),
                Some((_, true)) => {}
                None => {
                    // yaml-rust2 marks a block mapping's start at its first colon: it starts at its
                    // first key.
                    frame.at = frame.at.min(node.at);
                    let mut repeated = false;
                    if let Some(text) = node.scalar() {
                        if let Some(first) = seen.get(text) {
                            repeated = true;
                            self.errors.push(Problem {
                                at: node.at,
                                field: join(&frame.path, text),
                                message: format!("duplicate key `{}`, first at {first}", shorten(text)),
                                allowed: Some("each key once in a mapping".into()),
                            });
                        } else {
                            seen.insert(text.to_owned(), node.at);
                        }
                    }
                    *key = Some((node, repeated));
                }
            },
        }
    }
}

/// A key as a path segment; a collection used as a key (legal YAML, never a spec field) is `?`.
fn key_text(k: &Node) -> String {
    k.scalar().map_or_else(|| "?".to_owned(), str::to_owned)
}

pub fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_owned() } else { format!("{prefix}.{key}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(n: &Node) -> Vec<(String, Pos)> {
        match &*n.value {
            Value::Map(entries) => entries.iter().map(|(k, v)| (key_text(k), v.at)).collect(),
            _ => panic!("not a mapping: {n:?}"),
        }
    }

    #[test]
    fn nodes_know_where_they_start() {
        let doc = parse("version: 1\ndomains:\n  acme:\n    esp: sendgrid\n").unwrap();
        let root = doc.root.unwrap();
        assert_eq!(root.at, Pos { line: 1, column: 1 });
        assert_eq!(
            map(&root),
            [("version".into(), Pos { line: 1, column: 10 }), ("domains".into(), Pos { line: 3, column: 3 })]
        );
    }

    #[test]
    fn a_byte_order_mark_and_crlf_line_ends_are_read_as_yaml() {
        let doc = parse("\u{feff}version: 1\r\nesp: x\r\n").unwrap();
        assert_eq!(
            map(&doc.root.unwrap()),
            [("version".into(), Pos { line: 1, column: 10 }), ("esp".into(), Pos { line: 2, column: 6 })]
        );
    }

    #[test]
    fn scalars_keep_their_text_and_whether_they_were_quoted() {
        let doc = parse("a: 1e3\nb: '~'\nc: ~\nd:\n").unwrap();
        let Value::Map(entries) = &*doc.root.unwrap().value else { panic!() };
        let values: Vec<(Option<&str>, bool)> = entries.iter().map(|(_, v)| (v.scalar(), v.is_null())).collect();
        assert_eq!(values, [(Some("1e3"), false), (Some("~"), false), (Some("~"), true), (Some(""), true)]);
    }

    #[test]
    fn a_repeated_key_is_an_error_naming_both_positions_and_the_first_entry_stays() {
        let doc = parse("domains:\n  acme: {esp: a}\n  beta: {}\n  acme: {esp: b}\n").unwrap();
        assert_eq!(
            doc.errors,
            [Problem {
                at: Pos { line: 4, column: 3 },
                field: "domains.acme".into(),
                message: "duplicate key `acme`, first at line 2, column 3".into(),
                allowed: Some("each key once in a mapping".into()),
            }]
        );
        let Value::Map(top) = &*doc.root.unwrap().value else { panic!() };
        let domains = map(&top[0].1);
        assert_eq!(domains.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["acme", "beta"]);
        assert_eq!(domains[0].1, Pos { line: 2, column: 9 });
    }

    #[test]
    fn quoted_and_plain_spellings_of_a_key_are_the_same_key() {
        let doc = parse("a: 1\n'a': 2\n").unwrap();
        assert_eq!(doc.errors.len(), 1);
        assert_eq!(doc.errors[0].at, Pos { line: 2, column: 1 });
    }

    #[test]
    fn aliases_share_their_anchor_and_point_at_themselves() {
        let doc = parse("a: &x {k: v}\nb: *x\n").unwrap();
        let Value::Map(entries) = &*doc.root.unwrap().value else { panic!() };
        assert!(Rc::ptr_eq(&entries[0].1.value, &entries[1].1.value));
        assert_eq!(entries[1].1.at, Pos { line: 2, column: 4 });
    }

    #[test]
    fn syntax_errors_second_documents_and_deep_nesting_stop_the_parse() {
        let e = parse("a: [\n").unwrap_err();
        assert_eq!(
            (e[0].at, e[0].message.as_str()),
            (Pos { line: 2, column: 1 }, "invalid YAML: while parsing a node, did not find expected node content")
        );
        let e = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(
            (e[0].at, e[0].message.as_str()),
            (Pos { line: 2, column: 1 }, "a second YAML document starts here")
        );
        let deep = (0..100).map(|i| format!("{}k:\n", "  ".repeat(i))).collect::<String>();
        let e = parse(&deep).unwrap_err();
        assert_eq!(e[0].message, format!("nested more than {MAX_DEPTH} levels deep"));
        assert_eq!(e[0].at.line, MAX_DEPTH + 1);
    }

    #[test]
    fn a_deeply_nested_block_does_not_overflow_the_stack() {
        // `Parser::load` recurses per level: 20,000 nested lists overflowed the stack.
        let deep = format!("{}x\n", "- ".repeat(20_000));
        assert_eq!(parse(&deep).unwrap_err()[0].message, format!("nested more than {MAX_DEPTH} levels deep"));
    }

    #[test]
    fn messages_quote_values_on_one_short_line() {
        assert_eq!(shorten("a\nb"), "a b");
        assert_eq!(shorten(&"x".repeat(100)).chars().count(), 81);
    }
}
