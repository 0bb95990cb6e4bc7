//! Parity stage: what a run left in a preopened directory — every entry's path, kind, size,
//! content hash (SHA-256) and symlink target, without following links. Timestamps,
//! permissions and inode numbers are left out: they differ between any two runs.

use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (not followed).
    Symlink,
    /// A fifo, socket or device.
    Other,
}

impl EntryKind {
    fn label(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Dir => "dir",
            EntryKind::Symlink => "symlink",
            EntryKind::Other => "other",
        }
    }
}

/// One entry below a preopened directory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TreeEntry {
    /// Relative path, `/`-separated (`sub/file.txt`).
    pub path: String,
    /// Its kind.
    pub kind: EntryKind,
    /// Bytes, for files.
    pub size: Option<u64>,
    /// SHA-256 of the content, hex, for files.
    pub sha256: Option<String>,
    /// The link's target as stored, for symlinks.
    pub target: Option<String>,
}

impl TreeEntry {
    /// One line: `file sub/a.txt 5 bytes sha256:2cf24d...`, `symlink l -> target`.
    pub fn line(&self) -> String {
        let mut line = format!("{} {}", self.kind.label(), self.path);
        if let Some(size) = self.size {
            line.push_str(&format!(" {size} bytes"));
        }
        if let Some(hash) = &self.sha256 {
            line.push_str(&format!(" sha256:{hash}"));
        }
        if let Some(target) = &self.target {
            line.push_str(&format!(" -> {target}"));
        }
        line
    }
}

/// The tree of one preopened directory after a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TreeSnapshot {
    /// The name the guest saw it under (`/` for a spec's `root`).
    pub guest: String,
    /// Entries, sorted by path.
    pub entries: Vec<TreeEntry>,
    /// Why the tree could not be read whole, if it could not.
    pub error: Option<String>,
}

impl TreeSnapshot {
    /// Reads the tree under `dir`.
    pub fn take(guest: &str, dir: &Path) -> TreeSnapshot {
        let mut entries = Vec::new();
        let error = walk(dir, "", &mut entries).err().map(|e| e.to_string());
        entries.sort();
        TreeSnapshot {
            guest: guest.to_owned(),
            entries,
            error,
        }
    }

    /// The tree as text, one entry a line (for diffs).
    pub fn text(&self) -> String {
        let mut out: String = self.entries.iter().map(|e| e.line() + "\n").collect();
        if let Some(error) = &self.error {
            out.push_str(&format!("(unreadable: {error})\n"));
        }
        out
    }
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<TreeEntry>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            let target = std::fs::read_link(entry.path())?;
            out.push(TreeEntry {
                path,
                kind: EntryKind::Symlink,
                size: None,
                sha256: None,
                target: Some(target.to_string_lossy().into_owned()),
            });
        } else if kind.is_dir() {
            out.push(TreeEntry {
                path: path.clone(),
                kind: EntryKind::Dir,
                size: None,
                sha256: None,
                target: None,
            });
            walk(&entry.path(), &path, out)?;
        } else if kind.is_file() {
            let bytes = std::fs::read(entry.path())?;
            out.push(TreeEntry {
                path,
                kind: EntryKind::File,
                size: Some(bytes.len() as u64),
                sha256: Some(hex(&Sha256::digest(&bytes))),
                target: None,
            });
        } else {
            out.push(TreeEntry {
                path,
                kind: EntryKind::Other,
                size: None,
                sha256: None,
                target: None,
            });
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_kinds_sizes_hashes_and_links() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a.txt"), "hello").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("sub/a.txt", dir.path().join("link")).unwrap();
        let tree = TreeSnapshot::take("/", dir.path());
        let text = tree.text();
        assert!(text.contains("dir sub\n"), "{text}");
        assert!(
            text.contains("file sub/a.txt 5 bytes sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n"),
            "{text}"
        );
        #[cfg(unix)]
        assert!(text.contains("symlink link -> sub/a.txt\n"), "{text}");
        assert_eq!(tree.error, None);
    }
}
