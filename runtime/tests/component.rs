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
