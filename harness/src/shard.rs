//! Run stage: `--shard K/N`, a deterministic split of the selected tests so that a CI matrix
//! can spread one run over N machines.
//!
//! The tests the filters select are taken in suite order (suites by id, tests by name) and
//! dealt out round-robin: the i-th selected test (from 0) belongs to shard `i % N + 1`. Every
//! test is in exactly one shard, the shards differ in size by at most one, and the same
//! suites and filters always give the same split.

use std::fmt;
use std::str::FromStr;

use crate::run::Filter;
use crate::suite::Suite;

/// One shard of N, `K/N` with 1 <= K <= N.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Shard {
    /// Which shard, from 1.
    pub index: usize,
    /// How many shards.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not K/N (e.g. 2/4)"))?;
        let index: usize = k
            .trim()
            .parse()
            .map_err(|_| format!("`{k}` in `{s}` is not a number"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("`{n}` in `{s}` is not a number"))?;
        if count == 0 || index == 0 || index > count {
            return Err(format!("`{s}`: K/N needs 1 <= K <= N"));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether the `position`-th selected test (from 0) belongs to this shard.
    pub fn owns(&self, position: usize) -> bool {
        position % self.count == self.index - 1
    }

    /// The suites with only this shard's tests among those `filter` selects; suites left
    /// with no test are dropped. Tests the filter does not select are dropped too.
    pub fn apply(&self, suites: Vec<Suite>, filter: &Filter) -> Vec<Suite> {
        let mut position = 0;
        let mut out = Vec::new();
        for mut suite in suites {
            suite.tests.retain(|t| {
                if !filter.selects(&t.id) {
                    return false;
                }
                let mine = self.owns(position);
                position += 1;
                mine
            });
            if !suite.tests.is_empty() {
                out.push(suite);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "1/0", "x/2", "3", "1/2/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_split_the_selected_tests_disjointly_and_evenly() {
        let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let load = || crate::suite::discover(std::slice::from_ref(&data)).unwrap();
        let filter = Filter::new(vec!["_".into()]);
        let all: Vec<String> = crate::run::selected(&load(), &filter)
            .iter()
            .map(|t| t.id.clone())
            .collect();
        assert!(all.len() >= 5, "{all:?}");
        let mut seen = Vec::new();
        for index in 1..=3 {
            let shard = Shard { index, count: 3 };
            let ids: Vec<String> = shard
                .apply(load(), &filter)
                .iter()
                .flat_map(|s| s.tests.iter().map(|t| t.id.clone()))
                .collect();
            assert!(ids.len().abs_diff(all.len() / 3) <= 1, "{ids:?}");
            // The same split every time.
            let again: Vec<String> = shard
                .apply(load(), &filter)
                .iter()
                .flat_map(|s| s.tests.iter().map(|t| t.id.clone()))
                .collect();
            assert_eq!(ids, again);
            seen.extend(ids);
        }
        seen.sort();
        let mut expected = all.clone();
        expected.sort();
        assert_eq!(seen, expected);
    }

    #[test]
    fn every_position_has_exactly_one_shard() {
        for count in 1..6 {
            for position in 0..40 {
                let owners = (1..=count)
                    .filter(|&index| Shard { index, count }.owns(position))
                    .count();
                assert_eq!(owners, 1);
            }
        }
    }
}
