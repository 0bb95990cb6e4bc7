//! Report stage: the static HTML dashboard (`harness dashboard`).

use std::path::PathBuf;

use anyhow::{bail, Result};

/// `harness dashboard` arguments.
#[derive(clap::Args, Debug)]
pub struct DashboardArgs {
    /// Directory of reports (JSON) to read.
    #[arg(long, value_name = "DIR")]
    pub reports: Vec<PathBuf>,
    /// Directory to write `index.html` into.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Runs `harness dashboard`.
pub fn run(_args: DashboardArgs) -> Result<bool> {
    bail!("harness dashboard is not implemented yet")
}
