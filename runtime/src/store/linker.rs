//! The linker: a name space of `(module, name)` definitions that resolves a module's imports.

use super::func::dynamic_host;
use super::{AsContext, AsContextMut, Caller, Extern, Func, HostFn, Instance, IntoFunc, Store};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::module::Module;
use crate::types::FuncType;
use crate::values::Val;
use std::collections::HashMap;

enum Definition<T> {
    Extern(Extern),
    /// A host function not yet placed in a store.
    Host(FuncType, HostFn<T>),
}

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Definition::Extern(e) => Definition::Extern(*e),
            Definition::Host(t, f) => Definition::Host(t.clone(), f.clone()),
        }
    }
}

/// Resolves imports by `(module, name)`.
pub struct Linker<T> {
    engine: Engine,
    defs: HashMap<(String, String), Definition<T>>,
    allow_shadowing: bool,
}

impl<T> Clone for Linker<T> {
    fn clone(&self) -> Self {
        Linker {
            engine: self.engine.clone(),
            defs: self.defs.clone(),
            allow_shadowing: self.allow_shadowing,
        }
    }
}

impl<T: 'static> Linker<T> {
    /// An empty linker.
    pub fn new(engine: &Engine) -> Self {
        Linker {
            engine: engine.clone(),
            defs: HashMap::new(),
            allow_shadowing: false,
        }
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

    fn insert(&mut self, module: &str, name: &str, def: Definition<T>) -> Result<&mut Self> {
        let key = (module.to_string(), name.to_string());
        if !self.allow_shadowing && self.defs.contains_key(&key) {
            return Err(Error::link(format!(
                "import `{module}::{name}` is defined twice"
            )));
        }
        self.defs.insert(key, def);
        Ok(self)
    }

    /// Defines a host function from a typed closure.
    pub fn func_wrap<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Result<&mut Self> {
        let (ty, f) = func.into_host();
        self.insert(module, name, Definition::Host(ty, f))
    }

    /// Defines a host function from a dynamic closure over [`Val`]s.
    pub fn func_new(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<&mut Self> {
        let f = dynamic_host(ty.clone(), func);
        self.insert(module, name, Definition::Host(ty, f))
    }

    /// Defines an item.
    pub fn define(
        &mut self,
        _store: impl AsContext<Data = T>,
        module: &str,
        name: &str,
        item: impl Into<Extern>,
    ) -> Result<&mut Self> {
        self.insert(module, name, Definition::Extern(item.into()))
    }

    /// Defines every export of `instance` under `module`.
    pub fn instance(
        &mut self,
        store: impl AsContextMut<Data = T>,
        module: &str,
        instance: Instance,
    ) -> Result<&mut Self> {
        for (name, ext) in instance.exports(&store) {
            self.insert(module, &name, Definition::Extern(ext))?;
        }
        Ok(self)
    }

    /// Instantiates `module` and defines its exports under `name`.
    pub fn module(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        name: &str,
        module: &Module,
    ) -> Result<&mut Self> {
        let instance = self.instantiate(&mut store, module)?;
        self.instance(store, name, instance)
    }

    /// Defines each function `module` imports that this linker does not define as a host
    /// function that fails when called, naming the import (wasmtime's method of the same
    /// name; the CLI's `-W unknown-imports-trap=y`).
    pub fn define_unknown_imports_as_traps(&mut self, module: &Module) -> Result<()> {
        self.define_unknown_imports(module, |name| {
            Err(Error::msg(format!(
                "unknown import: `{name}` has not been defined"
            )))
        })
    }

    /// Defines each function `module` imports that this linker does not define as a host
    /// function that returns zeros (null references) and has no effect (the CLI's
    /// `-W unknown-imports-default=y`).
    pub fn define_unknown_imports_as_default_values(&mut self, module: &Module) -> Result<()> {
        self.define_unknown_imports(module, |_| Ok(()))
    }

    fn define_unknown_imports(
        &mut self,
        module: &Module,
        body: fn(&str) -> Result<()>,
    ) -> Result<()> {
        for import in module.imports() {
            let crate::types::ExternType::Func(ty) = import.ty() else {
                continue;
            };
            let key = (import.module().to_string(), import.name().to_string());
            if self.defs.contains_key(&key) {
                continue;
            }
            let name = format!("{}::{}", import.module(), import.name());
            let results: Vec<crate::types::ValType> = ty.results().to_vec();
            self.func_new(
                import.module(),
                import.name(),
                ty,
                move |_, _, out: &mut [Val]| {
                    body(&name)?;
                    for (slot, t) in out.iter_mut().zip(&results) {
                        *slot = Val::default_for(*t);
                    }
                    Ok(())
                },
            )?;
        }
        Ok(())
    }

    fn resolve(&self, store: &mut Store<T>, module: &str, name: &str) -> Option<Extern> {
        match self.defs.get(&(module.to_string(), name.to_string()))? {
            Definition::Extern(e) => Some(*e),
            Definition::Host(ty, f) => {
                Some(Extern::Func(Func::from_host(store, ty.clone(), f.clone())))
            }
        }
    }

    /// The definition of `module::name`, placed in `store`.
    pub fn get(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
        name: &str,
    ) -> Option<Extern> {
        self.resolve(store.as_store_mut(), module, name)
    }

    /// Resolves the module's imports and instantiates it.
    pub fn instantiate(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &Module,
    ) -> Result<Instance> {
        let store = store.as_store_mut();
        let mut imports = Vec::with_capacity(module.inner.imports.len());
        for import in module.inner.imports.iter() {
            match self.resolve(store, &import.module, &import.name) {
                Some(e) => imports.push(e),
                None => {
                    return Err(Error::link(format!(
                        "unknown import: `{}::{}` has not been defined (expected {})",
                        import.module, import.name, import.ty
                    )))
                }
            }
        }
        Instance::new(store, module, &imports)
    }
}
