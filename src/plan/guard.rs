//! The mass-change guard: a plan that would take down many tracking domains at once is far more
//! often a mistake (a `domains:` block deleted, a bad merge, a wrong default) than an intent, and
//! every link in every email already sent goes through those domains. octoDNS refuses updates
//! past a share of a zone's records; this is that rule, per domain.

use std::collections::BTreeSet;

use super::{Action, Plan};
use crate::template::TRACKING;

/// More than this share of the managed domains deleted or replaced is refused…
const MAX_SHARE: f64 = 0.30;
/// …when it is at least this many.
const MIN_DOMAINS: usize = 3;
/// Repointing, replacing or deleting the tracking records of more than this many domains is
/// refused.
const MAX_TRACKING: usize = 10;

/// Why `plan` is refused without `--allow-mass-change`, or `None` when it is not. `managed` is
/// how many domains the state holds.
pub fn mass_change(plan: &Plan, managed: usize) -> Option<String> {
    let removing: BTreeSet<&str> = plan
        .changes
        .iter()
        // A shared object (one load balancer for every domain) is no domain's: it goes only once
        // no domain uses it, and counts as none.
        .filter(|c| c.shared.is_none() && matches!(c.action, Action::Delete | Action::Replace))
        .map(|c| c.domain.as_str())
        .collect();
    // An adopted record is a first switch onto the CDN, the point of applying; one sslprov
    // already manages that changes, or goes, moves live links.
    let repointing: BTreeSet<&str> = plan
        .changes
        .iter()
        .filter(|c| {
            c.part == TRACKING && !c.adopt && matches!(c.action, Action::Update | Action::Replace | Action::Delete)
        })
        .map(|c| c.domain.as_str())
        .collect();
    let share = removing.len() as f64 / managed.max(1) as f64;
    let why = if removing.len() >= MIN_DOMAINS && share > MAX_SHARE {
        format!(
            "this plan would delete or replace what serves {} of the {managed} managed domains ({:.0} %; more than {:.0} % \
             and at least {MIN_DOMAINS} is refused): {}",
            removing.len(),
            share * 100.0,
            MAX_SHARE * 100.0,
            names(&removing)
        )
    } else if repointing.len() > MAX_TRACKING {
        format!(
            "this plan would change, replace or delete the tracking records of {} domains (more than {MAX_TRACKING} is \
             refused): {}",
            repointing.len(),
            names(&repointing)
        )
    } else {
        return None;
    };
    Some(format!(
        "{why}. Check the spec for a deleted block or a bad merge; if the change is meant, run again with \
         --allow-mass-change"
    ))
}

fn names(domains: &BTreeSet<&str>) -> String {
    const SHOWN: usize = 20;
    let mut out = domains.iter().take(SHOWN).copied().collect::<Vec<_>>().join(", ");
    if domains.len() > SHOWN {
        out.push_str(&format!(" and {} more", domains.len() - SHOWN));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::{change, plan};

    fn deleting(domains: usize) -> Plan {
        plan((0..domains).map(|i| change(&format!("d{i:02}"), "distribution", Action::Delete)).collect())
    }

    #[test]
    fn deleting_a_share_of_the_domains_is_refused_past_30_percent_and_3() {
        assert_eq!(mass_change(&deleting(3), 10), None, "30 % is allowed");
        let refused = mass_change(&deleting(4), 10).expect("40 %");
        assert!(
            refused.starts_with(
                "this plan would delete or replace what serves 4 of the 10 managed domains (40 %; more than 30 % and at \
                 least 3 is refused): d00, d01, d02, d03. Check the spec"
            ),
            "{refused}"
        );
        assert!(refused.ends_with("run again with --allow-mass-change"), "{refused}");
        assert_eq!(mass_change(&deleting(2), 2), None, "two domains of two are fewer than 3");
        assert!(mass_change(&deleting(3), 3).is_some());
    }

    #[test]
    fn repointing_many_managed_tracking_records_is_refused_but_adopting_them_is_not() {
        let repoint = |n: usize, adopt: bool| {
            plan(
                (0..n)
                    .map(|i| {
                        let mut c = change(&format!("d{i:02}"), TRACKING, Action::Update);
                        c.adopt = adopt;
                        c
                    })
                    .collect(),
            )
        };
        assert_eq!(mass_change(&repoint(10, false), 100), None);
        let refused = mass_change(&repoint(11, false), 100).expect("11 records");
        assert!(refused.contains("tracking records of 11 domains (more than 10 is refused): d00, d01"), "{refused}");
        assert_eq!(mass_change(&repoint(200, true), 0), None, "a first apply adopts every HTTP-era record");
    }

    #[test]
    fn shared_objects_going_with_the_last_domains_count_as_no_domain() {
        let mut changes = deleting(2).changes;
        for part in ["lb", "pool"] {
            let mut c = change("", part, Action::Delete);
            c.address = format!("{part}@lb");
            c.shared = Some("lb".into());
            changes.push(c);
        }
        assert_eq!(mass_change(&plan(changes), 2), None, "two domains of two, whatever they shared");
    }

    #[test]
    fn a_long_list_is_cut() {
        let refused = mass_change(&deleting(30), 30).unwrap();
        assert!(refused.contains(": d00, d01, d02,"), "{refused}");
        assert!(refused.contains(", d19 and 10 more. Check"), "{refused}");
    }
}
