//! Component decode: one validated pass over a component's payloads (nested core modules
//! compiled with [`Module`], nested components decoded recursively) into a
//! [`ComponentDef`], the ordered list of definitions that instantiation replays.
//!
//! Types come from wasmparser's validator: when a component ends, its index spaces' types
//! are converted into [`types`](super::types) and attached to the definitions that need
//! them at run time (function types of `canon lift` / `lower`, resource types, the types of
//! imports and of instantiated children).

use super::abi::StringEncoding;
use super::types::{
    ComponentFunc, ComponentInstance, ComponentItem, ResourceRef, Type, TypeConverter,
};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::module::Module;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use wasmparser::component_types::ComponentAnyTypeId;
use wasmparser::types::TypesRef;
use wasmparser::{
    CanonicalFunction, CanonicalOption, ComponentAlias, ComponentExternalKind,
    ComponentOuterAliasKind, ComponentTypeRef, ExternalKind, Parser, Payload, ValidPayload,
    Validator, WasmFeatures,
};

/// A compiled component: cheap to clone, instantiable in any store of its engine.
#[derive(Clone)]
pub struct Component {
    pub(crate) inner: Arc<ComponentDef>,
    engine: Engine,
}

impl std::fmt::Debug for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Component").finish_non_exhaustive()
    }
}

/// A core item kind (`core func`, `core memory`, ..).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CoreSort {
    Func,
    Table,
    Memory,
    Global,
}

/// A component-level item in one of the index spaces that exist at run time. Types have no
/// run-time index space: resource types are tracked by [`ResourceRef`] per instance.
#[derive(Debug, Clone)]
pub(crate) enum ItemRef {
    Module(u32),
    Func(u32),
    Instance(u32),
    Component(u32),
    /// A type, resolved statically (a resource, or a type with no run-time identity).
    Type(ComponentItem),
}

/// The canonical options of a `canon lift` or `canon lower`.
#[derive(Debug, Clone, Default)]
pub(crate) struct CanonOpts {
    pub encoding: StringEncoding,
    /// Core memory index.
    pub memory: Option<u32>,
    /// Core function indices.
    pub realloc: Option<u32>,
    pub post_return: Option<u32>,
    /// The `async` option.
    pub async_: bool,
    /// The `callback` option (core function index).
    pub callback: Option<u32>,
}

/// A canonical built-in of the async ABI, each a core function at run time. `ty` fields are
/// the stream/future type (or `task.return`'s result type), resolved at the component's end.
#[derive(Debug, Clone)]
pub(crate) enum Builtin {
    TaskReturn {
        ty: Option<Type>,
        opts: CanonOpts,
    },
    TaskCancel,
    ContextGet(u32),
    ContextSet(u32),
    /// `backpressure.inc` (1) / `backpressure.dec` (-1).
    Backpressure(i32),
    /// `thread.yield`, and whether it is cancellable.
    Yield(bool),
    WaitableSetNew,
    WaitableSetWait {
        memory: u32,
        poll: bool,
    },
    WaitableSetDrop,
    WaitableJoin,
    SubtaskDrop,
    /// `subtask.cancel`, and whether it is `async`.
    SubtaskCancel(bool),
    /// `{stream,future}.new`; `ty` is the stream or future type.
    ChanNew {
        ty: Option<Type>,
        future: bool,
    },
    /// `{stream,future}.{read,write}`
    ChanCopy {
        future: bool,
        readable: bool,
        opts: CanonOpts,
    },
    /// `{stream,future}.cancel-{read,write}`
    ChanCancel {
        future: bool,
        readable: bool,
    },
    /// `{stream,future}.drop-{readable,writable}`
    ChanDrop {
        future: bool,
        readable: bool,
    },
    ErrorContextNew(CanonOpts),
    ErrorContextDebugMessage(CanonOpts),
    ErrorContextDrop,
}

impl Builtin {
    /// The type it needs resolved, if any.
    fn set_type(&mut self, t: Type) {
        match self {
            Builtin::TaskReturn { ty, .. } | Builtin::ChanNew { ty, .. } => *ty = Some(t),
            _ => {}
        }
    }
}

/// A type a built-in names, before the component's types are known.
enum RawTy {
    None,
    Index(u32),
    Prim(wasmparser::PrimitiveValType),
}

/// One definition, in the order the component's sections give them.
#[derive(Debug, Clone)]
pub(crate) enum Init {
    /// An import: appended to its kind's index space. `ty` is the type the component
    /// declares for it.
    Import { name: String, ty: ComponentItem },
    /// A core module (defined here, or an outer alias of one).
    CoreModule(Module),
    /// `(core instance (instantiate $m (with "name" (instance $i))..))`
    CoreInstantiate {
        module: u32,
        args: Vec<(String, u32)>,
    },
    /// `(core instance (export "name" (func $f))..)`
    CoreInstanceFromExports(Vec<(String, CoreSort, u32)>),
    /// `(alias core export $i "name" (core func))`
    CoreAlias {
        instance: u32,
        name: String,
        sort: CoreSort,
    },
    /// A nested component (defined here, or an outer alias of one).
    Component(Arc<ComponentDef>),
    /// `(instance (instantiate $c (with "name" ..)..))`; `ty` is the instance's type here.
    Instantiate {
        component: u32,
        args: Vec<(String, ItemRef)>,
        ty: ComponentInstance,
    },
    /// `(instance (export "name" ..)..)`
    InstanceFromExports(Vec<(String, ItemRef)>),
    /// `(alias export $i "name" (func))` and the like, for kinds with a run-time space.
    Alias {
        instance: u32,
        name: String,
        kind: ComponentExternalKind,
    },
    /// `(type (resource (rep i32) (dtor $f)))`
    ResourceDef {
        resource: ResourceRef,
        dtor: Option<u32>,
    },
    /// `canon lift`: a component function from core function `core_func`.
    Lift {
        core_func: u32,
        ty: ComponentFunc,
        opts: CanonOpts,
    },
    /// `canon lower`: a core function calling component function `func`.
    Lower {
        func: u32,
        ty: ComponentFunc,
        opts: CanonOpts,
    },
    /// `canon resource.new`
    ResourceNew(ResourceRef),
    /// `canon resource.drop`
    ResourceDrop(ResourceRef),
    /// `canon resource.rep`
    ResourceRep(ResourceRef),
    /// An async built-in.
    Builtin(Builtin),
    /// An export: appended to its kind's index space too.
    Export { name: String, item: ItemRef },
}

/// A decoded component.
#[derive(Debug)]
pub(crate) struct ComponentDef {
    pub inits: Vec<Init>,
    /// The imports, in order, with their declared types.
    pub imports: Vec<(String, ComponentItem)>,
    /// The exports, in order, with their types.
    pub exports: Vec<(String, ComponentItem)>,
}

/// The wasm features for validating components: the engine's plus the component model.
fn component_features(engine: &Engine) -> WasmFeatures {
    engine.config().features
        | WasmFeatures::COMPONENT_MODEL
        | WasmFeatures::CM_ASYNC
        | WasmFeatures::CM_MORE_ASYNC_BUILTINS
        | WasmFeatures::CM_ASYNC_STACKFUL
        | WasmFeatures::CM_ERROR_CONTEXT
}

impl Component {
    /// Compiles a component from binary or WebAssembly text.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Component> {
        let bytes = bytes.as_ref();
        if bytes.starts_with(b"\0asm") {
            return Component::from_binary(engine, bytes);
        }
        let binary = wat::parse_bytes(bytes).map_err(|e| Error::compile(None, e))?;
        Component::from_binary(engine, &binary)
    }

    /// Compiles a component from a file (binary or text); errors name the file.
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Component> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|e| Error::msg(format!("failed to read `{}`: {e}", path.display())))?;
        let result = if bytes.starts_with(b"\0asm") {
            Component::from_binary(engine, &bytes)
        } else {
            match wat::parse_bytes(&bytes) {
                Ok(bin) => Component::from_binary(engine, &bin),
                Err(mut e) => {
                    e.set_path(path);
                    Err(Error::compile(None, e))
                }
            }
        };
        result.map_err(|e| e.context(format!("failed to compile `{}`", path.display())))
    }

    /// Compiles a component from its binary encoding.
    pub fn from_binary(engine: &Engine, bytes: &[u8]) -> Result<Component> {
        if !Parser::is_component(bytes) {
            return Err(Error::compile(
                Some(0),
                if Parser::is_core_wasm(bytes) {
                    "expected a component, found a core module"
                } else {
                    "not a WebAssembly component"
                },
            ));
        }
        let def = decode(engine, bytes)?;
        Ok(Component {
            inner: Arc::new(def),
            engine: engine.clone(),
        })
    }

    /// The engine this component belongs to.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The component's imports and their types, in order.
    pub fn imports(&self) -> impl ExactSizeIterator<Item = (&str, &ComponentItem)> + '_ {
        self.inner.imports.iter().map(|(n, t)| (n.as_str(), t))
    }

    /// The component's exports and their types, in order.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = (&str, &ComponentItem)> + '_ {
        self.inner.exports.iter().map(|(n, t)| (n.as_str(), t))
    }

    /// The type of one export.
    pub fn get_export(&self, name: &str) -> Option<&ComponentItem> {
        self.inner
            .exports
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t)
    }
}

/// How many items each index space holds so far (the spaces types are looked up in).
#[derive(Default)]
struct Spaces {
    core_funcs: u32,
    types: u32,
    instances: u32,
}

/// A definition before the component's types are known.
enum Raw {
    Ready(Init),
    Import {
        name: String,
    },
    Instantiate {
        component: u32,
        args: Vec<(String, ComponentExternalKind, u32)>,
        instance: u32,
    },
    InstanceFromExports(Vec<(String, ComponentExternalKind, u32)>),
    ResourceDef {
        type_index: u32,
        dtor: Option<u32>,
    },
    Lift {
        core_func: u32,
        type_index: u32,
        opts: CanonOpts,
    },
    Lower {
        func: u32,
        opts: CanonOpts,
    },
    ResourceNew(u32),
    ResourceDrop(u32),
    ResourceRep(u32),
    Builtin(Builtin, RawTy),
    Export {
        name: String,
        kind: ComponentExternalKind,
        index: u32,
    },
}

/// A component being decoded.
#[derive(Default)]
struct Builder {
    raw: Vec<Raw>,
    spaces: Spaces,
    /// The core module index space: the module, where it is known statically.
    modules: Vec<Option<Module>>,
    /// The component index space, likewise.
    components: Vec<Option<Arc<ComponentDef>>>,
}

enum Frame {
    Component(Builder),
    /// A nested core module, compiled from its bytes at its end.
    Module(Range<usize>),
}

fn unsupported(offset: usize, what: &str) -> Error {
    Error::compile(Some(offset), format!("{what} is not supported yet"))
}

fn opts(options: &[CanonicalOption], offset: usize) -> Result<CanonOpts> {
    let mut o = CanonOpts::default();
    for opt in options {
        match opt {
            CanonicalOption::UTF8 => o.encoding = StringEncoding::Utf8,
            CanonicalOption::UTF16 => o.encoding = StringEncoding::Utf16,
            CanonicalOption::CompactUTF16 => o.encoding = StringEncoding::CompactUtf16,
            CanonicalOption::Memory(m) => o.memory = Some(*m),
            CanonicalOption::Realloc(f) => o.realloc = Some(*f),
            CanonicalOption::PostReturn(f) => o.post_return = Some(*f),
            CanonicalOption::CoreType(_) => {}
            CanonicalOption::Async => o.async_ = true,
            CanonicalOption::Callback(f) => o.callback = Some(*f),
            CanonicalOption::Gc => return Err(unsupported(offset, "the `gc` canonical option")),
        }
    }
    Ok(o)
}

fn core_sort(kind: ExternalKind, offset: usize) -> Result<CoreSort> {
    Ok(match kind {
        ExternalKind::Func | ExternalKind::FuncExact => CoreSort::Func,
        ExternalKind::Table => CoreSort::Table,
        ExternalKind::Memory => CoreSort::Memory,
        ExternalKind::Global => CoreSort::Global,
        ExternalKind::Tag => return Err(unsupported(offset, "a core tag in a component")),
    })
}

impl Builder {
    fn push_kind(&mut self, kind: ComponentExternalKind, module: Option<Module>) {
        match kind {
            ComponentExternalKind::Module => self.modules.push(module),
            ComponentExternalKind::Type => self.spaces.types += 1,
            ComponentExternalKind::Instance => self.spaces.instances += 1,
            ComponentExternalKind::Component => self.components.push(None),
            ComponentExternalKind::Func | ComponentExternalKind::Value => {}
        }
    }

    fn section(&mut self, payload: &Payload<'_>, ancestors: &[Frame]) -> Result<()> {
        match payload {
            Payload::InstanceSection(reader) => {
                for inst in reader.clone().into_iter_with_offsets() {
                    let (offset, inst) = inst?;
                    let init = match inst {
                        wasmparser::Instance::Instantiate { module_index, args } => {
                            Init::CoreInstantiate {
                                module: module_index,
                                args: args.iter().map(|a| (a.name.to_string(), a.index)).collect(),
                            }
                        }
                        wasmparser::Instance::FromExports(exports) => {
                            let mut items = Vec::with_capacity(exports.len());
                            for e in exports.iter() {
                                items.push((
                                    e.name.to_string(),
                                    core_sort(e.kind, offset)?,
                                    e.index,
                                ));
                            }
                            Init::CoreInstanceFromExports(items)
                        }
                    };
                    self.raw.push(Raw::Ready(init));
                }
            }
            Payload::CoreTypeSection(_) => {}
            Payload::ComponentInstanceSection(reader) => {
                for inst in reader.clone() {
                    let instance = self.spaces.instances;
                    self.spaces.instances += 1;
                    match inst? {
                        wasmparser::ComponentInstance::Instantiate {
                            component_index,
                            args,
                        } => self.raw.push(Raw::Instantiate {
                            component: component_index,
                            args: args
                                .iter()
                                .map(|a| (a.name.to_string(), a.kind, a.index))
                                .collect(),
                            instance,
                        }),
                        wasmparser::ComponentInstance::FromExports(exports) => {
                            self.raw.push(Raw::InstanceFromExports(
                                exports
                                    .iter()
                                    .map(|e| (e.name.name.to_string(), e.kind, e.index))
                                    .collect(),
                            ))
                        }
                    }
                }
            }
            Payload::ComponentAliasSection(reader) => {
                for alias in reader.clone().into_iter_with_offsets() {
                    let (offset, alias) = alias?;
                    match alias {
                        ComponentAlias::InstanceExport {
                            kind,
                            instance_index,
                            name,
                        } => {
                            self.push_kind(kind, None);
                            match kind {
                                ComponentExternalKind::Type => {}
                                ComponentExternalKind::Value => {
                                    return Err(unsupported(offset, "a component value"))
                                }
                                _ => self.raw.push(Raw::Ready(Init::Alias {
                                    instance: instance_index,
                                    name: name.to_string(),
                                    kind,
                                })),
                            }
                        }
                        ComponentAlias::CoreInstanceExport {
                            kind,
                            instance_index,
                            name,
                        } => {
                            let sort = core_sort(kind, offset)?;
                            if sort == CoreSort::Func {
                                self.spaces.core_funcs += 1;
                            }
                            self.raw.push(Raw::Ready(Init::CoreAlias {
                                instance: instance_index,
                                name: name.to_string(),
                                sort,
                            }));
                        }
                        ComponentAlias::Outer { kind, count, index } => {
                            // Outer aliases name modules, components and types of enclosing
                            // components, all known statically.
                            let outer = ancestors
                                .len()
                                .checked_sub(count as usize)
                                .and_then(|i| ancestors.get(i));
                            match kind {
                                ComponentOuterAliasKind::CoreType => {}
                                ComponentOuterAliasKind::Type => self.spaces.types += 1,
                                ComponentOuterAliasKind::CoreModule => {
                                    let module = match outer {
                                        _ if count == 0 => {
                                            self.modules.get(index as usize).cloned().flatten()
                                        }
                                        Some(Frame::Component(b)) => {
                                            b.modules.get(index as usize).cloned().flatten()
                                        }
                                        _ => None,
                                    }
                                    .ok_or_else(|| {
                                        unsupported(offset, "an outer alias of an imported module")
                                    })?;
                                    self.modules.push(Some(module.clone()));
                                    self.raw.push(Raw::Ready(Init::CoreModule(module)));
                                }
                                ComponentOuterAliasKind::Component => {
                                    let comp = match outer {
                                        _ if count == 0 => {
                                            self.components.get(index as usize).cloned().flatten()
                                        }
                                        Some(Frame::Component(b)) => {
                                            b.components.get(index as usize).cloned().flatten()
                                        }
                                        _ => None,
                                    }
                                    .ok_or_else(|| {
                                        unsupported(
                                            offset,
                                            "an outer alias of an imported component",
                                        )
                                    })?;
                                    self.components.push(Some(comp.clone()));
                                    self.raw.push(Raw::Ready(Init::Component(comp)));
                                }
                            }
                        }
                    }
                }
            }
            Payload::ComponentTypeSection(reader) => {
                for ty in reader.clone() {
                    let type_index = self.spaces.types;
                    self.spaces.types += 1;
                    if let wasmparser::ComponentType::Resource { dtor, .. } = ty? {
                        self.raw.push(Raw::ResourceDef { type_index, dtor });
                    }
                }
            }
            Payload::ComponentCanonicalSection(reader) => {
                for func in reader.clone().into_iter_with_offsets() {
                    let (offset, func) = func?;
                    let raw = match func {
                        CanonicalFunction::Lift {
                            core_func_index,
                            type_index,
                            options,
                        } => Raw::Lift {
                            core_func: core_func_index,
                            type_index,
                            opts: opts(&options, offset)?,
                        },
                        CanonicalFunction::Lower {
                            func_index,
                            options,
                        } => Raw::Lower {
                            func: func_index,
                            opts: opts(&options, offset)?,
                        },
                        CanonicalFunction::ResourceNew { resource } => Raw::ResourceNew(resource),
                        CanonicalFunction::ResourceDrop { resource } => Raw::ResourceDrop(resource),
                        CanonicalFunction::ResourceRep { resource } => Raw::ResourceRep(resource),
                        other => match builtin(&other, offset)? {
                            Some((b, t)) => Raw::Builtin(b, t),
                            None => {
                                return Err(unsupported(
                                    offset,
                                    &format!("the canonical built-in {}", canon_name(&other)),
                                ))
                            }
                        },
                    };
                    if !matches!(raw, Raw::Lift { .. }) {
                        self.spaces.core_funcs += 1;
                    }
                    self.raw.push(raw);
                }
            }
            Payload::ComponentStartSection { range, .. } => {
                return Err(unsupported(range.start, "a component start function"))
            }
            Payload::ComponentImportSection(reader) => {
                for import in reader.clone() {
                    let import = import?;
                    let kind = import.ty.kind();
                    if let ComponentTypeRef::Value(_) = import.ty {
                        return Err(unsupported(reader.range().start, "a value import"));
                    }
                    self.push_kind(kind, None);
                    self.raw.push(Raw::Import {
                        name: import.name.name.to_string(),
                    });
                }
            }
            Payload::ComponentExportSection(reader) => {
                for export in reader.clone() {
                    let export = export?;
                    let module = match export.kind {
                        ComponentExternalKind::Module => {
                            self.modules.get(export.index as usize).cloned().flatten()
                        }
                        _ => None,
                    };
                    let comp = match export.kind {
                        ComponentExternalKind::Component => self
                            .components
                            .get(export.index as usize)
                            .cloned()
                            .flatten(),
                        _ => None,
                    };
                    self.push_kind(export.kind, module);
                    if let Some(c) = comp {
                        *self.components.last_mut().expect("just pushed") = Some(c);
                    }
                    self.raw.push(Raw::Export {
                        name: export.name.name.to_string(),
                        kind: export.kind,
                        index: export.index,
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Resolves the definitions against the component's validated types.
    fn finish(self, types: TypesRef<'_>, offset: usize) -> Result<ComponentDef> {
        let err = |e: Error| e.context(format!("in the component ending at offset {offset:#x}"));
        let mut cx = TypeConverter::new(types);
        let mut inits = Vec::with_capacity(self.raw.len());
        let mut imports = Vec::new();
        let resource = |cx: &mut TypeConverter<'_>, index: u32| -> Result<ResourceRef> {
            match cx.types().component_any_type_at(index) {
                ComponentAnyTypeId::Resource(r) => Ok(ResourceRef(r.resource())),
                _ => Err(Error::msg(format!("type {index} is not a resource"))),
            }
        };
        let item_ref = |cx: &mut TypeConverter<'_>, kind, index: u32| -> Result<ItemRef> {
            Ok(match kind {
                ComponentExternalKind::Module => ItemRef::Module(index),
                ComponentExternalKind::Func => ItemRef::Func(index),
                ComponentExternalKind::Instance => ItemRef::Instance(index),
                ComponentExternalKind::Component => ItemRef::Component(index),
                ComponentExternalKind::Type => {
                    let id = cx.types().component_any_type_at(index);
                    ItemRef::Type(cx.any_type(id)?)
                }
                ComponentExternalKind::Value => return Err(Error::msg("values are not supported")),
            })
        };
        for raw in self.raw {
            let init = match raw {
                Raw::Ready(init) => init,
                Raw::Import { name } => {
                    let item = types
                        .component_item_for_import(&name)
                        .ok_or_else(|| Error::msg(format!("no type for import `{name}`")))?;
                    let ty = cx.entity(&item.ty).map_err(err)?;
                    imports.push((name.clone(), ty.clone()));
                    Init::Import { name, ty }
                }
                Raw::Instantiate {
                    component,
                    args,
                    instance,
                } => {
                    let mut resolved = Vec::with_capacity(args.len());
                    for (name, kind, index) in args {
                        resolved.push((name, item_ref(&mut cx, kind, index).map_err(err)?));
                    }
                    let id = types.component_instance_at(instance);
                    let ty = match cx
                        .entity(&wasmparser::component_types::ComponentEntityType::Instance(
                            id,
                        ))
                        .map_err(err)?
                    {
                        ComponentItem::ComponentInstance(i) => i,
                        _ => unreachable!("an instance type converts to an instance"),
                    };
                    Init::Instantiate {
                        component,
                        args: resolved,
                        ty,
                    }
                }
                Raw::InstanceFromExports(exports) => {
                    let mut resolved = Vec::with_capacity(exports.len());
                    for (name, kind, index) in exports {
                        resolved.push((name, item_ref(&mut cx, kind, index).map_err(err)?));
                    }
                    Init::InstanceFromExports(resolved)
                }
                Raw::ResourceDef { type_index, dtor } => Init::ResourceDef {
                    resource: resource(&mut cx, type_index)?,
                    dtor,
                },
                Raw::Lift {
                    core_func,
                    type_index,
                    opts,
                } => {
                    let ComponentAnyTypeId::Func(id) = types.component_any_type_at(type_index)
                    else {
                        return Err(err(Error::msg(format!(
                            "type {type_index} of a lifted function is not a function type"
                        ))));
                    };
                    Init::Lift {
                        core_func,
                        ty: cx.func(id).map_err(err)?,
                        opts,
                    }
                }
                Raw::Lower { func, opts } => {
                    let id = types.component_function_at(func);
                    Init::Lower {
                        func,
                        ty: cx.func(id).map_err(err)?,
                        opts,
                    }
                }
                Raw::ResourceNew(t) => Init::ResourceNew(resource(&mut cx, t)?),
                Raw::ResourceDrop(t) => Init::ResourceDrop(resource(&mut cx, t)?),
                Raw::ResourceRep(t) => Init::ResourceRep(resource(&mut cx, t)?),
                Raw::Builtin(mut b, t) => {
                    let ty = match t {
                        RawTy::None => None,
                        RawTy::Prim(p) => Some(
                            cx.val(&wasmparser::component_types::ComponentValType::Primitive(p))
                                .map_err(err)?,
                        ),
                        RawTy::Index(i) => match types.component_any_type_at(i) {
                            ComponentAnyTypeId::Defined(d) => Some(cx.defined(d).map_err(err)?),
                            _ => {
                                return Err(err(Error::msg(format!(
                                    "type {i} of a built-in is not a value type"
                                ))))
                            }
                        },
                    };
                    if let Some(ty) = ty {
                        b.set_type(ty);
                    }
                    Init::Builtin(b)
                }
                Raw::Export { name, kind, index } => Init::Export {
                    item: item_ref(&mut cx, kind, index).map_err(err)?,
                    name,
                },
            };
            inits.push(init);
        }
        let mut exports = Vec::new();
        for init in &inits {
            if let Init::Export { name, .. } = init {
                let item = types
                    .component_item_for_export(name)
                    .ok_or_else(|| Error::msg(format!("no type for export `{name}`")))?;
                exports.push((name.clone(), cx.entity(&item.ty).map_err(err)?));
            }
        }
        Ok(ComponentDef {
            inits,
            imports,
            exports,
        })
    }
}

/// The async built-ins: what each is, and the type it names.
fn builtin(f: &CanonicalFunction, offset: usize) -> Result<Option<(Builtin, RawTy)>> {
    use CanonicalFunction as C;
    let chan = |future: bool, ty: u32| (Builtin::ChanNew { ty: None, future }, RawTy::Index(ty));
    let copy = |future: bool, readable: bool, options: &[CanonicalOption]| -> Result<_> {
        Ok((
            Builtin::ChanCopy {
                future,
                readable,
                opts: opts(options, offset)?,
            },
            RawTy::None,
        ))
    };
    let plain = |b: Builtin| (b, RawTy::None);
    Ok(Some(match f {
        C::TaskReturn { result, options } => (
            Builtin::TaskReturn {
                ty: None,
                opts: opts(options, offset)?,
            },
            match result {
                None => RawTy::None,
                Some(wasmparser::ComponentValType::Primitive(p)) => RawTy::Prim(*p),
                Some(wasmparser::ComponentValType::Type(i)) => RawTy::Index(*i),
            },
        ),
        C::TaskCancel => plain(Builtin::TaskCancel),
        C::ContextGet { slot, .. } => plain(Builtin::ContextGet(*slot)),
        C::ContextSet { slot, .. } => plain(Builtin::ContextSet(*slot)),
        C::BackpressureInc => plain(Builtin::Backpressure(1)),
        C::BackpressureDec => plain(Builtin::Backpressure(-1)),
        C::ThreadYield { cancellable } => plain(Builtin::Yield(*cancellable)),
        C::WaitableSetNew => plain(Builtin::WaitableSetNew),
        C::WaitableSetWait { memory, .. } => plain(Builtin::WaitableSetWait {
            memory: *memory,
            poll: false,
        }),
        C::WaitableSetPoll { memory, .. } => plain(Builtin::WaitableSetWait {
            memory: *memory,
            poll: true,
        }),
        C::WaitableSetDrop => plain(Builtin::WaitableSetDrop),
        C::WaitableJoin => plain(Builtin::WaitableJoin),
        C::SubtaskDrop => plain(Builtin::SubtaskDrop),
        C::SubtaskCancel { async_ } => plain(Builtin::SubtaskCancel(*async_)),
        C::StreamNew { ty } => chan(false, *ty),
        C::FutureNew { ty } => chan(true, *ty),
        C::StreamRead { options, .. } => copy(false, true, options)?,
        C::StreamWrite { options, .. } => copy(false, false, options)?,
        C::FutureRead { options, .. } => copy(true, true, options)?,
        C::FutureWrite { options, .. } => copy(true, false, options)?,
        C::StreamCancelRead { .. } => plain(Builtin::ChanCancel {
            future: false,
            readable: true,
        }),
        C::StreamCancelWrite { .. } => plain(Builtin::ChanCancel {
            future: false,
            readable: false,
        }),
        C::FutureCancelRead { .. } => plain(Builtin::ChanCancel {
            future: true,
            readable: true,
        }),
        C::FutureCancelWrite { .. } => plain(Builtin::ChanCancel {
            future: true,
            readable: false,
        }),
        C::StreamDropReadable { .. } => plain(Builtin::ChanDrop {
            future: false,
            readable: true,
        }),
        C::StreamDropWritable { .. } => plain(Builtin::ChanDrop {
            future: false,
            readable: false,
        }),
        C::FutureDropReadable { .. } => plain(Builtin::ChanDrop {
            future: true,
            readable: true,
        }),
        C::FutureDropWritable { .. } => plain(Builtin::ChanDrop {
            future: true,
            readable: false,
        }),
        C::ErrorContextNew { options } => plain(Builtin::ErrorContextNew(opts(options, offset)?)),
        C::ErrorContextDebugMessage { options } => {
            plain(Builtin::ErrorContextDebugMessage(opts(options, offset)?))
        }
        C::ErrorContextDrop => plain(Builtin::ErrorContextDrop),
        _ => return Ok(None),
    }))
}

fn canon_name(f: &CanonicalFunction) -> String {
    let debug = format!("{f:?}");
    debug
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Decodes and validates a whole component.
fn decode(engine: &Engine, bytes: &[u8]) -> Result<ComponentDef> {
    let mut validator = Validator::new_with_features(component_features(engine));
    let mut stack: Vec<Frame> = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        let valid = validator.payload(&payload)?;
        match &payload {
            Payload::Version { .. } => {
                if stack.is_empty() {
                    stack.push(Frame::Component(Builder::default()));
                }
                continue;
            }
            Payload::ModuleSection {
                unchecked_range, ..
            } => {
                stack.push(Frame::Module(unchecked_range.clone()));
                continue;
            }
            Payload::ComponentSection { .. } => {
                stack.push(Frame::Component(Builder::default()));
                continue;
            }
            Payload::End(offset) => {
                let ValidPayload::End(types) = valid else {
                    return Err(Error::compile(Some(*offset), "unexpected end of section"));
                };
                let frame = stack.pop().expect("a frame per open module or component");
                match frame {
                    Frame::Module(range) => {
                        let module =
                            Module::from_binary(engine, &bytes[range.clone()]).map_err(|e| {
                                e.context(format!(
                                    "in the core module at offset {:#x}",
                                    range.start
                                ))
                            })?;
                        let Some(Frame::Component(parent)) = stack.last_mut() else {
                            unreachable!("a module section is inside a component")
                        };
                        parent.modules.push(Some(module.clone()));
                        parent.raw.push(Raw::Ready(Init::CoreModule(module)));
                    }
                    Frame::Component(builder) => {
                        let def = Arc::new(builder.finish(types.as_ref(), *offset)?);
                        match stack.last_mut() {
                            Some(Frame::Component(parent)) => {
                                parent.components.push(Some(def.clone()));
                                parent.raw.push(Raw::Ready(Init::Component(def)));
                            }
                            Some(Frame::Module(_)) => {
                                unreachable!("modules do not nest components")
                            }
                            None => {
                                return Arc::try_unwrap(def)
                                    .map_err(|_| Error::msg("the root component is shared"))
                            }
                        }
                    }
                }
                continue;
            }
            _ => {}
        }
        match stack.split_last_mut() {
            Some((Frame::Component(b), ancestors)) => b.section(&payload, ancestors)?,
            Some((Frame::Module(_), _)) => {}
            None => {}
        }
    }
    Err(Error::compile(
        Some(bytes.len()),
        "unexpected end of component",
    ))
}
