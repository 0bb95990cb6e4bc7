//! Parity stage: runs every fixture on two runners and compares what each observed.

pub mod cli;
