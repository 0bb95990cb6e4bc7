//! Instantiation of the component graph: replays a [`ComponentDef`]'s definitions in order
//! on a store (core instances from nested modules and their arguments, aliases, `canon lift`
//! / `lower`, resource types and built-ins, nested component instances) and hands out the
//! exports as an [`Instance`].

use super::decode::{CanonOpts, ComponentDef, CoreSort, Init, ItemRef};
use super::func::{lower_func, Func, FuncRt, Lifted, Lowered, RtOpts};
use super::resources::ResourceType;
use super::state::{InstanceState, RtResource};
use super::typed::{LiftList, LowerList, TypedFunc};
use super::types::{ComponentItem, ResourceRef};
use super::{call_core, Component};
use crate::error::{Error, Result};
use crate::module::Module;
use crate::store::{
    AsContext, AsContextMut, Caller, Extern, Func as CoreFunc, Global, Instance as CoreInstance,
    Memory, Store, Table,
};
use crate::types::{FuncType, ValType};
use std::any::Any;
use std::sync::Arc;
use wasmparser::ComponentExternalKind;

/// A run-time item of a component's index spaces.
pub(crate) enum Item<T> {
    Module(Module),
    Func(FuncRt<T>),
    Instance(Arc<InstanceRt<T>>),
    Component(Arc<ComponentDef>),
    /// A type: the run-time resource type, for resources.
    Type(Option<RtResource>),
}

impl<T> Clone for Item<T> {
    fn clone(&self) -> Self {
        match self {
            Item::Module(m) => Item::Module(m.clone()),
            Item::Func(f) => Item::Func(f.clone()),
            Item::Instance(i) => Item::Instance(i.clone()),
            Item::Component(c) => Item::Component(c.clone()),
            Item::Type(t) => Item::Type(t.clone()),
        }
    }
}

impl<T> Item<T> {
    fn desc(&self) -> &'static str {
        match self {
            Item::Module(_) => "module",
            Item::Func(_) => "function",
            Item::Instance(_) => "instance",
            Item::Component(_) => "component",
            Item::Type(Some(_)) => "resource",
            Item::Type(None) => "type",
        }
    }
}

/// A component instance at run time: its exports (and, for instantiated components, their
/// state).
pub(crate) struct InstanceRt<T> {
    pub exports: Vec<(String, Item<T>)>,
}

impl<T> InstanceRt<T> {
    pub(crate) fn get(&self, name: &str) -> Option<&Item<T>> {
        self.exports.iter().find(|(n, _)| n == name).map(|(_, i)| i)
    }
}

/// A core instance of a component: instantiated from a module, or a bag of exports.
enum CoreInst {
    Instance(CoreInstance),
    Exports(Vec<(String, Extern)>),
}

/// The index spaces of one component instance being instantiated.
struct Env<T> {
    state: Arc<InstanceState>,
    core_funcs: Vec<CoreFunc>,
    core_tables: Vec<Table>,
    core_memories: Vec<Memory>,
    core_globals: Vec<Global>,
    core_modules: Vec<Module>,
    core_instances: Vec<CoreInst>,
    funcs: Vec<FuncRt<T>>,
    instances: Vec<Arc<InstanceRt<T>>>,
    components: Vec<Arc<ComponentDef>>,
}

fn missing(what: &str, index: u32) -> Error {
    Error::msg(format!("{what} index {index} is out of range"))
}

impl<T: 'static> Env<T> {
    fn core_export<S>(&self, store: &Store<S>, instance: u32, name: &str) -> Result<Extern> {
        let inst = self
            .core_instances
            .get(instance as usize)
            .ok_or_else(|| missing("core instance", instance))?;
        let found = match inst {
            CoreInst::Instance(i) => i.get_export(store, name),
            CoreInst::Exports(items) => items.iter().find(|(n, _)| n == name).map(|(_, e)| *e),
        };
        found.ok_or_else(|| Error::msg(format!("core instance {instance} has no export `{name}`")))
    }

    fn core_item(&self, sort: CoreSort, index: u32) -> Result<Extern> {
        let i = index as usize;
        Ok(match sort {
            CoreSort::Func => Extern::Func(
                *self
                    .core_funcs
                    .get(i)
                    .ok_or_else(|| missing("core func", index))?,
            ),
            CoreSort::Table => Extern::Table(
                *self
                    .core_tables
                    .get(i)
                    .ok_or_else(|| missing("core table", index))?,
            ),
            CoreSort::Memory => Extern::Memory(
                *self
                    .core_memories
                    .get(i)
                    .ok_or_else(|| missing("core memory", index))?,
            ),
            CoreSort::Global => Extern::Global(
                *self
                    .core_globals
                    .get(i)
                    .ok_or_else(|| missing("core global", index))?,
            ),
        })
    }

    fn push_core(&mut self, sort: CoreSort, ext: Extern) -> Result<()> {
        match (sort, ext) {
            (CoreSort::Func, Extern::Func(f)) => self.core_funcs.push(f),
            (CoreSort::Table, Extern::Table(t)) => self.core_tables.push(t),
            (CoreSort::Memory, Extern::Memory(m)) => self.core_memories.push(m),
            (CoreSort::Global, Extern::Global(g)) => self.core_globals.push(g),
            _ => return Err(Error::msg("core export of the wrong kind")),
        }
        Ok(())
    }

    fn item(&self, r: &ItemRef) -> Result<Item<T>> {
        Ok(match r {
            ItemRef::Module(i) => Item::Module(
                self.core_modules
                    .get(*i as usize)
                    .ok_or_else(|| missing("module", *i))?
                    .clone(),
            ),
            ItemRef::Func(i) => Item::Func(
                self.funcs
                    .get(*i as usize)
                    .ok_or_else(|| missing("function", *i))?
                    .clone(),
            ),
            ItemRef::Instance(i) => Item::Instance(
                self.instances
                    .get(*i as usize)
                    .ok_or_else(|| missing("instance", *i))?
                    .clone(),
            ),
            ItemRef::Component(i) => Item::Component(
                self.components
                    .get(*i as usize)
                    .ok_or_else(|| missing("component", *i))?
                    .clone(),
            ),
            ItemRef::Type(ComponentItem::Resource(r)) => Item::Type(Some(self.state.resource(*r)?)),
            ItemRef::Type(_) => Item::Type(None),
        })
    }

    /// Appends an item to the index space of its kind.
    fn push(&mut self, item: Item<T>) {
        match item {
            Item::Module(m) => self.core_modules.push(m),
            Item::Func(f) => self.funcs.push(f),
            Item::Instance(i) => self.instances.push(i),
            Item::Component(c) => self.components.push(c),
            Item::Type(_) => {}
        }
    }

    fn opts(&self, o: &CanonOpts) -> Result<RtOpts> {
        Ok(RtOpts {
            memory: o
                .memory
                .map(|m| {
                    self.core_memories
                        .get(m as usize)
                        .copied()
                        .ok_or_else(|| missing("core memory", m))
                })
                .transpose()?,
            realloc: o
                .realloc
                .map(|f| {
                    self.core_funcs
                        .get(f as usize)
                        .copied()
                        .ok_or_else(|| missing("core func", f))
                })
                .transpose()?,
            encoding: o.encoding,
            async_: o.async_,
            callback: o
                .callback
                .map(|f| {
                    self.core_funcs
                        .get(f as usize)
                        .copied()
                        .ok_or_else(|| missing("core func", f))
                })
                .transpose()?,
        })
    }
}

/// Records the run-time resource types an item brings, as `ty` names them.
pub(crate) fn bind_resources<T>(
    state: &InstanceState,
    ty: &ComponentItem,
    item: &Item<T>,
) -> Result<()> {
    match (ty, item) {
        (ComponentItem::Resource(r), Item::Type(Some(rt))) => {
            state.define_resource(*r, rt.clone());
            Ok(())
        }
        (ComponentItem::ComponentInstance(it), Item::Instance(inst)) => {
            for (name, ety) in it.exports() {
                let sub = inst
                    .get(name)
                    .ok_or_else(|| Error::msg(format!("instance has no export `{name}`")))?;
                bind_resources(state, ety, sub)
                    .map_err(|e| e.context(format!("in export `{name}`")))?;
            }
            Ok(())
        }
        (ComponentItem::Resource(_), other) => Err(Error::msg(format!(
            "expected a resource, found a {}",
            other.desc()
        ))),
        (ComponentItem::ComponentInstance(_), other) => Err(Error::msg(format!(
            "expected an instance, found a {}",
            other.desc()
        ))),
        _ => Ok(()),
    }
}

/// Instantiates `def` with its imports given by name.
pub(crate) fn instantiate<T: 'static>(
    store: &mut Store<T>,
    def: &ComponentDef,
    args: &[(String, Item<T>)],
    parent: Option<Arc<InstanceState>>,
) -> Result<Arc<InstanceRt<T>>> {
    let mut env = Env {
        state: InstanceState::new(parent),
        core_funcs: Vec::new(),
        core_tables: Vec::new(),
        core_memories: Vec::new(),
        core_globals: Vec::new(),
        core_modules: Vec::new(),
        core_instances: Vec::new(),
        funcs: Vec::new(),
        instances: Vec::new(),
        components: Vec::new(),
    };
    let mut exports = Vec::new();
    for init in &def.inits {
        match init {
            Init::Import { name, ty } => {
                let item = args
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, i)| i.clone())
                    .ok_or_else(|| Error::link(format!("missing import `{name}`")))?;
                check_kind(ty, &item).map_err(|e| e.context(format!("import `{name}`")))?;
                bind_resources(&env.state, ty, &item)
                    .map_err(|e| e.context(format!("import `{name}`")))?;
                env.push(item);
            }
            Init::CoreModule(m) => env.core_modules.push(m.clone()),
            Init::CoreInstantiate { module, args } => {
                let m = env
                    .core_modules
                    .get(*module as usize)
                    .ok_or_else(|| missing("module", *module))?
                    .clone();
                let mut imports = Vec::with_capacity(m.inner.imports.len());
                for import in m.inner.imports.iter() {
                    let (_, inst) =
                        args.iter()
                            .find(|(n, _)| *n == import.module)
                            .ok_or_else(|| {
                                Error::link(format!(
                                    "no instance given for module `{}`",
                                    import.module
                                ))
                            })?;
                    imports.push(env.core_export(store, *inst, &import.name)?);
                }
                let inst = CoreInstance::new(&mut *store, &m, &imports)?;
                env.core_instances.push(CoreInst::Instance(inst));
            }
            Init::CoreInstanceFromExports(items) => {
                let mut exports = Vec::with_capacity(items.len());
                for (name, sort, index) in items {
                    exports.push((name.clone(), env.core_item(*sort, *index)?));
                }
                env.core_instances.push(CoreInst::Exports(exports));
            }
            Init::CoreAlias {
                instance,
                name,
                sort,
            } => {
                let ext = env.core_export(store, *instance, name)?;
                env.push_core(*sort, ext)?;
            }
            Init::Component(c) => env.components.push(c.clone()),
            Init::Instantiate {
                component,
                args,
                ty,
            } => {
                let child = env
                    .components
                    .get(*component as usize)
                    .ok_or_else(|| missing("component", *component))?
                    .clone();
                let mut child_args = Vec::with_capacity(args.len());
                for (name, r) in args {
                    child_args.push((name.clone(), env.item(r)?));
                }
                let inst = instantiate(store, &child, &child_args, Some(env.state.clone()))?;
                let item = Item::Instance(inst);
                bind_resources(
                    &env.state,
                    &ComponentItem::ComponentInstance(ty.clone()),
                    &item,
                )?;
                env.push(item);
            }
            Init::InstanceFromExports(items) => {
                let mut exports = Vec::with_capacity(items.len());
                for (name, r) in items {
                    exports.push((name.clone(), env.item(r)?));
                }
                env.instances.push(Arc::new(InstanceRt { exports }));
            }
            Init::Alias {
                instance,
                name,
                kind,
            } => {
                let inst = env
                    .instances
                    .get(*instance as usize)
                    .ok_or_else(|| missing("instance", *instance))?;
                let item = inst
                    .get(name)
                    .ok_or_else(|| {
                        Error::msg(format!("instance {instance} has no export `{name}`"))
                    })?
                    .clone();
                let ok = matches!(
                    (kind, &item),
                    (ComponentExternalKind::Module, Item::Module(_))
                        | (ComponentExternalKind::Func, Item::Func(_))
                        | (ComponentExternalKind::Instance, Item::Instance(_))
                        | (ComponentExternalKind::Component, Item::Component(_))
                );
                if !ok {
                    return Err(Error::msg(format!(
                        "export `{name}` of instance {instance} is a {}",
                        item.desc()
                    )));
                }
                env.push(item);
            }
            Init::ResourceDef { resource, dtor } => {
                let dtor = dtor
                    .map(|d| {
                        env.core_funcs
                            .get(d as usize)
                            .copied()
                            .ok_or_else(|| missing("core func", d))
                    })
                    .transpose()?;
                let rt = RtResource {
                    ty: ResourceType::guest(dtor, Arc::downgrade(&env.state)),
                    host_dtor: None,
                };
                env.state.define_resource(*resource, rt);
            }
            Init::Lift {
                core_func,
                ty,
                opts,
            } => {
                let core = *env
                    .core_funcs
                    .get(*core_func as usize)
                    .ok_or_else(|| missing("core func", *core_func))?;
                let post_return = opts
                    .post_return
                    .map(|f| {
                        env.core_funcs
                            .get(f as usize)
                            .copied()
                            .ok_or_else(|| missing("core func", f))
                    })
                    .transpose()?;
                env.funcs.push(FuncRt::Lifted(Arc::new(Lifted {
                    core,
                    ty: ty.clone(),
                    opts: env.opts(opts)?,
                    post_return,
                    instance: env.state.clone(),
                })));
            }
            Init::Lower { func, ty, opts } => {
                let callee = env
                    .funcs
                    .get(*func as usize)
                    .ok_or_else(|| missing("function", *func))?
                    .clone();
                let core = lower_func(
                    store,
                    Lowered {
                        callee,
                        ty: ty.clone(),
                        opts: env.opts(opts)?,
                        instance: env.state.clone(),
                    },
                );
                env.core_funcs.push(core);
            }
            Init::ResourceNew(r) => {
                let f = resource_new(store, &env.state, *r)?;
                env.core_funcs.push(f);
            }
            Init::ResourceRep(r) => {
                let f = resource_rep(store, &env.state, *r)?;
                env.core_funcs.push(f);
            }
            Init::ResourceDrop(r) => {
                let f = resource_drop(store, &env.state, *r)?;
                env.core_funcs.push(f);
            }
            Init::Builtin(b) => {
                let f = super::builtins::core_func(store, &env.state, b, |o| env.opts(o))?;
                env.core_funcs.push(f);
            }
            Init::Export { name, item } => {
                let item = env.item(item)?;
                exports.push((name.clone(), item.clone()));
                env.push(item);
            }
        }
    }
    Ok(Arc::new(InstanceRt { exports }))
}

/// Checks that an item is of the kind an import declares.
fn check_kind<T>(ty: &ComponentItem, item: &Item<T>) -> Result<()> {
    let ok = match ty {
        ComponentItem::ComponentFunc(_) => matches!(item, Item::Func(_)),
        ComponentItem::Module => matches!(item, Item::Module(_)),
        ComponentItem::Component => matches!(item, Item::Component(_)),
        ComponentItem::ComponentInstance(_) => matches!(item, Item::Instance(_)),
        ComponentItem::Resource(_) => matches!(item, Item::Type(Some(_))),
        ComponentItem::Type(_) => matches!(item, Item::Type(_)),
        ComponentItem::Value(_) => false,
    };
    if !ok {
        return Err(Error::link(format!(
            "expected a {}, found a {}",
            ty.desc(),
            item.desc()
        )));
    }
    Ok(())
}

/// `canon resource.new`: `(func (param i32) (result i32))`.
fn resource_new<T: 'static>(
    store: &mut Store<T>,
    state: &Arc<InstanceState>,
    r: ResourceRef,
) -> Result<CoreFunc> {
    let rt = state.resource(r)?;
    let state = state.clone();
    Ok(CoreFunc::from_host(
        store,
        FuncType::new([ValType::I32], [ValType::I32]),
        Arc::new(move |_: Caller<'_, T>, raw: &mut [u64]| {
            state.check_may_leave()?;
            raw[0] = state.resource_new(rt.clone(), raw[0] as u32)? as u64;
            Ok(())
        }),
    ))
}

/// `canon resource.rep`: `(func (param i32) (result i32))`.
fn resource_rep<T: 'static>(
    store: &mut Store<T>,
    state: &Arc<InstanceState>,
    r: ResourceRef,
) -> Result<CoreFunc> {
    let rt = state.resource(r)?;
    let state = state.clone();
    Ok(CoreFunc::from_host(
        store,
        FuncType::new([ValType::I32], [ValType::I32]),
        Arc::new(move |_: Caller<'_, T>, raw: &mut [u64]| {
            raw[0] = state.resource_rep(&rt.ty, raw[0] as u32)? as u64;
            Ok(())
        }),
    ))
}

/// `canon resource.drop`: `(func (param i32))`; an owned handle's destructor runs as a call
/// into the instance that implements the resource.
fn resource_drop<T: 'static>(
    store: &mut Store<T>,
    state: &Arc<InstanceState>,
    r: ResourceRef,
) -> Result<CoreFunc> {
    let rt = state.resource(r)?;
    let state = state.clone();
    Ok(CoreFunc::from_host(
        store,
        FuncType::new([ValType::I32], []),
        Arc::new(move |caller: Caller<'_, T>, raw: &mut [u64]| {
            state.check_may_leave()?;
            let Some(owned) = state.resource_drop(&rt.ty, raw[0] as u32)? else {
                return Ok(());
            };
            run_dtor(caller.store, &owned.rt, owned.rep, Some(&state))
        }),
    ))
}

/// Runs the destructor of an owned resource being dropped by `caller`.
pub(crate) fn run_dtor<T>(
    store: &mut Store<T>,
    rt: &RtResource,
    rep: u32,
    caller: Option<&Arc<InstanceState>>,
) -> Result<()> {
    if let Some(guest) = rt.ty.as_guest() {
        let Some(dtor) = guest.dtor else {
            return Ok(());
        };
        let imp = guest.instance.upgrade();
        let caller = caller.map(|c| &**c);
        if let Some(imp) = &imp {
            imp.enter(caller)?;
        }
        let r = call_core(store, dtor, &[rep as u64]);
        if let Some(imp) = &imp {
            if r.is_ok() {
                imp.leave(caller);
            }
        }
        return r.map(drop);
    }
    match rt.host_dtor {
        Some(dtor) => call_core(store, dtor, &[rep as u64]).map(drop),
        None => Ok(()),
    }
}

/// An instantiated component: its exports, to look up and call.
#[derive(Clone)]
pub struct Instance {
    inner: Arc<dyn Any + Send + Sync>,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance").finish_non_exhaustive()
    }
}

/// The position of an export among an instance's (nested) exports, for fast lookup.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ComponentExportIndex {
    path: Arc<[usize]>,
}

/// What [`Instance::get_func`] and friends accept to name an export: a name of a top-level
/// export, or a [`ComponentExportIndex`].
pub trait InstanceExportLookup {
    #[doc(hidden)]
    fn export_ref(&self) -> ExportRef<'_>;
}

/// How an export is named (see [`InstanceExportLookup`]).
#[doc(hidden)]
pub enum ExportRef<'a> {
    Name(&'a str),
    Index(&'a ComponentExportIndex),
}

fn at_path<T>(inst: &InstanceRt<T>, path: &[usize]) -> Option<Item<T>> {
    let (first, rest) = path.split_first()?;
    let item = &inst.exports.get(*first)?.1;
    if rest.is_empty() {
        return Some(item.clone());
    }
    match item {
        Item::Instance(i) => at_path(i, rest),
        _ => None,
    }
}

fn lookup<T>(inst: &InstanceRt<T>, name: &dyn InstanceExportLookup) -> Option<Item<T>> {
    match name.export_ref() {
        ExportRef::Name(n) => inst.get(n).cloned(),
        ExportRef::Index(i) => at_path(inst, &i.path),
    }
}

impl InstanceExportLookup for str {
    fn export_ref(&self) -> ExportRef<'_> {
        ExportRef::Name(self)
    }
}
impl InstanceExportLookup for String {
    fn export_ref(&self) -> ExportRef<'_> {
        ExportRef::Name(self)
    }
}
impl InstanceExportLookup for ComponentExportIndex {
    fn export_ref(&self) -> ExportRef<'_> {
        ExportRef::Index(self)
    }
}
impl<L: InstanceExportLookup + ?Sized> InstanceExportLookup for &L {
    fn export_ref(&self) -> ExportRef<'_> {
        (**self).export_ref()
    }
}

impl Instance {
    pub(crate) fn from_rt<T: 'static>(rt: Arc<InstanceRt<T>>) -> Instance {
        Instance { inner: rt }
    }

    fn rt<T: 'static>(&self) -> Option<&InstanceRt<T>> {
        self.inner.downcast_ref::<InstanceRt<T>>()
    }

    /// Instantiates `component` with its imports given by name; for a component without
    /// imports, no arguments. Most embedders use [`Linker::instantiate`](super::Linker).
    pub fn new<S: AsContextMut>(mut store: S, component: &Component) -> Result<Instance>
    where
        S::Data: 'static,
    {
        let rt = instantiate::<S::Data>(store.as_store_mut(), &component.inner, &[], None)?;
        Ok(Instance::from_rt(rt))
    }

    /// The index of export `name`, at the top level (`instance` None) or inside the exported
    /// instance `instance`.
    pub fn get_export_index<S: AsContext>(
        &self,
        _store: S,
        instance: Option<&ComponentExportIndex>,
        name: &str,
    ) -> Option<ComponentExportIndex>
    where
        S::Data: 'static,
    {
        let rt = self.rt::<S::Data>()?;
        let mut path: Vec<usize> = instance.map(|i| i.path.to_vec()).unwrap_or_default();
        let pos = match instance {
            None => rt.exports.iter().position(|(n, _)| n == name)?,
            Some(i) => match at_path(rt, &i.path)? {
                Item::Instance(inner) => inner.exports.iter().position(|(n, _)| n == name)?,
                _ => return None,
            },
        };
        path.push(pos);
        Some(ComponentExportIndex { path: path.into() })
    }

    /// An exported function.
    pub fn get_func<S: AsContext>(&self, _store: S, name: impl InstanceExportLookup) -> Option<Func>
    where
        S::Data: 'static,
    {
        match lookup(self.rt::<S::Data>()?, &name)? {
            Item::Func(f) => Some(Func::from_rt(f)),
            _ => None,
        }
    }

    /// An exported function with static types.
    pub fn get_typed_func<P, R>(
        &self,
        store: impl AsContext<Data: 'static>,
        name: impl InstanceExportLookup,
    ) -> Result<TypedFunc<P, R>>
    where
        P: LowerList,
        R: LiftList,
    {
        let f = self
            .get_func(&store, name)
            .ok_or_else(|| Error::msg("no exported function of that name"))?;
        f.typed(store)
    }

    /// An exported resource type.
    pub fn get_resource<S: AsContext>(
        &self,
        _store: S,
        name: impl InstanceExportLookup,
    ) -> Option<ResourceType>
    where
        S::Data: 'static,
    {
        match lookup(self.rt::<S::Data>()?, &name)? {
            Item::Type(Some(rt)) => Some(rt.ty),
            _ => None,
        }
    }
}
