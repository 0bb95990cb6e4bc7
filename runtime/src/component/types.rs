//! Component types: interface value types ([`Type`]), function types ([`ComponentFunc`]) and
//! the types of imports and exports ([`ComponentItem`]), each with its canonical ABI layout
//! (size, alignment, flattening) computed once; converted from wasmparser's validated types.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use wasmparser::component_types::{
    ComponentAnyTypeId, ComponentDefinedType, ComponentDefinedTypeId, ComponentEntityType,
    ComponentFuncTypeId, ComponentValType, ResourceId,
};
use wasmparser::types::TypesRef;
use wasmparser::PrimitiveValType;

/// A core value type of a flattened component value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum FlatType {
    I32,
    I64,
    F32,
    F64,
}

impl FlatType {
    /// The canonical ABI `join` of two flat types sharing a variant payload slot.
    pub(crate) fn join(a: FlatType, b: FlatType) -> FlatType {
        use FlatType::*;
        match (a, b) {
            _ if a == b => a,
            (I32, F32) | (F32, I32) => I32,
            _ => I64,
        }
    }

    /// The core value type.
    pub(crate) fn core(self) -> crate::ValType {
        match self {
            FlatType::I32 => crate::ValType::I32,
            FlatType::I64 => crate::ValType::I64,
            FlatType::F32 => crate::ValType::F32,
            FlatType::F64 => crate::ValType::F64,
        }
    }
}

/// Size, alignment and flattening of a value type in the canonical ABI (32-bit memories).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Layout {
    pub size: u32,
    pub align: u32,
    pub flat: Box<[FlatType]>,
}

/// A resource type as a component's types name it: which of the component's resources an
/// `own` or `borrow` refers to. Each component instance maps it to a runtime
/// [`ResourceType`](super::ResourceType).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResourceRef(pub(crate) ResourceId);

/// A component value type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Type {
    /// `bool`
    Bool,
    /// `s8`
    S8,
    /// `u8`
    U8,
    /// `s16`
    S16,
    /// `u16`
    U16,
    /// `s32`
    S32,
    /// `u32`
    U32,
    /// `s64`
    S64,
    /// `u64`
    U64,
    /// `f32`
    Float32,
    /// `f64`
    Float64,
    /// `char`
    Char,
    /// `string`
    String,
    /// `list<T>`
    List(List),
    /// `record { .. }`
    Record(Record),
    /// `tuple<..>`
    Tuple(Tuple),
    /// `variant { .. }`
    Variant(Variant),
    /// `enum { .. }`
    Enum(Enum),
    /// `option<T>`
    Option(OptionType),
    /// `result<T, E>`
    Result(ResultType),
    /// `flags { .. }`
    Flags(Flags),
    /// `own<R>`
    Own(ResourceRef),
    /// `borrow<R>`
    Borrow(ResourceRef),
    /// `stream<T>` (a handle to its readable end)
    Stream(Option<Arc<Type>>),
    /// `future<T>` (a handle to its readable end)
    Future(Option<Arc<Type>>),
    /// `error-context`
    ErrorContext,
}

/// `list<T>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct List(Arc<Type>);

/// `record { name: T, .. }`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record(Arc<RecordInner>);

#[derive(Debug, PartialEq, Eq, Hash)]
struct RecordInner {
    fields: Vec<(String, Type)>,
    layout: Layout,
}

/// `tuple<T, ..>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tuple(Arc<TupleInner>);

#[derive(Debug, PartialEq, Eq, Hash)]
struct TupleInner {
    types: Vec<Type>,
    layout: Layout,
}

/// `variant { case(T), .. }`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Variant(Arc<VariantInner>);

/// The cases of a variant-like type (variant, enum, option, result) and their layout.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct VariantInner {
    names: Vec<String>,
    pub(crate) cases: Vec<Option<Type>>,
    pub(crate) layout: Layout,
    /// Byte size of the discriminant (1, 2 or 4).
    pub(crate) disc_size: u32,
    /// Offset of the payload from the start of the value.
    pub(crate) payload_offset: u32,
}

/// `enum { a, b, .. }`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Enum(Arc<VariantInner>);

/// `option<T>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OptionType(Arc<VariantInner>);

/// `result<T, E>` (either side may be absent).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResultType(Arc<VariantInner>);

/// `flags { a, b, .. }`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Flags(Arc<Vec<String>>);

fn align_to(x: u32, align: u32) -> u32 {
    x.div_ceil(align) * align
}

impl List {
    /// A list of `elem`.
    pub fn new(elem: Type) -> List {
        List(Arc::new(elem))
    }
    /// The element type.
    pub fn ty(&self) -> &Type {
        &self.0
    }
}

impl Record {
    /// A record with these fields, in order.
    pub fn new(fields: impl IntoIterator<Item = (String, Type)>) -> Record {
        let fields: Vec<(String, Type)> = fields.into_iter().collect();
        let layout = product_layout(fields.iter().map(|(_, t)| t));
        Record(Arc::new(RecordInner { fields, layout }))
    }
    /// The fields, in order.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = (&str, &Type)> + '_ {
        self.0.fields.iter().map(|(n, t)| (n.as_str(), t))
    }
}

impl Tuple {
    /// A tuple of these types.
    pub fn new(types: impl IntoIterator<Item = Type>) -> Tuple {
        let types: Vec<Type> = types.into_iter().collect();
        let layout = product_layout(types.iter());
        Tuple(Arc::new(TupleInner { types, layout }))
    }
    /// The element types.
    pub fn types(&self) -> &[Type] {
        &self.0.types
    }
}

fn product_layout<'a>(types: impl Iterator<Item = &'a Type>) -> Layout {
    let mut size = 0;
    let mut align = 1;
    let mut flat = Vec::new();
    for t in types {
        let l = t.layout();
        size = align_to(size, l.align) + l.size;
        align = align.max(l.align);
        flat.extend_from_slice(&l.flat);
    }
    Layout {
        size: align_to(size, align),
        align,
        flat: flat.into(),
    }
}

impl VariantInner {
    fn new(names: Vec<String>, cases: Vec<Option<Type>>) -> VariantInner {
        let n = cases.len();
        let disc_size: u32 = if n <= 1 << 8 {
            1
        } else if n <= 1 << 16 {
            2
        } else {
            4
        };
        let mut case_align = 1;
        let mut case_size = 0;
        let mut payload: Vec<FlatType> = Vec::new();
        for t in cases.iter().flatten() {
            let l = t.layout();
            case_align = case_align.max(l.align);
            case_size = case_size.max(l.size);
            for (i, f) in l.flat.iter().enumerate() {
                match payload.get_mut(i) {
                    Some(p) => *p = FlatType::join(*p, *f),
                    None => payload.push(*f),
                }
            }
        }
        let payload_offset = align_to(disc_size, case_align);
        let align = disc_size.max(case_align);
        let mut flat = vec![FlatType::I32];
        flat.extend(payload);
        VariantInner {
            names,
            cases,
            layout: Layout {
                size: align_to(payload_offset + case_size, align),
                align,
                flat: flat.into(),
            },
            disc_size,
            payload_offset,
        }
    }

    /// The index of the case named `name`.
    pub(crate) fn case_index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The name of case `i`.
    pub(crate) fn case_name(&self, i: usize) -> &str {
        &self.names[i]
    }
}

impl Variant {
    /// A variant with these cases, in order.
    pub fn new(cases: impl IntoIterator<Item = (String, Option<Type>)>) -> Variant {
        let (names, cases) = cases.into_iter().unzip();
        Variant(Arc::new(VariantInner::new(names, cases)))
    }
    /// The cases, in order.
    pub fn cases(&self) -> impl ExactSizeIterator<Item = (&str, Option<&Type>)> + '_ {
        self.0
            .names
            .iter()
            .zip(&self.0.cases)
            .map(|(n, t)| (n.as_str(), t.as_ref()))
    }
}

impl Enum {
    /// An enum with these case names, in order.
    pub fn new(names: impl IntoIterator<Item = String>) -> Enum {
        let names: Vec<String> = names.into_iter().collect();
        let cases = vec![None; names.len()];
        Enum(Arc::new(VariantInner::new(names, cases)))
    }
    /// The case names, in order.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.0.names.iter().map(|n| n.as_str())
    }
}

impl OptionType {
    /// `option<ty>`.
    pub fn new(ty: Type) -> OptionType {
        OptionType(Arc::new(VariantInner::new(
            vec!["none".into(), "some".into()],
            vec![None, Some(ty)],
        )))
    }
    /// The payload type.
    pub fn ty(&self) -> &Type {
        self.0.cases[1].as_ref().expect("option has a payload")
    }
}

impl ResultType {
    /// `result<ok, err>`.
    pub fn new(ok: Option<Type>, err: Option<Type>) -> ResultType {
        ResultType(Arc::new(VariantInner::new(
            vec!["ok".into(), "error".into()],
            vec![ok, err],
        )))
    }
    /// The `ok` payload type.
    pub fn ok(&self) -> Option<&Type> {
        self.0.cases[0].as_ref()
    }
    /// The `error` payload type.
    pub fn err(&self) -> Option<&Type> {
        self.0.cases[1].as_ref()
    }
}

impl Flags {
    /// Flags with these names, in bit order.
    pub fn new(names: impl IntoIterator<Item = String>) -> Flags {
        Flags(Arc::new(names.into_iter().collect()))
    }
    /// The flag names, in bit order.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.0.iter().map(|n| n.as_str())
    }
    pub(crate) fn size(&self) -> u32 {
        match self.0.len() {
            0..=8 => 1,
            9..=16 => 2,
            _ => 4,
        }
    }
}

static PRIM_LAYOUTS: [(u32, FlatType); 5] = [
    (1, FlatType::I32),
    (2, FlatType::I32),
    (4, FlatType::I32),
    (8, FlatType::I64),
    (4, FlatType::F32),
];

impl Type {
    /// The canonical ABI layout: size, alignment and flat core types.
    pub(crate) fn layout(&self) -> Layout {
        let prim = |i: usize| {
            let (size, flat) = PRIM_LAYOUTS[i];
            Layout {
                size,
                align: size,
                flat: Box::new([flat]),
            }
        };
        match self {
            Type::Bool | Type::S8 | Type::U8 => prim(0),
            Type::S16 | Type::U16 => prim(1),
            Type::S32
            | Type::U32
            | Type::Char
            | Type::Own(_)
            | Type::Borrow(_)
            | Type::Stream(_)
            | Type::Future(_)
            | Type::ErrorContext => prim(2),
            Type::S64 | Type::U64 => prim(3),
            Type::Float32 => prim(4),
            Type::Float64 => Layout {
                size: 8,
                align: 8,
                flat: Box::new([FlatType::F64]),
            },
            Type::String | Type::List(_) => Layout {
                size: 8,
                align: 4,
                flat: Box::new([FlatType::I32, FlatType::I32]),
            },
            Type::Record(r) => r.0.layout.clone(),
            Type::Tuple(t) => t.0.layout.clone(),
            Type::Variant(v) => v.0.layout.clone(),
            Type::Enum(v) => v.0.layout.clone(),
            Type::Option(v) => v.0.layout.clone(),
            Type::Result(v) => v.0.layout.clone(),
            Type::Flags(f) => Layout {
                size: f.size(),
                align: f.size(),
                flat: Box::new([FlatType::I32]),
            },
        }
    }

    /// Byte size in linear memory.
    pub(crate) fn size(&self) -> u32 {
        match self {
            Type::Bool | Type::S8 | Type::U8 => 1,
            Type::S16 | Type::U16 => 2,
            Type::S32
            | Type::U32
            | Type::Char
            | Type::Own(_)
            | Type::Borrow(_)
            | Type::Stream(_)
            | Type::Future(_)
            | Type::ErrorContext => 4,
            Type::Float32 => 4,
            Type::S64 | Type::U64 | Type::Float64 | Type::String | Type::List(_) => 8,
            Type::Record(r) => r.0.layout.size,
            Type::Tuple(t) => t.0.layout.size,
            Type::Variant(v) => v.0.layout.size,
            Type::Enum(v) => v.0.layout.size,
            Type::Option(v) => v.0.layout.size,
            Type::Result(v) => v.0.layout.size,
            Type::Flags(f) => f.size(),
        }
    }

    /// Alignment in linear memory.
    pub(crate) fn align(&self) -> u32 {
        match self {
            Type::Bool | Type::S8 | Type::U8 => 1,
            Type::S16 | Type::U16 => 2,
            Type::S32
            | Type::U32
            | Type::Char
            | Type::Own(_)
            | Type::Borrow(_)
            | Type::Stream(_)
            | Type::Future(_)
            | Type::ErrorContext => 4,
            Type::Float32 | Type::String | Type::List(_) => 4,
            Type::S64 | Type::U64 | Type::Float64 => 8,
            Type::Record(r) => r.0.layout.align,
            Type::Tuple(t) => t.0.layout.align,
            Type::Variant(v) => v.0.layout.align,
            Type::Enum(v) => v.0.layout.align,
            Type::Option(v) => v.0.layout.align,
            Type::Result(v) => v.0.layout.align,
            Type::Flags(f) => f.size(),
        }
    }

    /// Number of flat core values.
    #[cfg(test)]
    pub(crate) fn flat_count(&self) -> usize {
        match self {
            Type::String | Type::List(_) => 2,
            Type::Record(r) => r.0.layout.flat.len(),
            Type::Tuple(t) => t.0.layout.flat.len(),
            Type::Variant(v) => v.0.layout.flat.len(),
            Type::Enum(_) => 1,
            Type::Option(v) => v.0.layout.flat.len(),
            Type::Result(v) => v.0.layout.flat.len(),
            _ => 1,
        }
    }

    /// The variant-like view of variants, enums, options and results.
    pub(crate) fn variant_inner(&self) -> Option<&VariantInner> {
        match self {
            Type::Variant(v) => Some(&v.0),
            Type::Enum(v) => Some(&v.0),
            Type::Option(v) => Some(&v.0),
            Type::Result(v) => Some(&v.0),
            _ => None,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, items: &mut dyn Iterator<Item = String>| {
            let items: Vec<String> = items.collect();
            f.write_str(&items.join(", "))
        };
        match self {
            Type::Bool => f.write_str("bool"),
            Type::S8 => f.write_str("s8"),
            Type::U8 => f.write_str("u8"),
            Type::S16 => f.write_str("s16"),
            Type::U16 => f.write_str("u16"),
            Type::S32 => f.write_str("s32"),
            Type::U32 => f.write_str("u32"),
            Type::S64 => f.write_str("s64"),
            Type::U64 => f.write_str("u64"),
            Type::Float32 => f.write_str("f32"),
            Type::Float64 => f.write_str("f64"),
            Type::Char => f.write_str("char"),
            Type::String => f.write_str("string"),
            Type::List(l) => write!(f, "list<{}>", l.ty()),
            Type::Record(r) => {
                f.write_str("record { ")?;
                list(f, &mut r.fields().map(|(n, t)| format!("{n}: {t}")))?;
                f.write_str(" }")
            }
            Type::Tuple(t) => {
                f.write_str("tuple<")?;
                list(f, &mut t.types().iter().map(|t| t.to_string()))?;
                f.write_str(">")
            }
            Type::Variant(v) => {
                f.write_str("variant { ")?;
                list(
                    f,
                    &mut v.cases().map(|(n, t)| match t {
                        Some(t) => format!("{n}({t})"),
                        None => n.to_string(),
                    }),
                )?;
                f.write_str(" }")
            }
            Type::Enum(e) => {
                f.write_str("enum { ")?;
                list(f, &mut e.names().map(str::to_string))?;
                f.write_str(" }")
            }
            Type::Option(o) => write!(f, "option<{}>", o.ty()),
            Type::Result(r) => {
                let side = |t: Option<&Type>| t.map_or("_".to_string(), |t| t.to_string());
                write!(f, "result<{}, {}>", side(r.ok()), side(r.err()))
            }
            Type::Flags(fl) => {
                f.write_str("flags { ")?;
                list(f, &mut fl.names().map(str::to_string))?;
                f.write_str(" }")
            }
            Type::Own(_) => f.write_str("own<resource>"),
            Type::Borrow(_) => f.write_str("borrow<resource>"),
            Type::Stream(Some(t)) => write!(f, "stream<{t}>"),
            Type::Stream(None) => f.write_str("stream"),
            Type::Future(Some(t)) => write!(f, "future<{t}>"),
            Type::Future(None) => f.write_str("future"),
            Type::ErrorContext => f.write_str("error-context"),
        }
    }
}

/// The type of a component function: named parameters and an optional result.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ComponentFunc(Arc<FuncInner>);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FuncInner {
    names: Vec<String>,
    params: Vec<Type>,
    results: Vec<Type>,
    /// Flat core types of all parameters, and of the result.
    flat_params: Vec<FlatType>,
    flat_results: Vec<FlatType>,
    /// The tuple of the parameters / results, when they are passed through memory.
    params_tuple: Tuple,
    results_tuple: Tuple,
    /// Declared `async func`.
    is_async: bool,
}

impl ComponentFunc {
    /// A function type from named parameters and an optional result.
    pub fn new(
        params: impl IntoIterator<Item = (String, Type)>,
        result: Option<Type>,
    ) -> ComponentFunc {
        let (names, params): (Vec<String>, Vec<Type>) = params.into_iter().unzip();
        let results: Vec<Type> = result.into_iter().collect();
        let flat = |ts: &[Type]| -> Vec<FlatType> {
            ts.iter().flat_map(|t| t.layout().flat.into_vec()).collect()
        };
        ComponentFunc(Arc::new(FuncInner {
            flat_params: flat(&params),
            flat_results: flat(&results),
            params_tuple: Tuple::new(params.iter().cloned()),
            results_tuple: Tuple::new(results.iter().cloned()),
            names,
            params,
            results,
            is_async: false,
        }))
    }
    /// The same type, declared `async` or not.
    pub(crate) fn with_async(self, is_async: bool) -> ComponentFunc {
        let mut inner = Arc::unwrap_or_clone(self.0);
        inner.is_async = is_async;
        ComponentFunc(Arc::new(inner))
    }
    /// Whether the function is declared `async func`.
    pub fn is_async(&self) -> bool {
        self.0.is_async
    }
    /// The parameters: names and types.
    pub fn params(&self) -> impl ExactSizeIterator<Item = (&str, &Type)> + '_ {
        self.0
            .names
            .iter()
            .map(|n| n.as_str())
            .zip(self.0.params.iter())
    }
    /// The result types (zero or one).
    pub fn results(&self) -> impl ExactSizeIterator<Item = &Type> + '_ {
        self.0.results.iter()
    }
    pub(crate) fn param_types(&self) -> &[Type] {
        &self.0.params
    }
    pub(crate) fn result_types(&self) -> &[Type] {
        &self.0.results
    }
    pub(crate) fn flat_params(&self) -> &[FlatType] {
        &self.0.flat_params
    }
    pub(crate) fn flat_results(&self) -> &[FlatType] {
        &self.0.flat_results
    }
    pub(crate) fn params_tuple(&self) -> &Tuple {
        &self.0.params_tuple
    }
    pub(crate) fn results_tuple(&self) -> &Tuple {
        &self.0.results_tuple
    }
}

impl fmt::Display for ComponentFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("func(")?;
        for (i, (n, t)) in self.params().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{n}: {t}")?;
        }
        f.write_str(")")?;
        if let Some(r) = self.results().next() {
            write!(f, " -> {r}")?;
        }
        Ok(())
    }
}

/// The type of a component instance: its exports.
#[derive(Debug, Clone)]
pub struct ComponentInstance(pub(crate) Arc<Vec<(String, ComponentItem)>>);

impl ComponentInstance {
    /// The exports and their types.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = (&str, &ComponentItem)> + '_ {
        self.0.iter().map(|(n, t)| (n.as_str(), t))
    }
    /// One export's type.
    pub fn get_export(&self, name: &str) -> Option<&ComponentItem> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }
}

/// What an import or export of a component is.
#[derive(Debug, Clone)]
pub enum ComponentItem {
    /// A component function.
    ComponentFunc(ComponentFunc),
    /// A core module.
    Module,
    /// A component.
    Component,
    /// A component instance.
    ComponentInstance(ComponentInstance),
    /// A resource type.
    Resource(ResourceRef),
    /// A value type (`None` for function, instance and component types).
    Type(Option<Type>),
    /// A value (the `cm-values` proposal; not supported at run time).
    Value(Type),
}

impl ComponentItem {
    /// What kind of item this is, for messages.
    pub fn desc(&self) -> &'static str {
        match self {
            ComponentItem::ComponentFunc(_) => "function",
            ComponentItem::Module => "module",
            ComponentItem::Component => "component",
            ComponentItem::ComponentInstance(_) => "instance",
            ComponentItem::Resource(_) => "resource",
            ComponentItem::Type(_) => "type",
            ComponentItem::Value(_) => "value",
        }
    }
}

/// Converts wasmparser's validated component types into [`Type`]s, sharing repeated ones.
pub(crate) struct TypeConverter<'a> {
    types: TypesRef<'a>,
    memo: HashMap<ComponentDefinedTypeId, Type>,
    funcs: HashMap<ComponentFuncTypeId, ComponentFunc>,
}

impl<'a> TypeConverter<'a> {
    pub(crate) fn new(types: TypesRef<'a>) -> Self {
        TypeConverter {
            types,
            memo: HashMap::new(),
            funcs: HashMap::new(),
        }
    }

    pub(crate) fn types(&self) -> TypesRef<'a> {
        self.types
    }

    pub(crate) fn val(&mut self, ty: &ComponentValType) -> Result<Type> {
        match ty {
            ComponentValType::Primitive(p) => prim(*p),
            ComponentValType::Type(id) => self.defined(*id),
        }
    }

    fn opt(&mut self, ty: &Option<ComponentValType>) -> Result<Option<Type>> {
        ty.as_ref().map(|t| self.val(t)).transpose()
    }

    pub(crate) fn defined(&mut self, id: ComponentDefinedTypeId) -> Result<Type> {
        if let Some(t) = self.memo.get(&id) {
            return Ok(t.clone());
        }
        let types = self.types;
        let ty = match &types[id] {
            ComponentDefinedType::Primitive(p) => prim(*p)?,
            ComponentDefinedType::Record(r) => {
                let mut fields = Vec::with_capacity(r.fields.len());
                for (name, t) in r.fields.iter() {
                    fields.push((name.to_string(), self.val(t)?));
                }
                Type::Record(Record::new(fields))
            }
            ComponentDefinedType::Variant(v) => {
                let mut cases = Vec::with_capacity(v.cases.len());
                for (name, c) in v.cases.iter() {
                    cases.push((name.to_string(), self.opt(&c.ty)?));
                }
                Type::Variant(Variant::new(cases))
            }
            ComponentDefinedType::List { element, .. } => Type::List(List::new(self.val(element)?)),
            ComponentDefinedType::Tuple(t) => {
                let mut elems = Vec::with_capacity(t.types.len());
                for e in t.types.iter() {
                    elems.push(self.val(e)?);
                }
                Type::Tuple(Tuple::new(elems))
            }
            ComponentDefinedType::Flags(names) => {
                Type::Flags(Flags::new(names.iter().map(|n| n.to_string())))
            }
            ComponentDefinedType::Enum(names) => {
                Type::Enum(Enum::new(names.iter().map(|n| n.to_string())))
            }
            ComponentDefinedType::Option { ty, .. } => Type::Option(OptionType::new(self.val(ty)?)),
            ComponentDefinedType::Result { ok, err, .. } => {
                Type::Result(ResultType::new(self.opt(ok)?, self.opt(err)?))
            }
            ComponentDefinedType::Own(r) => Type::Own(ResourceRef(r.resource())),
            ComponentDefinedType::Borrow(r) => Type::Borrow(ResourceRef(r.resource())),
            ComponentDefinedType::Stream { ty, .. } => Type::Stream(self.opt(ty)?.map(Arc::new)),
            ComponentDefinedType::Future { ty, .. } => Type::Future(self.opt(ty)?.map(Arc::new)),
            other => {
                return Err(Error::msg(format!(
                    "unsupported component value type: {}",
                    defined_desc(other)
                )))
            }
        };
        self.memo.insert(id, ty.clone());
        Ok(ty)
    }

    pub(crate) fn func(&mut self, id: ComponentFuncTypeId) -> Result<ComponentFunc> {
        if let Some(f) = self.funcs.get(&id) {
            return Ok(f.clone());
        }
        let types = self.types;
        let ft = &types[id];
        let mut params = Vec::with_capacity(ft.params.len());
        for (name, t) in ft.params.iter() {
            params.push((name.to_string(), self.val(t)?));
        }
        let result = self.opt(&ft.result)?;
        let f = ComponentFunc::new(params, result).with_async(ft.async_);
        self.funcs.insert(id, f.clone());
        Ok(f)
    }

    pub(crate) fn any_type(&mut self, id: ComponentAnyTypeId) -> Result<ComponentItem> {
        Ok(match id {
            ComponentAnyTypeId::Resource(r) => ComponentItem::Resource(ResourceRef(r.resource())),
            ComponentAnyTypeId::Defined(d) => ComponentItem::Type(Some(self.defined(d)?)),
            _ => ComponentItem::Type(None),
        })
    }

    pub(crate) fn entity(&mut self, ty: &ComponentEntityType) -> Result<ComponentItem> {
        let types = self.types;
        Ok(match ty {
            ComponentEntityType::Module(_) => ComponentItem::Module,
            ComponentEntityType::Func(id) => ComponentItem::ComponentFunc(self.func(*id)?),
            ComponentEntityType::Value(v) => ComponentItem::Value(self.val(v)?),
            ComponentEntityType::Type { created, .. } => self.any_type(*created)?,
            ComponentEntityType::Instance(id) => {
                let mut exports = Vec::new();
                for (name, item) in types[*id].exports.iter() {
                    exports.push((name.to_string(), self.entity(&item.ty)?));
                }
                ComponentItem::ComponentInstance(ComponentInstance(Arc::new(exports)))
            }
            ComponentEntityType::Component(_) => ComponentItem::Component,
        })
    }
}

fn defined_desc(t: &ComponentDefinedType) -> &'static str {
    match t {
        ComponentDefinedType::Map { .. } => "map",
        ComponentDefinedType::FixedLengthList { .. } => "fixed-length list",
        ComponentDefinedType::Future { .. } => "future",
        ComponentDefinedType::Stream { .. } => "stream",
        _ => "this type",
    }
}

fn prim(p: PrimitiveValType) -> Result<Type> {
    Ok(match p {
        PrimitiveValType::Bool => Type::Bool,
        PrimitiveValType::S8 => Type::S8,
        PrimitiveValType::U8 => Type::U8,
        PrimitiveValType::S16 => Type::S16,
        PrimitiveValType::U16 => Type::U16,
        PrimitiveValType::S32 => Type::S32,
        PrimitiveValType::U32 => Type::U32,
        PrimitiveValType::S64 => Type::S64,
        PrimitiveValType::U64 => Type::U64,
        PrimitiveValType::F32 => Type::Float32,
        PrimitiveValType::F64 => Type::Float64,
        PrimitiveValType::Char => Type::Char,
        PrimitiveValType::String => Type::String,
        PrimitiveValType::ErrorContext => Type::ErrorContext,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_follow_the_canonical_abi() {
        let rec = Type::Record(Record::new([
            ("a".to_string(), Type::U8),
            ("b".to_string(), Type::U64),
            ("c".to_string(), Type::U16),
        ]));
        assert_eq!((rec.size(), rec.align()), (24, 8));
        let l = rec.layout();
        assert_eq!(&*l.flat, &[FlatType::I32, FlatType::I64, FlatType::I32]);

        let var = Type::Variant(Variant::new([
            ("a".to_string(), Some(Type::Float32)),
            ("b".to_string(), Some(Type::U32)),
            ("c".to_string(), None),
        ]));
        assert_eq!((var.size(), var.align()), (8, 4));
        assert_eq!(&*var.layout().flat, &[FlatType::I32, FlatType::I32]);

        let var = Type::Variant(Variant::new([
            ("a".to_string(), Some(Type::Float32)),
            ("b".to_string(), Some(Type::Float64)),
        ]));
        assert_eq!(&*var.layout().flat, &[FlatType::I32, FlatType::I64]);
        assert_eq!((var.size(), var.align()), (16, 8));

        let opt = Type::Option(OptionType::new(Type::String));
        assert_eq!((opt.size(), opt.align()), (12, 4));
        assert_eq!(opt.flat_count(), 3);

        let res = Type::Result(ResultType::new(None, None));
        assert_eq!((res.size(), res.align(), res.flat_count()), (1, 1, 1));

        let many = Type::Enum(Enum::new((0..300).map(|i| format!("c{i}"))));
        assert_eq!((many.size(), many.align()), (2, 2));

        let flags = Type::Flags(Flags::new((0..17).map(|i| format!("f{i}"))));
        assert_eq!((flags.size(), flags.align()), (4, 4));
        let tuple = Type::Tuple(Tuple::new([Type::Char, Type::Bool]));
        assert_eq!((tuple.size(), tuple.align()), (8, 4));
    }

    #[test]
    fn function_flattening() {
        let f = ComponentFunc::new(
            [
                ("s".to_string(), Type::String),
                ("n".to_string(), Type::U64),
            ],
            Some(Type::Option(OptionType::new(Type::U32))),
        );
        assert_eq!(
            f.flat_params(),
            &[FlatType::I32, FlatType::I32, FlatType::I64]
        );
        assert_eq!(f.flat_results(), &[FlatType::I32, FlatType::I32]);
        assert_eq!(f.results_tuple().0.layout.size, 8);
        assert_eq!(f.to_string(), "func(s: string, n: u64) -> option<u32>");
    }
}
