//! WASI state, clocks: the wall clock (time since the Unix epoch) and a monotonic clock
//! that starts at the context's creation, both in nanoseconds.

use std::time::{Duration, Instant, SystemTime};

/// The clocks of one WASI context.
#[derive(Debug, Clone)]
pub struct Clocks {
    start: Instant,
}

impl Default for Clocks {
    fn default() -> Self {
        Clocks {
            start: Instant::now(),
        }
    }
}

impl Clocks {
    /// Wall-clock time since the Unix epoch (zero if the host clock is before it).
    pub fn wall_now(&self) -> Duration {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
    }

    /// The wall clock's resolution, as the host reports it.
    pub fn wall_resolution(&self) -> Duration {
        resolution(rustix::time::ClockId::Realtime)
    }

    /// Nanoseconds of monotonic time since this context was created.
    pub fn monotonic_now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// The monotonic clock's resolution, as the host reports it.
    pub fn monotonic_resolution(&self) -> Duration {
        resolution(rustix::time::ClockId::Monotonic)
    }

    /// The monotonic instant `ns` nanoseconds after this context was created.
    pub fn monotonic_instant(&self, ns: u64) -> Instant {
        self.start
            .checked_add(Duration::from_nanos(ns))
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(u32::MAX.into()))
    }
}

fn resolution(id: rustix::time::ClockId) -> Duration {
    let ts = rustix::time::clock_getres(id);
    let d = Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    );
    // Never report a zero resolution: callers divide by it.
    d.max(Duration::from_nanos(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_advances_and_resolutions_are_positive() {
        let c = Clocks::default();
        let a = c.monotonic_now();
        std::thread::sleep(Duration::from_millis(2));
        assert!(c.monotonic_now() >= a + 1_000_000);
        assert!(c.wall_resolution() > Duration::ZERO);
        assert!(c.monotonic_resolution() > Duration::ZERO);
        assert!(c.wall_now() > Duration::from_secs(1_500_000_000));
    }
}
