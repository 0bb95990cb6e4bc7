//! Component-level values: [`Val`], what the canonical ABI lifts out of and lowers into core
//! wasm, and what host functions and embedders exchange with components.

use super::resources::ResourceAny;
use super::types::Type;
use std::fmt;

/// A component value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// `bool`
    Bool(bool),
    /// `s8`
    S8(i8),
    /// `u8`
    U8(u8),
    /// `s16`
    S16(i16),
    /// `u16`
    U16(u16),
    /// `s32`
    S32(i32),
    /// `u32`
    U32(u32),
    /// `s64`
    S64(i64),
    /// `u64`
    U64(u64),
    /// `f32`
    Float32(f32),
    /// `f64`
    Float64(f64),
    /// `char`
    Char(char),
    /// `string`
    String(String),
    /// `list<T>`
    List(Vec<Val>),
    /// `record`: fields by name, in the type's order.
    Record(Vec<(String, Val)>),
    /// `tuple<..>`
    Tuple(Vec<Val>),
    /// `variant`: the case name and its payload.
    Variant(String, Option<Box<Val>>),
    /// `enum`: the case name.
    Enum(String),
    /// `option<T>`
    Option(Option<Box<Val>>),
    /// `result<T, E>`
    Result(Result<Option<Box<Val>>, Option<Box<Val>>>),
    /// `flags`: the names of the flags that are set.
    Flags(Vec<String>),
    /// `own<R>` or `borrow<R>`.
    Resource(ResourceAny),
    /// `stream<T>`
    Stream(super::concurrent::StreamAny),
    /// `future<T>`
    Future(super::concurrent::FutureAny),
    /// `error-context`
    ErrorContext(super::concurrent::ErrorContextAny),
}

impl Val {
    /// What kind of value this is, for messages.
    pub fn desc(&self) -> &'static str {
        match self {
            Val::Bool(_) => "bool",
            Val::S8(_) => "s8",
            Val::U8(_) => "u8",
            Val::S16(_) => "s16",
            Val::U16(_) => "u16",
            Val::S32(_) => "s32",
            Val::U32(_) => "u32",
            Val::S64(_) => "s64",
            Val::U64(_) => "u64",
            Val::Float32(_) => "f32",
            Val::Float64(_) => "f64",
            Val::Char(_) => "char",
            Val::String(_) => "string",
            Val::List(_) => "list",
            Val::Record(_) => "record",
            Val::Tuple(_) => "tuple",
            Val::Variant(..) => "variant",
            Val::Enum(_) => "enum",
            Val::Option(_) => "option",
            Val::Result(_) => "result",
            Val::Flags(_) => "flags",
            Val::Resource(_) => "resource",
            Val::Stream(_) => "stream",
            Val::Future(_) => "future",
            Val::ErrorContext(_) => "error-context",
        }
    }

    /// A placeholder value of `ty` (zero, empty, the first case), e.g. to size a results
    /// buffer.
    pub fn default_for(ty: &Type) -> Val {
        match ty {
            Type::Bool => Val::Bool(false),
            Type::S8 => Val::S8(0),
            Type::U8 => Val::U8(0),
            Type::S16 => Val::S16(0),
            Type::U16 => Val::U16(0),
            Type::S32 => Val::S32(0),
            Type::U32 => Val::U32(0),
            Type::S64 => Val::S64(0),
            Type::U64 => Val::U64(0),
            Type::Float32 => Val::Float32(0.0),
            Type::Float64 => Val::Float64(0.0),
            Type::Char => Val::Char('\0'),
            Type::String => Val::String(String::new()),
            Type::List(_) => Val::List(Vec::new()),
            Type::Record(r) => Val::Record(
                r.fields()
                    .map(|(n, t)| (n.to_string(), Val::default_for(t)))
                    .collect(),
            ),
            Type::Tuple(t) => Val::Tuple(t.types().iter().map(Val::default_for).collect()),
            Type::Variant(v) => {
                let (name, ty) = v.cases().next().expect("variants have a case");
                Val::Variant(name.to_string(), ty.map(|t| Box::new(Val::default_for(t))))
            }
            Type::Enum(e) => Val::Enum(e.names().next().unwrap_or_default().to_string()),
            Type::Option(_) => Val::Option(None),
            Type::Result(r) => Val::Result(Ok(r.ok().map(|t| Box::new(Val::default_for(t))))),
            Type::Flags(_) => Val::Flags(Vec::new()),
            Type::Own(_)
            | Type::Borrow(_)
            | Type::Stream(_)
            | Type::Future(_)
            | Type::ErrorContext => Val::Bool(false),
        }
    }
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn seq(f: &mut fmt::Formatter<'_>, items: &[Val]) -> fmt::Result {
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{v}")?;
            }
            Ok(())
        }
        let payload = |f: &mut fmt::Formatter<'_>, name: &str, p: &Option<Box<Val>>| match p {
            Some(v) => write!(f, "{name}({v})"),
            None => f.write_str(name),
        };
        match self {
            Val::Bool(v) => write!(f, "{v}"),
            Val::S8(v) => write!(f, "{v}"),
            Val::U8(v) => write!(f, "{v}"),
            Val::S16(v) => write!(f, "{v}"),
            Val::U16(v) => write!(f, "{v}"),
            Val::S32(v) => write!(f, "{v}"),
            Val::U32(v) => write!(f, "{v}"),
            Val::S64(v) => write!(f, "{v}"),
            Val::U64(v) => write!(f, "{v}"),
            Val::Float32(v) => write!(f, "{v}"),
            Val::Float64(v) => write!(f, "{v}"),
            Val::Char(c) => write!(f, "{c:?}"),
            Val::String(s) => write!(f, "{s:?}"),
            Val::List(items) => {
                f.write_str("[")?;
                seq(f, items)?;
                f.write_str("]")
            }
            Val::Record(fields) => {
                f.write_str("{")?;
                for (i, (n, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{n}: {v}")?;
                }
                f.write_str("}")
            }
            Val::Tuple(items) => {
                f.write_str("(")?;
                seq(f, items)?;
                f.write_str(")")
            }
            Val::Variant(name, p) => payload(f, name, p),
            Val::Enum(name) => f.write_str(name),
            Val::Option(None) => f.write_str("none"),
            Val::Option(p @ Some(_)) => payload(f, "some", p),
            Val::Result(Ok(p)) => payload(f, "ok", p),
            Val::Result(Err(p)) => payload(f, "err", p),
            Val::Flags(names) => write!(f, "{{{}}}", names.join(", ")),
            Val::Resource(r) => write!(f, "{r:?}"),
            Val::Stream(s) => write!(f, "{s:?}"),
            Val::Future(s) => write!(f, "{s:?}"),
            Val::ErrorContext(s) => write!(f, "{s:?}"),
        }
    }
}
