//! Where each field of a YAML document starts, by dotted path (`domains.acme.zone`).
//!
//! serde_yaml reports where its parser stood when an error was raised, which is often the end of
//! the enclosing mapping; and errors found after deserializing (a tracking domain outside its
//! zone) have no position at all. This index, built from yaml-rust2's marked events, gives every
//! error the line and column of the field it is about.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

#[derive(Debug, Default)]
pub struct Locations(HashMap<String, (usize, usize)>);

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, index: usize },
}

#[derive(Default)]
struct Indexer {
    stack: Vec<Frame>,
    found: HashMap<String, (usize, usize)>,
}

impl Indexer {
    /// The path of the node that starts now, or `None` when it is a mapping key.
    fn next_node_path(&mut self, scalar: Option<&str>, mark: Marker) -> Option<String> {
        let at = (mark.line(), mark.col() + 1);
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Map { path, key }) => match key.take() {
                Some(k) => Some(join(path, &k)),
                None => {
                    let k = scalar.unwrap_or_default().to_owned();
                    self.found.entry(join(path, &k)).or_insert(at);
                    *key = Some(k);
                    None
                }
            },
            Some(Frame::Seq { path, index }) => {
                let p = format!("{path}[{index}]");
                *index += 1;
                self.found.entry(p.clone()).or_insert(at);
                Some(p)
            }
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_owned() } else { format!("{prefix}.{key}") }
}

impl MarkedEventReceiver for Indexer {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(value, ..) => {
                self.next_node_path(Some(&value), mark);
            }
            Event::MappingStart(..) => {
                if let Some(path) = self.next_node_path(None, mark) {
                    self.stack.push(Frame::Map { path, key: None });
                } else {
                    // A complex key: not used by sslprov specs; index nothing below it.
                    self.stack.push(Frame::Map { path: "?".into(), key: None });
                }
            }
            Event::SequenceStart(..) => {
                let path = self.next_node_path(None, mark).unwrap_or_else(|| "?".into());
                self.stack.push(Frame::Seq { path, index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            Event::Alias(_) => {
                self.next_node_path(None, mark);
            }
            _ => {}
        }
    }
}

impl Locations {
    pub fn index(text: &str) -> Locations {
        let mut ix = Indexer::default();
        let mut parser = Parser::new_from_str(text);
        // A syntax error leaves a partial index; serde_yaml reports the syntax error itself.
        let _ = parser.load(&mut ix, false);
        Locations(ix.found)
    }

    /// Position of `path`, or of its nearest indexed ancestor.
    pub fn try_find(&self, path: &str) -> Option<(usize, usize)> {
        let mut p = path;
        loop {
            if let Some(at) = self.0.get(p) {
                return Some(*at);
            }
            p = &p[..p.rfind(['.', '['])?];
        }
    }

    pub fn find(&self, path: &str) -> (usize, usize) {
        self.try_find(path).unwrap_or((1, 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_nested_keys_at_their_own_position() {
        let l = Locations::index("version: 1\ndomains:\n  acme:\n    esp: sendgrid\n    zone: acme.com\n");
        assert_eq!(l.find("version"), (1, 1));
        assert_eq!(l.find("domains.acme"), (3, 3));
        assert_eq!(l.find("domains.acme.zone"), (5, 5));
        // A field that is absent points at its parent.
        assert_eq!(l.find("domains.acme.tracking_domain"), (3, 3));
    }

    #[test]
    fn flow_mappings_and_sequences() {
        let l = Locations::index("state: { path: s.json }\nlist: [a, b]\n");
        assert_eq!(l.find("state.path"), (1, 10));
        assert_eq!(l.find("list[1]"), (2, 11));
    }
}
