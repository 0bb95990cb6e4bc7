//! The async ABI's canonical built-ins as core functions of one component instance
//! (`task.return`, `context.*`, `waitable-set.*`, `subtask.*`, `stream.*`, `future.*`,
//! `error-context.*`); what they do is in [`concurrent`](super::concurrent).

use super::abi::{self, MAX_FLAT_PARAMS};
use super::concurrent::{self, builtins as b};
use super::decode::{Builtin, CanonOpts};
use super::func::{RtOpts, StoreCx};
use super::state::InstanceState;
use super::types::{ComponentFunc, Type};
use super::values::Val;
use crate::error::{Error, Result};
use crate::store::{Caller, Func as CoreFunc, Store};
use crate::types::{FuncType, ValType};
use std::sync::Arc;

use ValType::{I32, I64};

/// The core function of built-in `builtin` in instance `state`; `opts` resolves canonical
/// options against the instance's index spaces.
pub(crate) fn core_func<T: 'static>(
    store: &mut Store<T>,
    state: &Arc<InstanceState>,
    builtin: &Builtin,
    opts: impl Fn(&CanonOpts) -> Result<RtOpts>,
) -> Result<CoreFunc> {
    let inst = state.clone();
    type Body<T> = Arc<dyn Fn(Caller<'_, T>, &mut [u64]) -> Result<()> + Send + Sync>;
    let (params, results, body): (Vec<ValType>, Vec<ValType>, Body<T>) = match builtin {
        Builtin::TaskReturn { ty, opts: o } => {
            let o = opts(o)?;
            let fty = ComponentFunc::new([], ty.clone());
            let flat = fty.flat_results().len();
            let params = if flat > MAX_FLAT_PARAMS {
                vec![I32]
            } else {
                fty.flat_results().iter().map(|f| f.core()).collect()
            };
            (
                params,
                vec![],
                Arc::new(move |c: Caller<'_, T>, raw: &mut [u64]| {
                    let n = if flat > MAX_FLAT_PARAMS { 1 } else { flat };
                    let vals = {
                        let mut cx = StoreCx::new(c.store, &o, &inst, None);
                        abi::lift_values(
                            &mut cx,
                            fty.result_types(),
                            fty.results_tuple(),
                            flat,
                            MAX_FLAT_PARAMS,
                            &raw[..n],
                        )?
                    };
                    let mut tasks = inst.tasks();
                    let task = tasks
                        .last_mut()
                        .ok_or_else(|| Error::msg("`task.return` outside of an async call"))?;
                    if task.results.is_some() {
                        return Err(Error::msg("`task.return` called twice"));
                    }
                    if task.cancelled {
                        return Err(Error::msg("`task.return` after `task.cancel`"));
                    }
                    let hook = task.on_return.0.take();
                    task.results = Some(vals.clone());
                    if let Some(call) = &task.call {
                        let mut c = concurrent::lock_call(call);
                        c.results = Some(vals.clone());
                        c.state = concurrent::subtask::RETURNED;
                    }
                    drop(tasks);
                    match hook {
                        Some(h) => h(c.store.data_mut(), &vals),
                        None => Ok(()),
                    }
                }),
            )
        }
        Builtin::TaskCancel => (
            vec![],
            vec![],
            Arc::new(move |_, _: &mut [u64]| {
                let mut tasks = inst.tasks();
                let task = tasks
                    .last_mut()
                    .ok_or_else(|| Error::msg("`task.cancel` outside of an async call"))?;
                let call = task
                    .call
                    .clone()
                    .filter(|c| concurrent::lock_call(c).cancel_delivered)
                    .ok_or_else(|| Error::msg("`task.cancel` of a task that was not cancelled"))?;
                if task.results.is_some() || task.cancelled {
                    return Err(Error::msg("`task.cancel` of a task already resolved"));
                }
                task.cancelled = true;
                concurrent::lock_call(&call).state = concurrent::subtask::CANCELLED_BEFORE_RETURNED;
                Ok(())
            }),
        ),
        Builtin::ContextGet(slot) | Builtin::ContextSet(slot) => {
            let slot = *slot as usize;
            let get = matches!(builtin, Builtin::ContextGet(_));
            let (p, r) = if get {
                (vec![], vec![I32])
            } else {
                (vec![I32], vec![])
            };
            (
                p,
                r,
                Arc::new(move |_, raw: &mut [u64]| {
                    let mut tasks = inst.tasks();
                    let task = tasks
                        .last_mut()
                        .ok_or_else(|| Error::msg("`context` used outside of an async call"))?;
                    let cell = task
                        .context
                        .get_mut(slot)
                        .ok_or_else(|| Error::msg("context slot out of range"))?;
                    if get {
                        raw[0] = *cell;
                    } else {
                        *cell = raw[0] & 0xffff_ffff;
                    }
                    Ok(())
                }),
            )
        }
        Builtin::Backpressure(delta) => {
            let delta = *delta;
            (
                vec![],
                vec![],
                Arc::new(move |_, _: &mut [u64]| b::backpressure(&inst, delta)),
            )
        }
        Builtin::Yield(cancellable) => {
            let cancellable = *cancellable;
            (
                vec![],
                vec![I32],
                Arc::new(move |c: Caller<'_, T>, raw: &mut [u64]| {
                    raw[0] = concurrent::yield_now(c.store, &inst, cancellable)? as u64;
                    Ok(())
                }),
            )
        }
        Builtin::WaitableSetNew => (
            vec![],
            vec![I32],
            Arc::new(move |_, raw: &mut [u64]| {
                raw[0] = b::waitable_set_new(&inst) as u64;
                Ok(())
            }),
        ),
        Builtin::WaitableSetWait { memory, poll } => {
            let o = opts(&CanonOpts {
                memory: Some(*memory),
                ..CanonOpts::default()
            })?;
            let poll = *poll;
            (
                vec![I32, I32],
                vec![I32],
                Arc::new(move |c: Caller<'_, T>, raw: &mut [u64]| {
                    let (code, p1, p2) = concurrent::wait(c.store, &inst, raw[0] as u32, poll)?;
                    let ptr = raw[1] as u32;
                    let mut cx = StoreCx::new(c.store, &o, &inst, None);
                    abi::write(&mut cx, ptr, &p1.to_le_bytes())?;
                    abi::write(&mut cx, ptr + 4, &p2.to_le_bytes())?;
                    raw[0] = code as u64;
                    Ok(())
                }),
            )
        }
        Builtin::WaitableSetDrop => (
            vec![I32],
            vec![],
            Arc::new(move |_, raw: &mut [u64]| b::waitable_set_drop(&inst, raw[0] as u32)),
        ),
        Builtin::WaitableJoin => (
            vec![I32, I32],
            vec![],
            Arc::new(move |_, raw: &mut [u64]| {
                b::waitable_join(&inst, raw[0] as u32, raw[1] as u32)
            }),
        ),
        Builtin::SubtaskDrop => (
            vec![I32],
            vec![],
            Arc::new(move |_, raw: &mut [u64]| b::subtask_drop(&inst, raw[0] as u32)),
        ),
        Builtin::SubtaskCancel(is_async) => {
            let is_async = *is_async;
            (
                vec![I32],
                vec![I32],
                Arc::new(move |c: Caller<'_, T>, raw: &mut [u64]| {
                    raw[0] = b::subtask_cancel(c.store, &inst, raw[0] as u32, is_async)? as u64;
                    Ok(())
                }),
            )
        }
        Builtin::ChanNew { ty, future } => {
            let elem = match ty {
                Some(Type::Stream(e) | Type::Future(e)) => e.as_deref().cloned(),
                _ => {
                    return Err(Error::msg(
                        "`stream.new`/`future.new` of a non-channel type",
                    ))
                }
            };
            let future = *future;
            (
                vec![],
                vec![I64],
                Arc::new(move |_, raw: &mut [u64]| {
                    raw[0] = b::new_chan(&inst, elem.clone(), future);
                    Ok(())
                }),
            )
        }
        Builtin::ChanCopy {
            future,
            readable,
            opts: o,
        } => {
            let o = opts(o)?;
            let (future, readable) = (*future, *readable);
            let params = if future {
                vec![I32, I32]
            } else {
                vec![I32, I32, I32]
            };
            (
                params,
                vec![I32],
                Arc::new(move |c: Caller<'_, T>, raw: &mut [u64]| {
                    let n = if future { 1 } else { raw[2] as u32 };
                    raw[0] = b::copy(
                        c.store,
                        &inst,
                        &o,
                        o.async_,
                        future,
                        readable,
                        raw[0] as u32,
                        raw[1] as u32,
                        n,
                    )? as u64;
                    Ok(())
                }),
            )
        }
        Builtin::ChanCancel { future, readable } => {
            let (future, readable) = (*future, *readable);
            (
                vec![I32],
                vec![I32],
                Arc::new(move |_, raw: &mut [u64]| {
                    raw[0] = b::cancel(&inst, future, readable, raw[0] as u32)? as u64;
                    Ok(())
                }),
            )
        }
        Builtin::ChanDrop { future, readable } => {
            let (future, readable) = (*future, *readable);
            (
                vec![I32],
                vec![],
                Arc::new(move |_, raw: &mut [u64]| {
                    b::drop_end(&inst, future, readable, raw[0] as u32)
                }),
            )
        }
        Builtin::ErrorContextNew(o) => {
            let o = opts(o)?;
            (
                vec![I32, I32],
                vec![I32],
                Arc::new(move |c: Caller<'_, T>, raw: &mut [u64]| {
                    let msg = {
                        let mut cx = StoreCx::new(c.store, &o, &inst, None);
                        let f = ComponentFunc::new([("m".to_string(), Type::String)], None);
                        abi::lift_values(
                            &mut cx,
                            f.param_types(),
                            f.params_tuple(),
                            2,
                            MAX_FLAT_PARAMS,
                            &raw[..2],
                        )?
                    };
                    let msg = match msg.into_iter().next() {
                        Some(Val::String(s)) => s,
                        _ => String::new(),
                    };
                    raw[0] = b::error_context_new(&inst, msg) as u64;
                    Ok(())
                }),
            )
        }
        Builtin::ErrorContextDebugMessage(o) => {
            let o = opts(o)?;
            (
                vec![I32, I32],
                vec![],
                Arc::new(move |c: Caller<'_, T>, raw: &mut [u64]| {
                    let msg = b::error_context_message(&inst, raw[0] as u32)?;
                    let mut cx = StoreCx::new(c.store, &o, &inst, None);
                    abi::lower::store(&mut cx, &Type::String, &Val::String(msg), raw[1] as u32)
                }),
            )
        }
        Builtin::ErrorContextDrop => (
            vec![I32],
            vec![],
            Arc::new(move |_, raw: &mut [u64]| b::error_context_drop(&inst, raw[0] as u32)),
        ),
    };
    let state = state.clone();
    Ok(CoreFunc::from_host(
        store,
        FuncType::new(params, results),
        Arc::new(move |c: Caller<'_, T>, raw: &mut [u64]| {
            state.check_may_leave()?;
            body(c, raw)
        }),
    ))
}
