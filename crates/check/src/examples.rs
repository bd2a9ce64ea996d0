//! The entries a finding names: the first few and how many in all.

use crate::MAX_LISTED;

/// Up to [`MAX_LISTED`] entry indexes and a count: the examples a finding lists.
///
/// An index added again is counted again but listed once. The lint adds each entry at
/// most once per example list (indexes grow with the file), so for it listing once
/// changes nothing; the diagnosis adds both entries of a pair (duplicate requests, a
/// cookie's setter and the requests without it) and relies on it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Examples {
    pub list: Vec<usize>,
    pub count: usize,
}

impl Examples {
    pub fn add(&mut self, i: usize) {
        self.count += 1;
        if self.list.len() < MAX_LISTED && !self.list.contains(&i) {
            self.list.push(i);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_first_once_and_counts_all() {
        let mut e = Examples::default();
        assert!(e.is_empty());
        for i in [3, 3, 4] {
            e.add(i);
        }
        assert_eq!((e.list.as_slice(), e.count), (&[3, 4][..], 3));
        for i in 10..100 {
            e.add(i);
        }
        assert_eq!(e.list.len(), MAX_LISTED);
        assert_eq!(e.count, 93);
    }
}
