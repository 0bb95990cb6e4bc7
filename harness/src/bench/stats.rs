//! Bench stage: the summary of a runner's samples.

use serde::Serialize;

/// Median, min and max of some samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Summary {
    /// The median (the mean of the two middle values for an even count).
    pub median_ns: u64,
    /// The smallest sample.
    pub min_ns: u64,
    /// The largest sample.
    pub max_ns: u64,
}

impl Summary {
    /// The summary of `samples` (all zero when there are none).
    pub fn of(samples: &[u64]) -> Summary {
        if samples.is_empty() {
            return Summary::default();
        }
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            // Without overflow: the two middle values are within u64.
            sorted[n / 2 - 1] / 2
                + sorted[n / 2] / 2
                + (sorted[n / 2 - 1] % 2 + sorted[n / 2] % 2) / 2
        };
        Summary {
            median_ns: median,
            min_ns: sorted[0],
            max_ns: sorted[n - 1],
        }
    }
}

/// A duration in ns as text with a unit: `812 ms`, `1.23 s`, `45.6 us`.
pub fn format_ns(ns: u64) -> String {
    let v = ns as f64;
    let (value, unit) = if v >= 1e9 {
        (v / 1e9, "s")
    } else if v >= 1e6 {
        (v / 1e6, "ms")
    } else if v >= 1e3 {
        (v / 1e3, "us")
    } else {
        (v, "ns")
    };
    let digits = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.digits$} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(Summary::of(&[5, 1, 3]).median_ns, 3);
        assert_eq!(Summary::of(&[4, 1, 3, 2]).median_ns, 2);
        assert_eq!(Summary::of(&[3, 4]).median_ns, 3);
        assert_eq!(Summary::of(&[u64::MAX, u64::MAX]).median_ns, u64::MAX);
        let s = Summary::of(&[7, 2, 9]);
        assert_eq!((s.min_ns, s.max_ns), (2, 9));
        assert_eq!(Summary::of(&[]), Summary::default());
    }

    #[test]
    fn durations() {
        assert_eq!(format_ns(812_345_678), "812 ms");
        assert_eq!(format_ns(1_234_000_000), "1.23 s");
        assert_eq!(format_ns(45_600), "45.6 us");
        assert_eq!(format_ns(999), "999 ns");
    }
}
