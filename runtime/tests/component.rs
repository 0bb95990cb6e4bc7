//! The component model: decoding and validation of components (`Component::new`), with
//! errors that name their offset.

use wasmgate::component::types::ComponentItem;
use wasmgate::component::Component;
use wasmgate::{CompilationMode, Config, Engine, ErrorKind};

const ADD: &str = r#"
(component
  (core module $m
    (memory (export "memory") 1)
    (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
  (core instance $i (instantiate $m))
  (func (export "add") (param "a" u32) (param "b" u32) (result u32)
    (canon lift (core func $i "add")))
)"#;

#[test]
fn decodes_a_component_with_its_export_types() {
    let engine = Engine::default();
    let c = Component::new(&engine, ADD).unwrap();
    assert_eq!(c.imports().len(), 0);
    let (name, ty) = c.exports().next().unwrap();
    assert_eq!(name, "add");
    let ComponentItem::ComponentFunc(f) = ty else {
        panic!("expected a function, found {ty:?}")
    };
    assert_eq!(f.to_string(), "func(a: u32, b: u32) -> u32");
}

#[test]
fn decodes_imports_nested_components_and_resources() {
    let wat = r#"
(component
  (import "wasi:cli/stdout@0.2.0" (instance $stdout
    (export "output-stream" (type (sub resource)))
    (export "get-stdout" (func (result (own 0))))))
  (type $r (resource (rep i32)))
  (core func $new (canon resource.new $r))
  (component $inner
    (import "x" (func $x (param "v" string)))
    (export "y" (func $x)))
  (core module $m (func (export "f") (param i32 i32)))
  (core instance $mi (instantiate $m))
  (core module $mem (memory (export "m") 1) (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 0))
  (core instance $memi (instantiate $mem))
  (func $f (param "v" string) (canon lift (core func $mi "f") (memory $memi "m") (realloc (func $memi "realloc"))))
  (instance $ii (instantiate $inner (with "x" (func $f))))
  (export "y" (func $ii "y"))
  (export "r" (type $r))
)"#;
    let engine = Engine::default();
    let c = Component::new(&engine, wat).unwrap();
    let (name, ty) = c.imports().next().unwrap();
    assert_eq!(name, "wasi:cli/stdout@0.2.0");
    let ComponentItem::ComponentInstance(inst) = ty else {
        panic!("{ty:?}")
    };
    assert!(matches!(
        inst.get_export("output-stream"),
        Some(ComponentItem::Resource(_))
    ));
    assert!(matches!(
        c.get_export("y"),
        Some(ComponentItem::ComponentFunc(_))
    ));
    assert!(matches!(
        c.get_export("r"),
        Some(ComponentItem::Resource(_))
    ));
}

#[test]
fn invalid_components_name_the_offset() {
    let engine = Engine::default();
    // A lifted function whose core type does not match its component type.
    let wat = r#"
(component
  (core module $m (func (export "f") (param i32)))
  (core instance $i (instantiate $m))
  (func (export "f") (param "a" u64) (canon lift (core func $i "f"))))"#;
    let err = Component::new(&engine, wat).unwrap_err();
    match err.kind() {
        ErrorKind::Compile {
            offset: Some(_),
            message,
        } => assert!(message.contains("do not match"), "{message}"),
        other => panic!("expected a compile error with an offset, got {other:?}"),
    }
    assert!(err.to_string().contains("(at offset 0x"), "{err}");

    // A core module inside a component is compiled like any module: its bodies are validated
    // on first call, or in `Component::new` with eager compilation.
    let wat = r#"(component (core module (func (result i32) i64.const 0)))"#;
    Component::new(&engine, wat).unwrap();
    let mut config = Config::new();
    config.compilation_mode(CompilationMode::Eager);
    let err = Component::new(&Engine::new(&config), wat).unwrap_err();
    assert!(err.to_string().contains("type mismatch"), "{err}");

    // A core module is not a component.
    let module = wat::parse_str("(module)").unwrap();
    let err = Component::new(&engine, &module).unwrap_err();
    assert!(err.to_string().contains("found a core module"), "{err}");
}

// ---------------------------------------------------------------------------------------
// Instantiation and calls.

use wasmgate::component::{
    Instance, Linker, Resource, ResourceAny, ResourceTable, ResourceType, Val,
};
use wasmgate::{Store, TrapCode};

/// A core module with a memory and a bump allocator as `realloc` (copies min(old, new)).
const LIBC: &str = r#"
  (core module $libc
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 1024))
    (global $calls (mut i32) (i32.const 0))
    (func (export "realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $new_size i32) (result i32)
      (local $ptr i32)
      (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
      (local.set $ptr
        (i32.and
          (i32.add (global.get $bump) (i32.sub (local.get $align) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get $align))))
      (global.set $bump (i32.add (local.get $ptr) (local.get $new_size)))
      (memory.copy (local.get $ptr) (local.get $old)
        (select (local.get $old_size) (local.get $new_size)
          (i32.lt_u (local.get $old_size) (local.get $new_size))))
      (local.get $ptr))
    (func (export "realloc-calls") (result i32) (global.get $calls)))
  (core instance $libc (instantiate $libc))
"#;

fn component(body: &str) -> String {
    format!("(component {LIBC} {body})")
}

#[test]
fn host_calls_a_lifted_export() {
    let engine = Engine::default();
    let c = Component::new(&engine, ADD).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &c).unwrap();
    let add = instance.get_func(&store, "add").unwrap();
    let mut results = [Val::U32(0)];
    add.call(&mut store, &[Val::U32(40), Val::U32(2)], &mut results)
        .unwrap();
    assert_eq!(results, [Val::U32(42)]);
    let typed = instance
        .get_typed_func::<(u32, u32), (u32,)>(&store, "add")
        .unwrap();
    assert_eq!(typed.call(&mut store, (u32::MAX, 2)).unwrap(), (1,));
    // Wrong types are refused before any call.
    assert!(instance
        .get_typed_func::<(u32,), (u32,)>(&store, "add")
        .is_err());
    assert!(add
        .call(&mut store, &[Val::U32(1), Val::S32(2)], &mut results)
        .is_err());
}

#[test]
fn strings_cross_in_both_directions() {
    let wat = component(
        r#"
  (core module $m
    (import "libc" "memory" (memory 1))
    (import "libc" "realloc" (func $realloc (param i32 i32 i32 i32) (result i32)))
    (data (i32.const 100) "hello, ")
    ;; greet(ptr, len) -> retptr of (ptr, len): "hello, " + name
    (func (export "greet") (param $p i32) (param $n i32) (result i32)
      (local $out i32)
      (local.set $out (call $realloc (i32.const 0) (i32.const 0) (i32.const 1)
        (i32.add (local.get $n) (i32.const 7))))
      (memory.copy (local.get $out) (i32.const 100) (i32.const 7))
      (memory.copy (i32.add (local.get $out) (i32.const 7)) (local.get $p) (local.get $n))
      (i32.store (i32.const 16) (local.get $out))
      (i32.store (i32.const 20) (i32.add (local.get $n) (i32.const 7)))
      (i32.const 16)))
  (core instance $i (instantiate $m (with "libc" (instance $libc))))
  (func (export "greet") (param "name" string) (result string)
    (canon lift (core func $i "greet") (memory $libc "memory") (realloc (func $libc "realloc"))))
  (func (export "realloc-calls") (result u32) (canon lift (core func $libc "realloc-calls")))
"#,
    );
    let engine = Engine::default();
    let c = Component::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &c).unwrap();
    let greet = instance
        .get_typed_func::<(&str,), (String,)>(&store, "greet")
        .unwrap();
    assert_eq!(
        greet.call(&mut store, ("wörld",)).unwrap().0,
        "hello, wörld"
    );
    let calls = instance
        .get_typed_func::<(), (u32,)>(&store, "realloc-calls")
        .unwrap();
    // One allocation to pass the argument, one by the guest for its result.
    assert_eq!(calls.call(&mut store, ()).unwrap().0, 2);
}

const HOST_IMPORTS: &str = r#"
  (import "host:test/math@0.1.3" (instance $math
    (export "double" (func (param "x" u32) (result u32)))
    (export "shout" (func (param "s" string) (result string)))))
  (alias export $math "double" (func $double))
  (alias export $math "shout" (func $shout))
  (core func $double-core (canon lower (func $double)))
  (core func $shout-core (canon lower (func $shout) (memory $libc "memory") (realloc (func $libc "realloc"))))
  (core instance $host (export "double" (func $double-core)) (export "shout" (func $shout-core)))
  (core module $main
    (import "libc" "memory" (memory 1))
    (import "host" "double" (func $double (param i32) (result i32)))
    (import "host" "shout" (func $shout (param i32 i32 i32)))
    (func (export "quadruple") (param i32) (result i32) (call $double (call $double (local.get 0))))
    (func (export "shout-twice") (param i32 i32) (result i32)
      (call $shout (local.get 0) (local.get 1) (i32.const 32))
      (call $shout (i32.load (i32.const 32)) (i32.load (i32.const 36)) (i32.const 48))
      (i32.const 48)))
  (core instance $main (instantiate $main (with "libc" (instance $libc)) (with "host" (instance $host))))
  (func (export "quadruple") (param "x" u32) (result u32) (canon lift (core func $main "quadruple")))
  (func (export "shout-twice") (param "s" string) (result string)
    (canon lift (core func $main "shout-twice") (memory $libc "memory") (realloc (func $libc "realloc"))))
"#;

#[test]
fn host_functions_are_linked_by_interface_name_and_version() {
    let engine = Engine::default();
    let c = Component::new(&engine, component(HOST_IMPORTS)).unwrap();
    let mut linker = Linker::<()>::new(&engine);
    // Defined at 0.1.9: a component importing any 0.1.x links to it.
    let mut math = linker.instance("host:test/math@0.1.9").unwrap();
    math.func_wrap("double", |_, (x,): (u32,)| Ok((x * 2,)))
        .unwrap();
    math.func_new("shout", |_, ty, params, results| {
        assert_eq!(ty.to_string(), "func(s: string) -> string");
        let Val::String(s) = &params[0] else {
            panic!("{params:?}")
        };
        results[0] = Val::String(format!("{}!", s.to_uppercase()));
        Ok(())
    })
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &c).unwrap();
    let quad = instance
        .get_typed_func::<(u32,), (u32,)>(&store, "quadruple")
        .unwrap();
    assert_eq!(quad.call(&mut store, (5,)).unwrap(), (20,));
    let twice = instance
        .get_typed_func::<(String,), (String,)>(&store, "shout-twice")
        .unwrap();
    assert_eq!(
        twice.call(&mut store, ("ok".to_string(),)).unwrap().0,
        "OK!!"
    );
}

#[test]
fn link_errors_name_the_import_and_the_mismatch() {
    let engine = Engine::default();
    let c = Component::new(&engine, component(HOST_IMPORTS)).unwrap();
    let mut store = Store::new(&engine, ());

    let linker = Linker::<()>::new(&engine);
    let err = linker.instantiate(&mut store, &c).unwrap_err().to_string();
    assert!(err.contains("host:test/math@0.1.3"), "{err}");

    // 0.2.x is not compatible with 0.1.x.
    let mut linker = Linker::<()>::new(&engine);
    linker.instance("host:test/math@0.2.0").unwrap();
    assert!(linker.instantiate(&mut store, &c).is_err());

    // A typed host function is checked against the declared type.
    let mut linker = Linker::<()>::new(&engine);
    let mut math = linker.instance("host:test/math@0.1.3").unwrap();
    math.func_wrap("double", |_, (x,): (u64,)| Ok((x,)))
        .unwrap();
    math.func_wrap("shout", |_, (s,): (String,)| Ok((s,)))
        .unwrap();
    let err = linker.instantiate(&mut store, &c).unwrap_err().to_string();
    assert!(err.contains("double") && err.contains("u32"), "{err}");

    // Missing functions can be made to trap instead.
    let mut linker = Linker::<()>::new(&engine);
    linker.define_unknown_imports_as_traps(&c).unwrap();
    let instance = linker.instantiate(&mut store, &c).unwrap();
    let quad = instance
        .get_typed_func::<(u32,), (u32,)>(&store, "quadruple")
        .unwrap();
    let err = quad.call(&mut store, (1,)).unwrap_err();
    assert_eq!(err.as_trap().unwrap().code(), TrapCode::UnknownImport);
}

const GUEST_RESOURCE: &str = r#"
(component
  (core module $state
    (global $drops (mut i32) (i32.const 0))
    (func (export "dtor") (param i32) (global.set $drops (i32.add (global.get $drops) (local.get 0))))
    (func (export "drops") (result i32) (global.get $drops)))
  (core instance $state (instantiate $state))
  (type $counter (resource (rep i32) (dtor (func $state "dtor"))))
  (core func $new (canon resource.new $counter))
  (core func $rep (canon resource.rep $counter))
  (core func $drop (canon resource.drop $counter))
  (core module $main
    (import "r" "new" (func $new (param i32) (result i32)))
    (import "r" "rep" (func $rep (param i32) (result i32)))
    (import "r" "drop" (func $drop (param i32)))
    (func (export "make") (param i32) (result i32) (call $new (local.get 0)))
    ;; A borrow lowered into the resource's own instance is the representation itself.
    (func (export "get") (param i32) (result i32) (local.get 0))
    (func (export "consume") (param i32) (call $drop (local.get 0)))
    (func (export "rep-of-new") (param i32) (result i32) (call $rep (call $new (local.get 0)))))
  (core instance $main (instantiate $main
    (with "r" (instance (export "new" (func $new)) (export "rep" (func $rep)) (export "drop" (func $drop))))))
  (export $c "counter" (type $counter))
  (func (export "make") (param "v" u32) (result (own $c)) (canon lift (core func $main "make")))
  (func (export "get") (param "c" (borrow $c)) (result u32) (canon lift (core func $main "get")))
  (func (export "consume") (param "c" (own $c)) (canon lift (core func $main "consume")))
  (func (export "rep-of-new") (param "v" u32) (result u32) (canon lift (core func $main "rep-of-new")))
  (func (export "drops") (result u32) (canon lift (core func $state "drops")))
)"#;

#[test]
fn guest_resources_move_between_host_and_component() {
    let engine = Engine::default();
    let c = Component::new(&engine, GUEST_RESOURCE).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &c).unwrap();
    let make = instance
        .get_typed_func::<(u32,), (ResourceAny,)>(&store, "make")
        .unwrap();
    let get = instance
        .get_typed_func::<(&ResourceAny,), (u32,)>(&store, "get")
        .unwrap();
    let consume = instance
        .get_typed_func::<(ResourceAny,), ()>(&store, "consume")
        .unwrap();
    let drops = instance
        .get_typed_func::<(), (u32,)>(&store, "drops")
        .unwrap();
    let ty = instance.get_resource(&store, "counter").unwrap();

    let (r,) = make.call(&mut store, (7,)).unwrap();
    assert!(r.owned() && r.ty() == ty && !ty.is_host());
    assert_eq!(get.call(&mut store, (&r,)).unwrap(), (7,));
    consume.call(&mut store, (r,)).unwrap();
    assert_eq!(
        drops.call(&mut store, ()).unwrap(),
        (7,),
        "the destructor ran"
    );

    let (r,) = make.call(&mut store, (5,)).unwrap();
    r.resource_drop(&mut store).unwrap();
    assert_eq!(drops.call(&mut store, ()).unwrap(), (12,));

    let rep = instance
        .get_typed_func::<(u32,), (u32,)>(&store, "rep-of-new")
        .unwrap();
    assert_eq!(rep.call(&mut store, (99,)).unwrap(), (99,));

    // A resource of another type is refused.
    let host = ResourceAny::try_from_resource(Resource::<u8>::new_own(1)).unwrap();
    let err = consume.call(&mut store, (host,)).unwrap_err();
    assert!(err.to_string().contains("resource type mismatch"), "{err}");
}

const HOST_RESOURCE: &str = r#"
(component
  (import "host:test/res@0.1.0" (instance $h
    (export "thing" (type $t (sub resource)))
    (export "[constructor]thing" (func (param "v" u32) (result (own $t))))
    (export "[method]thing.value" (func (param "self" (borrow $t)) (result u32)))))
  (alias export $h "thing" (type $thing))
  (alias export $h "[constructor]thing" (func $ctor))
  (alias export $h "[method]thing.value" (func $value))
  (core func $ctor-core (canon lower (func $ctor)))
  (core func $value-core (canon lower (func $value)))
  (core func $drop-core (canon resource.drop $thing))
  (core module $m
    (import "h" "ctor" (func $ctor (param i32) (result i32)))
    (import "h" "value" (func $value (param i32) (result i32)))
    (import "h" "drop" (func $drop (param i32)))
    (func (export "run") (param i32) (result i32)
      (local $h i32) (local $v i32)
      (local.set $h (call $ctor (local.get 0)))
      (local.set $v (call $value (local.get $h)))
      (call $drop (local.get $h))
      (local.get $v))
    (func (export "leak") (param i32) (result i32) (call $ctor (local.get 0)))
    (func (export "peek") (param i32))
    (func (export "peek-drop") (param i32) (call $drop (local.get 0)))
    (func (export "double-drop") (param i32)
      (local $h i32)
      (local.set $h (call $ctor (local.get 0)))
      (call $drop (local.get $h))
      (call $drop (local.get $h))))
  (core instance $i (instantiate $m
    (with "h" (instance (export "ctor" (func $ctor-core)) (export "value" (func $value-core))
                        (export "drop" (func $drop-core))))))
  (func (export "run") (param "v" u32) (result u32) (canon lift (core func $i "run")))
  (func (export "leak") (param "v" u32) (result u32) (canon lift (core func $i "leak")))
  (func (export "double-drop") (param "v" u32) (canon lift (core func $i "double-drop")))
  (func (export "peek") (param "t" (borrow $thing)) (canon lift (core func $i "peek")))
  (func (export "peek-drop") (param "t" (borrow $thing)) (canon lift (core func $i "peek-drop")))
)"#;

struct Thing(u32);

#[derive(Default)]
struct Host {
    table: ResourceTable,
    dropped: Vec<u32>,
}

fn host_resource_linker(engine: &Engine) -> Linker<Host> {
    let mut linker = Linker::<Host>::new(engine);
    let mut res = linker.instance("host:test/res@0.1.0").unwrap();
    res.resource("thing", ResourceType::host::<Thing>(), |mut store, rep| {
        let thing = store
            .data_mut()
            .table
            .delete(Resource::<Thing>::new_own(rep))?;
        store.data_mut().dropped.push(thing.0);
        Ok(())
    })
    .unwrap();
    res.func_wrap("[constructor]thing", |mut store, (v,): (u32,)| {
        Ok((store.data_mut().table.push(Thing(v))?,))
    })
    .unwrap();
    res.func_wrap("[method]thing.value", |store, (r,): (Resource<Thing>,)| {
        assert!(!r.owned());
        Ok((store.data().table.get(&r)?.0,))
    })
    .unwrap();
    linker
}

#[test]
fn host_resources_are_created_borrowed_and_dropped_by_the_guest() {
    let engine = Engine::default();
    let c = Component::new(&engine, HOST_RESOURCE).unwrap();
    let linker = host_resource_linker(&engine);
    let mut store = Store::new(&engine, Host::default());
    let instance = linker.instantiate(&mut store, &c).unwrap();
    let run = instance
        .get_typed_func::<(u32,), (u32,)>(&store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, (41,)).unwrap(), (41,));
    assert_eq!(store.data().dropped, vec![41]);
    assert!(store.data().table.is_empty());

    // Dropping a handle twice is an error: the second index is no longer in the table.
    let twice = instance
        .get_typed_func::<(u32,), ()>(&store, "double-drop")
        .unwrap();
    let err = twice.call(&mut store, (3,)).unwrap_err();
    assert!(err.to_string().contains("unknown handle index"), "{err}");

    // A borrow lent to a call must be dropped before the call returns.
    let thing = store.data_mut().table.push(Thing(8)).unwrap();
    let peek_drop = instance
        .get_typed_func::<(Resource<Thing>,), ()>(&store, "peek-drop")
        .unwrap();
    peek_drop
        .call(&mut store, (Resource::new_borrow(thing.rep()),))
        .unwrap();
    let peek = instance
        .get_typed_func::<(Resource<Thing>,), ()>(&store, "peek")
        .unwrap();
    let err = peek
        .call(&mut store, (Resource::new_borrow(thing.rep()),))
        .unwrap_err();
    assert!(
        err.to_string().contains("borrow handles still remain"),
        "{err}"
    );
}

#[test]
fn nested_components_call_each_other() {
    let wat = r#"
(component
  (component $child
    (import "f" (func $f (param "x" u32) (result u32)))
    (core func $fl (canon lower (func $f)))
    (core module $m
      (import "" "f" (func $f (param i32) (result i32)))
      (func (export "g") (param i32) (result i32) (i32.add (call $f (local.get 0)) (i32.const 1))))
    (core instance $i (instantiate $m (with "" (instance (export "f" (func $fl))))))
    (func (export "g") (param "x" u32) (result u32) (canon lift (core func $i "g"))))
  (import "double" (func $double (param "x" u32) (result u32)))
  (instance $c1 (instantiate $child (with "f" (func $double))))
  (instance $c2 (instantiate $child (with "f" (func $c1 "g"))))
  (export "h" (func $c2 "g"))
)"#;
    let engine = Engine::default();
    let c = Component::new(&engine, wat).unwrap();
    let mut linker = Linker::<()>::new(&engine);
    linker
        .root()
        .func_wrap("double", |_, (x,): (u32,)| Ok((x * 2,)))
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &c).unwrap();
    let h = instance
        .get_typed_func::<(u32,), (u32,)>(&store, "h")
        .unwrap();
    assert_eq!(h.call(&mut store, (5,)).unwrap(), (12,));
}

#[test]
fn many_parameters_go_through_memory() {
    let params: String = (0..17).map(|i| format!("(param \"p{i}\" u32) ")).collect();
    let wat = component(&format!(
        r#"
  (core module $m
    (import "libc" "memory" (memory 1))
    (func (export "sum") (param $p i32) (result i32)
      (local $i i32) (local $acc i32)
      (loop $l
        (local.set $acc (i32.add (local.get $acc)
          (i32.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 17))))
      (local.get $acc)))
  (core instance $i (instantiate $m (with "libc" (instance $libc))))
  (func (export "sum") {params} (result u32)
    (canon lift (core func $i "sum") (memory $libc "memory") (realloc (func $libc "realloc"))))
"#
    ));
    let engine = Engine::default();
    let c = Component::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &c).unwrap();
    let sum = instance.get_func(&store, "sum").unwrap();
    let args: Vec<Val> = (1..=17).map(Val::U32).collect();
    let mut out = [Val::U32(0)];
    sum.call(&mut store, &args, &mut out).unwrap();
    assert_eq!(out, [Val::U32(153)]);
}

#[test]
fn post_return_runs_after_the_results_are_read() {
    let wat = component(
        r#"
  (core module $m
    (import "libc" "memory" (memory 1))
    (global $frees (mut i32) (i32.const 0))
    (data (i32.const 200) "abc")
    (func (export "get") (result i32)
      (i32.store8 (i32.const 200) (i32.const 97))
      (i32.store (i32.const 16) (i32.const 200))
      (i32.store (i32.const 20) (i32.const 3))
      (i32.const 16))
    ;; Clobbers the string: the host must have read it already.
    (func (export "free") (param i32)
      (i32.store8 (i32.const 200) (i32.const 120))
      (global.set $frees (i32.add (global.get $frees) (i32.const 1))))
    (func (export "frees") (result i32) (global.get $frees)))
  (core instance $i (instantiate $m (with "libc" (instance $libc))))
  (func (export "get") (result string)
    (canon lift (core func $i "get") (memory $libc "memory") (post-return (func $i "free"))))
  (func (export "frees") (result u32) (canon lift (core func $i "frees")))
"#,
    );
    let engine = Engine::default();
    let c = Component::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &c).unwrap();
    let get = instance
        .get_typed_func::<(), (String,)>(&store, "get")
        .unwrap();
    let frees = instance
        .get_typed_func::<(), (u32,)>(&store, "frees")
        .unwrap();
    assert_eq!(get.call(&mut store, ()).unwrap().0, "abc");
    assert_eq!(frees.call(&mut store, ()).unwrap(), (1,));
    assert_eq!(get.call(&mut store, ()).unwrap().0, "abc");
    assert_eq!(frees.call(&mut store, ()).unwrap(), (2,));
}

fn trap_code(e: &wasmgate::Error) -> Option<TrapCode> {
    e.as_trap().map(|t| t.code())
}

#[test]
fn abi_violations_trap() {
    let wat = component(
        r#"
  (import "cb" (func $cb))
  (core func $cb-core (canon lower (func $cb)))
  (core module $m
    (import "libc" "memory" (memory 1))
    (import "" "cb" (func $cb))
    (func (export "bad-char") (result i32) (i32.const 0xd800))
    (func (export "bad-enum") (result i32) (i32.const 3))
    (func (export "bad-string") (result i32)
      (i32.store (i32.const 16) (i32.const 65530))
      (i32.store (i32.const 20) (i32.const 100))
      (i32.const 16))
    (func (export "unaligned") (result i32) (i32.const 17))
    (func (export "call-cb") (call $cb))
    (func (export "cb-in-post-return") (param i32) (call $cb)))
  (core instance $i (instantiate $m (with "libc" (instance $libc))
    (with "" (instance (export "cb" (func $cb-core))))))
  (type $e (enum "a" "b" "c"))
  (export $e2 "e" (type $e))
  (func (export "bad-char") (result char) (canon lift (core func $i "bad-char")))
  (func (export "bad-enum") (result $e2) (canon lift (core func $i "bad-enum")))
  (func (export "bad-string") (result string) (canon lift (core func $i "bad-string") (memory $libc "memory")))
  (func (export "unaligned") (result (tuple u32 u64)) (canon lift (core func $i "unaligned") (memory $libc "memory")))
  (func (export "call-cb") (canon lift (core func $i "call-cb")))
  (func (export "post-return-calls-out") (result u32)
    (canon lift (core func $i "bad-enum") (post-return (func $i "cb-in-post-return"))))
"#,
    );
    let engine = Engine::default();
    let c = Component::new(&engine, wat).unwrap();
    let mut linker = Linker::<Option<Instance>>::new(&engine);
    // The host calls back into the component that called it: re-entrance traps.
    linker
        .root()
        .func_wrap("cb", |store, (): ()| {
            let instance = store.data().clone().unwrap();
            let f = instance.get_func(&store, "call-cb").unwrap();
            let mut store = store;
            f.call(&mut store, &[], &mut [])?;
            Ok(())
        })
        .unwrap();
    let call = |name: &str, results: usize| {
        let mut store = Store::new(&engine, None);
        let instance = linker.instantiate(&mut store, &c).unwrap();
        *store.data_mut() = Some(instance.clone());
        let f = instance.get_func(&store, name).unwrap();
        let mut out: Vec<Val> = (0..results).map(|_| Val::Bool(false)).collect();
        f.call(&mut store, &[], &mut out).unwrap_err()
    };
    assert_eq!(trap_code(&call("bad-char", 1)), Some(TrapCode::InvalidChar));
    assert_eq!(
        trap_code(&call("bad-enum", 1)),
        Some(TrapCode::InvalidDiscriminant)
    );
    assert_eq!(
        trap_code(&call("bad-string", 1)),
        Some(TrapCode::StringOutOfBounds)
    );
    assert_eq!(
        trap_code(&call("unaligned", 1)),
        Some(TrapCode::UnalignedPointer)
    );
    assert_eq!(
        trap_code(&call("call-cb", 0)),
        Some(TrapCode::CannotEnterComponent)
    );
    let e = call("post-return-calls-out", 1);
    assert_eq!(trap_code(&e), Some(TrapCode::CannotLeaveComponent), "{e}");
}

// ---------------------------------------------------------------------------------------
// Differential: the same component on wasmtime.

const ECHO: &str = r#"
  (type $flags-def (flags "a" "b" "c"))
  (import "flags" (type $flags (eq $flags-def)))
  (type $var-def (variant (case "none") (case "num" f64) (case "text" string)))
  (import "var" (type $var (eq $var-def)))
  (type $rec-def (record
    (field "b" bool) (field "s8" s8) (field "u16" u16) (field "s64" s64) (field "f" f32)
    (field "c" char) (field "name" string) (field "tags" (list string)) (field "opt" (option u8))
    (field "res" (result u32 (error string))) (field "fl" $flags) (field "v" $var)
    (field "t" (tuple u8 string)) (field "bytes" (list u8))))
  (import "rec" (type $rec (eq $rec-def)))
  (import "echo" (func $echo (param "v" $rec) (result $rec)))
  (core func $echo-core (canon lower (func $echo) (memory $libc "memory") (realloc (func $libc "realloc"))))
  (core module $m
    (import "" "echo" (func $echo (param i32 i32)))
    ;; Parameters arrive through memory (too many to flatten); pass them on, return the
    ;; pointer the results were written to.
    (func (export "roundtrip") (param i32) (result i32)
      (call $echo (local.get 0) (i32.const 256))
      (i32.const 256)))
  (core instance $i (instantiate $m (with "" (instance (export "echo" (func $echo-core))))))
  (func (export "roundtrip") (param "v" $rec) (result $rec)
    (canon lift (core func $i "roundtrip") (memory $libc "memory") (realloc (func $libc "realloc"))))
  (func (export "realloc-calls") (result u32) (canon lift (core func $libc "realloc-calls")))
"#;

fn sample_record(name: &str, case: usize) -> Val {
    let s = |x: &str| Val::String(x.to_string());
    let var = match case {
        0 => Val::Variant("none".into(), None),
        1 => Val::Variant("num".into(), Some(Box::new(Val::Float64(-0.5)))),
        _ => Val::Variant("text".into(), Some(Box::new(s("variant text ✓")))),
    };
    Val::Record(vec![
        ("b".into(), Val::Bool(true)),
        ("s8".into(), Val::S8(-128)),
        ("u16".into(), Val::U16(65535)),
        ("s64".into(), Val::S64(-1 << 40)),
        ("f".into(), Val::Float32(3.25)),
        ("c".into(), Val::Char('🦀')),
        ("name".into(), s(name)),
        ("tags".into(), Val::List(vec![s("x"), s(""), s("ünï")])),
        (
            "opt".into(),
            if case == 1 {
                Val::Option(None)
            } else {
                Val::Option(Some(Box::new(Val::U8(7))))
            },
        ),
        (
            "res".into(),
            if case == 2 {
                Val::Result(Err(Some(Box::new(s("bad")))))
            } else {
                Val::Result(Ok(Some(Box::new(Val::U32(9)))))
            },
        ),
        ("fl".into(), Val::Flags(vec!["a".into(), "c".into()])),
        ("v".into(), var),
        ("t".into(), Val::Tuple(vec![Val::U8(1), s("tuple")])),
        (
            "bytes".into(),
            Val::List((0..=255u8).map(Val::U8).collect()),
        ),
    ])
}

fn to_wasmtime(v: &Val) -> wasmtime::component::Val {
    use wasmtime::component::Val as W;
    let boxed = |p: &Option<Box<Val>>| p.as_ref().map(|b| Box::new(to_wasmtime(b)));
    match v {
        Val::Bool(x) => W::Bool(*x),
        Val::S8(x) => W::S8(*x),
        Val::U8(x) => W::U8(*x),
        Val::S16(x) => W::S16(*x),
        Val::U16(x) => W::U16(*x),
        Val::S32(x) => W::S32(*x),
        Val::U32(x) => W::U32(*x),
        Val::S64(x) => W::S64(*x),
        Val::U64(x) => W::U64(*x),
        Val::Float32(x) => W::Float32(*x),
        Val::Float64(x) => W::Float64(*x),
        Val::Char(x) => W::Char(*x),
        Val::String(x) => W::String(x.clone()),
        Val::List(x) => W::List(x.iter().map(to_wasmtime).collect()),
        Val::Record(x) => W::Record(x.iter().map(|(n, v)| (n.clone(), to_wasmtime(v))).collect()),
        Val::Tuple(x) => W::Tuple(x.iter().map(to_wasmtime).collect()),
        Val::Variant(n, p) => W::Variant(n.clone(), boxed(p)),
        Val::Enum(n) => W::Enum(n.clone()),
        Val::Option(p) => W::Option(boxed(p)),
        Val::Result(Ok(p)) => W::Result(Ok(boxed(p))),
        Val::Result(Err(p)) => W::Result(Err(boxed(p))),
        Val::Flags(f) => W::Flags(f.clone()),
        Val::Resource(_) => unimplemented!("resources are compared separately"),
        other => unimplemented!("{} values are not compared here", other.desc()),
    }
}

#[test]
fn values_round_trip_like_on_wasmtime() {
    let wat = component(ECHO);
    // wasmgate
    let engine = Engine::default();
    let c = Component::new(&engine, &wat).unwrap();
    let mut linker = Linker::<()>::new(&engine);
    linker
        .root()
        .func_new("echo", |_, _, params, results| {
            results[0] = params[0].clone();
            Ok(())
        })
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &c).unwrap();
    let roundtrip = instance.get_func(&store, "roundtrip").unwrap();
    let calls = instance
        .get_typed_func::<(), (u32,)>(&store, "realloc-calls")
        .unwrap();

    // wasmtime
    let wengine = wasmtime::Engine::default();
    let wc = wasmtime::component::Component::new(&wengine, &wat).unwrap();
    let mut wlinker = wasmtime::component::Linker::<()>::new(&wengine);
    wlinker
        .root()
        .func_new("echo", |_, _, params, results| {
            results[0] = params[0].clone();
            Ok(())
        })
        .unwrap();
    let mut wstore = wasmtime::Store::new(&wengine, ());
    let winstance = wlinker.instantiate(&mut wstore, &wc).unwrap();
    let wroundtrip = winstance.get_func(&mut wstore, "roundtrip").unwrap();
    let wcalls = winstance
        .get_typed_func::<(), (u32,)>(&mut wstore, "realloc-calls")
        .unwrap();

    for (i, name) in ["plain", "ünïcødé ✓", ""].iter().enumerate() {
        let v = sample_record(name, i);
        let mut out = [Val::Bool(false)];
        roundtrip
            .call(&mut store, std::slice::from_ref(&v), &mut out)
            .unwrap();
        assert_eq!(out[0], v, "wasmgate round trip {i}");

        let mut wout = [wasmtime::component::Val::Bool(false)];
        wroundtrip
            .call(&mut wstore, &[to_wasmtime(&v)], &mut wout)
            .unwrap();
        assert_eq!(wout[0], to_wasmtime(&out[0]), "same value as wasmtime {i}");
    }
    // The guest's allocator saw the same number of calls on both engines.
    let ours = calls.call(&mut store, ()).unwrap().0;
    let theirs = wcalls.call(&mut wstore, ()).unwrap().0;
    assert_eq!(ours, theirs, "realloc calls");
}

/// `strings: list<string>` echoed through the host, lifted and lowered with `enc`.
fn echo_strings(enc: &str) -> String {
    component(&format!(
        r#"
  (import "echo" (func $echo (param "v" (list string)) (result (list string))))
  (core func $echo-core (canon lower (func $echo) {enc} (memory $libc "memory") (realloc (func $libc "realloc"))))
  (core module $m
    (import "" "echo" (func $echo (param i32 i32 i32)))
    (func (export "roundtrip") (param i32 i32) (result i32)
      (call $echo (local.get 0) (local.get 1) (i32.const 256))
      (i32.const 256)))
  (core instance $i (instantiate $m (with "" (instance (export "echo" (func $echo-core))))))
  (func (export "roundtrip") (param "v" (list string)) (result (list string))
    (canon lift (core func $i "roundtrip") {enc} (memory $libc "memory") (realloc (func $libc "realloc"))))
  (func (export "realloc-calls") (result u32) (canon lift (core func $libc "realloc-calls")))
"#
    ))
}

#[test]
fn string_encodings_transcode_like_on_wasmtime() {
    let encodings = [
        "string-encoding=utf8",
        "string-encoding=utf16",
        "string-encoding=latin1+utf16",
    ];
    let strings: Vec<String> = ["", "ascii", "latïn-1 ÿ", "beyond € and 🦀", "\u{ff}\u{100}"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    // A core module's lifts and lowers share its encoding (its memory holds strings in it).
    for enc in encodings {
        let wat = echo_strings(enc);
        let engine = Engine::default();
        let c = Component::new(&engine, &wat).unwrap();
        let mut linker = Linker::<()>::new(&engine);
        linker
            .root()
            .func_wrap("echo", |_, (v,): (Vec<String>,)| Ok((v,)))
            .unwrap();
        let mut store = Store::new(&engine, ());
        let instance = linker.instantiate(&mut store, &c).unwrap();
        let f = instance
            .get_typed_func::<(&[String],), (Vec<String>,)>(&store, "roundtrip")
            .unwrap();
        let got = f
            .call(&mut store, (&strings,))
            .map_err(|e| e.context(enc.to_string()))
            .unwrap();
        assert_eq!(got.0, strings);
        let calls = instance
            .get_typed_func::<(), (u32,)>(&store, "realloc-calls")
            .unwrap();

        let wengine = wasmtime::Engine::default();
        let wc = wasmtime::component::Component::new(&wengine, &wat).unwrap();
        let mut wlinker = wasmtime::component::Linker::<()>::new(&wengine);
        wlinker
            .root()
            .func_wrap("echo", |_, (v,): (Vec<String>,)| Ok((v,)))
            .unwrap();
        let mut wstore = wasmtime::Store::new(&wengine, ());
        let wi = wlinker.instantiate(&mut wstore, &wc).unwrap();
        let wf = wi
            .get_typed_func::<(&[String],), (Vec<String>,)>(&mut wstore, "roundtrip")
            .unwrap();
        assert_eq!(wf.call(&mut wstore, (&strings,)).unwrap().0, strings);
        let wcalls = wi
            .get_typed_func::<(), (u32,)>(&mut wstore, "realloc-calls")
            .unwrap();
        assert_eq!(
            calls.call(&mut store, ()).unwrap(),
            wcalls.call(&mut wstore, ()).unwrap(),
            "realloc calls with {enc}"
        );
    }
}

/// A parent whose child `a` (strings in `enc_a`) calls child `b` (strings in `enc_b`).
fn transcoding(enc_a: &str, enc_b: &str) -> String {
    format!(
        r#"
(component
  (component $b
    {LIBC}
    (core module $m
      (import "libc" "memory" (memory 1))
      (func (export "echo") (param i32 i32) (result i32)
        (i32.store (i32.const 16) (local.get 0))
        (i32.store (i32.const 20) (local.get 1))
        (i32.const 16)))
    (core instance $i (instantiate $m (with "libc" (instance $libc))))
    (func (export "echo") (param "v" (list string)) (result (list string))
      (canon lift (core func $i "echo") {enc_b} (memory $libc "memory") (realloc (func $libc "realloc"))))
    (func (export "realloc-calls") (result u32) (canon lift (core func $libc "realloc-calls"))))
  (component $a
    {LIBC}
    (import "echo" (func $echo (param "v" (list string)) (result (list string))))
    (core func $echo-core (canon lower (func $echo) {enc_a} (memory $libc "memory") (realloc (func $libc "realloc"))))
    (core module $m
      (import "" "echo" (func $echo (param i32 i32 i32)))
      (func (export "roundtrip") (param i32 i32) (result i32)
        (call $echo (local.get 0) (local.get 1) (i32.const 256))
        (i32.const 256)))
    (core instance $i (instantiate $m (with "" (instance (export "echo" (func $echo-core))))))
    (func (export "roundtrip") (param "v" (list string)) (result (list string))
      (canon lift (core func $i "roundtrip") {enc_a} (memory $libc "memory") (realloc (func $libc "realloc"))))
    (func (export "realloc-calls") (result u32) (canon lift (core func $libc "realloc-calls"))))
  (instance $bi (instantiate $b))
  (instance $ai (instantiate $a (with "echo" (func $bi "echo"))))
  (export "roundtrip" (func $ai "roundtrip"))
  (export "a-reallocs" (func $ai "realloc-calls"))
  (export "b-reallocs" (func $bi "realloc-calls"))
)"#
    )
}

#[test]
fn strings_transcode_between_components() {
    let encodings = [
        "string-encoding=utf8",
        "string-encoding=utf16",
        "string-encoding=latin1+utf16",
    ];
    let strings: Vec<String> = ["", "ascii", "latïn-1 ÿ", "beyond € and 🦀", "\u{ff}\u{100}"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut differing = Vec::new();
    for enc_a in encodings {
        for enc_b in encodings {
            let wat = transcoding(enc_a, enc_b);
            let engine = Engine::default();
            let c = Component::new(&engine, &wat).unwrap();
            let mut store = Store::new(&engine, ());
            let instance = Instance::new(&mut store, &c).unwrap();
            let f = instance
                .get_typed_func::<(&[String],), (Vec<String>,)>(&store, "roundtrip")
                .unwrap();
            let got = f
                .call(&mut store, (&strings,))
                .map_err(|e| e.context(format!("{enc_a} -> {enc_b}")))
                .unwrap();
            assert_eq!(got.0, strings, "{enc_a} -> {enc_b}");
            let counts = |store: &mut Store<()>| {
                ["a-reallocs", "b-reallocs"].map(|n| {
                    instance
                        .get_typed_func::<(), (u32,)>(&*store, n)
                        .unwrap()
                        .call(&mut *store, ())
                        .unwrap()
                        .0
                })
            };
            let ours = counts(&mut store);

            let wengine = wasmtime::Engine::default();
            let wc = wasmtime::component::Component::new(&wengine, &wat).unwrap();
            let mut wstore = wasmtime::Store::new(&wengine, ());
            let wi = wasmtime::component::Linker::<()>::new(&wengine)
                .instantiate(&mut wstore, &wc)
                .unwrap();
            let wf = wi
                .get_typed_func::<(&[String],), (Vec<String>,)>(&mut wstore, "roundtrip")
                .unwrap();
            assert_eq!(wf.call(&mut wstore, (&strings,)).unwrap().0, strings);
            let theirs = ["a-reallocs", "b-reallocs"].map(|n| {
                wi.get_typed_func::<(), (u32,)>(&mut wstore, n)
                    .unwrap()
                    .call(&mut wstore, ())
                    .unwrap()
                    .0
            });
            if ours != theirs {
                differing.push(format!(
                    "{enc_a} -> {enc_b}: {ours:?} vs wasmtime {theirs:?}"
                ));
            }
        }
    }
    // Known difference: between components a string travels as a host string (UTF-8), so
    // the callee's allocations follow the UTF-8-source sequences of the canonical ABI, not
    // those of the caller's encoding as wasmtime's fused adapters do. Same values, other
    // `realloc` calls: only UTF-8 to UTF-8 is identical.
    assert_eq!(differing.len(), 8, "{differing:#?}");
}

/// Child `a` implements a resource; child `b` receives `a`'s instance, creates, borrows and
/// consumes a resource through it; the parent exports `b`'s function.
const RESOURCE_BETWEEN_COMPONENTS: &str = r#"
(component
  (component $a
    (core module $state
      (global $drops (mut i32) (i32.const 0))
      (func (export "dtor") (param i32) (global.set $drops (i32.add (global.get $drops) (local.get 0))))
      (func (export "drops") (result i32) (global.get $drops)))
    (core instance $state (instantiate $state))
    (type $r (resource (rep i32) (dtor (func $state "dtor"))))
    (core func $new (canon resource.new $r))
    (core func $drop (canon resource.drop $r))
    (core module $m
      (import "" "new" (func $new (param i32) (result i32)))
      (import "" "drop" (func $drop (param i32)))
      (func (export "make") (param i32) (result i32) (call $new (local.get 0)))
      (func (export "get") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 10)))
      (func (export "consume") (param i32) (call $drop (local.get 0))))
    (core instance $i (instantiate $m (with "" (instance (export "new" (func $new)) (export "drop" (func $drop))))))
    (export $re "res" (type $r))
    (func (export "make") (param "v" u32) (result (own $re)) (canon lift (core func $i "make")))
    (func (export "get") (param "r" (borrow $re)) (result u32) (canon lift (core func $i "get")))
    (func (export "consume") (param "r" (own $re)) (canon lift (core func $i "consume")))
    (func (export "drops") (result u32) (canon lift (core func $state "drops"))))
  (component $b
    (import "a" (instance $a
      (export "res" (type $res (sub resource)))
      (export "make" (func (param "v" u32) (result (own $res))))
      (export "get" (func (param "r" (borrow $res)) (result u32)))
      (export "consume" (func (param "r" (own $res))))))
    (alias export $a "make" (func $make))
    (alias export $a "get" (func $get))
    (alias export $a "consume" (func $consume))
    (core func $make-core (canon lower (func $make)))
    (core func $get-core (canon lower (func $get)))
    (core func $consume-core (canon lower (func $consume)))
    (core module $m
      (import "" "make" (func $make (param i32) (result i32)))
      (import "" "get" (func $get (param i32) (result i32)))
      (import "" "consume" (func $consume (param i32)))
      (func (export "go") (param i32) (result i32)
        (local $h i32) (local $v i32)
        (local.set $h (call $make (local.get 0)))
        (local.set $v (call $get (local.get $h)))
        (local.set $v (i32.add (local.get $v) (call $get (local.get $h))))
        (call $consume (local.get $h))
        (local.get $v)))
    (core instance $i (instantiate $m (with "" (instance
      (export "make" (func $make-core)) (export "get" (func $get-core)) (export "consume" (func $consume-core))))))
    (func (export "go") (param "v" u32) (result u32) (canon lift (core func $i "go"))))
  (instance $ai (instantiate $a))
  (instance $bi (instantiate $b (with "a" (instance $ai))))
  (export "go" (func $bi "go"))
  (export "drops" (func $ai "drops"))
)"#;

#[test]
fn resources_pass_between_components_like_on_wasmtime() {
    let engine = Engine::default();
    let c = Component::new(&engine, RESOURCE_BETWEEN_COMPONENTS).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &c).unwrap();
    let go = instance
        .get_typed_func::<(u32,), (u32,)>(&store, "go")
        .unwrap();
    let drops = instance
        .get_typed_func::<(), (u32,)>(&store, "drops")
        .unwrap();
    let ours = (
        go.call(&mut store, (4,)).unwrap(),
        drops.call(&mut store, ()).unwrap(),
    );

    let wengine = wasmtime::Engine::default();
    let wc = wasmtime::component::Component::new(&wengine, RESOURCE_BETWEEN_COMPONENTS).unwrap();
    let mut wstore = wasmtime::Store::new(&wengine, ());
    let wi = wasmtime::component::Linker::<()>::new(&wengine)
        .instantiate(&mut wstore, &wc)
        .unwrap();
    let wgo = wi
        .get_typed_func::<(u32,), (u32,)>(&mut wstore, "go")
        .unwrap();
    let wdrops = wi
        .get_typed_func::<(), (u32,)>(&mut wstore, "drops")
        .unwrap();
    let theirs = (
        wgo.call(&mut wstore, (4,)).unwrap(),
        wdrops.call(&mut wstore, ()).unwrap(),
    );
    assert_eq!(ours, ((80,), (4,)));
    assert_eq!(ours, theirs);
}

/// A child calling back into its parent through a lifted function the parent gave it
/// ("donut wrapping") is not re-entrance.
#[test]
fn a_child_may_call_back_into_its_parent() {
    let wat = r#"
(component
  (core module $m (func (export "f") (param i32) (result i32) (i32.add (local.get 0) (i32.const 100))))
  (core instance $i (instantiate $m))
  (func $f (param "x" u32) (result u32) (canon lift (core func $i "f")))
  (component $child
    (import "f" (func $f (param "x" u32) (result u32)))
    (core func $fl (canon lower (func $f)))
    (core module $m
      (import "" "f" (func $f (param i32) (result i32)))
      (func (export "g") (param i32) (result i32) (call $f (i32.mul (local.get 0) (i32.const 2)))))
    (core instance $i (instantiate $m (with "" (instance (export "f" (func $fl))))))
    (func (export "g") (param "x" u32) (result u32) (canon lift (core func $i "g"))))
  (instance $c (instantiate $child (with "f" (func $f))))
  (export "g" (func $c "g"))
)"#;
    let engine = Engine::default();
    let c = Component::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &c).unwrap();
    let g = instance
        .get_typed_func::<(u32,), (u32,)>(&store, "g")
        .unwrap();
    assert_eq!(g.call(&mut store, (21,)).unwrap(), (142,));
}
