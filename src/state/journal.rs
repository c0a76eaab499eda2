//! The journal: every step recorded since the snapshot, one entry per record, so recording a
//! step costs the size of one resource, not of the whole state.
//!
//! An entry is one line: 16 hex digits (the first 8 bytes of the SHA-256 of the JSON that
//! follows), a space, and the entry as compact JSON:
//!
//! ```text
//! 3f9c0a7d5be21c44 {"lineage":"…","serial":8,"address":"acme.certificate","resource":{…}}
//! ```
//!
//! `resource` is the address's new value, or `null` when it left the state. `serial` is the
//! state's serial after the step: entries follow the snapshot's serial one by one.
//!
//! Replay applies, over the snapshot, the entries of its lineage whose serial comes next. Entries
//! at or below the snapshot's serial were compacted into it already (a run stopped between
//! writing the snapshot and clearing the journal) and are skipped. The last entry may be torn: a
//! run killed while appending it never made the call it announced, so it is dropped. Anything
//! else that does not read (a damaged entry before the last, a missing serial) is an error: a
//! silently shortened journal could forget an intent, and an intent forgotten is an object made
//! twice.

use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::model::{ResourceState, State};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub lineage: String,
    pub serial: u64,
    pub address: String,
    pub resource: Option<ResourceState>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JournalError {
    #[error("journal entry {index} is damaged ({why}) and is not the last one")]
    Damaged { index: usize, why: String },
    #[error("journal entry {index} has serial {found}, but the state is at serial {at}: entries are missing")]
    Gap { index: usize, at: u64, found: u64 },
}

impl Entry {
    /// The entry that records `address` as `state` now has it.
    pub fn of(state: &State, address: &str) -> Entry {
        Entry {
            lineage: state.lineage.clone(),
            serial: state.serial,
            address: address.to_owned(),
            resource: state.resources.get(address).cloned(),
        }
    }

    /// One line, newline included.
    pub fn encode(&self) -> Vec<u8> {
        let json = serde_json::to_vec(self).expect("a journal entry serializes");
        let mut line = Vec::with_capacity(json.len() + 18);
        line.extend_from_slice(checksum(&json).as_bytes());
        line.push(b' ');
        line.extend_from_slice(&json);
        line.push(b'\n');
        line
    }

    /// One line as [`Entry::encode`] wrote it (the newline is optional).
    pub fn decode(line: &[u8]) -> Result<Entry, String> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        if line.len() < 18 || line[16] != b' ' {
            return Err("no checksum".into());
        }
        let (sum, json) = (&line[..16], &line[17..]);
        if sum != checksum(json).as_bytes() {
            return Err("checksum mismatch".into());
        }
        serde_json::from_slice(json).map_err(|e| e.to_string())
    }

    fn apply(self, state: &mut State) {
        match self.resource {
            Some(r) => {
                state.resources.insert(self.address, r);
            }
            None => {
                state.resources.remove(&self.address);
            }
        }
        state.serial = self.serial;
    }
}

fn checksum(json: &[u8]) -> String {
    hex::encode(&sha2::Sha256::digest(json)[..8])
}

/// What replaying a journal gave.
#[derive(Debug, PartialEq, Eq)]
pub struct Replayed {
    /// The snapshot with the journal's entries applied; `None` when there was neither.
    pub state: Option<State>,
    /// Entries applied.
    pub applied: usize,
    /// Entries that were already in the snapshot or belong to another lineage.
    pub skipped: usize,
    /// The last entry was torn (a run was killed while writing it) and was dropped.
    pub torn_tail: bool,
}

/// Replays `records` (the journal's entries, oldest first, as stored) over `snapshot`.
pub fn replay(snapshot: Option<State>, records: &[Vec<u8>]) -> Result<Replayed, JournalError> {
    let mut out = Replayed { state: snapshot, applied: 0, skipped: 0, torn_tail: false };
    for (index, record) in records.iter().enumerate() {
        let entry = match Entry::decode(record) {
            Ok(e) => e,
            Err(_) if index + 1 == records.len() => {
                out.torn_tail = true;
                break;
            }
            Err(why) => return Err(JournalError::Damaged { index, why }),
        };
        let state = out.state.get_or_insert_with(|| State::new(entry.lineage.clone()));
        if entry.lineage != state.lineage || entry.serial <= state.serial {
            out.skipped += 1;
            continue;
        }
        if entry.serial != state.serial + 1 {
            return Err(JournalError::Gap { index, at: state.serial, found: entry.serial });
        }
        entry.apply(state);
        out.applied += 1;
    }
    Ok(out)
}

/// Splits a local journal file into its records. The bytes after the last newline, if any, are
/// a record too: the torn one a killed run left (or zeros, where a crash left the file longer
/// than what reached the disk).
pub fn split_lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes.split_inclusive(|b| *b == b'\n').map(<[u8]>::to_vec).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::model::{Intent, Op};
    use sslprov_provider::{IdempotencyToken, Outputs};

    fn resource(id: Option<&str>, intent: bool) -> ResourceState {
        ResourceState {
            kind: "certificate".into(),
            provider: "acm".into(),
            domain: "acme".into(),
            cdn: Some("cloudfront".into()),
            id: id.map(str::to_owned),
            desired: None,
            outputs: Outputs::default(),
            intent: intent.then(|| Intent {
                op: Op::Create,
                token: IdempotencyToken("t".into()),
                started: "2026-11-23T11:00:00Z".into(),
            }),
            adopted: None,
            deposed: Vec::new(),
        }
    }

    /// The journal of a create: intent, then result, then a second resource's intent.
    fn journal() -> (State, Vec<Vec<u8>>) {
        let mut s = State::new("lin".into());
        let mut lines = Vec::new();
        let mut step = |s: &mut State, address: &str, r: Option<ResourceState>| {
            s.serial += 1;
            match r {
                Some(r) => s.resources.insert(address.into(), r),
                None => s.resources.remove(address),
            };
            lines.push(Entry::of(s, address).encode());
        };
        step(&mut s, "acme.certificate", Some(resource(None, true)));
        step(&mut s, "acme.certificate", Some(resource(Some("arn:1"), false)));
        step(&mut s, "acme.distribution", Some(resource(None, true)));
        (s, lines)
    }

    #[test]
    fn replaying_every_entry_gives_the_state_as_recorded() {
        let (want, lines) = journal();
        let r = replay(None, &lines).unwrap();
        assert_eq!(r.state.as_ref(), Some(&want));
        assert_eq!((r.applied, r.skipped, r.torn_tail), (3, 0, false));
    }

    #[test]
    fn a_torn_last_entry_is_dropped_at_every_cut() {
        let (_, lines) = journal();
        let whole: Vec<u8> = lines.concat();
        let before_last = lines[0].len() + lines[1].len();
        let two = replay(None, &split_lines(&whole[..before_last])).unwrap().state.unwrap();
        // Every cut inside the last line, newline excluded, drops that entry and only it.
        for cut in before_last + 1..whole.len() - 1 {
            let r = replay(None, &split_lines(&whole[..cut])).unwrap();
            assert!(r.torn_tail, "cut at {cut}");
            assert_eq!(r.state.as_ref(), Some(&two), "cut at {cut}");
        }
        // Zeros past the end (a crash after the size reached the disk, before the data did).
        let mut zeroed = whole[..before_last].to_vec();
        zeroed.extend_from_slice(&[0; 300]);
        let r = replay(None, &split_lines(&zeroed)).unwrap();
        assert!(r.torn_tail);
        assert_eq!(r.state, Some(two));
    }

    #[test]
    fn damage_before_the_last_entry_is_an_error() {
        let (_, mut lines) = journal();
        lines[1][30] ^= 0x01;
        assert!(matches!(replay(None, &lines), Err(JournalError::Damaged { index: 1, .. })));
    }

    #[test]
    fn entries_already_in_the_snapshot_are_skipped_and_a_gap_is_refused() {
        let (want, lines) = journal();
        // Killed after the snapshot (serial 2) was written, before the journal was cleared.
        let snapshot = replay(None, &lines[..2]).unwrap().state;
        let r = replay(snapshot.clone(), &lines).unwrap();
        assert_eq!((r.applied, r.skipped), (1, 2));
        assert_eq!(r.state, Some(want));

        let missing = [lines[0].clone(), lines[2].clone()];
        assert_eq!(replay(None, &missing), Err(JournalError::Gap { index: 1, at: 1, found: 3 }));
    }

    #[test]
    fn another_lineages_entries_do_not_apply() {
        let (_, lines) = journal();
        let other = State::new("other".into());
        let r = replay(Some(other.clone()), &lines).unwrap();
        assert_eq!(r.state, Some(other));
        assert_eq!(r.skipped, 3);
    }

    #[test]
    fn a_removal_is_recorded_as_null() {
        let mut s = State::new("lin".into());
        s.resources.insert("a.x".into(), resource(Some("1"), false));
        s.serial = 4;
        let mut after = s.clone();
        after.resources.remove("a.x");
        after.serial = 5;
        let line = Entry::of(&after, "a.x").encode();
        assert!(String::from_utf8_lossy(&line).contains(r#""resource":null"#));
        assert_eq!(replay(Some(s), &[line]).unwrap().state, Some(after));
    }
}
