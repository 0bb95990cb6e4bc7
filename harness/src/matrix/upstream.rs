//! Matrix stage, upstream: every WASI interface and its members, parsed from the WIT files
//! (`wit-parser`) and P1's witx (`witx`) that the `wasmtime-wasi` and `wasmtime-wasi-http`
//! crates ship. The crates' sources are the ones cargo resolved for this workspace, found
//! with `cargo metadata`; `--wit DIR` searches other directories instead. Nothing is copied
//! into the repository and nothing is listed by hand.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use wasmgate::wasi::registry::Preview;
use wit_parser::{FunctionKind, InterfaceId, Resolve, TypeDefKind, WorldItem};

/// The crates whose sources hold the upstream WIT.
pub const WIT_CRATES: [&str; 2] = ["wasmtime-wasi", "wasmtime-wasi-http"];

/// The P1 witx file's name.
pub const P1_WITX: &str = "wasi_snapshot_preview1.witx";

/// What a member of an interface is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MemberKind {
    /// A freestanding function (`async` or not).
    Function,
    /// A resource method, `[method]r.f`.
    Method,
    /// A static resource function, `[static]r.f`.
    Static,
    /// A resource constructor, `[constructor]r`.
    Constructor,
    /// A resource's destructor, `[resource-drop]r`.
    ResourceDrop,
}

/// One member of an upstream interface.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Member {
    /// The import name: `fd_write`, `get-environment`, `[method]descriptor.read`.
    pub name: String,
    /// What it is.
    pub kind: MemberKind,
    /// Whether it is an `async func` (WASI 0.3).
    pub is_async: bool,
}

/// Whether a world imports the interface (the host provides it) or only exports it (the
/// guest provides it and the host calls it: `wasi:cli/run`, `wasi:http/incoming-handler`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Imported by some world, or by none.
    Import,
    /// Only ever exported by worlds.
    Export,
}

/// One upstream WASI interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// The preview it belongs to.
    pub preview: Preview,
    /// `wasi:filesystem/types`, or `wasi_snapshot_preview1`.
    pub name: String,
    /// Its package's name without version, `wasi:filesystem` (`wasi_snapshot_preview1` for
    /// P1).
    pub package: String,
    /// `0.2.12`; `None` for P1.
    pub version: Option<String>,
    /// Who provides it.
    pub role: Role,
    /// Its members, sorted by name.
    pub members: Vec<Member>,
}

impl Interface {
    /// `wasi:filesystem/types@0.2.12`, or `wasi_snapshot_preview1`.
    pub fn id(&self) -> String {
        match &self.version {
            Some(v) => format!("{}@{v}", self.name),
            None => self.name.clone(),
        }
    }

    /// The family: the package's name without namespace (`filesystem`); for P1 the
    /// function's prefix decides (see [`p1_family`]).
    pub fn family(&self) -> &str {
        self.package
            .split_once(':')
            .map_or(&self.package, |(_, n)| n)
    }
}

/// Every upstream interface, and where it was read from.
#[derive(Debug, Clone, Default)]
pub struct Upstream {
    /// Where the files came from: `wasmtime-wasi 48.0.8`, or a `--wit` directory.
    pub sources: Vec<String>,
    /// Sorted by preview, then id.
    pub interfaces: Vec<Interface>,
    /// Members gated `@unstable` upstream, as `(interface id, member)`: not in
    /// `interfaces` (not counted), but a runtime may still register them (wasmtime links
    /// some behind flags), and that is not an error.
    pub unstable: BTreeSet<(String, String)>,
}

/// The family of a P1 function, by its prefix (`fd_write` is `fd`): the P2 package that
/// took over its job.
pub fn p1_family(function: &str) -> &'static str {
    const FAMILIES: [(&str, &str); 10] = [
        ("args", "cli"),
        ("environ", "cli"),
        ("proc", "cli"),
        ("clock", "clocks"),
        ("fd", "filesystem"),
        ("path", "filesystem"),
        ("poll", "io"),
        ("sched", "io"),
        ("random", "random"),
        ("sock", "sockets"),
    ];
    let prefix = function.split('_').next().unwrap_or(function);
    FAMILIES
        .iter()
        .find(|(p, _)| *p == prefix)
        .map_or("other", |(_, f)| f)
}

/// The source directories of [`WIT_CRATES`] as cargo resolved them for the workspace at
/// `root` (`cargo metadata`, which downloads them if needed), labelled `name version`.
pub fn crate_sources(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .output()
        .with_context(|| format!("cannot run {} metadata", cargo.to_string_lossy()))?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("cargo metadata: malformed output")?;
    let packages = metadata["packages"]
        .as_array()
        .context("cargo metadata: no packages")?;
    let mut found = Vec::new();
    for name in WIT_CRATES {
        let matches: Vec<_> = packages.iter().filter(|p| p["name"] == name).collect();
        let package = match matches.as_slice() {
            [one] => one,
            [] => bail!("cargo metadata: the workspace does not depend on {name}"),
            _ => bail!("cargo metadata: several versions of {name}; pass --wit DIR"),
        };
        let version = package["version"].as_str().unwrap_or("?");
        let manifest = package["manifest_path"]
            .as_str()
            .with_context(|| format!("cargo metadata: no manifest_path for {name}"))?;
        let dir = Path::new(manifest)
            .parent()
            .context("manifest_path has no parent")?;
        found.push((format!("{name} {version}"), dir.to_path_buf()));
    }
    Ok(found)
}

/// Every WIT package root (a directory named `wit`, parsed with its `deps/`) and every
/// [`P1_WITX`] at or below `dir`, in path order.
pub fn find_sources(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    fn walk(dir: &Path, wit: &mut Vec<PathBuf>, witx: &mut Vec<PathBuf>) -> Result<()> {
        let mut entries = std::fs::read_dir(dir)
            .with_context(|| format!("cannot list {}", dir.display()))?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<Vec<_>>>()?;
        entries.sort();
        for path in entries {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if name == "wit" {
                    wit.push(path);
                } else if name != "target" && !name.starts_with('.') {
                    walk(&path, wit, witx)?;
                }
            } else if name == P1_WITX {
                witx.push(path);
            }
        }
        Ok(())
    }
    let (mut wit, mut witx) = (Vec::new(), Vec::new());
    if dir.file_name().is_some_and(|n| n == "wit") {
        wit.push(dir.to_path_buf());
    } else {
        walk(dir, &mut wit, &mut witx)?;
    }
    Ok((wit, witx))
}

/// Parses every WIT root and witx file found at or below `dirs` (labelled by `sources`)
/// into one sorted list of interfaces. The same interface found twice (the crates share
/// `deps/`) must have the same members.
pub fn load(sources: Vec<String>, dirs: &[PathBuf]) -> Result<Upstream> {
    let mut all = Vec::new();
    let mut with_unstable = Vec::new();
    for dir in dirs {
        let (wit, witx) = find_sources(dir)?;
        if wit.is_empty() && witx.is_empty() {
            bail!(
                "no `wit` directory and no {P1_WITX} under {}",
                dir.display()
            );
        }
        for root in wit {
            let mut resolve = Resolve::default();
            resolve
                .push_dir(&root)
                .with_context(|| format!("cannot parse the WIT in {}", root.display()))?;
            all.extend(interfaces_of(&resolve));
            let mut everything = Resolve {
                all_features: true,
                ..Resolve::default()
            };
            everything
                .push_dir(&root)
                .with_context(|| format!("cannot parse the WIT in {}", root.display()))?;
            with_unstable.extend(interfaces_of(&everything));
        }
        for file in witx {
            all.push(p1_from_witx(&file)?);
        }
    }
    let interfaces = merge(all)?;
    let mut unstable = BTreeSet::new();
    for i in with_unstable {
        let id = i.id();
        let stable = interfaces
            .iter()
            .find(|s| s.preview == i.preview && s.id() == id);
        for m in i.members {
            if !stable.is_some_and(|s| s.members.iter().any(|x| x.name == m.name)) {
                unstable.insert((id.clone(), m.name));
            }
        }
    }
    Ok(Upstream {
        sources,
        interfaces,
        unstable,
    })
}

/// Sorts by preview and id and folds duplicates (which must agree on members).
pub fn merge(interfaces: Vec<Interface>) -> Result<Vec<Interface>> {
    let mut by_id: BTreeMap<(Preview, String), Interface> = BTreeMap::new();
    for interface in interfaces {
        let key = (interface.preview, interface.id());
        match by_id.get_mut(&key) {
            None => {
                by_id.insert(key, interface);
            }
            Some(seen) => {
                if seen.members != interface.members {
                    bail!("{} is defined twice with different members", interface.id());
                }
                seen.role = seen.role.min(interface.role);
            }
        }
    }
    Ok(by_id.into_values().collect())
}

/// The `wasi:` interfaces of a resolved WIT package set. Members gated `@unstable` are
/// not there: `Resolve` leaves out features that are not enabled.
pub fn interfaces_of(resolve: &Resolve) -> Vec<Interface> {
    let mut imported = BTreeSet::new();
    let mut exported = BTreeSet::new();
    for (_, world) in resolve.worlds.iter() {
        for (set, items) in [
            (&mut imported, &world.imports),
            (&mut exported, &world.exports),
        ] {
            for item in items.values() {
                if let WorldItem::Interface { id, .. } = item {
                    set.insert(*id);
                }
            }
        }
    }
    let mut out = Vec::new();
    for (id, interface) in resolve.interfaces.iter() {
        let (Some(name), Some(package)) = (&interface.name, interface.package) else {
            continue;
        };
        let package = &resolve.packages[package].name;
        if package.namespace != "wasi" {
            continue;
        }
        let version = package.version.as_ref().map(|v| v.to_string());
        let Some(preview) = version.as_deref().and_then(Preview::of_version) else {
            continue;
        };
        out.push(Interface {
            preview,
            name: format!("wasi:{}/{name}", package.name),
            package: format!("wasi:{}", package.name),
            version,
            role: role(id, &imported, &exported),
            members: members_of(resolve, id),
        });
    }
    out
}

fn role(
    id: InterfaceId,
    imported: &BTreeSet<InterfaceId>,
    exported: &BTreeSet<InterfaceId>,
) -> Role {
    if exported.contains(&id) && !imported.contains(&id) {
        Role::Export
    } else {
        Role::Import
    }
}

fn members_of(resolve: &Resolve, id: InterfaceId) -> Vec<Member> {
    let interface = &resolve.interfaces[id];
    let mut members: Vec<Member> = interface
        .functions
        .values()
        .map(|f| {
            let kind = match f.kind {
                FunctionKind::Freestanding | FunctionKind::AsyncFreestanding => {
                    MemberKind::Function
                }
                FunctionKind::Method(_) | FunctionKind::AsyncMethod(_) => MemberKind::Method,
                FunctionKind::Static(_) | FunctionKind::AsyncStatic(_) => MemberKind::Static,
                FunctionKind::Constructor(_) => MemberKind::Constructor,
            };
            Member {
                name: f.name.clone(),
                kind,
                is_async: f.kind.is_async(),
            }
        })
        .collect();
    for (name, ty) in &interface.types {
        if matches!(resolve.types[*ty].kind, TypeDefKind::Resource) {
            members.push(Member {
                name: format!("[resource-drop]{name}"),
                kind: MemberKind::ResourceDrop,
                is_async: false,
            });
        }
    }
    members.sort();
    members
}

/// `wasi_snapshot_preview1` from its witx file: one member per function.
pub fn p1_from_witx(path: &Path) -> Result<Interface> {
    let doc = witx::load(&[path]).with_context(|| format!("cannot parse {}", path.display()))?;
    let module = doc
        .modules()
        .find(|m| m.name.as_str() == wasmgate::wasi::p1::MODULE)
        .with_context(|| {
            format!(
                "{}: no module {}",
                path.display(),
                wasmgate::wasi::p1::MODULE
            )
        })?;
    let mut members: Vec<Member> = module
        .funcs()
        .map(|f| Member {
            name: f.name.as_str().to_owned(),
            kind: MemberKind::Function,
            is_async: false,
        })
        .collect();
    members.sort();
    Ok(Interface {
        preview: Preview::P1,
        name: wasmgate::wasi::p1::MODULE.to_owned(),
        package: wasmgate::wasi::p1::MODULE.to_owned(),
        version: None,
        role: Role::Import,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIT: &str = r#"
package wasi:demo@0.2.3;

interface store {
    resource bucket {
        constructor(name: string);
        get: func(key: string) -> option<string>;
        open: static func(name: string) -> bucket;
    }
    ping: func();
    @unstable(feature = demo-extra)
    extra: func();
}

interface run {
    run: func() -> result;
}

world demo {
    import store;
    export run;
}
"#;

    #[test]
    fn members_of_a_wit_interface() {
        let mut resolve = Resolve::default();
        resolve.push_str("demo.wit", WIT).unwrap();
        let interfaces = merge(interfaces_of(&resolve)).unwrap();
        let ids: Vec<_> = interfaces.iter().map(|i| (i.id(), i.role)).collect();
        assert_eq!(
            ids,
            [
                ("wasi:demo/run@0.2.3".to_owned(), Role::Export),
                ("wasi:demo/store@0.2.3".to_owned(), Role::Import),
            ]
        );
        let store = &interfaces[1];
        assert_eq!(store.preview, Preview::P2);
        assert_eq!(store.family(), "demo");
        let names: Vec<_> = store.members.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "[constructor]bucket",
                "[method]bucket.get",
                "[resource-drop]bucket",
                "[static]bucket.open",
                "ping"
            ]
        );
    }

    #[test]
    fn p1_families() {
        assert_eq!(p1_family("fd_write"), "filesystem");
        assert_eq!(p1_family("path_open"), "filesystem");
        assert_eq!(p1_family("poll_oneoff"), "io");
        assert_eq!(p1_family("environ_get"), "cli");
        assert_eq!(p1_family("sock_send"), "sockets");
    }

    /// The real sources: cargo resolves wasmtime-wasi and wasmtime-wasi-http.
    #[test]
    fn the_crates_wit_parses() {
        let root = crate::workspace_root(Path::new(env!("CARGO_MANIFEST_DIR")));
        let sources = crate_sources(&root).unwrap();
        let (labels, dirs): (Vec<_>, Vec<_>) = sources.into_iter().unzip();
        let upstream = load(labels, &dirs).unwrap();
        let p1 = &upstream.interfaces[0];
        assert_eq!(p1.name, "wasi_snapshot_preview1");
        assert_eq!(p1.members.len(), 46);
        for preview in [Preview::P2, Preview::P3] {
            for family in ["cli", "clocks", "filesystem", "http", "random", "sockets"] {
                assert!(
                    upstream
                        .interfaces
                        .iter()
                        .any(|i| i.preview == preview && i.family() == family),
                    "{family} in {preview:?}"
                );
            }
        }
    }
}
