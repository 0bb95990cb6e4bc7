//! Engine-wide canonical types (GC proposal): every module's type section is also run through
//! one engine-wide `wasmparser::Validator`, whose type list hash-conses rec groups, so two
//! iso-recursively equivalent types get the same `CoreTypeId` in every module of the engine.
//! That id is the engine-wide type id `call_indirect`, casts and import checks compare.
//!
//! Each id gets a [`TypeInfo`]: its kind, its fields' storage (structs, arrays) and its
//! supertype chain (root first, itself last), so "is `a` a subtype of `b`" is one index
//! comparison (`a.supers[depth(b)] == b`).
//!
//! Every module is validated first by its own fresh validator (which reports errors); only a
//! module that passed is fed to the shared one, which therefore never fails (a failure would
//! leave it unusable, see `canonicalize`).

use crate::error::{Error, Result};
use crate::types::{FuncType, ValType};
use std::collections::HashMap;
use std::sync::Arc;
use wasmparser::types::{CoreTypeId, TypeIdentifier, Types};
use wasmparser::{
    AbstractHeapType, CompositeInnerType, HeapType, Parser, RefType, StorageType, ValidPayload,
    Validator, WasmFeatures,
};

/// What a defined type is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Func,
    Struct,
    Array,
}

/// How a struct field or array element is stored: packed integers are kept in a full slot
/// (truncated on write, extended on read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Storage {
    I8,
    I16,
    /// A full value slot.
    Val,
}

impl Storage {
    /// A value as stored: packed fields keep only their bits.
    #[inline]
    pub(crate) fn pack(self, v: u64) -> u64 {
        match self {
            Storage::I8 => v & 0xff,
            Storage::I16 => v & 0xffff,
            Storage::Val => v,
        }
    }

    /// Bytes of one element in a data segment (`array.new_data`, `array.init_data`).
    pub(crate) fn byte_size(ty: &StorageType) -> usize {
        match ty {
            StorageType::I8 => 1,
            StorageType::I16 => 2,
            StorageType::Val(wasmparser::ValType::I32 | wasmparser::ValType::F32) => 4,
            StorageType::Val(wasmparser::ValType::V128) => 16,
            StorageType::Val(_) => 8,
        }
    }
}

/// One canonical type.
#[derive(Debug)]
pub(crate) struct TypeInfo {
    /// The engine-wide id.
    pub id: u32,
    pub kind: Kind,
    /// Struct fields, or the one array element.
    pub fields: Box<[Storage]>,
    /// Bytes per array element in a data segment.
    pub elem_bytes: usize,
    /// The supertype chain, root first, this type last.
    pub supers: Box<[u32]>,
    /// A function type's exact parameter types (concrete types as canonical ids), to check
    /// reference arguments from the host.
    pub params: Box<[wasmparser::ValType]>,
}

impl TypeInfo {
    /// Whether this type is `other` or declares it (transitively) as a supertype.
    #[inline]
    pub(crate) fn is_subtype_of(&self, other: &TypeInfo) -> bool {
        self.supers.get(other.supers.len() - 1) == Some(&other.id)
    }
}

/// What one module's types canonicalize to.
pub(crate) struct Canon {
    /// Module type index -> canonical type.
    pub types: Vec<Arc<TypeInfo>>,
    /// Every global's type (imported first), with concrete types as canonical ids.
    pub globals: Vec<wasmparser::ValType>,
    /// Every table's element type (imported first).
    pub tables: Vec<RefType>,
    /// Every tag's function type id (imported first).
    pub tags: Vec<u32>,
}

pub(crate) struct Registry {
    validator: Validator,
    infos: Vec<Option<Arc<TypeInfo>>>,
    host: HashMap<FuncType, u32>,
}

fn id_of(id: CoreTypeId) -> u32 {
    id.index() as u32
}

impl Registry {
    pub(crate) fn new(features: WasmFeatures) -> Self {
        // Canonicalization (rec groups hash-consed) is on only with typed references or GC;
        // the modules it sees were already validated with the engine's own features.
        let features = features
            | WasmFeatures::GC
            | WasmFeatures::GC_TYPES
            | WasmFeatures::FUNCTION_REFERENCES
            | WasmFeatures::REFERENCE_TYPES;
        Registry {
            validator: Validator::new_with_features(features),
            infos: Vec::new(),
            host: HashMap::new(),
        }
    }

    /// The canonical type of id `id` (every id handed out has one).
    pub(crate) fn info(&self, id: u32) -> Arc<TypeInfo> {
        self.infos[id as usize]
            .clone()
            .expect("a canonical id has its info")
    }

    /// Runs an already validated module's sections through the shared validator.
    pub(crate) fn canonicalize(&mut self, bytes: &[u8]) -> Result<Canon> {
        let mut parser = Parser::new(0);
        parser.set_features(*self.validator.features());
        let mut end = None;
        for payload in parser.parse_all(bytes) {
            let r = payload
                .map_err(Error::from)
                .and_then(|p| self.validator.payload(&p).map_err(Error::from));
            match r {
                Ok(ValidPayload::End(types)) => end = Some(types),
                Ok(_) => {}
                Err(e) => {
                    // Cannot happen for a module its own validator accepted with the same
                    // features; a validator that failed cannot be reset, so start over
                    // (types canonicalized so far keep their infos; new ids restart).
                    let features = *self.validator.features();
                    self.validator = Validator::new_with_features(features);
                    return Err(e);
                }
            }
        }
        let types = end.ok_or_else(|| Error::compile(None, "module ended early"))?;
        let canon = self.collect(&types);
        self.validator.reset();
        Ok(canon)
    }

    fn collect(&mut self, types: &Types) -> Canon {
        let t = types.as_ref();
        let n = t.core_type_count_in_module();
        let mut out = Vec::with_capacity(n as usize);
        for i in 0..n {
            let id = t.core_type_at_in_module(i);
            out.push(self.ensure(types, id));
        }
        Canon {
            types: out,
            globals: (0..t.global_count())
                .map(|i| t.global_at(i).content_type)
                .collect(),
            tables: (0..t.table_count())
                .map(|i| t.table_at(i).element_type)
                .collect(),
            tags: (0..t.tag_count()).map(|i| id_of(t.tag_at(i))).collect(),
        }
    }

    fn ensure(&mut self, types: &Types, id: CoreTypeId) -> Arc<TypeInfo> {
        let idx = id.index();
        if let Some(Some(info)) = self.infos.get(idx) {
            return info.clone();
        }
        let t = types.as_ref();
        let mut supers: Vec<u32> = match t.supertype_of(id) {
            Some(s) => self.ensure(types, s).supers.to_vec(),
            None => Vec::new(),
        };
        supers.push(id_of(id));
        let sub = &types[id];
        let storage = |s: &StorageType| match s {
            StorageType::I8 => Storage::I8,
            StorageType::I16 => Storage::I16,
            StorageType::Val(_) => Storage::Val,
        };
        let params = match &sub.composite_type.inner {
            CompositeInnerType::Func(f) => f.params().into(),
            _ => Box::default(),
        };
        let (kind, fields, elem_bytes) = match &sub.composite_type.inner {
            CompositeInnerType::Func(_) | CompositeInnerType::Cont(_) => {
                (Kind::Func, Box::default(), 0)
            }
            CompositeInnerType::Struct(s) => (
                Kind::Struct,
                s.fields.iter().map(|f| storage(&f.element_type)).collect(),
                0,
            ),
            CompositeInnerType::Array(a) => (
                Kind::Array,
                Box::from([storage(&a.0.element_type)]),
                Storage::byte_size(&a.0.element_type),
            ),
        };
        let info = Arc::new(TypeInfo {
            id: id_of(id),
            kind,
            fields,
            elem_bytes,
            supers: supers.into(),
            params,
        });
        if self.infos.len() <= idx {
            self.infos.resize(idx + 1, None);
        }
        self.infos[idx] = Some(info.clone());
        info
    }

    /// The canonical id of a host function's type (a one-type module run through the shared
    /// validator, so it equals the id of the same type written in any module).
    pub(crate) fn host_func_type(&mut self, ty: &FuncType) -> u32 {
        if let Some(&id) = self.host.get(ty) {
            return id;
        }
        let mut body = vec![1u8, 0x60];
        for list in [ty.params(), ty.results()] {
            leb(&mut body, list.len() as u32);
            body.extend(list.iter().map(|t| valtype_byte(*t)));
        }
        let mut bytes = b"\0asm\x01\0\0\0\x01".to_vec();
        leb(&mut bytes, body.len() as u32);
        bytes.extend(body);
        let canon = self
            .canonicalize(&bytes)
            .expect("a host function type is a valid type");
        let id = canon.types[0].id;
        self.host.insert(ty.clone(), id);
        id
    }
}

fn leb(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn valtype_byte(t: ValType) -> u8 {
    match t {
        ValType::I32 => 0x7f,
        ValType::I64 => 0x7e,
        ValType::F32 => 0x7d,
        ValType::F64 => 0x7c,
        ValType::V128 => 0x7b,
        ValType::FuncRef => 0x70,
        ValType::ExternRef => 0x6f,
        ValType::AnyRef => 0x6e,
        ValType::ExnRef => 0x69,
    }
}

/// The nullable top reference type of a value type (how host-made globals and tables are typed).
pub(crate) fn precise_of(t: ValType) -> wasmparser::ValType {
    let abs = |ty| {
        wasmparser::ValType::Ref(
            RefType::new(true, HeapType::Abstract { shared: false, ty }).expect("abstract ref"),
        )
    };
    match t {
        ValType::I32 => wasmparser::ValType::I32,
        ValType::I64 => wasmparser::ValType::I64,
        ValType::F32 => wasmparser::ValType::F32,
        ValType::F64 => wasmparser::ValType::F64,
        ValType::V128 => wasmparser::ValType::V128,
        ValType::FuncRef => abs(AbstractHeapType::Func),
        ValType::ExternRef => abs(AbstractHeapType::Extern),
        ValType::AnyRef => abs(AbstractHeapType::Any),
        ValType::ExnRef => abs(AbstractHeapType::Exn),
    }
}

/// Abstract heap type subtyping (the lattice of the GC proposal).
fn abstract_sub(a: AbstractHeapType, b: AbstractHeapType) -> bool {
    use AbstractHeapType::*;
    a == b
        || matches!(
            (a, b),
            (Eq | I31 | Struct | Array | None, Any)
                | (I31 | Struct | Array | None, Eq)
                | (None, I31 | Struct | Array)
                | (NoFunc, Func)
                | (NoExtern, Extern)
                | (NoExn, Exn)
                | (NoCont, Cont)
        )
}

impl Registry {
    fn concrete(&self, idx: wasmparser::UnpackedIndex) -> Arc<TypeInfo> {
        let id = idx
            .as_core_type_id()
            .expect("canonicalized types name canonical ids");
        self.info(id_of(id))
    }

    /// Whether heap type `a` matches `b` (both canonicalized).
    pub(crate) fn heap_sub(&self, a: HeapType, b: HeapType) -> bool {
        use AbstractHeapType as A;
        match (a, b) {
            (HeapType::Abstract { ty: a, .. }, HeapType::Abstract { ty: b, .. }) => {
                abstract_sub(a, b)
            }
            (HeapType::Concrete(a) | HeapType::Exact(a), HeapType::Abstract { ty: b, .. }) => {
                match self.concrete(a).kind {
                    Kind::Func => b == A::Func,
                    Kind::Struct => matches!(b, A::Struct | A::Eq | A::Any),
                    Kind::Array => matches!(b, A::Array | A::Eq | A::Any),
                }
            }
            (HeapType::Abstract { ty: a, .. }, HeapType::Concrete(b) | HeapType::Exact(b)) => {
                match self.concrete(b).kind {
                    Kind::Func => a == A::NoFunc,
                    Kind::Struct | Kind::Array => a == A::None,
                }
            }
            (
                HeapType::Concrete(a) | HeapType::Exact(a),
                HeapType::Concrete(b) | HeapType::Exact(b),
            ) => self.concrete(a).is_subtype_of(&self.concrete(b)),
        }
    }

    /// Whether value type `a` matches `b` (both canonicalized).
    pub(crate) fn val_sub(&self, a: wasmparser::ValType, b: wasmparser::ValType) -> bool {
        match (a, b) {
            (wasmparser::ValType::Ref(a), wasmparser::ValType::Ref(b)) => {
                (b.is_nullable() || !a.is_nullable()) && self.heap_sub(a.heap_type(), b.heap_type())
            }
            (a, b) => a == b,
        }
    }

    /// Whether function type id `a` is `b` or a declared subtype of it.
    pub(crate) fn id_sub(&self, a: u32, b: u32) -> bool {
        a == b || self.info(a).is_subtype_of(&self.info(b))
    }
}
