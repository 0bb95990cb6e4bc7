//! `wasi:clocks/wall-clock` and `wasi:clocks/monotonic-clock` (`now`, `resolution`,
//! `subscribe-instant` and `subscribe-duration` as deadline pollables), over the shared clocks.

use super::io::{subscribe_fn, Ready};
use super::{name, WasiView};
use crate::component::types::Type;
use crate::component::{ComponentType, Lift, Linker, Lower, Val};
use crate::error::{Error, Result};
use std::time::{Duration, Instant};

/// A readiness future for a deadline (made inside the future, so that the timer belongs to
/// the runtime that polls it).
fn sleep_until(deadline: Instant) -> Ready {
    Box::pin(async move { tokio::time::sleep_until(deadline.into()).await })
}

/// `datetime`: seconds and nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datetime {
    /// Whole seconds.
    pub seconds: u64,
    /// Nanoseconds, below 1e9.
    pub nanoseconds: u32,
}

impl From<Duration> for Datetime {
    fn from(d: Duration) -> Self {
        Datetime {
            seconds: d.as_secs(),
            nanoseconds: d.subsec_nanos(),
        }
    }
}

impl ComponentType for Datetime {
    fn typecheck(ty: &Type) -> Result<()> {
        match ty {
            Type::Record(r)
                if r.fields()
                    .map(|(n, t)| (n, t.clone()))
                    .eq([("seconds", Type::U64), ("nanoseconds", Type::U32)]) =>
            {
                Ok(())
            }
            _ => Err(Error::msg(format!(
                "type mismatch: expected datetime, found {ty}"
            ))),
        }
    }
}

impl Lower for Datetime {
    fn lower(&self) -> Result<Val> {
        Ok(Val::Record(vec![
            ("seconds".into(), Val::U64(self.seconds)),
            ("nanoseconds".into(), Val::U32(self.nanoseconds)),
        ]))
    }
}

impl Lift for Datetime {
    fn lift(v: Val) -> Result<Self> {
        match v {
            Val::Record(f) => match f.as_slice() {
                [(_, Val::U64(seconds)), (_, Val::U32(nanoseconds))] => Ok(Datetime {
                    seconds: *seconds,
                    nanoseconds: *nanoseconds,
                }),
                _ => Err(Error::msg("not a datetime")),
            },
            other => Err(Error::msg(format!("not a datetime: {other}"))),
        }
    }
}

pub(super) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    let mut wall = linker.instance(&name("clocks/wall-clock"))?;
    wall.func_wrap("now", |mut s, (): ()| {
        Ok((Datetime::from(s.data_mut().ctx().ctx.clocks.wall_now()),))
    })?;
    wall.func_wrap("resolution", |mut s, (): ()| {
        Ok((Datetime::from(
            s.data_mut().ctx().ctx.clocks.wall_resolution(),
        ),))
    })?;
    let mut mono = linker.instance(&name("clocks/monotonic-clock"))?;
    mono.func_wrap("now", |mut s, (): ()| {
        Ok((s.data_mut().ctx().ctx.clocks.monotonic_now(),))
    })?;
    mono.func_wrap("resolution", |mut s, (): ()| {
        let r = s.data_mut().ctx().ctx.clocks.monotonic_resolution();
        Ok((u64::try_from(r.as_nanos()).unwrap_or(u64::MAX),))
    })?;
    mono.func_wrap("subscribe-instant", |mut s, (when,): (u64,)| {
        let view = s.data_mut().ctx();
        let deadline = view.ctx.clocks.monotonic_instant(when);
        Ok((subscribe_fn(view.table, move || sleep_until(deadline))?,))
    })?;
    mono.func_wrap("subscribe-duration", |mut s, (ns,): (u64,)| {
        let view = s.data_mut().ctx();
        let now = view.ctx.clocks.monotonic_now();
        let deadline = view.ctx.clocks.monotonic_instant(now.saturating_add(ns));
        Ok((subscribe_fn(view.table, move || sleep_until(deadline))?,))
    })?;
    Ok(())
}
