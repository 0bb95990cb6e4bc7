//! The `harness parity` command.

use std::path::PathBuf;

use anyhow::{bail, Result};

/// `harness parity` arguments.
#[derive(clap::Args, Debug)]
pub struct ParityArgs {
    /// Suite directories (default: the project's `fixtures/`).
    #[arg(long = "suite", value_name = "DIR", num_args = 1..)]
    pub suites: Vec<PathBuf>,
}

/// Runs `harness parity`; `Ok(false)` when a divergence is unexplained.
pub fn run(_args: ParityArgs) -> Result<bool> {
    bail!("harness parity is not implemented yet")
}
