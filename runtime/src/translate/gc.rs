//! Translation of the GC instructions: each becomes one `Op::Gc` whose `GcOp` (in the body's
//! `gc_ops` side table) reads its operands from consecutive slots (see `exec::gc`).
//! `ref.eq` is `i64.eq` on the raw slots; `br_on_cast(_fail)` tests a copy of the reference in
//! the slot above the stack and branches on the result.

use super::{Result, TranslateError, Translator};
use crate::exec::gc::{CastHeap, CastTarget, Ext, GcKind, GcOp};
use crate::ir::{Op, Reg};
use crate::typereg::TypeInfo;
use std::sync::Arc;
use wasmparser::{AbstractHeapType as A, HeapType, Operator};

impl Translator<'_> {
    fn gc_type(&self, idx: u32) -> Arc<TypeInfo> {
        self.module.gc_types[idx as usize].clone()
    }

    /// The cast target of a heap type (module type indices as in the operator).
    fn cast_target(&self, nullable: bool, hty: HeapType, offset: usize) -> Result<CastTarget> {
        let heap = match hty {
            HeapType::Abstract { shared: true, .. } => {
                return Err(TranslateError::new(
                    "shared heap types are not supported",
                    offset,
                ))
            }
            HeapType::Abstract { ty, .. } => match ty {
                A::Any | A::Func | A::Extern | A::Exn | A::Cont => CastHeap::Top,
                A::None | A::NoFunc | A::NoExtern | A::NoExn | A::NoCont => CastHeap::Bottom,
                A::Eq => CastHeap::Eq,
                A::I31 => CastHeap::I31,
                A::Struct => CastHeap::Struct,
                A::Array => CastHeap::Array,
            },
            HeapType::Concrete(i) | HeapType::Exact(i) => match i.as_module_index() {
                Some(i) => CastHeap::Concrete(self.gc_type(i)),
                None => {
                    return Err(TranslateError::new(
                        "unexpected canonical type index",
                        offset,
                    ))
                }
            },
        };
        Ok(CastTarget { nullable, heap })
    }

    fn gc(&mut self, pops: u32, pushes: u32, kind: GcKind) {
        let i = self.gc_ops.len() as u32;
        self.canonical(pops, pushes, |_| Op::Gc(i));
        let at = self.slot(self.depth() - pushes);
        self.gc_ops.push(GcOp { kind, at });
    }

    /// A `br_on_cast` (`on_fail`: `br_on_cast_fail`) to label `depth`.
    fn br_on_cast(&mut self, depth: u32, target: CastTarget, on_fail: bool) {
        self.materialize_all();
        let top: Reg = self.slot(self.depth() - 1);
        let scratch: Reg = self.slot(self.depth());
        self.max_depth = self.max_depth.max(self.depth() + 1);
        self.emit(Op::Copy { d: scratch, s: top });
        let i = self.gc_ops.len() as u32;
        self.gc_ops.push(GcOp {
            kind: GcKind::RefTest(target),
            at: scratch,
        });
        self.emit(Op::Gc(i));
        self.emit_cond_branch(scratch, depth, !on_fail);
        self.last_result = None;
    }

    /// Translates a GC instruction; anything else is unsupported.
    pub(super) fn translate_gc(&mut self, op: Operator<'_>, offset: usize) -> Result<()> {
        use Operator as O;
        match op {
            O::RefEq => self.binary(Op::I64Eq, None, true, true),
            O::StructNew { struct_type_index } => {
                let ty = self.gc_type(struct_type_index);
                self.gc(ty.fields.len() as u32, 1, GcKind::StructNew(ty));
            }
            O::StructNewDefault { struct_type_index } => {
                let ty = self.gc_type(struct_type_index);
                self.gc(0, 1, GcKind::StructNewDefault(ty));
            }
            O::StructGet { field_index, .. } => self.gc(
                1,
                1,
                GcKind::StructGet {
                    field: field_index,
                    ext: Ext::None,
                },
            ),
            O::StructGetS {
                struct_type_index,
                field_index,
            }
            | O::StructGetU {
                struct_type_index,
                field_index,
            } => {
                let signed = matches!(op, O::StructGetS { .. });
                let s = self.gc_type(struct_type_index).fields[field_index as usize];
                self.gc(
                    1,
                    1,
                    GcKind::StructGet {
                        field: field_index,
                        ext: Ext::of(s, signed),
                    },
                );
            }
            O::StructSet {
                struct_type_index,
                field_index,
            } => {
                let storage = self.gc_type(struct_type_index).fields[field_index as usize];
                self.gc(
                    2,
                    0,
                    GcKind::StructSet {
                        field: field_index,
                        storage,
                    },
                );
            }
            O::ArrayNew { array_type_index } => {
                let ty = self.gc_type(array_type_index);
                self.gc(2, 1, GcKind::ArrayNew(ty));
            }
            O::ArrayNewDefault { array_type_index } => {
                let ty = self.gc_type(array_type_index);
                self.gc(1, 1, GcKind::ArrayNewDefault(ty));
            }
            O::ArrayNewFixed {
                array_type_index,
                array_size,
            } => {
                let ty = self.gc_type(array_type_index);
                self.gc(array_size, 1, GcKind::ArrayNewFixed(ty, array_size));
            }
            O::ArrayNewData {
                array_type_index,
                array_data_index,
            } => {
                let ty = self.gc_type(array_type_index);
                self.gc(2, 1, GcKind::ArrayNewData(ty, array_data_index));
            }
            O::ArrayNewElem {
                array_type_index,
                array_elem_index,
            } => {
                let ty = self.gc_type(array_type_index);
                self.gc(2, 1, GcKind::ArrayNewElem(ty, array_elem_index));
            }
            O::ArrayGet { .. } => self.gc(2, 1, GcKind::ArrayGet(Ext::None)),
            O::ArrayGetS { array_type_index } | O::ArrayGetU { array_type_index } => {
                let signed = matches!(op, O::ArrayGetS { .. });
                let s = self.gc_type(array_type_index).fields[0];
                self.gc(2, 1, GcKind::ArrayGet(Ext::of(s, signed)));
            }
            O::ArraySet { array_type_index } => {
                let s = self.gc_type(array_type_index).fields[0];
                self.gc(3, 0, GcKind::ArraySet(s));
            }
            O::ArrayLen => self.gc(1, 1, GcKind::ArrayLen),
            O::ArrayFill { array_type_index } => {
                let s = self.gc_type(array_type_index).fields[0];
                self.gc(4, 0, GcKind::ArrayFill(s));
            }
            O::ArrayCopy { .. } => self.gc(5, 0, GcKind::ArrayCopy),
            O::ArrayInitData {
                array_type_index,
                array_data_index,
            } => {
                let ty = self.gc_type(array_type_index);
                self.gc(4, 0, GcKind::ArrayInitData(ty, array_data_index));
            }
            O::ArrayInitElem {
                array_elem_index, ..
            } => self.gc(4, 0, GcKind::ArrayInitElem(array_elem_index)),
            O::RefI31 => self.gc(1, 1, GcKind::RefI31),
            O::I31GetS => self.gc(1, 1, GcKind::I31Get { signed: true }),
            O::I31GetU => self.gc(1, 1, GcKind::I31Get { signed: false }),
            O::RefTestNonNull { hty } | O::RefTestNullable { hty } => {
                let nullable = matches!(op, O::RefTestNullable { .. });
                let t = self.cast_target(nullable, hty, offset)?;
                self.gc(1, 1, GcKind::RefTest(t));
            }
            O::RefCastNonNull { hty } | O::RefCastNullable { hty } => {
                let nullable = matches!(op, O::RefCastNullable { .. });
                let t = self.cast_target(nullable, hty, offset)?;
                self.gc(1, 1, GcKind::RefCast(t));
            }
            O::BrOnCast {
                relative_depth,
                to_ref_type,
                ..
            }
            | O::BrOnCastFail {
                relative_depth,
                to_ref_type,
                ..
            } => {
                let on_fail = matches!(op, O::BrOnCastFail { .. });
                let t =
                    self.cast_target(to_ref_type.is_nullable(), to_ref_type.heap_type(), offset)?;
                self.br_on_cast(relative_depth, t, on_fail);
            }
            O::AnyConvertExtern => self.gc(1, 1, GcKind::AnyConvertExtern),
            O::ExternConvertAny => self.gc(1, 1, GcKind::ExternConvertAny),
            other => {
                return Err(TranslateError::new(
                    format!("instruction {other:?} is not supported yet"),
                    offset,
                ))
            }
        }
        Ok(())
    }
}
