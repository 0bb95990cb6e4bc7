//! The component linker: host definitions by interface name (functions, resource types,
//! nested instances, modules), resolved against a component's imports at instantiation and
//! checked against the types it declares. An import `pkg:name/iface@X.Y.Z` is satisfied by
//! any definition of the same interface whose version is semver-compatible (for `0.x`, the
//! same minor: a component importing `wasi:cli/stdout@0.2.0` links to `@0.2.12`).

use super::concurrent::HostCall;
use super::func::{FuncRt, HostFnDyn, HostFunc};
use super::instance::{instantiate, Instance, InstanceRt, Item};
use super::resources::ResourceType;
use super::state::RtResource;
use super::typed::{LiftList, LowerList};
use super::types::{ComponentFunc, ComponentItem, ResourceRef};
use super::values::Val;
use super::{Component, StoreContextMut};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::module::Module;
use crate::store::{AsContextMut, Caller, Func as CoreFunc, Store};
use crate::types::{FuncType, ValType};
use crate::TrapCode;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

type Dtor<T> = Arc<dyn Fn(StoreContextMut<'_, T>, u32) -> Result<()> + Send + Sync>;

enum Definition<T> {
    Func(Arc<HostFunc<T>>),
    Instance(Defs<T>),
    Resource(ResourceType, Dtor<T>),
    Module(Module),
}

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Definition::Func(f) => Definition::Func(f.clone()),
            Definition::Instance(d) => Definition::Instance(d.clone()),
            Definition::Resource(t, d) => Definition::Resource(t.clone(), d.clone()),
            Definition::Module(m) => Definition::Module(m.clone()),
        }
    }
}

impl<T> Definition<T> {
    fn desc(&self) -> &'static str {
        match self {
            Definition::Func(_) => "function",
            Definition::Instance(_) => "instance",
            Definition::Resource(..) => "resource",
            Definition::Module(_) => "module",
        }
    }
}

/// Definitions by name.
struct Defs<T>(BTreeMap<String, Definition<T>>);

impl<T> Clone for Defs<T> {
    fn clone(&self) -> Self {
        Defs(self.0.clone())
    }
}

/// `(name without version, compatibility key, version)` of `ns:pkg/iface@1.2.3`; the key is
/// the version's major, or major.minor for `0.x`.
fn version_parts(name: &str) -> Option<(&str, String, (u64, u64, u64))> {
    let (base, version) = name.rsplit_once('@')?;
    let mut parts = version.split('.');
    let mut num = || parts.next()?.parse::<u64>().ok();
    let v = (num()?, num()?, num()?);
    if parts.next().is_some() {
        return None;
    }
    let key = if v.0 == 0 {
        format!("0.{}", v.1)
    } else {
        v.0.to_string()
    };
    Some((base, key, v))
}

impl<T> Defs<T> {
    /// The definition for `name`: exactly, else the newest semver-compatible version.
    fn get(&self, name: &str) -> Option<&Definition<T>> {
        if let Some(d) = self.0.get(name) {
            return Some(d);
        }
        let (base, key, _) = version_parts(name)?;
        self.0
            .iter()
            .filter_map(|(n, d)| {
                let (b, k, v) = version_parts(n)?;
                (b == base && k == key).then_some((v, d))
            })
            .max_by_key(|(v, _)| *v)
            .map(|(_, d)| d)
    }
}

/// Resolves a component's imports to host definitions by name.
pub struct Linker<T> {
    engine: Engine,
    root: Defs<T>,
    allow_shadowing: bool,
}

impl<T> Clone for Linker<T> {
    fn clone(&self) -> Self {
        Linker {
            engine: self.engine.clone(),
            root: self.root.clone(),
            allow_shadowing: self.allow_shadowing,
        }
    }
}

/// The definitions of one instance (or the root) of a [`Linker`].
pub struct LinkerInstance<'a, T> {
    defs: &'a mut Defs<T>,
    allow_shadowing: bool,
    path: String,
}

impl<T: 'static> Linker<T> {
    /// An empty linker.
    pub fn new(engine: &Engine) -> Self {
        Linker {
            engine: engine.clone(),
            root: Defs(BTreeMap::new()),
            allow_shadowing: false,
        }
    }

    /// What the root defines, for tools (the WASI registry): each instance by name with
    /// the import names it resolves — its functions by name, and `[resource-drop]r` for each
    /// resource type `r` (a host resource's destructor is part of its definition).
    pub fn instance_members(&self) -> Vec<(String, Vec<String>)> {
        self.root
            .0
            .iter()
            .filter_map(|(name, def)| match def {
                Definition::Instance(defs) => Some((
                    name.clone(),
                    defs.0
                        .iter()
                        .filter_map(|(member, def)| match def {
                            Definition::Func(_) => Some(member.clone()),
                            Definition::Resource(..) => Some(format!("[resource-drop]{member}")),
                            Definition::Instance(_) | Definition::Module(_) => None,
                        })
                        .collect(),
                )),
                _ => None,
            })
            .collect()
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether a later definition may replace an earlier one of the same name.
    pub fn allow_shadowing(&mut self, allow: bool) -> &mut Self {
        self.allow_shadowing = allow;
        self
    }

    /// The root: definitions of top-level imports.
    pub fn root(&mut self) -> LinkerInstance<'_, T> {
        LinkerInstance {
            defs: &mut self.root,
            allow_shadowing: self.allow_shadowing,
            path: String::new(),
        }
    }

    /// The instance `name` (e.g. `wasi:cli/stdout@0.2.6`), created if it does not exist.
    pub fn instance(&mut self, name: &str) -> Result<LinkerInstance<'_, T>> {
        open_instance(&mut self.root, self.allow_shadowing, "", name)
    }

    /// Instantiates `component`, resolving its imports from this linker.
    pub fn instantiate(
        &self,
        mut store: impl AsContextMut<Data = T>,
        component: &Component,
    ) -> Result<Instance> {
        let store = store.as_store_mut();
        if !Engine::same(&self.engine, component.engine()) {
            return Err(Error::link("the component belongs to another engine"));
        }
        let mut args = Vec::with_capacity(component.inner.imports.len());
        let mut bound = HashMap::new();
        for (name, ty) in &component.inner.imports {
            let item = resolve(store, name, self.root.get(name), ty, &mut bound)?;
            args.push((name.clone(), item));
        }
        let rt = instantiate(store, &component.inner, &args, None)?;
        Ok(Instance::from_rt(rt))
    }

    /// Defines every function import of `component` that is not defined yet as a function that
    /// traps when called (resources and instances are filled in likewise).
    pub fn define_unknown_imports_as_traps(&mut self, component: &Component) -> Result<()> {
        fn fill<T>(defs: &mut Defs<T>, name: &str, ty: &ComponentItem) {
            struct Unknown;
            let missing = defs.get(name).is_none();
            match ty {
                ComponentItem::ComponentFunc(_) if missing => {
                    let trap: Arc<HostFnDyn<T>> =
                        Arc::new(|_, _, _, _| Err(Error::trap(TrapCode::UnknownImport)));
                    let func = Arc::new(HostFunc {
                        func: trap,
                        async_func: None,
                        typecheck: None,
                    });
                    defs.0.insert(name.to_string(), Definition::Func(func));
                }
                ComponentItem::ComponentInstance(it) => {
                    if missing {
                        let empty = Definition::Instance(Defs(BTreeMap::new()));
                        defs.0.insert(name.to_string(), empty);
                    }
                    if let Some(Definition::Instance(inner)) = defs.0.get_mut(name) {
                        for (n, t) in it.exports() {
                            fill(inner, n, t);
                        }
                    }
                }
                ComponentItem::Resource(_) if missing => {
                    let ty = ResourceType::host::<Unknown>();
                    defs.0.insert(
                        name.to_string(),
                        Definition::Resource(ty, Arc::new(|_, _| Ok(()))),
                    );
                }
                _ => {}
            }
        }
        for (name, ty) in &component.inner.imports {
            fill(&mut self.root, name, ty);
        }
        Ok(())
    }
}

/// Turns a definition into the run-time item an import of type `ty` receives. `bound`
/// holds the resource types resolved so far: a resource the component already received (a
/// type an instance re-exports with `eq`, like `error` in `wasi:io/streams`) needs no
/// definition of its own.
fn resolve<T: 'static>(
    store: &mut Store<T>,
    name: &str,
    def: Option<&Definition<T>>,
    ty: &ComponentItem,
    bound: &mut HashMap<ResourceRef, RtResource>,
) -> Result<Item<T>> {
    if let ComponentItem::Type(_) = ty {
        // Value types are checked structurally at validation; nothing to provide.
        return Ok(Item::Type(None));
    }
    if let ComponentItem::Resource(r) = ty {
        if let Some(rt) = bound.get(r) {
            return Ok(Item::Type(Some(rt.clone())));
        }
    }
    let def = def.ok_or_else(|| {
        Error::link(format!(
            "component imports {} `{name}`, but a matching implementation was not found in the linker",
            ty.desc()
        ))
    })?;
    let wrong = || {
        Error::link(format!(
            "import `{name}` has the wrong type: expected a {}, the linker defines a {}",
            ty.desc(),
            def.desc()
        ))
    };
    Ok(match (ty, def) {
        (ComponentItem::ComponentFunc(fty), Definition::Func(f)) => {
            if let Some(check) = f.typecheck {
                check(fty).map_err(|e| {
                    Error::link(format!(
                        "function `{name}` has the wrong type: {e} (the component expects {fty})"
                    ))
                })?;
            }
            Item::Func(FuncRt::Host {
                func: f.clone(),
                ty: fty.clone(),
            })
        }
        (ComponentItem::ComponentInstance(it), Definition::Instance(defs)) => {
            let mut exports = Vec::with_capacity(it.exports().len());
            for (n, ety) in it.exports() {
                let full = format!("{name}#{n}");
                exports.push((
                    n.to_string(),
                    resolve(store, &full, defs.get(n), ety, bound)?,
                ));
            }
            Item::Instance(Arc::new(InstanceRt { exports }))
        }
        (ComponentItem::Resource(r), Definition::Resource(rty, dtor)) => {
            let dtor = dtor.clone();
            let f = CoreFunc::from_host(
                store,
                FuncType::new([ValType::I32], []),
                Arc::new(move |caller: Caller<'_, T>, raw: &mut [u64]| {
                    dtor(StoreContextMut(caller.store), raw[0] as u32)
                }),
            );
            let rt = RtResource {
                ty: rty.clone(),
                host_dtor: Some(f),
            };
            bound.insert(*r, rt.clone());
            Item::Type(Some(rt))
        }
        (ComponentItem::Module, Definition::Module(m)) => Item::Module(m.clone()),
        _ => return Err(wrong()),
    })
}

impl<T: 'static> LinkerInstance<'_, T> {
    fn insert(&mut self, name: &str, def: Definition<T>) -> Result<()> {
        if !self.allow_shadowing && self.defs.0.contains_key(name) {
            return Err(Error::link(format!(
                "`{}{name}` is defined twice",
                self.path
            )));
        }
        self.defs.0.insert(name.to_string(), def);
        Ok(())
    }

    /// Defines a host function over Rust values:
    /// `|store, (a, b): (u32, String)| -> Result<(u64,)> { .. }`.
    pub fn func_wrap<F, Params, Return>(&mut self, name: &str, func: F) -> Result<()>
    where
        F: Fn(StoreContextMut<'_, T>, Params) -> Result<Return> + Send + Sync + 'static,
        Params: LiftList + 'static,
        Return: LowerList + 'static,
    {
        let body: Arc<HostFnDyn<T>> = Arc::new(move |store, _ty, args, results: &mut [Val]| {
            let params = Params::lift_list(args)?;
            let ret = func(store, params)?.lower_list()?;
            if ret.len() != results.len() {
                return Err(Error::msg(format!(
                    "host function returned {} values, expected {}",
                    ret.len(),
                    results.len()
                )));
            }
            for (slot, v) in results.iter_mut().zip(ret) {
                *slot = v;
            }
            Ok(())
        });
        let typecheck: fn(&ComponentFunc) -> Result<()> = |ty| {
            Params::typecheck_list(ty.param_types())?;
            Return::typecheck_list(ty.result_types())
        };
        self.insert(
            name,
            Definition::Func(Arc::new(HostFunc {
                func: body,
                async_func: None,
                typecheck: Some(typecheck),
            })),
        )
    }

    /// Defines a host function over [`Val`]s; it receives the type the component declares.
    pub fn func_new(
        &mut self,
        name: &str,
        func: impl Fn(StoreContextMut<'_, T>, ComponentFunc, &[Val], &mut [Val]) -> Result<()>
            + Send
            + Sync
            + 'static,
    ) -> Result<()> {
        let body: Arc<HostFnDyn<T>> =
            Arc::new(move |store, ty, args, results| func(store, ty, &args, results));
        self.insert(
            name,
            Definition::Func(Arc::new(HostFunc {
                func: body,
                async_func: None,
                typecheck: None,
            })),
        )
    }

    /// Defines a host function over [`Val`]s that may finish later (for `async func`s and
    /// functions an async-lowering guest should not block on): it returns its results, or a
    /// future of them ([`HostCall`]). A synchronous caller blocks until the future is done.
    pub fn func_new_async(
        &mut self,
        name: &str,
        func: impl Fn(StoreContextMut<'_, T>, ComponentFunc, Vec<Val>) -> Result<HostCall>
            + Send
            + Sync
            + 'static,
    ) -> Result<()> {
        let unused: Arc<HostFnDyn<T>> =
            Arc::new(|_, _, _, _| Err(Error::msg("an async host function called directly")));
        self.insert(
            name,
            Definition::Func(Arc::new(HostFunc {
                func: unused,
                async_func: Some(Arc::new(func)),
                typecheck: None,
            })),
        )
    }

    /// Defines a resource type; `dtor` runs with the representation when a component drops
    /// its last owned handle.
    pub fn resource(
        &mut self,
        name: &str,
        ty: ResourceType,
        dtor: impl Fn(StoreContextMut<'_, T>, u32) -> Result<()> + Send + Sync + 'static,
    ) -> Result<()> {
        self.insert(name, Definition::Resource(ty, Arc::new(dtor)))
    }

    /// Defines a core module.
    pub fn module(&mut self, name: &str, module: &Module) -> Result<()> {
        self.insert(name, Definition::Module(module.clone()))
    }

    /// The nested instance `name`, created if it does not exist.
    pub fn instance(&mut self, name: &str) -> Result<LinkerInstance<'_, T>> {
        self.instance_mut(name)
    }

    fn instance_mut(&mut self, name: &str) -> Result<LinkerInstance<'_, T>> {
        open_instance(self.defs, self.allow_shadowing, &self.path, name)
    }
}

/// The nested instance `name` of `defs`, created if it does not exist.
fn open_instance<'a, T>(
    defs: &'a mut Defs<T>,
    allow_shadowing: bool,
    path: &str,
    name: &str,
) -> Result<LinkerInstance<'a, T>> {
    let path = format!("{path}{name}#");
    let def = defs
        .0
        .entry(name.to_string())
        .or_insert_with(|| Definition::Instance(Defs(BTreeMap::new())));
    match def {
        Definition::Instance(defs) => Ok(LinkerInstance {
            defs,
            allow_shadowing,
            path,
        }),
        other => Err(Error::link(format!(
            "`{name}` is already defined as a {}",
            other.desc()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_match_semver_compatibly() {
        let mut defs: Defs<()> = Defs(BTreeMap::new());
        for n in [
            "wasi:cli/stdout@0.2.3",
            "wasi:cli/stdout@0.2.12",
            "wasi:io/streams@0.3.0",
        ] {
            defs.0.insert(
                n.to_string(),
                Definition::Module(Module::new(&Engine::default(), "(module)").unwrap()),
            );
        }
        let found = |name: &str| {
            defs.get(name)
                .map(|d| std::ptr::eq(d, defs.0.get("wasi:cli/stdout@0.2.12").unwrap()))
        };
        assert_eq!(found("wasi:cli/stdout@0.2.0"), Some(true));
        assert_eq!(found("wasi:cli/stdout@0.2.12"), Some(true));
        assert!(defs.get("wasi:cli/stdout@0.2.3").is_some());
        assert!(defs.get("wasi:cli/stdout@0.3.0").is_none());
        assert!(defs.get("wasi:io/streams@0.2.0").is_none());
        assert!(defs.get("wasi:cli/stdout").is_none());
        assert_eq!(version_parts("a:b/c@1.2.3").unwrap().1, "1");
        assert!(version_parts("a:b/c@0.2.0-rc-2023").is_none());
    }
}
