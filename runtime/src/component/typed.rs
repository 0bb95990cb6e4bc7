//! Static types for component values: Rust types that convert to and from [`Val`]s and
//! check themselves against a component's [`Type`]s, so that host functions
//! (`LinkerInstance::func_wrap`) and calls ([`TypedFunc`]) can use plain Rust values.

use super::func::Func;
use super::resources::{Resource, ResourceAny, ResourceType};
use super::types::Type;
use super::values::Val;
use crate::error::{Error, Result};
use crate::store::AsContextMut;
use std::marker::PhantomData;

fn mismatch(expected: &str, ty: &Type) -> Error {
    Error::msg(format!("type mismatch: expected {expected}, found {ty}"))
}

fn val_mismatch(expected: &str, v: &Val) -> Error {
    Error::msg(format!(
        "type mismatch: expected {expected}, found a {}",
        v.desc()
    ))
}

/// A Rust type that has a component value type.
pub trait ComponentType {
    /// Checks that `ty` is this type.
    #[doc(hidden)]
    fn typecheck(ty: &Type) -> Result<()>;
    /// Checks an optional payload (a case, an `ok` or `error` side): `()` means none.
    #[doc(hidden)]
    fn typecheck_payload(ty: Option<&Type>) -> Result<()> {
        match ty {
            Some(t) => Self::typecheck(t),
            None => Err(Error::msg("type mismatch: expected a payload, found none")),
        }
    }
}

/// A Rust type that can be made from a component value.
pub trait Lift: ComponentType + Sized {
    /// Converts a value (already checked against the type).
    #[doc(hidden)]
    fn lift(v: Val) -> Result<Self>;
    /// Converts an optional payload.
    #[doc(hidden)]
    fn lift_payload(v: Option<Val>) -> Result<Self> {
        match v {
            Some(v) => Self::lift(v),
            None => Err(Error::msg("expected a payload, found none")),
        }
    }
}

/// A Rust type that can be turned into a component value.
pub trait Lower: ComponentType {
    /// Converts the value.
    #[doc(hidden)]
    fn lower(&self) -> Result<Val>;
    /// Converts the value as an optional payload.
    #[doc(hidden)]
    fn lower_payload(&self) -> Result<Option<Val>> {
        self.lower().map(Some)
    }
}

/// The parameters or results of a function as a Rust tuple: `()`, `(A,)`, `(A, B)`, ..
pub trait ComponentNamedList {
    /// Checks the list against the function's parameter or result types.
    #[doc(hidden)]
    fn typecheck_list(types: &[Type]) -> Result<()>;
}

/// A [`ComponentNamedList`] made from values.
pub trait LiftList: ComponentNamedList + Sized {
    /// Converts the values.
    #[doc(hidden)]
    fn lift_list(vals: Vec<Val>) -> Result<Self>;
}

/// A [`ComponentNamedList`] turned into values.
pub trait LowerList: ComponentNamedList {
    /// Converts to values.
    #[doc(hidden)]
    fn lower_list(&self) -> Result<Vec<Val>>;
}

macro_rules! primitive {
    ($($t:ty => $variant:ident $name:literal,)*) => {$(
        impl ComponentType for $t {
            fn typecheck(ty: &Type) -> Result<()> {
                match ty {
                    Type::$variant => Ok(()),
                    _ => Err(mismatch($name, ty)),
                }
            }
        }
        impl Lift for $t {
            fn lift(v: Val) -> Result<Self> {
                match v {
                    Val::$variant(x) => Ok(x),
                    other => Err(val_mismatch($name, &other)),
                }
            }
        }
        impl Lower for $t {
            fn lower(&self) -> Result<Val> {
                Ok(Val::$variant(self.clone()))
            }
        }
    )*};
}

primitive! {
    bool => Bool "bool",
    i8 => S8 "s8",
    u8 => U8 "u8",
    i16 => S16 "s16",
    u16 => U16 "u16",
    i32 => S32 "s32",
    u32 => U32 "u32",
    i64 => S64 "s64",
    u64 => U64 "u64",
    f32 => Float32 "f32",
    f64 => Float64 "f64",
    char => Char "char",
    String => String "string",
}

impl ComponentType for str {
    fn typecheck(ty: &Type) -> Result<()> {
        String::typecheck(ty)
    }
}
impl Lower for str {
    fn lower(&self) -> Result<Val> {
        Ok(Val::String(self.to_string()))
    }
}
impl<T: ComponentType + ?Sized> ComponentType for &T {
    fn typecheck(ty: &Type) -> Result<()> {
        T::typecheck(ty)
    }
}
impl<T: Lower + ?Sized> Lower for &T {
    fn lower(&self) -> Result<Val> {
        (**self).lower()
    }
}

/// `()` is the absent payload of a case or `result` side.
impl ComponentType for () {
    fn typecheck(ty: &Type) -> Result<()> {
        Err(mismatch("nothing", ty))
    }
    fn typecheck_payload(ty: Option<&Type>) -> Result<()> {
        match ty {
            None => Ok(()),
            Some(t) => Err(mismatch("no payload", t)),
        }
    }
}
impl Lift for () {
    fn lift(v: Val) -> Result<Self> {
        Err(val_mismatch("no payload", &v))
    }
    fn lift_payload(v: Option<Val>) -> Result<Self> {
        match v {
            None => Ok(()),
            Some(v) => Err(val_mismatch("no payload", &v)),
        }
    }
}
impl Lower for () {
    fn lower(&self) -> Result<Val> {
        Err(Error::msg("`()` is not a component value"))
    }
    fn lower_payload(&self) -> Result<Option<Val>> {
        Ok(None)
    }
}

impl<T: ComponentType> ComponentType for Vec<T> {
    fn typecheck(ty: &Type) -> Result<()> {
        match ty {
            Type::List(l) => T::typecheck(l.ty()),
            _ => Err(mismatch("list", ty)),
        }
    }
}
impl<T: Lift> Lift for Vec<T> {
    fn lift(v: Val) -> Result<Self> {
        match v {
            Val::List(items) => items.into_iter().map(T::lift).collect(),
            other => Err(val_mismatch("list", &other)),
        }
    }
}
impl<T: Lower> Lower for Vec<T> {
    fn lower(&self) -> Result<Val> {
        self.as_slice().lower()
    }
}
impl<T: ComponentType> ComponentType for [T] {
    fn typecheck(ty: &Type) -> Result<()> {
        Vec::<T>::typecheck(ty)
    }
}
impl<T: Lower> Lower for [T] {
    fn lower(&self) -> Result<Val> {
        Ok(Val::List(
            self.iter().map(|x| x.lower()).collect::<Result<_>>()?,
        ))
    }
}

impl<T: ComponentType> ComponentType for Option<T> {
    fn typecheck(ty: &Type) -> Result<()> {
        match ty {
            Type::Option(o) => T::typecheck(o.ty()),
            _ => Err(mismatch("option", ty)),
        }
    }
}
impl<T: Lift> Lift for Option<T> {
    fn lift(v: Val) -> Result<Self> {
        match v {
            Val::Option(p) => p.map(|b| T::lift(*b)).transpose(),
            other => Err(val_mismatch("option", &other)),
        }
    }
}
impl<T: Lower> Lower for Option<T> {
    fn lower(&self) -> Result<Val> {
        Ok(Val::Option(match self {
            Some(x) => Some(Box::new(x.lower()?)),
            None => None,
        }))
    }
}

impl<T: ComponentType, E: ComponentType> ComponentType for Result<T, E> {
    fn typecheck(ty: &Type) -> Result<()> {
        match ty {
            Type::Result(r) => {
                T::typecheck_payload(r.ok())?;
                E::typecheck_payload(r.err())
            }
            _ => Err(mismatch("result", ty)),
        }
    }
}
impl<T: Lift, E: Lift> Lift for Result<T, E> {
    fn lift(v: Val) -> Result<Self> {
        match v {
            Val::Result(Ok(p)) => Ok(Ok(T::lift_payload(p.map(|b| *b))?)),
            Val::Result(Err(p)) => Ok(Err(E::lift_payload(p.map(|b| *b))?)),
            other => Err(val_mismatch("result", &other)),
        }
    }
}
impl<T: Lower, E: Lower> Lower for Result<T, E> {
    fn lower(&self) -> Result<Val> {
        Ok(Val::Result(match self {
            Ok(x) => Ok(x.lower_payload()?.map(Box::new)),
            Err(e) => Err(e.lower_payload()?.map(Box::new)),
        }))
    }
}

impl<T: 'static> ComponentType for Resource<T> {
    fn typecheck(ty: &Type) -> Result<()> {
        match ty {
            Type::Own(_) | Type::Borrow(_) => Ok(()),
            _ => Err(mismatch("a resource", ty)),
        }
    }
}
impl<T: 'static> Lift for Resource<T> {
    fn lift(v: Val) -> Result<Self> {
        match v {
            Val::Resource(r) => r.try_into_resource(),
            other => Err(val_mismatch("resource", &other)),
        }
    }
}
impl<T: 'static> Lower for Resource<T> {
    fn lower(&self) -> Result<Val> {
        Ok(Val::Resource(ResourceAny::new(
            ResourceType::host::<T>(),
            self.rep(),
            self.owned(),
        )))
    }
}

impl ComponentType for ResourceAny {
    fn typecheck(ty: &Type) -> Result<()> {
        Resource::<()>::typecheck(ty)
    }
}
impl Lift for ResourceAny {
    fn lift(v: Val) -> Result<Self> {
        match v {
            Val::Resource(r) => Ok(r),
            other => Err(val_mismatch("resource", &other)),
        }
    }
}
impl Lower for ResourceAny {
    fn lower(&self) -> Result<Val> {
        Ok(Val::Resource(self.clone()))
    }
}

macro_rules! tuples {
    ($(($($t:ident $i:tt),*))*) => {$(
        impl<$($t: ComponentType),*> ComponentNamedList for ($($t,)*) {
            #[allow(unused_variables)]
            fn typecheck_list(types: &[Type]) -> Result<()> {
                let n: usize = 0 $(+ { let _ = stringify!($t); 1 })*;
                if types.len() != n {
                    return Err(Error::msg(format!(
                        "type mismatch: expected {n} types, found {}",
                        types.len()
                    )));
                }
                $($t::typecheck(&types[$i])?;)*
                Ok(())
            }
        }
        impl<$($t: Lift),*> LiftList for ($($t,)*) {
            #[allow(unused_variables, unused_mut, clippy::unused_unit)]
            fn lift_list(vals: Vec<Val>) -> Result<Self> {
                let mut it = vals.into_iter();
                Ok(($($t::lift(it.next().ok_or_else(|| Error::msg("too few values"))?)?,)*))
            }
        }
        impl<$($t: Lower),*> LowerList for ($($t,)*) {
            fn lower_list(&self) -> Result<Vec<Val>> {
                Ok(vec![$(self.$i.lower()?),*])
            }
        }
    )*};
}

tuples! {
    ()
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9)
}

macro_rules! tuple_values {
    ($(($($t:ident $i:tt),*))*) => {$(
        impl<$($t: ComponentType),*> ComponentType for ($($t,)*) {
            fn typecheck(ty: &Type) -> Result<()> {
                match ty {
                    Type::Tuple(t) => <($($t,)*) as ComponentNamedList>::typecheck_list(t.types()),
                    _ => Err(mismatch("tuple", ty)),
                }
            }
        }
        impl<$($t: Lift),*> Lift for ($($t,)*) {
            fn lift(v: Val) -> Result<Self> {
                match v {
                    Val::Tuple(items) => <($($t,)*) as LiftList>::lift_list(items),
                    other => Err(val_mismatch("tuple", &other)),
                }
            }
        }
        impl<$($t: Lower),*> Lower for ($($t,)*) {
            fn lower(&self) -> Result<Val> {
                Ok(Val::Tuple(<($($t,)*) as LowerList>::lower_list(self)?))
            }
        }
    )*};
}

tuple_values! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
}

/// A component function with statically known parameter and result types.
pub struct TypedFunc<P, R> {
    func: Func,
    _marker: PhantomData<fn(P) -> R>,
}

impl<P, R> Clone for TypedFunc<P, R> {
    fn clone(&self) -> Self {
        TypedFunc::new(self.func.clone())
    }
}

impl<P, R> TypedFunc<P, R> {
    pub(crate) fn new(func: Func) -> Self {
        TypedFunc {
            func,
            _marker: PhantomData,
        }
    }
    /// The untyped function.
    pub fn func(&self) -> &Func {
        &self.func
    }
}

impl<P: LowerList, R: LiftList> TypedFunc<P, R> {
    /// Calls the function.
    pub fn call<S: AsContextMut>(&self, mut store: S, params: P) -> Result<R>
    where
        S::Data: 'static,
    {
        let args = params.lower_list()?;
        let ty = self.func.ty(&mut store);
        let mut results: Vec<Val> = ty.result_types().iter().map(Val::default_for).collect();
        self.func.call(&mut store, &args, &mut results)?;
        R::lift_list(results)
    }
}
