//! WASI registry: what wasmgate implements, interface by interface and member by member —
//! the single source `harness matrix` generates `docs/wasi-feature-matrix.md` from.
//!
//! The registry records what is *registered*: the host functions each preview's
//! `add_to_linker` defines, read back from a [`Linker`] it filled, so a name is listed only
//! when a guest importing it would link. It does not list what exists upstream: the harness
//! reads every WASI interface and its members from the WIT files (and P1's witx) that
//! `wasmtime-wasi` and `wasmtime-wasi-http` ship, and asks [`Registry::is_registered`] about
//! each, so that "registered 0 of 12" is a fact, not a hand-kept claim.
//!
//! Member names are the import names a guest uses: P1 function names (`fd_write`) for
//! `wasi_snapshot_preview1`; for a component interface the canonical ABI names
//! (`get-environment`, `[method]descriptor.read`, `[constructor]fields`,
//! `[static]fields.from-list`, `[resource-drop]descriptor`).
//!
//! Known limitations of what is registered are data beside it: [`LIMITATIONS`].
//!
//! P1 is read from a core [`Linker`] filled by `p1::add_to_linker`; P2 (`@0.2.x`) and P3
//! (`@0.3.x`) from one component linker filled by `p2::add_to_linker` and
//! `p3::add_to_linker`.

use std::collections::BTreeSet;

use crate::component::ResourceTable;
use crate::wasi::{p1, p2, p3, WasiCtx};
use crate::{Engine, Linker, Store};

/// The limitations of the registered interfaces, as JSON (`limitations.json` beside this
/// file): `{"version": 1, "limitations": [...]}`, each entry with
///
/// - `preview`: `"p1"`, `"p2"` or `"p3"`;
/// - `interface`: `"wasi_snapshot_preview1"`, a component interface without its version
///   (`"wasi:filesystem/types"`), or `"*"` for the whole preview;
/// - `members` (optional): the members it concerns (`["fd_allocate"]`);
/// - `text`: what a guest observes, in a sentence;
/// - `tracking`: where a change is tracked (an issue), or why none is planned.
///
/// `harness matrix` parses and checks it (every interface and member must exist upstream).
pub const LIMITATIONS: &str = include_str!("limitations.json");

/// A WASI preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Preview {
    /// `wasi_snapshot_preview1`: core-module imports.
    P1,
    /// WASI 0.2.x: component interfaces.
    P2,
    /// WASI 0.3.x: async component interfaces.
    P3,
}

impl Preview {
    /// Every preview, in order.
    pub const ALL: [Preview; 3] = [Preview::P1, Preview::P2, Preview::P3];

    /// The short name, `p1`.
    pub fn short(self) -> &'static str {
        match self {
            Preview::P1 => "p1",
            Preview::P2 => "p2",
            Preview::P3 => "p3",
        }
    }

    /// The preview of a component interface version: `0.2.*` is P2, `0.3.*` is P3.
    pub fn of_version(version: &str) -> Option<Preview> {
        let mut parts = version.split(['.', '-']);
        match (parts.next(), parts.next()) {
            (Some("0"), Some("2")) => Some(Preview::P2),
            (Some("0"), Some("3")) => Some(Preview::P3),
            _ => None,
        }
    }
}

/// One interface with host functions registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredInterface {
    /// The preview it belongs to.
    pub preview: Preview,
    /// `wasi_snapshot_preview1`, or a component interface without its version:
    /// `wasi:filesystem/types`.
    pub name: String,
    /// The versions registered (`0.2.12`); empty for P1, whose module name is its version.
    pub versions: Vec<String>,
    /// The registered members, by import name.
    pub members: BTreeSet<String>,
}

impl RegisteredInterface {
    /// Whether it serves `version` of its interface (`None` for P1): a registered version
    /// serves itself and, without a pre-release tag, every version with the same
    /// `major.minor` and no pre-release tag (a `0.2.12` host serves `0.2.3` imports).
    pub fn serves(&self, version: Option<&str>) -> bool {
        match version {
            None => self.versions.is_empty(),
            Some(v) => self
                .versions
                .iter()
                .any(|r| r == v || same_release_line(r, v)),
        }
    }
}

/// `0.2.12` and `0.2.3`: same `major.minor`, neither a pre-release.
fn same_release_line(a: &str, b: &str) -> bool {
    let line = |v: &str| -> Option<(u64, u64)> {
        if v.contains('-') {
            return None;
        }
        let mut parts = v.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        parts.next()?.parse::<u64>().ok()?;
        Some((major, minor))
    };
    matches!((line(a), line(b)), (Some(x), Some(y)) if x == y)
}

/// What wasmgate registers, interface by interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registry {
    interfaces: Vec<RegisteredInterface>,
}

impl Registry {
    /// The registry of this build: every preview's `add_to_linker` run into a fresh
    /// [`Linker`], and each name read back from it.
    ///
    /// # Panics
    ///
    /// If an `add_to_linker` fails on an empty linker (it defines a name twice): a bug.
    pub fn current() -> Registry {
        let mut interfaces = vec![p1_interface()];
        interfaces.extend(component_interfaces());
        Registry::from_interfaces(interfaces)
    }

    /// A registry of the given interfaces (for tests and tools), sorted by preview, then
    /// name.
    pub fn from_interfaces(mut interfaces: Vec<RegisteredInterface>) -> Registry {
        interfaces.sort_by(|a, b| (a.preview, &a.name).cmp(&(b.preview, &b.name)));
        Registry { interfaces }
    }

    /// The registered interfaces, sorted by preview, then name.
    pub fn interfaces(&self) -> &[RegisteredInterface] {
        &self.interfaces
    }

    /// The registered interface that serves `name` at `version` in `preview`, if any.
    pub fn lookup(
        &self,
        preview: Preview,
        name: &str,
        version: Option<&str>,
    ) -> Option<&RegisteredInterface> {
        self.interfaces
            .iter()
            .find(|i| i.preview == preview && i.name == name && i.serves(version))
    }

    /// Whether a host implementation of `member` of `name` at `version` is registered.
    pub fn is_registered(
        &self,
        preview: Preview,
        name: &str,
        version: Option<&str>,
        member: &str,
    ) -> bool {
        self.lookup(preview, name, version)
            .is_some_and(|i| i.members.contains(member))
    }
}

/// P1: the names of [`p1::FUNCTIONS`] that a linker filled by [`p1::add_to_linker`]
/// resolves.
fn p1_interface() -> RegisteredInterface {
    let engine = Engine::default();
    let mut linker = Linker::<WasiCtx>::new(&engine);
    p1::add_to_linker(&mut linker, |cx| cx).expect("p1::add_to_linker into an empty linker");
    let mut store = Store::new(&engine, WasiCtx::default());
    let members = p1::FUNCTIONS
        .iter()
        .filter(|name| linker.get(&mut store, p1::MODULE, name).is_some())
        .map(|name| name.to_string())
        .collect();
    RegisteredInterface {
        preview: Preview::P1,
        name: p1::MODULE.to_owned(),
        versions: Vec::new(),
        members,
    }
}

/// Store data for the P2 linker the registry fills (never instantiated).
struct P2Host {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl p2::WasiView for P2Host {
    fn ctx(&mut self) -> p2::WasiCtxView<'_> {
        p2::WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// P2 and P3: every `wasi:*@0.2.x` and `wasi:*@0.3.x` instance a component linker filled
/// by [`p2::add_to_linker`] and [`p3::add_to_linker`] defines, with its members.
fn component_interfaces() -> Vec<RegisteredInterface> {
    let engine = Engine::default();
    let mut linker = crate::component::Linker::<P2Host>::new(&engine);
    p2::add_to_linker(&mut linker).expect("p2::add_to_linker into an empty linker");
    p3::add_to_linker(&mut linker).expect("p3::add_to_linker after p2's");
    linker
        .instance_members()
        .into_iter()
        .filter_map(|(name, members)| {
            let (iface, version) = name.split_once('@')?;
            let preview = Preview::of_version(version)?;
            Some(RegisteredInterface {
                preview,
                name: iface.to_owned(),
                versions: vec![version.to_owned()],
                members: members.into_iter().collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p1_registers_all_46_functions() {
        let registry = Registry::current();
        let p1 = registry
            .lookup(Preview::P1, "wasi_snapshot_preview1", None)
            .expect("P1 is registered");
        assert_eq!(p1.members.len(), 46);
        assert_eq!(
            p1.members.len(),
            p1::FUNCTIONS.len(),
            "FUNCTIONS has duplicates"
        );
        for name in p1::FUNCTIONS {
            assert!(p1.members.contains(name), "{name} is not linked");
        }
        assert!(registry.is_registered(Preview::P1, p1::MODULE, None, "fd_write"));
    }

    #[test]
    fn the_linker_is_really_asked() {
        let engine = Engine::default();
        let mut linker = Linker::<WasiCtx>::new(&engine);
        p1::add_to_linker(&mut linker, |cx| cx).unwrap();
        let mut store = Store::new(&engine, WasiCtx::default());
        assert!(linker.get(&mut store, p1::MODULE, "fd_write").is_some());
        assert!(linker.get(&mut store, p1::MODULE, "fd_bogus").is_none());
        assert!(linker
            .get(&mut store, "wasi_unstable", "fd_write")
            .is_none());
    }

    #[test]
    fn p2_is_read_from_the_component_linker() {
        let registry = Registry::current();
        assert!(registry.is_registered(
            Preview::P2,
            "wasi:cli/environment",
            Some("0.2.0"),
            "get-environment"
        ));
        assert!(registry.is_registered(
            Preview::P2,
            "wasi:io/poll",
            Some("0.2.12"),
            "[resource-drop]pollable"
        ));
        assert!(!registry.is_registered(
            Preview::P2,
            "wasi:cli/environment",
            Some("0.2.12"),
            "get-nothing"
        ));
        assert!(registry.is_registered(
            Preview::P3,
            "wasi:cli/environment",
            Some("0.3.0"),
            "get-environment"
        ));
        assert!(!registry.is_registered(
            Preview::P3,
            "wasi:cli/environment",
            Some("0.2.12"),
            "get-environment"
        ));
    }

    #[test]
    fn versions_serve_their_release_line() {
        let i = RegisteredInterface {
            preview: Preview::P2,
            name: "wasi:cli/environment".into(),
            versions: vec!["0.2.12".into()],
            members: ["get-environment".to_string()].into(),
        };
        assert!(i.serves(Some("0.2.12")));
        assert!(i.serves(Some("0.2.3")));
        assert!(!i.serves(Some("0.3.0")));
        assert!(!i.serves(Some("0.2.0-rc-2023-11-10")));
        assert!(!i.serves(None));
        assert_eq!(Preview::of_version("0.2.12"), Some(Preview::P2));
        assert_eq!(
            Preview::of_version("0.3.0-rc-2025-09-16"),
            Some(Preview::P3)
        );
        assert_eq!(Preview::of_version("1.0.0"), None);
    }

    #[test]
    fn limitations_are_well_formed() {
        let doc: serde_json::Value = serde_json::from_str(LIMITATIONS).unwrap();
        assert_eq!(doc["version"], 1);
        let p1 = Registry::current();
        for entry in doc["limitations"].as_array().unwrap() {
            for key in ["preview", "interface", "text", "tracking"] {
                let value = entry[key].as_str().unwrap_or_default();
                assert!(!value.trim().is_empty(), "{key} missing in {entry}");
            }
            if entry["preview"] == "p1" {
                for member in entry["members"].as_array().into_iter().flatten() {
                    let member = member.as_str().unwrap();
                    assert!(
                        p1.is_registered(Preview::P1, p1::MODULE, None, member),
                        "{member}"
                    );
                }
            }
        }
    }
}
