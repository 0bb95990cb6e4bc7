//! Matrix stage, limitations: the runtime's `limitations.json`
//! ([`wasmgate::wasi::registry::LIMITATIONS`]), parsed strictly.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use wasmgate::wasi::registry::Preview;

/// One known limitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limitation {
    /// The preview it concerns.
    pub preview: Preview,
    /// `wasi_snapshot_preview1`, `wasi:filesystem/types` (no version), or `*` for the
    /// whole preview.
    pub interface: String,
    /// The members it concerns; empty for the whole interface.
    pub members: Vec<String>,
    /// What a guest observes.
    pub text: String,
    /// Where a change is tracked, or why none is planned.
    pub tracking: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    version: u32,
    limitations: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    preview: String,
    interface: String,
    #[serde(default)]
    members: Vec<String>,
    text: String,
    tracking: String,
}

/// Parses a limitations document (format: [`wasmgate::wasi::registry::LIMITATIONS`]).
pub fn parse(text: &str) -> Result<Vec<Limitation>> {
    let doc: Document = serde_json::from_str(text).context("malformed limitations")?;
    if doc.version != 1 {
        bail!("limitations: version {} (expected 1)", doc.version);
    }
    doc.limitations
        .into_iter()
        .map(|e| {
            let preview = Preview::ALL
                .into_iter()
                .find(|p| p.short() == e.preview)
                .with_context(|| format!("limitations: unknown preview {:?}", e.preview))?;
            for (key, value) in [
                ("interface", &e.interface),
                ("text", &e.text),
                ("tracking", &e.tracking),
            ] {
                if value.trim().is_empty() {
                    bail!("limitations: empty `{key}` in an entry for {}", e.interface);
                }
            }
            if e.interface == "*" && !e.members.is_empty() {
                bail!("limitations: an entry for the whole preview lists members");
            }
            Ok(Limitation {
                preview,
                interface: e.interface,
                members: e.members,
                text: e.text,
                tracking: e.tracking,
            })
        })
        .collect()
}

/// The runtime's own limitations.
pub fn runtime() -> Result<Vec<Limitation>> {
    parse(wasmgate::wasi::registry::LIMITATIONS).context("runtime/src/wasi/limitations.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_limitations_parse() {
        let all = runtime().unwrap();
        assert!(all.iter().any(|l| l.members == ["fd_allocate"]));
    }

    #[test]
    fn strict() {
        assert!(parse(r#"{"version": 1, "limitations": [{"preview": "p1", "interface": "x", "text": "t", "tracking": "", "members": []}]}"#).is_err());
        assert!(parse(r#"{"version": 1, "limitations": [{"preview": "p4", "interface": "x", "text": "t", "tracking": "i"}]}"#).is_err());
        assert!(parse(r#"{"version": 1, "limitations": [], "extra": 1}"#).is_err());
        assert!(parse(r#"{"version": 2, "limitations": []}"#).is_err());
    }
}
