//! Canonical ABI tests on hand-built memory: every type both ways, string encodings with
//! their `realloc` sequences, flattening limits and each trapping check.

use super::lift::{lift_flat, load, FlatSrc};
use super::lower::{lower_flat, store};
use super::*;
use crate::component::resources::{ResourceAny, ResourceType};
use crate::component::types::*;
use crate::component::values::Val;

/// A context over a plain byte vector with a bump allocator that logs `realloc` calls.
pub(crate) struct TestCx {
    pub mem: Vec<u8>,
    pub encoding: StringEncoding,
    pub bump: u32,
    pub reallocs: Vec<(u32, u32, u32, u32)>,
}

impl TestCx {
    pub(crate) fn new(encoding: StringEncoding) -> TestCx {
        TestCx {
            mem: vec![0; 4096],
            encoding,
            bump: 1024,
            reallocs: Vec::new(),
        }
    }
}

impl AbiCx for TestCx {
    fn encoding(&self) -> StringEncoding {
        self.encoding
    }
    fn memory(&self) -> Result<&[u8]> {
        Ok(&self.mem)
    }
    fn memory_mut(&mut self) -> Result<&mut [u8]> {
        Ok(&mut self.mem)
    }
    fn realloc(&mut self, old: u32, old_size: u32, align: u32, new_size: u32) -> Result<u32> {
        self.reallocs.push((old, old_size, align, new_size));
        let ptr = self.bump.next_multiple_of(align);
        self.bump = ptr + new_size;
        let n = old_size.min(new_size) as usize;
        self.mem
            .copy_within(old as usize..old as usize + n, ptr as usize);
        Ok(ptr)
    }
    fn lift_own(&mut self, _ty: ResourceRef, idx: u32) -> Result<ResourceAny> {
        Ok(ResourceAny::new(ResourceType::host::<u8>(), idx * 10, true))
    }
    fn lift_borrow(&mut self, _ty: ResourceRef, idx: u32) -> Result<ResourceAny> {
        Ok(ResourceAny::new(
            ResourceType::host::<u8>(),
            idx * 10,
            false,
        ))
    }
    fn lower_own(&mut self, _ty: ResourceRef, r: &ResourceAny) -> Result<u32> {
        Ok(r.rep() / 10)
    }
    fn lower_borrow(&mut self, _ty: ResourceRef, r: &ResourceAny) -> Result<u32> {
        Ok(r.rep() / 10)
    }
}

fn s(x: &str) -> String {
    x.to_string()
}

/// A resource reference for tests: any id from a validated component.
fn resource_ref() -> ResourceRef {
    let wat = r#"(component (type $r (resource (rep i32))) (export "r" (type $r)))"#;
    let bytes = wat::parse_str(wat).unwrap();
    let mut v = wasmparser::Validator::new();
    let types = v.validate_all(&bytes).unwrap();
    match types.as_ref().component_any_type_at(0) {
        wasmparser::component_types::ComponentAnyTypeId::Resource(r) => ResourceRef(r.resource()),
        _ => unreachable!(),
    }
}

fn sample_types() -> Vec<(Type, Val)> {
    let rec = Type::Record(Record::new([
        (s("a"), Type::U8),
        (s("b"), Type::S64),
        (s("c"), Type::String),
    ]));
    let var = Type::Variant(Variant::new([
        (s("none"), None),
        (s("small"), Some(Type::Float32)),
        (s("big"), Some(Type::U64)),
    ]));
    let flags = Type::Flags(Flags::new((0..20).map(|i| format!("f{i}"))));
    let r = resource_ref();
    vec![
        (Type::Bool, Val::Bool(true)),
        (Type::S8, Val::S8(-5)),
        (Type::U8, Val::U8(250)),
        (Type::S16, Val::S16(-30000)),
        (Type::U16, Val::U16(65000)),
        (Type::S32, Val::S32(-7)),
        (Type::U32, Val::U32(u32::MAX)),
        (Type::S64, Val::S64(i64::MIN)),
        (Type::U64, Val::U64(u64::MAX)),
        (Type::Float32, Val::Float32(1.5)),
        (Type::Float64, Val::Float64(-2.25)),
        (Type::Char, Val::Char('ß')),
        (Type::String, Val::String(s("héllo wörld"))),
        (
            Type::List(List::new(Type::U16)),
            Val::List(vec![Val::U16(1), Val::U16(2), Val::U16(3)]),
        ),
        (
            Type::List(List::new(Type::U8)),
            Val::List(vec![Val::U8(9), Val::U8(8)]),
        ),
        (
            rec.clone(),
            Val::Record(vec![
                (s("a"), Val::U8(1)),
                (s("b"), Val::S64(-2)),
                (s("c"), Val::String(s("x"))),
            ]),
        ),
        (
            Type::Tuple(Tuple::new([Type::Char, rec.clone()])),
            Val::Tuple(vec![
                Val::Char('z'),
                Val::Record(vec![
                    (s("a"), Val::U8(3)),
                    (s("b"), Val::S64(4)),
                    (s("c"), Val::String(String::new())),
                ]),
            ]),
        ),
        (var.clone(), Val::Variant(s("none"), None)),
        (
            var.clone(),
            Val::Variant(s("small"), Some(Box::new(Val::Float32(0.5)))),
        ),
        (
            var.clone(),
            Val::Variant(s("big"), Some(Box::new(Val::U64(1 << 40)))),
        ),
        (
            Type::Enum(Enum::new([s("red"), s("green"), s("blue")])),
            Val::Enum(s("blue")),
        ),
        (
            Type::Option(OptionType::new(Type::String)),
            Val::Option(Some(Box::new(Val::String(s("some"))))),
        ),
        (Type::Option(OptionType::new(Type::U8)), Val::Option(None)),
        (
            Type::Result(ResultType::new(Some(Type::U32), Some(Type::String))),
            Val::Result(Err(Some(Box::new(Val::String(s("bad")))))),
        ),
        (
            Type::Result(ResultType::new(None, None)),
            Val::Result(Ok(None)),
        ),
        (flags, Val::Flags(vec![s("f0"), s("f17"), s("f19")])),
        (
            Type::Own(r),
            Val::Resource(ResourceAny::new(ResourceType::host::<u8>(), 70, true)),
        ),
        (
            Type::Borrow(r),
            Val::Resource(ResourceAny::new(ResourceType::host::<u8>(), 30, false)),
        ),
        (
            Type::List(List::new(Type::List(List::new(Type::String)))),
            Val::List(vec![
                Val::List(vec![Val::String(s("a")), Val::String(s("bc"))]),
                Val::List(vec![]),
            ]),
        ),
    ]
}

#[test]
fn every_type_round_trips_flat_and_in_memory() {
    for enc in [
        StringEncoding::Utf8,
        StringEncoding::Utf16,
        StringEncoding::CompactUtf16,
    ] {
        for (ty, val) in sample_types() {
            let mut cx = TestCx::new(enc);
            let mut flat = Vec::new();
            lower_flat(&mut cx, &ty, &val, &mut flat).unwrap();
            assert_eq!(flat.len(), ty.flat_count(), "{ty}");
            let back = lift_flat(&mut cx, &ty, &mut FlatSrc::new(&flat)).unwrap();
            assert_eq!(back, val, "flat {ty} in {enc:?}");

            let ptr = 64u32.next_multiple_of(ty.align());
            store(&mut cx, &ty, &val, ptr).unwrap();
            let back = load(&mut cx, &ty, ptr).unwrap();
            assert_eq!(back, val, "memory {ty} in {enc:?}");
        }
    }
}

#[test]
fn variant_payloads_join_and_coerce() {
    let var = Type::Variant(Variant::new([
        (s("f"), Some(Type::Float32)),
        (s("u"), Some(Type::U64)),
        (s("i"), Some(Type::U32)),
    ]));
    let mut cx = TestCx::new(StringEncoding::Utf8);
    let mut flat = Vec::new();
    let v = Val::Variant(s("f"), Some(Box::new(Val::Float32(1.5))));
    lower_flat(&mut cx, &var, &v, &mut flat).unwrap();
    assert_eq!(flat, vec![0, 1.5f32.to_bits() as u64]);
    // A 32-bit case read from the joined i64 slot keeps the low 32 bits only.
    let back = lift_flat(
        &mut cx,
        &var,
        &mut FlatSrc::new(&[2, 0xdead_0000_0000_0007]),
    )
    .unwrap();
    assert_eq!(back, Val::Variant(s("i"), Some(Box::new(Val::U32(7)))));
}

#[test]
fn bool_nan_and_narrow_integers_follow_the_spec() {
    let mut cx = TestCx::new(StringEncoding::Utf8);
    let lift = |cx: &mut TestCx, ty: &Type, raw: u64| {
        lift_flat(cx, ty, &mut FlatSrc::new(&[raw])).unwrap()
    };
    assert_eq!(lift(&mut cx, &Type::Bool, 2), Val::Bool(true));
    assert_eq!(lift(&mut cx, &Type::Bool, 1 << 40), Val::Bool(false));
    assert_eq!(lift(&mut cx, &Type::U8, 0x1ff), Val::U8(0xff));
    assert_eq!(lift(&mut cx, &Type::S8, 0xff), Val::S8(-1));
    let nan = lift(&mut cx, &Type::Float32, 0x7fc0_1234);
    let Val::Float32(f) = nan else { panic!() };
    assert_eq!(f.to_bits(), 0x7fc0_0000);
    let nan = lift(&mut cx, &Type::Float64, 0xfff0_0000_0000_0001);
    let Val::Float64(f) = nan else { panic!() };
    assert_eq!(f.to_bits(), 0x7ff8_0000_0000_0000);
    let mut out = Vec::new();
    lower_flat(&mut cx, &Type::S16, &Val::S16(-1), &mut out).unwrap();
    assert_eq!(out, vec![0xffff_ffff]);
}

fn trap_of(e: crate::Error) -> Option<crate::TrapCode> {
    e.as_trap().map(|t| t.code())
}

#[test]
fn invalid_values_trap() {
    let mut cx = TestCx::new(StringEncoding::Utf8);
    let e = lift_flat(&mut cx, &Type::Char, &mut FlatSrc::new(&[0xd800])).unwrap_err();
    assert_eq!(trap_of(e), Some(crate::TrapCode::InvalidChar));
    let e = lift_flat(&mut cx, &Type::Char, &mut FlatSrc::new(&[0x11_0000])).unwrap_err();
    assert_eq!(trap_of(e), Some(crate::TrapCode::InvalidChar));

    let en = Type::Enum(Enum::new([s("a"), s("b")]));
    let e = lift_flat(&mut cx, &en, &mut FlatSrc::new(&[2])).unwrap_err();
    assert_eq!(trap_of(e), Some(crate::TrapCode::InvalidDiscriminant));
    cx.mem[100] = 7;
    let opt = Type::Option(OptionType::new(Type::U8));
    let e = load(&mut cx, &opt, 100).unwrap_err();
    assert_eq!(trap_of(e), Some(crate::TrapCode::InvalidDiscriminant));

    let list = Type::List(List::new(Type::U32));
    let e = lift_flat(&mut cx, &list, &mut FlatSrc::new(&[2, 1])).unwrap_err();
    assert_eq!(trap_of(e), Some(crate::TrapCode::UnalignedPointer));
    let e = lift_flat(&mut cx, &list, &mut FlatSrc::new(&[4092, 2])).unwrap_err();
    assert_eq!(trap_of(e), Some(crate::TrapCode::ListOutOfBounds));
    let e = lift_flat(&mut cx, &list, &mut FlatSrc::new(&[0, 1 << 27])).unwrap_err();
    assert_eq!(trap_of(e), Some(crate::TrapCode::ListOutOfBounds));

    let e = lift_flat(&mut cx, &Type::String, &mut FlatSrc::new(&[4090, 10])).unwrap_err();
    assert_eq!(trap_of(e), Some(crate::TrapCode::StringOutOfBounds));
    cx.mem[200] = 0xff;
    let e = lift_flat(&mut cx, &Type::String, &mut FlatSrc::new(&[200, 1])).unwrap_err();
    assert!(e.to_string().contains("utf-8"), "{e}");

    let mut cx = TestCx::new(StringEncoding::Utf16);
    let e = lift_flat(&mut cx, &Type::String, &mut FlatSrc::new(&[1, 1])).unwrap_err();
    assert_eq!(trap_of(e), Some(crate::TrapCode::UnalignedPointer));
    cx.mem[200..202].copy_from_slice(&0xd800u16.to_le_bytes());
    let e = lift_flat(&mut cx, &Type::String, &mut FlatSrc::new(&[200, 1])).unwrap_err();
    assert!(e.to_string().contains("utf-16"), "{e}");
}

#[test]
fn lowering_checks_values_against_types() {
    let mut cx = TestCx::new(StringEncoding::Utf8);
    let mut out = Vec::new();
    let e = lower_flat(&mut cx, &Type::U8, &Val::S8(1), &mut out).unwrap_err();
    assert!(e.to_string().contains("type mismatch"), "{e}");
    let en = Type::Enum(Enum::new([s("a")]));
    assert!(lower_flat(&mut cx, &en, &Val::Enum(s("zz")), &mut out).is_err());
    let opt = Type::Option(OptionType::new(Type::U8));
    assert!(lower_flat(
        &mut cx,
        &opt,
        &Val::Option(Some(Box::new(Val::U16(1)))),
        &mut out
    )
    .is_err());
    let rec = Type::Record(Record::new([(s("a"), Type::U8)]));
    assert!(lower_flat(
        &mut cx,
        &rec,
        &Val::Record(vec![(s("b"), Val::U8(1))]),
        &mut out
    )
    .is_err());
}

#[test]
fn strings_follow_the_realloc_sequences() {
    // UTF-8 destination: one exact allocation.
    let mut cx = TestCx::new(StringEncoding::Utf8);
    let mut out = Vec::new();
    lower_flat(&mut cx, &Type::String, &Val::String(s("aé")), &mut out).unwrap();
    assert_eq!(cx.reallocs, vec![(0, 0, 1, 3)]);
    assert_eq!(out[1], 3);

    // UTF-16: worst case (2 bytes per source byte), then shrink.
    let mut cx = TestCx::new(StringEncoding::Utf16);
    let mut out = Vec::new();
    lower_flat(&mut cx, &Type::String, &Val::String(s("aé")), &mut out).unwrap();
    assert_eq!(cx.reallocs.len(), 2);
    assert_eq!(cx.reallocs[0], (0, 0, 2, 6));
    assert_eq!(cx.reallocs[1], (1024, 6, 2, 4));
    assert_eq!(out[1], 2);

    // latin1+utf16, all Latin-1: allocation of the source length, shrunk to the Latin-1 size.
    let mut cx = TestCx::new(StringEncoding::CompactUtf16);
    let mut out = Vec::new();
    lower_flat(&mut cx, &Type::String, &Val::String(s("aé")), &mut out).unwrap();
    assert_eq!(cx.reallocs[0], (0, 0, 2, 3));
    assert_eq!(cx.reallocs[1].3, 2);
    assert_eq!(out[1], 2);
    assert_eq!(&cx.mem[out[0] as usize..out[0] as usize + 2], &[b'a', 0xe9]);

    // latin1+utf16 with a character outside Latin-1: inflate to UTF-16 and tag the length.
    let mut cx = TestCx::new(StringEncoding::CompactUtf16);
    let mut out = Vec::new();
    lower_flat(&mut cx, &Type::String, &Val::String(s("aé€")), &mut out).unwrap();
    assert_eq!(out[1] as u32, 3 | (1 << 31));
    let back = lift_flat(&mut cx, &Type::String, &mut FlatSrc::new(&out)).unwrap();
    assert_eq!(back, Val::String(s("aé€")));
    assert_eq!(cx.reallocs[1], (cx.reallocs[1].0, 6, 2, 12));
}

#[test]
fn values_beyond_the_flat_limit_go_through_memory() {
    let types: Vec<Type> = (0..17).map(|_| Type::U32).collect();
    let tuple = Tuple::new(types.clone());
    let vals: Vec<Val> = (0..17).map(Val::U32).collect();
    let mut cx = TestCx::new(StringEncoding::Utf8);
    let flat = lower_values(&mut cx, &types, &tuple, 17, MAX_FLAT_PARAMS, &vals, None).unwrap();
    assert_eq!(flat.len(), 1);
    assert_eq!(cx.reallocs, vec![(0, 0, 4, 68)]);
    let back = lift_values(&mut cx, &types, &tuple, 17, MAX_FLAT_PARAMS, &flat).unwrap();
    assert_eq!(back, vals);

    // Into a caller-provided buffer: no allocation, no flat values.
    let two = vec![Type::U32, Type::U64];
    let tuple = Tuple::new(two.clone());
    let vals = vec![Val::U32(1), Val::U64(2)];
    let mut cx = TestCx::new(StringEncoding::Utf8);
    let flat = lower_values(&mut cx, &two, &tuple, 2, MAX_FLAT_RESULTS, &vals, Some(16)).unwrap();
    assert!(flat.is_empty() && cx.reallocs.is_empty());
    assert_eq!(
        lift_values(&mut cx, &two, &tuple, 2, MAX_FLAT_RESULTS, &[16]).unwrap(),
        vals
    );
    let e = lift_values(&mut cx, &two, &tuple, 2, MAX_FLAT_RESULTS, &[12]).unwrap_err();
    assert_eq!(trap_of(e), Some(crate::TrapCode::UnalignedPointer));
    let e = lift_values(&mut cx, &two, &tuple, 2, MAX_FLAT_RESULTS, &[4096]).unwrap_err();
    assert_eq!(trap_of(e), Some(crate::TrapCode::MemoryOutOfBounds));
}
