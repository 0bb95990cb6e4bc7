//! `--adapt-p1`: every P1 test run again as a P2 component.
//!
//! wit-component wraps the module with the `wasi_snapshot_preview1` command adapter that
//! wasmtime ships (`wasi-preview1-component-adapter-provider`, the same version as the
//! wasmtime runner), so each P1 function reaches the runtime as WASI 0.2 calls: the whole
//! P1 suite exercises a runtime's component model and P2 hosts.
//!
//! One difference is the adapter's, not the runtime's: `proc_exit(n)` becomes
//! `wasi:cli/exit.exit(err)` for any `n != 0`, which every runtime reports as exit code 1.
//! An adapted test therefore expects 1 where its spec says a non-zero code
//! ([`expected_exit_code`]); the report says so.

use anyhow::{Context, Result};

use super::{Suite, WasiVersion};

/// The id prefix of adapted suites and tests: `adapted/p1/rust/fd_readdir`.
pub const PREFIX: &str = "adapted";

/// The P1 command module `module` as a component.
pub fn p1_command_to_component(module: &[u8]) -> Result<Vec<u8>> {
    wit_component::ComponentEncoder::default()
        .module(module)
        .context("the module is not a P1 command wit-component can wrap")?
        .adapter(
            "wasi_snapshot_preview1",
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
        )
        .context("the preview 1 adapter does not load")?
        .realloc_via_memory_grow(std::env::var_os("ADAPT_GROW").is_some())
        .validate(true)
        .encode()
        .context("encoding the component failed")
}

/// The suites with every P1 suite replaced by its adapted twin (a P2 suite whose tests are
/// adapted when their module is read); other suites are kept as they are.
pub fn adapt_p1(suites: Vec<Suite>) -> Vec<Suite> {
    suites
        .into_iter()
        .map(|suite| {
            if suite.version != WasiVersion::P1 {
                return suite;
            }
            let id = format!("{PREFIX}/{}", suite.id);
            let tests = suite
                .tests
                .into_iter()
                .map(|mut t| {
                    t.id = format!("{PREFIX}/{}", t.id);
                    t.suite_id = id.clone();
                    t.version = WasiVersion::P2;
                    t.adapted = true;
                    t
                })
                .collect();
            Suite {
                id,
                name: format!("{} (adapted to P2)", suite.name),
                version: WasiVersion::P2,
                tests,
                ..suite
            }
        })
        .collect()
}

/// The exit code an adapted test expects where its spec says `code`: the adapter turns
/// every non-zero `proc_exit` into `exit(err)`, exit code 1.
pub fn expected_exit_code(adapted: bool, code: i32) -> i32 {
    if adapted && code != 0 {
        1
    } else {
        code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_p1_command_becomes_a_component() {
        let module = wat::parse_str(
            r#"(module
                (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
                (memory (export "memory") 1)
                (func (export "_start") (call $exit (i32.const 3))))"#,
        )
        .unwrap();
        let component = p1_command_to_component(&module).unwrap();
        assert!(wasmparser::Parser::is_component(&component));
    }

    #[test]
    fn a_module_without_memory_is_an_error_that_says_so() {
        let module = wat::parse_str(
            r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32))))"#,
        )
        .unwrap();
        let err = p1_command_to_component(&module).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("encoding the component failed"), "{text}");
        assert!(text.contains("memory"), "{text}");
    }

    #[test]
    fn nonzero_exit_codes_become_one() {
        assert_eq!(expected_exit_code(true, 0), 0);
        assert_eq!(expected_exit_code(true, 42), 1);
        assert_eq!(expected_exit_code(false, 42), 42);
    }
}
