//! The engine and its configuration: which proposals are enabled, resource limits, fuel and
//! epoch interruption, and the engine-wide canonical type registry (`typereg`) that
//! `call_indirect`, casts and import checks compare type ids through.

use crate::typereg::Registry;
use crate::types::FuncType;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use wasmparser::WasmFeatures;

/// When function bodies are validated and translated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompilationMode {
    /// Each body is validated and translated on its first call, so a big module starts fast.
    /// A body that fails validation is reported when it is first called.
    #[default]
    Lazy,
    /// Every body is validated and translated in `Module::new`.
    Eager,
}

/// Engine-wide settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) features: WasmFeatures,
    pub(crate) consume_fuel: bool,
    pub(crate) epoch_interruption: bool,
    pub(crate) max_stack_slots: usize,
    pub(crate) max_call_depth: usize,
    pub(crate) compilation_mode: CompilationMode,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            features: default_features(),
            consume_fuel: false,
            epoch_interruption: false,
            // 8 MiB of value stack (1M slots of 8 bytes).
            max_stack_slots: 1 << 20,
            max_call_depth: 20_000,
            compilation_mode: CompilationMode::Lazy,
        }
    }
}

/// The proposals the interpreter implements: WebAssembly 2.0 (with SIMD), plus relaxed SIMD,
/// extended-const, tail calls, multiple memories, 64-bit memories, typed function
/// references, exception handling and garbage collection (GC objects are not collected before
/// their store drops: see `store::gc`).
fn default_features() -> WasmFeatures {
    WasmFeatures::WASM2
        | WasmFeatures::RELAXED_SIMD
        | WasmFeatures::EXTENDED_CONST
        | WasmFeatures::TAIL_CALL
        | WasmFeatures::MULTI_MEMORY
        | WasmFeatures::MEMORY64
        | WasmFeatures::FUNCTION_REFERENCES
        | WasmFeatures::EXCEPTIONS
        | WasmFeatures::GC
}

impl Config {
    /// The default configuration.
    pub fn new() -> Self {
        Self::default()
    }
    /// Counts fuel: each loop iteration and call consumes fuel; at zero the guest traps.
    pub fn consume_fuel(&mut self, enable: bool) -> &mut Self {
        self.consume_fuel = enable;
        self
    }
    /// Checks the engine's epoch against the store's deadline at loop heads and calls.
    pub fn epoch_interruption(&mut self, enable: bool) -> &mut Self {
        self.epoch_interruption = enable;
        self
    }
    /// The most bytes of value stack a guest may use before `call stack exhausted`.
    pub fn max_wasm_stack(&mut self, bytes: usize) -> &mut Self {
        self.max_stack_slots = (bytes / 8).max(1024);
        self
    }
    /// The most nested calls a guest may make before `call stack exhausted`.
    pub fn max_call_depth(&mut self, frames: usize) -> &mut Self {
        self.max_call_depth = frames.max(1);
        self
    }
    /// When bodies are validated and translated.
    pub fn compilation_mode(&mut self, mode: CompilationMode) -> &mut Self {
        self.compilation_mode = mode;
        self
    }
    /// The enabled proposals.
    pub fn features(&self) -> WasmFeatures {
        self.features
    }
    /// Replaces the set of enabled proposals (those the engine does not implement are
    /// rejected at validation only if disabled here; enabling them does not make them run).
    pub fn wasm_features(&mut self, features: WasmFeatures) -> &mut Self {
        self.features = features;
        self
    }
}

/// A shared engine: configuration, the epoch counter, and the canonical type registry.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<EngineInner>,
}

pub(crate) struct EngineInner {
    pub(crate) config: Config,
    epoch: AtomicU64,
    types: Mutex<Registry>,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(&Config::default())
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine with this configuration.
    pub fn new(config: &Config) -> Engine {
        Engine {
            inner: Arc::new(EngineInner {
                config: config.clone(),
                epoch: AtomicU64::new(0),
                types: Mutex::new(Registry::new(config.features)),
            }),
        }
    }
    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }
    /// Advances the epoch; stores whose deadline is reached trap at their next check.
    pub fn increment_epoch(&self) {
        self.inner.epoch.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn current_epoch(&self) -> u64 {
        self.inner.epoch.load(Ordering::Relaxed)
    }
    /// Whether two handles are the same engine.
    pub fn same(a: &Engine, b: &Engine) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }
    /// The engine-wide canonical type registry (see `typereg`).
    pub(crate) fn types(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner.types.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// The engine-wide id of a host function type: the canonical id of the same type
    /// written in a module.
    pub(crate) fn intern_type(&self, ty: &FuncType) -> u32 {
        self.types().host_func_type(ty)
    }
}
