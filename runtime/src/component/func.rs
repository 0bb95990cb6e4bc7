//! Component functions and the calls across the component boundary: [`Func`] (lifted from a
//! core function, or defined by the host), the store-backed ABI context, the `canon lift`
//! path (arguments lowered into the callee, results lifted back, then `post-return`) and the
//! `canon lower` trampoline a core instance calls its imports through.

use super::abi::{self, AbiCx, StringEncoding, MAX_FLAT_PARAMS, MAX_FLAT_RESULTS};
use super::concurrent::{self, HostCall};
use super::resources::ResourceAny;
use super::state::{InstanceState, RtResource};
use super::typed::{LiftList, LowerList, TypedFunc};
use super::types::{ComponentFunc, ResourceRef, Type};
use super::values::Val;
use super::{call_core, StoreContextMut};
use crate::error::{Error, Result};
use crate::store::{AsContext, AsContextMut, Caller, Func as CoreFunc, Memory, Store};
use crate::types::FuncType;
use std::any::Any;
use std::sync::Arc;

/// A host function body over component values: the store, the function's type as the
/// component declares it, the arguments, and room for the results.
pub(crate) type HostFnDyn<T> =
    dyn Fn(StoreContextMut<'_, T>, ComponentFunc, Vec<Val>, &mut [Val]) -> Result<()> + Send + Sync;

/// A host function that may finish later: its results now or a future of them.
pub(crate) type AsyncHostFnDyn<T> =
    dyn Fn(StoreContextMut<'_, T>, ComponentFunc, Vec<Val>) -> Result<HostCall> + Send + Sync;

/// A host function as a linker holds it.
pub(crate) struct HostFunc<T> {
    pub func: Arc<HostFnDyn<T>>,
    /// For host functions that may finish later: called instead of `func`.
    pub async_func: Option<Arc<AsyncHostFnDyn<T>>>,
    /// For typed host functions: checks the type a component declares for the import.
    pub typecheck: Option<fn(&ComponentFunc) -> Result<()>>,
}

/// The run-time canonical options: the memory and `realloc` they name, resolved.
#[derive(Debug, Clone, Default)]
pub(crate) struct RtOpts {
    pub memory: Option<Memory>,
    pub realloc: Option<CoreFunc>,
    pub encoding: StringEncoding,
    /// The `async` option.
    pub async_: bool,
    /// The `callback` option.
    pub callback: Option<CoreFunc>,
}

/// A `canon lift`ed function of one component instance.
pub(crate) struct Lifted {
    pub core: CoreFunc,
    pub ty: ComponentFunc,
    pub opts: RtOpts,
    pub post_return: Option<CoreFunc>,
    pub instance: Arc<InstanceState>,
}

/// A component function at run time.
pub(crate) enum FuncRt<T> {
    Lifted(Arc<Lifted>),
    Host {
        func: Arc<HostFunc<T>>,
        /// The type the importing component declared.
        ty: ComponentFunc,
    },
}

impl<T> Clone for FuncRt<T> {
    fn clone(&self) -> Self {
        match self {
            FuncRt::Lifted(l) => FuncRt::Lifted(l.clone()),
            FuncRt::Host { func, ty } => FuncRt::Host {
                func: func.clone(),
                ty: ty.clone(),
            },
        }
    }
}

impl<T> FuncRt<T> {
    pub(crate) fn ty(&self) -> &ComponentFunc {
        match self {
            FuncRt::Lifted(l) => &l.ty,
            FuncRt::Host { ty, .. } => ty,
        }
    }
}

/// The canonical ABI context of one instance's options over a store.
pub(crate) struct StoreCx<'a, T> {
    pub store: &'a mut Store<T>,
    opts: &'a RtOpts,
    instance: &'a Arc<InstanceState>,
    /// The task borrowed handles are lowered into (when lowering arguments into a callee).
    scope: Option<u64>,
    /// Handles lent by lifting `borrow`s, to be returned when the call ends.
    pub lends: Vec<u32>,
}

impl<'a, T> StoreCx<'a, T> {
    pub(crate) fn new(
        store: &'a mut Store<T>,
        opts: &'a RtOpts,
        instance: &'a Arc<InstanceState>,
        scope: Option<u64>,
    ) -> Self {
        StoreCx {
            store,
            opts,
            instance,
            scope,
            lends: Vec::new(),
        }
    }

    fn rt(&self, r: ResourceRef) -> Result<RtResource> {
        self.instance.resource(r)
    }
}

fn no_memory() -> Error {
    Error::msg("the canonical options name no memory")
}

impl<T> AbiCx for StoreCx<'_, T> {
    fn encoding(&self) -> StringEncoding {
        self.opts.encoding
    }
    fn memory(&self) -> Result<&[u8]> {
        let m = self.opts.memory.ok_or_else(no_memory)?;
        Ok(&self.store.inner.memories[m.0 as usize].data)
    }
    fn memory_mut(&mut self) -> Result<&mut [u8]> {
        let m = self.opts.memory.ok_or_else(no_memory)?;
        Ok(&mut self.store.inner.memories[m.0 as usize].data)
    }
    fn realloc(&mut self, old: u32, old_size: u32, align: u32, new_size: u32) -> Result<u32> {
        let f = self
            .opts
            .realloc
            .ok_or_else(|| Error::msg("the canonical options name no realloc"))?;
        self.instance.set_may_leave(false);
        let r = call_core(
            self.store,
            f,
            &[old as u64, old_size as u64, align as u64, new_size as u64],
        );
        self.instance.set_may_leave(true);
        Ok(r?.first().copied().unwrap_or(0) as u32)
    }
    fn lift_own(&mut self, r: ResourceRef, idx: u32) -> Result<ResourceAny> {
        let rt = self.rt(r)?;
        let rep = self.instance.lift_own(&rt.ty, idx)?;
        Ok(ResourceAny::new(rt.ty, rep, true))
    }
    fn lift_borrow(&mut self, r: ResourceRef, idx: u32) -> Result<ResourceAny> {
        let rt = self.rt(r)?;
        let rep = self.instance.lift_borrow(&rt.ty, idx)?;
        self.lends.push(idx);
        Ok(ResourceAny::new(rt.ty, rep, false))
    }
    fn lower_own(&mut self, r: ResourceRef, v: &ResourceAny) -> Result<u32> {
        let rt = self.rt(r)?;
        check_resource(&rt, v)?;
        if !v.owned() {
            return Err(Error::msg(
                "a borrowed resource cannot be passed where an owned one is expected",
            ));
        }
        self.instance.lower_own(rt, v.rep())
    }
    fn lift_handle(&mut self, ty: &Type, idx: u32) -> Result<Val> {
        concurrent::lift_handle(self.instance, ty, idx)
    }
    fn lower_handle(&mut self, _ty: &Type, v: &Val) -> Result<u32> {
        concurrent::lower_handle(self.instance, v)
    }
    fn lower_borrow(&mut self, r: ResourceRef, v: &ResourceAny) -> Result<u32> {
        let rt = self.rt(r)?;
        check_resource(&rt, v)?;
        let scope = self
            .scope
            .ok_or_else(|| Error::msg("a borrow cannot be returned from a call"))?;
        self.instance.lower_borrow(rt, v.rep(), scope)
    }
}

fn check_resource(rt: &RtResource, v: &ResourceAny) -> Result<()> {
    if rt.ty != v.ty() {
        return Err(Error::msg(format!(
            "resource type mismatch: expected {:?}, found {:?}",
            rt.ty,
            v.ty()
        )));
    }
    Ok(())
}

/// What receives a call's results (lowering them into the caller, or copying them out to
/// the host) before the callee's `post-return` runs.
pub(crate) type OnResults<'a, T> = &'a mut dyn FnMut(&mut Store<T>, Vec<Val>) -> Result<()>;

/// Calls a component function: `caller` is the instance calling (None for the host).
pub(crate) fn call_func<T: 'static>(
    store: &mut Store<T>,
    func: &FuncRt<T>,
    caller: Option<&Arc<InstanceState>>,
    args: Vec<Val>,
    on_results: OnResults<'_, T>,
) -> Result<()> {
    match func {
        FuncRt::Host { func, ty } => {
            if let Some(f) = &func.async_func {
                let results = match f(StoreContextMut(store), ty.clone(), args)? {
                    HostCall::Ready(r) => r,
                    HostCall::Pending(fut) => crate::wasi::block::block_on(fut)?,
                };
                return on_results(store, results);
            }
            let mut results: Vec<Val> = ty.result_types().iter().map(Val::default_for).collect();
            (func.func)(StoreContextMut(store), ty.clone(), args, &mut results)?;
            on_results(store, results)
        }
        FuncRt::Lifted(f) => call_lifted(store, f, caller, &args, on_results),
    }
}

fn call_lifted<T: 'static>(
    store: &mut Store<T>,
    f: &Lifted,
    caller: Option<&Arc<InstanceState>>,
    args: &[Val],
    on_results: OnResults<'_, T>,
) -> Result<()> {
    let inst = &f.instance;
    let caller = caller.map(|c| &**c);
    inst.enter(caller)?;
    let result = call_lifted_entered(store, f, args, on_results);
    // A trap leaves the instance entered: like a trap in wasmtime, it cannot be entered again.
    if !result.as_ref().is_err_and(|e| e.as_trap().is_some()) {
        inst.leave(caller);
    }
    result
}

fn call_lifted_entered<T: 'static>(
    store: &mut Store<T>,
    f: &Lifted,
    args: &[Val],
    on_results: OnResults<'_, T>,
) -> Result<()> {
    let inst = &f.instance;
    let ty = &f.ty;
    let task = inst.begin_task();
    let flat_args = {
        let mut cx = StoreCx::new(store, &f.opts, inst, Some(task));
        abi::lower_values(
            &mut cx,
            ty.param_types(),
            ty.params_tuple(),
            ty.flat_params().len(),
            MAX_FLAT_PARAMS,
            args,
            None,
        )
    };
    let flat_args = match flat_args {
        Ok(a) => a,
        Err(e) => {
            let _ = inst.end_task(task);
            return Err(e);
        }
    };
    if f.opts.async_ {
        return call_lifted_async(store, f, task, &flat_args, on_results);
    }
    let lifted = call_core(store, f.core, &flat_args).and_then(|flat_results| {
        let mut cx = StoreCx::new(store, &f.opts, inst, None);
        let results = abi::lift_values(
            &mut cx,
            ty.result_types(),
            ty.results_tuple(),
            ty.flat_results().len(),
            MAX_FLAT_RESULTS,
            &flat_results,
        )?;
        Ok((flat_results, results))
    });
    let (flat_results, results) = match lifted {
        Ok(r) => r,
        Err(e) => {
            let _ = inst.end_task(task);
            return Err(e);
        }
    };
    inst.end_task(task)?;
    on_results(store, results)?;
    if let Some(post_return) = f.post_return {
        inst.set_may_leave(false);
        let r = call_core(store, post_return, &flat_results);
        inst.set_may_leave(true);
        r?;
    }
    Ok(())
}

/// An async-lifted call: the core function, then its callback loop until it exits; the
/// results are what it gave `task.return`.
fn call_lifted_async<T: 'static>(
    store: &mut Store<T>,
    f: &Lifted,
    task: u64,
    flat_args: &[u64],
    on_results: OnResults<'_, T>,
) -> Result<()> {
    let inst = &f.instance;
    let on_return = inst.take_next_on_return();
    inst.tasks().push(concurrent::TaskCx {
        on_return,
        ..concurrent::TaskCx::default()
    });
    let run = (|| -> Result<()> {
        let r = call_core(store, f.core, flat_args)?;
        if let Some(cb) = f.opts.callback {
            let packed = r.first().copied().unwrap_or(0) as u32;
            concurrent::callback_loop(store, inst, cb, packed)?;
        }
        Ok(())
    })();
    let cx = inst.tasks().pop().unwrap_or_default();
    let end = inst.end_task(task);
    run?;
    end?;
    let results = cx
        .results
        .ok_or_else(|| Error::msg("the async export exited without calling `task.return`"))?;
    on_results(store, results)
}

/// The core signature of a lowered function (`flatten_functype(.., 'lower')`).
pub(crate) fn lowered_core_type(ty: &ComponentFunc) -> FuncType {
    let mut params: Vec<crate::ValType> = if ty.flat_params().len() > MAX_FLAT_PARAMS {
        vec![crate::ValType::I32]
    } else {
        ty.flat_params().iter().map(|f| f.core()).collect()
    };
    let results = if ty.flat_results().len() > MAX_FLAT_RESULTS {
        params.push(crate::ValType::I32);
        Vec::new()
    } else {
        ty.flat_results().iter().map(|f| f.core()).collect()
    };
    FuncType::new(params, results)
}

/// What a `canon lower`ed core function calls.
pub(crate) struct Lowered<T> {
    pub callee: FuncRt<T>,
    /// The function's type as the lowering component sees it.
    pub ty: ComponentFunc,
    pub opts: RtOpts,
    pub instance: Arc<InstanceState>,
}

/// Creates the core function of a `canon lower`.
pub(crate) fn lower_func<T: 'static>(store: &mut Store<T>, lowered: Lowered<T>) -> CoreFunc {
    if lowered.opts.async_ {
        let core_ty = async_lowered_core_type(&lowered.ty);
        let lowered = Arc::new(lowered);
        return CoreFunc::from_host(
            store,
            core_ty,
            Arc::new(move |caller: Caller<'_, T>, raw: &mut [u64]| {
                raw[0] = lower_async_trampoline(caller.store, &lowered, raw)? as u64;
                Ok(())
            }),
        );
    }
    let core_ty = lowered_core_type(&lowered.ty);
    let lowered = Arc::new(lowered);
    CoreFunc::from_host(
        store,
        core_ty,
        Arc::new(move |caller: Caller<'_, T>, raw: &mut [u64]| {
            lower_trampoline(caller.store, &lowered, raw)
        }),
    )
}

/// The body of a lowered import: lift the core arguments out of the caller, call, lower the
/// results back (into the return pointer when they do not fit one core value).
fn lower_trampoline<T: 'static>(
    store: &mut Store<T>,
    d: &Lowered<T>,
    raw: &mut [u64],
) -> Result<()> {
    d.instance.check_may_leave()?;
    let ty = &d.ty;
    let flat_params = ty.flat_params().len();
    let core_params = if flat_params > MAX_FLAT_PARAMS {
        1
    } else {
        flat_params
    };
    let retptr = (ty.flat_results().len() > MAX_FLAT_RESULTS).then(|| raw[core_params] as u32);
    let (args, lends) = {
        let mut cx = StoreCx::new(store, &d.opts, &d.instance, None);
        let args = abi::lift_values(
            &mut cx,
            ty.param_types(),
            ty.params_tuple(),
            flat_params,
            MAX_FLAT_PARAMS,
            &raw[..core_params],
        );
        (args, std::mem::take(&mut cx.lends))
    };
    let mut out = Vec::new();
    let result = args.and_then(|args| {
        call_func(
            store,
            &d.callee,
            Some(&d.instance),
            args,
            &mut |store, results| {
                let mut cx = StoreCx::new(store, &d.opts, &d.instance, None);
                out = abi::lower_values(
                    &mut cx,
                    ty.result_types(),
                    ty.results_tuple(),
                    ty.flat_results().len(),
                    MAX_FLAT_RESULTS,
                    &results,
                    retptr,
                )?;
                Ok(())
            },
        )
    });
    for idx in lends {
        d.instance.end_lend(idx);
    }
    result?;
    raw[..out.len()].copy_from_slice(&out);
    Ok(())
}

/// The core signature of an async-lowered function: at most 4 flat parameters (else a
/// pointer), a pointer for the results if any, and the packed subtask status.
pub(crate) fn async_lowered_core_type(ty: &ComponentFunc) -> FuncType {
    let mut params: Vec<crate::ValType> =
        if concurrent::async_params_in_memory(ty.flat_params().len()) {
            vec![crate::ValType::I32]
        } else {
            ty.flat_params().iter().map(|f| f.core()).collect()
        };
    if !ty.result_types().is_empty() {
        params.push(crate::ValType::I32);
    }
    FuncType::new(params, [crate::ValType::I32])
}

/// An async-lowered import: the callee runs now; if it finishes, its results are stored
/// and the call returns `RETURNED`, else a subtask is returned to wait for.
fn lower_async_trampoline<T: 'static>(
    store: &mut Store<T>,
    d: &Lowered<T>,
    raw: &[u64],
) -> Result<u32> {
    d.instance.check_may_leave()?;
    let ty = &d.ty;
    let flat_params = ty.flat_params().len();
    let core_params = if concurrent::async_params_in_memory(flat_params) {
        1
    } else {
        flat_params
    };
    let retptr = (!ty.result_types().is_empty()).then(|| raw[core_params] as u32);
    let (args, lends) = {
        let mut cx = StoreCx::new(store, &d.opts, &d.instance, None);
        let args = abi::lift_values(
            &mut cx,
            ty.param_types(),
            ty.params_tuple(),
            flat_params,
            concurrent::MAX_FLAT_ASYNC_PARAMS,
            &raw[..core_params],
        );
        (args, std::mem::take(&mut cx.lends))
    };
    enum Started {
        Host(HostCall),
        /// A guest's async export with a callback: it runs on its own.
        Guest(Arc<std::sync::Mutex<concurrent::CallState>>),
    }
    let call = args.and_then(|args| match &d.callee {
        FuncRt::Host { func, ty } if func.async_func.is_some() => {
            let f = func.async_func.as_ref().expect("checked");
            f(StoreContextMut(store), ty.clone(), args).map(Started::Host)
        }
        FuncRt::Lifted(f) if f.opts.async_ && f.opts.callback.is_some() => {
            concurrent::call_guest_async(store, f.clone(), args).map(Started::Guest)
        }
        callee => {
            let mut out = None;
            call_func(store, callee, Some(&d.instance), args, &mut |_, r| {
                out = Some(r);
                Ok(())
            })?;
            Ok(Started::Host(HostCall::Ready(out.unwrap_or_default())))
        }
    });
    for idx in lends {
        d.instance.end_lend(idx);
    }
    let ty2 = ty.clone();
    let deliver = move |cx: &mut dyn AbiCx, results: Vec<Val>| -> Result<()> {
        abi::lower_values(
            cx,
            ty2.result_types(),
            ty2.results_tuple(),
            ty2.flat_results().len(),
            0,
            &results,
            retptr,
        )
        .map(drop)
    };
    match call? {
        Started::Guest(call) => {
            let (state, results) = {
                let mut c = concurrent::lock_call(&call);
                let results = if concurrent::subtask::resolved(c.state) {
                    c.results.take()
                } else {
                    None
                };
                (c.state, results)
            };
            if concurrent::subtask::resolved(state) {
                if let Some(results) = results {
                    let mut cx = StoreCx::new(store, &d.opts, &d.instance, None);
                    deliver(&mut cx, results)?;
                }
                return Ok(state);
            }
            let h = concurrent::add_guest_subtask(
                &d.instance,
                call,
                state,
                d.opts.clone(),
                Box::new(deliver),
            );
            Ok(state | (h << 4))
        }
        Started::Host(HostCall::Ready(results)) => {
            let mut cx = StoreCx::new(store, &d.opts, &d.instance, None);
            deliver(&mut cx, results)?;
            Ok(concurrent::subtask::RETURNED)
        }
        Started::Host(HostCall::Pending(fut)) => {
            let h = concurrent::add_subtask(&d.instance, fut, d.opts.clone(), Box::new(deliver));
            Ok(concurrent::subtask::STARTED | (h << 4))
        }
    }
}

/// A component function: an export of an instance, callable from the host with [`Val`]s.
#[derive(Clone)]
pub struct Func {
    inner: Arc<dyn Any + Send + Sync>,
}

impl std::fmt::Debug for Func {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Func").finish_non_exhaustive()
    }
}

impl Func {
    pub(crate) fn from_rt<T: 'static>(f: FuncRt<T>) -> Func {
        Func { inner: Arc::new(f) }
    }

    pub(crate) fn rt<T: 'static>(&self) -> Result<&FuncRt<T>> {
        self.inner
            .downcast_ref::<FuncRt<T>>()
            .ok_or_else(|| Error::msg("the function belongs to a store of another data type"))
    }

    /// The function's type.
    pub fn ty<S: AsContext>(&self, _store: S) -> ComponentFunc
    where
        S::Data: 'static,
    {
        match self.rt::<S::Data>() {
            Ok(f) => f.ty().clone(),
            Err(_) => ComponentFunc::new([], None),
        }
    }

    /// Calls the function: `params` are lowered into the callee, its results lifted into
    /// `results` (one slot per result), then its `post-return` runs.
    pub fn call<S: AsContextMut>(
        &self,
        mut store: S,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()>
    where
        S::Data: 'static,
    {
        let f = self.rt::<S::Data>()?;
        let ty = f.ty();
        if params.len() != ty.param_types().len() {
            return Err(Error::msg(format!(
                "expected {} arguments, got {}",
                ty.param_types().len(),
                params.len()
            )));
        }
        if results.len() != ty.result_types().len() {
            return Err(Error::msg(format!(
                "expected {} results, got room for {}",
                ty.result_types().len(),
                results.len()
            )));
        }
        call_func(
            store.as_store_mut(),
            f,
            None,
            params.to_vec(),
            &mut |_, vals| {
                for (slot, v) in results.iter_mut().zip(vals) {
                    *slot = v;
                }
                Ok(())
            },
        )
    }

    /// Calls the function as [`Func::call`]; `on_return` gets the store's data and the
    /// results as soon as they are known: for an async-lifted export at its `task.return`,
    /// while the task goes on running (its event loop is driven until it exits, then this
    /// returns), otherwise when the call is done.
    pub fn call_with_on_return<S: AsContextMut>(
        &self,
        mut store: S,
        params: &[Val],
        results: &mut [Val],
        on_return: impl FnOnce(&mut S::Data, &[Val]) -> Result<()> + Send + 'static,
    ) -> Result<()>
    where
        S::Data: 'static,
    {
        let lifted = match self.rt::<S::Data>()? {
            FuncRt::Lifted(f) if f.opts.async_ => Some(f.instance.clone()),
            _ => None,
        };
        let Some(inst) = lifted else {
            self.call(&mut store, params, results)?;
            return on_return(store.as_store_mut().data_mut(), results);
        };
        inst.set_next_on_return(Some(Box::new(move |data, vals| {
            let data = data
                .downcast_mut::<S::Data>()
                .ok_or_else(|| Error::msg("`task.return` hook: another store data type"))?;
            on_return(data, vals)
        })));
        let r = self.call(&mut store, params, results);
        inst.set_next_on_return(None);
        r
    }

    /// A typed view of this function; fails if the types differ.
    pub fn typed<P, R>(&self, store: impl AsContext<Data: 'static>) -> Result<TypedFunc<P, R>>
    where
        P: LowerList,
        R: LiftList,
    {
        let ty = self.ty(store);
        P::typecheck_list(ty.param_types())
            .map_err(|e| e.context(format!("type mismatch with parameters of {ty}")))?;
        R::typecheck_list(ty.result_types())
            .map_err(|e| e.context(format!("type mismatch with results of {ty}")))?;
        Ok(TypedFunc::new(self.clone()))
    }
}
