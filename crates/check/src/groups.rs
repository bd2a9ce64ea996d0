//! Validation problems grouped by kind and place, with a few examples each, so that a
//! quirk repeated in every entry of a large file takes one line and bounded memory.

use har::{Problem, Severity};
use serde::Serialize;
use std::collections::HashMap;

/// Examples kept per group: as many as the validator gives a position.
pub const EXAMPLES: usize = har::validate::LOCATED_PER_KIND;

#[derive(Clone, Debug, Serialize)]
pub struct Group {
    pub severity: Severity,
    pub code: &'static str,
    /// The JSON path with array indexes replaced by `*`, e.g. `log.entries[*].request.url`.
    pub path: String,
    pub count: usize,
    pub examples: Vec<Problem>,
}

#[derive(Default)]
pub struct Groups {
    groups: Vec<Group>,
    index: HashMap<(Severity, &'static str, String), usize, foldhash::fast::RandomState>,
}

/// `log.entries[12].request.headers[3].value` → `log.entries[*].request.headers[*].value`.
pub fn generic_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '[' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('*');
        }
    }
    out
}

impl Groups {
    pub fn add(&mut self, p: Problem) {
        let key = (p.severity, p.code, generic_path(&p.path));
        let i = match self.index.get(&key) {
            Some(i) => *i,
            None => {
                self.groups.push(Group {
                    severity: p.severity,
                    code: p.code,
                    path: key.2.clone(),
                    count: 0,
                    examples: Vec::new(),
                });
                self.index.insert(key, self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        let g = &mut self.groups[i];
        g.count += 1;
        if g.examples.len() < EXAMPLES {
            g.examples.push(p);
        }
    }

    pub fn count(&self, s: Severity) -> usize {
        self.groups
            .iter()
            .filter(|g| g.severity == s)
            .map(|g| g.count)
            .sum()
    }

    /// Groups, most severe first, then by how often they occur.
    pub fn into_sorted(mut self) -> Vec<Group> {
        self.groups.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(b.count.cmp(&a.count))
                .then(a.path.cmp(&b.path))
        });
        self.groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_become_stars_and_groups_count() {
        assert_eq!(
            generic_path("log.entries[12].request.headers[3].value"),
            "log.entries[*].request.headers[*].value"
        );
        assert_eq!(
            generic_path("log.entries[1][\"odd key\"]"),
            "log.entries[*][\"odd key\"]"
        );
        let mut g = Groups::default();
        for i in 0..10 {
            g.add(Problem {
                severity: Severity::Warning,
                code: "missing-field",
                path: format!("log.entries[{i}].timings"),
                entry: Some(i),
                pos: None,
                message: "m".into(),
            });
        }
        let groups = g.into_sorted();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].count, 10);
        assert_eq!(groups[0].examples.len(), EXAMPLES);
    }
}
