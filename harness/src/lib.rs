//! wasmgate-harness: runs WASI conformance suites (wasi-testsuite's layout and spec format)
//! on in-process runtimes, strictly and in parallel, and reports the results.
//!
//! Stages, in order: [`suite`] finds suites and parses specs, [`expect`] holds outcomes and
//! skiplists, [`runner`] runs one module on one runtime in isolation, [`execute`] runs one
//! test's operations and checks them, [`run`] runs many tests in parallel, [`report`]
//! renders the results.

#![warn(missing_docs, rust_2018_idioms, unreachable_pub)]

pub mod bench;
pub mod dashboard;
pub mod execute;
pub mod expect;
pub mod matrix;
pub mod parity;
pub mod report;
pub mod run;
pub mod runner;
pub mod shard;
pub mod suite;

use std::path::{Path, PathBuf};

/// The workspace root: the nearest ancestor of `start` with a `Cargo.toml` that declares a
/// `[workspace]`, or, failing that, the one this crate was built in.
pub fn workspace_root(start: &Path) -> PathBuf {
    for dir in start.ancestors() {
        let manifest = dir.join("Cargo.toml");
        if std::fs::read_to_string(&manifest).is_ok_and(|t| t.contains("[workspace]")) {
            return dir.to_path_buf();
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

/// The default skiplist of a runner, `skiplists/<runner>.json` under the workspace root.
pub fn default_skiplist(root: &Path, runner: &str) -> PathBuf {
    root.join("skiplists").join(format!("{runner}.json"))
}
