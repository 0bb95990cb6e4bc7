//! Functions: the [`Func`] handle, host functions from typed Rust closures ([`IntoFunc`]) or
//! dynamic ones, [`TypedFunc`], the [`Caller`] a host function receives, and the driver that
//! runs the interpreter and performs the host calls it asks for.

use super::{AsContext, AsContextMut, Extern, ExternRef, FuncEntity, HostFn, Store};
use crate::error::{Error, ErrorKind, FrameInfo, Result, TrapCode};
use crate::exec::{self, Exit, Stack};
use crate::types::{slot_count, FuncType, ValType};
use crate::values::{Exn, Val};
use std::marker::PhantomData;
use std::sync::Arc;

/// Most nested host -> wasm entries (each host call that calls back into wasm is one).
const MAX_REENTRY: usize = 1000;

/// A function in a store: wasm or host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Func(pub(crate) u32);

/// The context a host function runs in: the store and the calling instance.
pub struct Caller<'a, T> {
    pub(crate) store: &'a mut Store<T>,
    pub(crate) instance: Option<u32>,
}

impl<T> Caller<'_, T> {
    /// The store's data.
    pub fn data(&self) -> &T {
        self.store.data()
    }
    /// The store's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        self.store.data_mut()
    }
    /// The engine.
    pub fn engine(&self) -> &crate::Engine {
        self.store.engine()
    }
    /// An export of the calling instance (e.g. its `memory`).
    pub fn get_export(&mut self, name: &str) -> Option<Extern> {
        let inst = self.instance?;
        self.store.inner.instances[inst as usize]
            .exports
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, e)| *e)
    }
}

impl<T> AsContext for Caller<'_, T> {
    type Data = T;
    fn as_store(&self) -> &Store<T> {
        self.store
    }
}
impl<T> AsContextMut for Caller<'_, T> {
    fn as_store_mut(&mut self) -> &mut Store<T> {
        self.store
    }
}

/// A type that crosses the wasm boundary as one value.
pub trait WasmTy: Sized + 'static {
    #[doc(hidden)]
    fn valtype() -> ValType;
    #[doc(hidden)]
    fn into_raw(self) -> u64;
    #[doc(hidden)]
    fn from_raw(raw: u64) -> Self;
}

macro_rules! wasm_ty {
    ($t:ty, $vt:ident, |$s:ident| $into:expr, |$r:ident| $from:expr) => {
        impl WasmTy for $t {
            fn valtype() -> ValType {
                ValType::$vt
            }
            fn into_raw(self) -> u64 {
                let $s = self;
                $into
            }
            fn from_raw($r: u64) -> Self {
                $from
            }
        }
    };
}
wasm_ty!(i32, I32, |s| s as u32 as u64, |r| r as u32 as i32);
wasm_ty!(u32, I32, |s| s as u64, |r| r as u32);
wasm_ty!(i64, I64, |s| s as u64, |r| r as i64);
wasm_ty!(u64, I64, |s| s, |r| r);
wasm_ty!(f32, F32, |s| s.to_bits() as u64, |r| f32::from_bits(
    r as u32
));
wasm_ty!(f64, F64, |s| s.to_bits(), |r| f64::from_bits(r));
wasm_ty!(
    Option<Func>,
    FuncRef,
    |s| s.map_or(0, |f| f.0 as u64 + 1),
    |r| r.checked_sub(1).map(|i| Func(i as u32))
);
wasm_ty!(
    Option<ExternRef>,
    ExternRef,
    |s| s.map_or(0, |e| e.0 as u64 + 1),
    |r| r.checked_sub(1).map(|i| ExternRef(i as u32))
);

/// Parameters of a typed call: `()`, a single [`WasmTy`] or a tuple of them.
pub trait WasmParams: Sized + 'static {
    #[doc(hidden)]
    fn valtypes() -> Vec<ValType>;
    #[doc(hidden)]
    fn store_raw(self, out: &mut [u64]);
    #[doc(hidden)]
    fn load_raw(raw: &[u64]) -> Self;
}

/// Results of a typed call (same shapes as [`WasmParams`]).
pub trait WasmResults: WasmParams {}
impl<P: WasmParams> WasmResults for P {}

impl<A: WasmTy> WasmParams for A {
    fn valtypes() -> Vec<ValType> {
        vec![A::valtype()]
    }
    fn store_raw(self, out: &mut [u64]) {
        out[0] = self.into_raw();
    }
    fn load_raw(raw: &[u64]) -> Self {
        A::from_raw(raw[0])
    }
}

macro_rules! tuple_params {
    ($($a:ident $i:tt),*) => {
        impl<$($a: WasmTy),*> WasmParams for ($($a,)*) {
            fn valtypes() -> Vec<ValType> {
                vec![$($a::valtype()),*]
            }
            #[allow(unused_variables)]
            fn store_raw(self, out: &mut [u64]) {
                $(out[$i] = self.$i.into_raw();)*
            }
            #[allow(unused_variables, clippy::unused_unit)]
            fn load_raw(raw: &[u64]) -> Self {
                ($($a::from_raw(raw[$i]),)*)
            }
        }
    };
}
tuple_params!();
tuple_params!(A 0);
tuple_params!(A 0, B 1);
tuple_params!(A 0, B 1, C 2);
tuple_params!(A 0, B 1, C 2, D 3);
tuple_params!(A 0, B 1, C 2, D 3, E 4);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);

/// What a host closure may return: results, or `Result` of results.
pub trait HostReturn: 'static {
    #[doc(hidden)]
    type Results: WasmResults;
    #[doc(hidden)]
    fn into_result(self) -> Result<Self::Results>;
}
impl<R: WasmResults> HostReturn for R {
    type Results = R;
    fn into_result(self) -> Result<R> {
        Ok(self)
    }
}
impl<R: WasmResults> HostReturn for Result<R> {
    type Results = R;
    fn into_result(self) -> Result<R> {
        self
    }
}

/// A Rust closure usable as a host function: `Fn([Caller<T>,] A1, .., An) -> R`.
pub trait IntoFunc<T, Params, Results>: Send + Sync + 'static {
    #[doc(hidden)]
    fn into_host(self) -> (FuncType, HostFn<T>);
}

macro_rules! into_func {
    ($($a:ident $i:tt),*) => {
        impl<T, F, R, $($a: WasmTy),*> IntoFunc<T, ($($a,)*), R> for F
        where
            F: Fn($($a),*) -> R + Send + Sync + 'static,
            R: HostReturn,
        {
            #[allow(unused_variables)]
            fn into_host(self) -> (FuncType, HostFn<T>) {
                let ty = FuncType::new(vec![$($a::valtype()),*], R::Results::valtypes());
                let f: HostFn<T> = Arc::new(move |_caller: Caller<'_, T>, raw: &mut [u64]| {
                    let r = self($($a::from_raw(raw[$i])),*).into_result()?;
                    r.store_raw(raw);
                    Ok(())
                });
                (ty, f)
            }
        }
        impl<T, F, R, $($a: WasmTy),*> IntoFunc<T, (Caller<'static, T>, $($a,)*), R> for F
        where
            F: Fn(Caller<'_, T>, $($a),*) -> R + Send + Sync + 'static,
            R: HostReturn,
        {
            #[allow(unused_variables)]
            fn into_host(self) -> (FuncType, HostFn<T>) {
                let ty = FuncType::new(vec![$($a::valtype()),*], R::Results::valtypes());
                let f: HostFn<T> = Arc::new(move |caller: Caller<'_, T>, raw: &mut [u64]| {
                    let r = self(caller, $($a::from_raw(raw[$i])),*).into_result()?;
                    r.store_raw(raw);
                    Ok(())
                });
                (ty, f)
            }
        }
    };
}
into_func!();
into_func!(A 0);
into_func!(A 0, B 1);
into_func!(A 0, B 1, C 2);
into_func!(A 0, B 1, C 2, D 3);
into_func!(A 0, B 1, C 2, D 3, E 4);
into_func!(A 0, B 1, C 2, D 3, E 4, F2 5);
into_func!(A 0, B 1, C 2, D 3, E 4, F2 5, G 6);
into_func!(A 0, B 1, C 2, D 3, E 4, F2 5, G 6, H 7);
into_func!(A 0, B 1, C 2, D 3, E 4, F2 5, G 6, H 7, I 8);
into_func!(A 0, B 1, C 2, D 3, E 4, F2 5, G 6, H 7, I 8, J 9);

/// Wraps a dynamic closure over `Val`s into the raw host form.
pub(crate) fn dynamic_host<T: 'static>(
    ty: FuncType,
    func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
) -> HostFn<T> {
    Arc::new(move |caller: Caller<'_, T>, raw: &mut [u64]| {
        // Raw slots: a `v128` takes two.
        let params: Vec<Val> = Val::read_slots(raw, ty.params());
        let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default_for(*t)).collect();
        func(caller, &params, &mut results)?;
        let mut at = 0;
        for (i, (v, t)) in results.iter().zip(ty.results()).enumerate() {
            if v.ty() != *t {
                return Err(Error::msg(format!(
                    "host function returned a {} for result {i} of type {t}",
                    v.ty()
                )));
            }
            at += v.write_slots(&mut raw[at..]);
        }
        Ok(())
    })
}

impl Func {
    pub(crate) fn from_host<T>(store: &mut Store<T>, ty: FuncType, f: HostFn<T>) -> Func {
        let type_id = store.inner.engine.intern_type(&ty);
        let host = store.host_funcs.len() as u32;
        store.host_funcs.push(f);
        let idx = store.inner.funcs.len() as u32;
        store
            .inner
            .funcs
            .push(FuncEntity::Host { host, type_id, ty });
        Func(idx)
    }

    /// A host function from a typed closure.
    pub fn wrap<T, Params, Results>(
        mut store: impl AsContextMut<Data = T>,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Func {
        let (ty, f) = func.into_host();
        Func::from_host(store.as_store_mut(), ty, f)
    }

    /// A host function from a dynamic closure over [`Val`]s.
    pub fn new<T: 'static>(
        mut store: impl AsContextMut<Data = T>,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Func {
        let f = dynamic_host(ty.clone(), func);
        Func::from_host(store.as_store_mut(), ty, f)
    }

    /// The function's type.
    pub fn ty(&self, store: impl AsContext) -> FuncType {
        let inner = &store.as_store().inner;
        match &inner.funcs[self.0 as usize] {
            FuncEntity::Wasm {
                instance, index, ..
            } => inner.instances[*instance as usize]
                .module
                .func_type(*index)
                .clone(),
            FuncEntity::Host { ty, .. } => ty.clone(),
        }
    }

    /// Calls the function, checking the arguments against its type.
    pub fn call(
        &self,
        mut store: impl AsContextMut,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let store = store.as_store_mut();
        let ty = self.ty(&*store);
        if params.len() != ty.params().len() {
            return Err(Error::msg(format!(
                "expected {} arguments, got {}",
                ty.params().len(),
                params.len()
            )));
        }
        for (i, (p, t)) in params.iter().zip(ty.params()).enumerate() {
            if p.ty() != *t {
                return Err(Error::msg(format!(
                    "argument {i} has type {}, expected {t}",
                    p.ty()
                )));
            }
        }
        if results.len() != ty.results().len() {
            return Err(Error::msg(format!(
                "expected {} results, got room for {}",
                ty.results().len(),
                results.len()
            )));
        }
        // Raw slots: a `v128` takes two.
        let (np, nr) = (slot_count(ty.params()), slot_count(ty.results()));
        let mut raw = vec![0u64; np.max(nr)];
        let mut at = 0;
        for p in params {
            at += p.write_slots(&mut raw[at..]);
        }
        if ty.params().iter().any(|t| t.is_ref()) {
            check_ref_args(&store.inner, self.0, &raw[..params.len()])?;
        }
        invoke(store, self.0, &mut raw)?;
        for (out, v) in results.iter_mut().zip(Val::read_slots(&raw, ty.results())) {
            *out = v;
        }
        Ok(())
    }

    /// A typed view of this function; fails if the types differ.
    pub fn typed<P: WasmParams, R: WasmResults>(
        &self,
        store: impl AsContext,
    ) -> Result<TypedFunc<P, R>> {
        let ty = self.ty(store);
        let (p, r) = (P::valtypes(), R::valtypes());
        if ty.params() != p.as_slice() || ty.results() != r.as_slice() {
            return Err(Error::msg(format!(
                "type mismatch: the function is {ty}, asked for {}",
                FuncType::new(p, r)
            )));
        }
        Ok(TypedFunc {
            func: *self,
            params: ty.params().len(),
            results: ty.results().len(),
            _marker: PhantomData,
        })
    }
}

/// A function with statically known parameter and result types.
pub struct TypedFunc<P, R> {
    func: Func,
    params: usize,
    results: usize,
    _marker: PhantomData<fn(P) -> R>,
}

impl<P, R> Clone for TypedFunc<P, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P, R> Copy for TypedFunc<P, R> {}

impl<P: WasmParams, R: WasmResults> TypedFunc<P, R> {
    /// Calls the function.
    pub fn call(&self, mut store: impl AsContextMut, params: P) -> Result<R> {
        let mut raw = [0u64; 16];
        let n = self.params.max(self.results);
        let mut heap;
        let buf: &mut [u64] = if n <= raw.len() {
            &mut raw[..n]
        } else {
            heap = vec![0u64; n];
            &mut heap
        };
        params.store_raw(buf);
        invoke(store.as_store_mut(), self.func.0, buf)?;
        Ok(R::load_raw(buf))
    }
    /// The untyped function.
    pub fn func(&self) -> Func {
        self.func
    }
}

/// Calls store function `func`: arguments in `raw[..params]`, results to `raw[..results]`.
pub(crate) fn invoke<T>(store: &mut Store<T>, func: u32, raw: &mut [u64]) -> Result<()> {
    if let FuncEntity::Host { host, .. } = &store.inner.funcs[func as usize] {
        let f = store.host_funcs[*host as usize].clone();
        return f(
            Caller {
                store,
                instance: None,
            },
            raw,
        );
    }
    if store.inner.depth >= MAX_REENTRY {
        return Err(Error::trap(TrapCode::StackOverflow));
    }
    let mut stack = store.inner.stacks.pop().unwrap_or_default();
    stack.frames.clear();
    let FuncEntity::Wasm {
        instance, index, ..
    } = &store.inner.funcs[func as usize]
    else {
        unreachable!("host functions returned above")
    };
    let module = &store.inner.instances[*instance as usize].module;
    let ty = module.func_type(*index);
    let (np, nr) = (slot_count(ty.params()), slot_count(ty.results()));
    if stack.slots.len() < np.max(nr) {
        stack.slots.resize(np.max(nr).max(1024), 0);
    }
    stack.slots[..np].copy_from_slice(&raw[..np]);
    stack.sp = 0;
    store.inner.depth += 1;
    let result = drive(store, &mut stack, func);
    store.inner.depth -= 1;
    if result.is_ok() {
        raw[..nr].copy_from_slice(&stack.slots[..nr]);
    }
    stack.frames.clear();
    store.inner.stacks.push(stack);
    result
}

/// Runs until the entry frame returns, performing host calls on the way.
fn drive<T>(store: &mut Store<T>, stack: &mut Stack, func: u32) -> Result<()> {
    exec::call(&store.inner, stack, func)?;
    loop {
        match exec::run(&mut store.inner, stack, 0) {
            Ok(Exit::Returned) => return Ok(()),
            Ok(Exit::Throw(exn)) => {
                if !exec::catch(&store.inner, stack, exn, 0) {
                    return Err(Error::new(ErrorKind::UncaughtException(Exn(exn))));
                }
            }
            Ok(Exit::HostCall { func }) => {
                let FuncEntity::Host { host, ty, .. } = &store.inner.funcs[func as usize] else {
                    unreachable!("host call exit names a host function")
                };
                let (np, nr) = (slot_count(ty.params()), slot_count(ty.results()));
                let f = store.host_funcs[*host as usize].clone();
                // The arguments start at `stack.sp`; results go to the same place.
                let at = stack.sp;
                let mut buf = [0u64; 16];
                let mut heap;
                let raw: &mut [u64] = if np.max(nr) <= buf.len() {
                    &mut buf[..np.max(nr)]
                } else {
                    heap = vec![0u64; np.max(nr)];
                    &mut heap
                };
                raw[..np].copy_from_slice(&stack.slots[at..at + np]);
                let instance = stack.frames.last().map(|f| f.instance);
                if let Err(e) = f(Caller { store, instance }, raw) {
                    // An exception escaping a nested entry (wasm called from this host
                    // function) is thrown at the call site here.
                    if let ErrorKind::UncaughtException(x) = e.kind() {
                        if exec::catch(&store.inner, stack, x.0, 0) {
                            continue;
                        }
                        return Err(e);
                    }
                    return Err(with_trace(store, stack, e));
                }
                stack.slots[at..at + nr].copy_from_slice(&raw[..nr]);
            }
            Err(e) => return Err(with_trace(store, stack, e)),
        }
    }
}

/// Attaches the wasm backtrace (innermost first) to a trap.
fn with_trace<T>(store: &Store<T>, stack: &Stack, mut err: Error) -> Error {
    if let Some(trap) = err.as_trap_mut() {
        if trap.trace().is_empty() {
            let trace = stack
                .frames
                .iter()
                .rev()
                .map(|f| {
                    let module = &store.inner.instances[f.instance as usize].module;
                    FrameInfo {
                        module_name: module.name.clone(),
                        func_index: f.code.get().func_index,
                        func_name: module.func_names.get(&f.code.get().func_index).cloned(),
                    }
                })
                .collect();
            trap.set_trace(trace);
        }
    }
    err
}

/// Checks reference arguments from the host against the callee's exact parameter types
/// (`(ref $t)`, `i31ref`, non-null types): the guest relies on them.
fn check_ref_args(store: &super::StoreInner, func: u32, raw: &[u64]) -> Result<()> {
    use crate::exec::gc::{ref_test, target_of};
    let id = store.funcs[func as usize].type_id();
    let targets: Vec<Option<crate::exec::gc::CastTarget>> = {
        let reg = store.engine.types();
        reg.info(id)
            .params
            .iter()
            .map(|t| match t {
                wasmparser::ValType::Ref(r) => Some(target_of(&reg, *r)),
                _ => None,
            })
            .collect()
    };
    for (i, (t, v)) in targets.iter().zip(raw).enumerate() {
        if let Some(t) = t {
            if !ref_test(store, *v, t) {
                return Err(Error::msg(format!(
                    "argument {i} is not of the parameter's reference type"
                )));
            }
        }
    }
    Ok(())
}
