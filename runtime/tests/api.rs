//! Embedding API smoke tests: calls, host functions, traps with backtraces, limits.

use wasmgate::*;

fn instance(wat: &str) -> (Store<()>, Instance) {
    let engine = Engine::default();
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    (store, instance)
}

#[test]
fn recursive_fib() {
    let (mut store, i) = instance(
        r#"(module (func $fib (export "fib") (param i32) (result i32)
            (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
              (then (local.get 0))
              (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                             (call $fib (i32.sub (local.get 0) (i32.const 2))))))))"#,
    );
    let fib = i.get_typed_func::<i32, i32>(&store, "fib").unwrap();
    assert_eq!(fib.call(&mut store, 20).unwrap(), 6765);
}

#[test]
fn loops_and_branches_with_values() {
    let (mut store, i) = instance(
        r#"(module (func (export "sum") (param i32) (result i64) (local i64)
            (block $done (loop $l
              (br_if $done (i32.eqz (local.get 0)))
              (local.set 1 (i64.add (local.get 1) (i64.extend_i32_u (local.get 0))))
              (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
              (br $l)))
            (local.get 1))
           (func (export "pick") (param i32) (result i32)
            (block $b2 (result i32) (block $b1 (result i32) (block $b0 (result i32)
              (i32.const 100) (i32.const 10) (local.get 0) (br_table $b0 $b1 $b2))
              (i32.const 1) (i32.add)) (i32.const 2) (i32.add))))"#,
    );
    let sum = i.get_typed_func::<i32, i64>(&store, "sum").unwrap();
    assert_eq!(sum.call(&mut store, 1000).unwrap(), 500500);
    let pick = i.get_typed_func::<i32, i32>(&store, "pick").unwrap();
    assert_eq!(pick.call(&mut store, 0).unwrap(), 13);
    assert_eq!(pick.call(&mut store, 1).unwrap(), 12);
    assert_eq!(pick.call(&mut store, 7).unwrap(), 10);
}

#[test]
fn host_function_and_memory() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "env" "add" (func $add (param i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "run") (result i32)
              (i32.store (i32.const 8) (call $add (i32.const 2) (i32.const 40)))
              (i32.load (i32.const 8))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, 0u32);
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "env",
            "add",
            |mut caller: Caller<'_, u32>, a: i32, b: i32| {
                *caller.data_mut() += 1;
                a + b
            },
        )
        .unwrap();
    let inst = linker.instantiate(&mut store, &module).unwrap();
    let run = inst.get_typed_func::<(), i32>(&store, "run").unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 42);
    assert_eq!(*store.data(), 1);
    let mem = inst.get_memory(&store, "memory").unwrap();
    assert_eq!(&mem.data(&store)[8..12], &42i32.to_le_bytes());
}

#[test]
fn trap_has_code_and_backtrace() {
    let (mut store, i) =
        instance(r#"(module (func $inner (unreachable)) (func (export "outer") (call $inner)))"#);
    let f = i.get_func(&store, "outer").unwrap();
    let err = f.call(&mut store, &[], &mut []).unwrap_err();
    let trap = err.as_trap().expect("a trap");
    assert_eq!(trap.code(), TrapCode::Unreachable);
    let names: Vec<_> = trap.trace().iter().map(|f| f.func_name.clone()).collect();
    assert_eq!(names, vec![Some("inner".to_string()), None]);
}

#[test]
fn deep_recursion_is_call_stack_exhausted() {
    let (mut store, i) = instance(r#"(module (func $f (export "f") (call $f)))"#);
    let f = i.get_func(&store, "f").unwrap();
    let err = f.call(&mut store, &[], &mut []).unwrap_err();
    assert_eq!(err.as_trap().unwrap().code(), TrapCode::StackOverflow);
}

#[test]
fn fuel_stops_a_runaway_loop() {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config);
    let module = Module::new(&engine, r#"(module (func (export "spin") (loop (br 0))))"#).unwrap();
    let mut store = Store::new(&engine, ());
    store.set_fuel(10_000).unwrap();
    let i = Instance::new(&mut store, &module, &[]).unwrap();
    let f = i.get_func(&store, "spin").unwrap();
    let err = f.call(&mut store, &[], &mut []).unwrap_err();
    assert_eq!(err.as_trap().unwrap().code(), TrapCode::OutOfFuel);
}

#[test]
fn epoch_deadline_stops_a_runaway_loop() {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config);
    let module = Module::new(&engine, r#"(module (func (export "spin") (loop (br 0))))"#).unwrap();
    let mut store = Store::new(&engine, ());
    store.set_epoch_deadline(1);
    let i = Instance::new(&mut store, &module, &[]).unwrap();
    let f = i.get_func(&store, "spin").unwrap();
    let e2 = engine.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(20));
        e2.increment_epoch();
    });
    let err = f.call(&mut store, &[], &mut []).unwrap_err();
    t.join().unwrap();
    assert_eq!(err.as_trap().unwrap().code(), TrapCode::Interrupt);
}

#[test]
fn memory_growth_respects_store_limit() {
    let (mut store, i) = instance(
        r#"(module (memory 1 100) (func (export "grow") (param i32) (result i32)
            (memory.grow (local.get 0))))"#,
    );
    store.limiter(StoreLimitsBuilder::new().memory_size(4 * 65536).build());
    let grow = i.get_typed_func::<i32, i32>(&store, "grow").unwrap();
    assert_eq!(grow.call(&mut store, 2).unwrap(), 1);
    assert_eq!(grow.call(&mut store, 2).unwrap(), -1);
    assert_eq!(grow.call(&mut store, 1).unwrap(), 3);
}

#[test]
fn malformed_and_invalid_modules_are_errors_with_offsets() {
    let engine = Engine::new(Config::new().compilation_mode(CompilationMode::Eager));
    let err = Module::new(&engine, b"\0asm\x01\0\0\0\x01").unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Compile {
                offset: Some(_),
                ..
            }
        ),
        "{err}"
    );
    let err = Module::new(&engine, r#"(module (func (result i32) (i64.const 1)))"#).unwrap_err();
    assert!(err.to_string().contains("type mismatch"), "{err}");
}

#[test]
fn lazy_validation_reports_at_first_call() {
    let engine = Engine::default();
    let bytes = wat::parse_str(r#"(module (func (export "f") (result i32) (i64.const 1)))"#);
    // wat itself does not type-check, so the bytes are invalid but well-formed.
    let module = Module::new(&engine, bytes.unwrap()).unwrap();
    let mut store = Store::new(&engine, ());
    let i = Instance::new(&mut store, &module, &[]).unwrap();
    let f = i.get_func(&store, "f").unwrap();
    let mut out = [Val::I32(0)];
    let err = f.call(&mut store, &[], &mut out).unwrap_err();
    assert!(err.to_string().contains("type mismatch"), "{err}");
}

#[test]
fn unknown_import_names_module_field_and_type() {
    let engine = Engine::default();
    let module = Module::new(&engine, r#"(module (import "env" "f" (func (param i32))))"#).unwrap();
    let mut store = Store::new(&engine, ());
    let err = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("env::f") && msg.contains("(param i32)"),
        "{msg}"
    );
}

#[test]
fn gc_values_cross_the_api() {
    let (mut store, i) = instance(
        r#"(module
            (type $pair (struct (field i32) (field i32)))
            (func (export "make") (param i32 i32) (result anyref)
              (struct.new $pair (local.get 0) (local.get 1)))
            (func (export "sum") (param anyref) (result i32)
              (local $p (ref $pair))
              (local.set $p (ref.cast (ref $pair) (local.get 0)))
              (i32.add (struct.get $pair 0 (local.get $p)) (struct.get $pair 1 (local.get $p))))
            (func (export "first") (param (ref $pair)) (result i32)
              (struct.get $pair 0 (local.get 0)))
            (func (export "i31") (param i32) (result i31ref) (ref.i31 (local.get 0)))
            (func (export "get") (param i31ref) (result i32) (i31.get_s (local.get 0))))"#,
    );
    let call = |store: &mut Store<()>, name: &str, args: &[Val]| {
        let f = i.get_func(&*store, name).unwrap();
        let mut out = [Val::I32(0)];
        f.call(store, args, &mut out).map(|()| out[0])
    };
    let pair = call(&mut store, "make", &[Val::I32(2), Val::I32(40)]).unwrap();
    let Val::AnyRef(Some(r)) = pair else {
        panic!("expected a struct, got {pair:?}")
    };
    assert!(r.is_struct(&store) && !r.is_array(&store) && r.as_i31().is_none());
    assert_eq!(call(&mut store, "sum", &[pair]).unwrap(), Val::I32(42));
    // An i31 is not a $pair: the cast traps.
    let small = Val::AnyRef(Some(AnyRef::from_i31(5)));
    let trap = call(&mut store, "sum", &[small]).unwrap_err();
    assert_eq!(
        trap.as_trap().map(|t| t.code()),
        Some(TrapCode::CastFailure)
    );
    // The host's arguments are checked against the exact parameter types.
    assert_eq!(call(&mut store, "first", &[pair]).unwrap(), Val::I32(2));
    assert!(call(&mut store, "first", &[small]).is_err());
    assert!(call(&mut store, "first", &[Val::AnyRef(None)]).is_err());
    let v = call(&mut store, "i31", &[Val::I32(-3)]).unwrap();
    assert_eq!(v, Val::AnyRef(Some(AnyRef::from_i31(-3i32 as u32))));
    assert_eq!(call(&mut store, "get", &[v]).unwrap(), Val::I32(-3));
}

#[test]
fn v128_through_host_functions_calls_and_globals() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "env" "swap" (func $swap (param i32 v128 i64) (result v128 i32)))
            (global $g (export "g") (mut v128) (v128.const i64x2 1 2))
            (func (export "run") (param $v v128) (param $k i32) (result i32 v128)
              (local $s v128)
              (global.set $g (i64x2.add (global.get $g) (local.get $v)))
              (call $swap (local.get $k) (global.get $g) (i64.const 5))
              (drop)
              (local.set $s)
              (local.get $k)
              (i32x4.add (local.get $s)
                (i32x4.splat (i32.add (local.get $k) (i32x4.extract_lane 0 (local.get $v)))))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let ty = FuncType::new(
        [ValType::I32, ValType::V128, ValType::I64],
        [ValType::V128, ValType::I32],
    );
    linker
        .func_new("env", "swap", ty, |_caller, params, results| {
            // Swaps the vector's 64-bit halves; the scalars around it must arrive intact.
            assert_eq!((params[0], params[2]), (Val::I32(3), Val::I64(5)));
            let Val::V128(v) = params[1] else {
                panic!("expected a v128, got {:?}", params[1])
            };
            results[0] = Val::V128(v.rotate_left(64));
            results[1] = Val::I32(9);
            Ok(())
        })
        .unwrap();
    let inst = linker.instantiate(&mut store, &module).unwrap();
    let run = inst.get_func(&store, "run").unwrap();
    let mut results = [Val::I32(0), Val::I32(0)];
    let v = (20u128 << 64) | 10;
    run.call(&mut store, &[Val::V128(v), Val::I32(3)], &mut results)
        .unwrap();
    // The host swapped (11, 22) to (22, 11); the lanes of 22 + 3 + 10 = 35 and 11 + 3 + 10.
    let lanes = |v: u128| -> [u32; 4] { std::array::from_fn(|i| (v >> (32 * i)) as u32) };
    assert_eq!(results[0], Val::I32(3));
    let Val::V128(out) = results[1] else {
        panic!("expected a v128, got {:?}", results[1])
    };
    assert_eq!(lanes(out), [35, 13, 24, 13]);
    let g = inst.get_global(&store, "g").unwrap();
    assert_eq!(g.get(&store), Val::V128((22u128 << 64) | 11));
    g.set(&mut store, Val::V128(u128::MAX)).unwrap();
    assert_eq!(g.get(&store), Val::V128(u128::MAX));
}
