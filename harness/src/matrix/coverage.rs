//! Matrix stage, coverage: which fixtures exercise which WASI members, read from the
//! fixtures' own imports (wasmparser), not from their names. A P1 module covers each
//! `wasi_snapshot_preview1` function it imports; a component covers each `wasi:` interface
//! it imports (`wasi:cli/environment@0.2.12`), as a whole.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::{Context, Result};
use wasmparser::{Parser, Payload};

use crate::suite;

/// What the fixtures import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// P1 function name to the ids of the tests that import it.
    pub p1: BTreeMap<String, BTreeSet<String>>,
    /// Component import name (`wasi:cli/environment@0.2.12`) to the ids of the tests that
    /// import it.
    pub components: BTreeMap<String, BTreeSet<String>>,
}

impl Coverage {
    /// Records what one test's module (core module or component) imports.
    pub fn add_module(&mut self, test_id: &str, bytes: &[u8]) -> Result<()> {
        let mut depth = 0usize;
        for payload in Parser::new(0).parse_all(bytes) {
            match payload? {
                Payload::Version { .. } => depth += 1,
                Payload::End(_) => depth = depth.saturating_sub(1),
                Payload::ImportSection(reader) if depth == 1 => {
                    for import in reader.into_imports() {
                        let import = import?;
                        if import.module == wasmgate::wasi::p1::MODULE {
                            self.p1
                                .entry(import.name.to_owned())
                                .or_default()
                                .insert(test_id.to_owned());
                        }
                    }
                }
                Payload::ComponentImportSection(reader) if depth == 1 => {
                    for import in reader {
                        let name = import?.name.name;
                        if name.starts_with("wasi:") {
                            self.components
                                .entry(name.to_owned())
                                .or_default()
                                .insert(test_id.to_owned());
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The tests that import component interface `name` (no version) at a version of the
    /// same preview as `version`.
    pub fn component_tests(&self, name: &str, version: &str) -> BTreeSet<String> {
        use wasmgate::wasi::registry::Preview;
        let preview = Preview::of_version(version);
        self.components
            .iter()
            .filter(|(import, _)| match import.split_once('@') {
                Some((n, v)) => n == name && Preview::of_version(v) == preview,
                None => false,
            })
            .flat_map(|(_, tests)| tests.iter().cloned())
            .collect()
    }
}

/// The coverage of every test of every suite under `roots` (a root without suites
/// covers nothing).
pub fn scan(roots: &[PathBuf]) -> Result<Coverage> {
    let mut coverage = Coverage::default();
    for root in roots {
        if !root.is_dir() {
            continue;
        }
        for suite in suite::discover_under(root)? {
            for test in &suite.tests {
                let bytes = test.module_bytes()?;
                coverage.add_module(&test.id, &bytes).with_context(|| {
                    format!("cannot read the imports of {}", test.module.display())
                })?;
            }
        }
    }
    Ok(coverage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_module_imports() {
        let wasm = wat::parse_str(
            r#"(module
                (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
                (import "env" "f" (func)))"#,
        )
        .unwrap();
        let mut c = Coverage::default();
        c.add_module("p1/t", &wasm).unwrap();
        assert_eq!(c.p1.keys().collect::<Vec<_>>(), ["fd_write"]);
        assert!(c.components.is_empty());
    }

    #[test]
    fn component_imports() {
        let wasm = wat::parse_str(
            r#"(component
                (import "wasi:cli/environment@0.2.3" (instance))
                (import "other" (instance))
                (core module (import "wasi_snapshot_preview1" "fd_write" (func))))"#,
        )
        .unwrap();
        let mut c = Coverage::default();
        c.add_module("p2/t", &wasm).unwrap();
        assert!(
            c.p1.is_empty(),
            "a nested module's imports are not the component's"
        );
        assert_eq!(
            c.component_tests("wasi:cli/environment", "0.2.12"),
            BTreeSet::from(["p2/t".to_owned()])
        );
        assert!(c
            .component_tests("wasi:cli/environment", "0.3.0")
            .is_empty());
    }
}
