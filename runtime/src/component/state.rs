//! The run-time state of one component instance (the canonical ABI's `ComponentInstance`):
//! its table of resource handles, its `may_enter` / `may_leave` flags, the sync tasks running
//! in it (each one a scope for borrowed handles) and the run-time identity of every resource
//! type its types name.

use super::resources::ResourceType;
use super::types::ResourceRef;
use crate::error::{Error, Result, TrapCode};
use crate::store::Func;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The largest handle index (the canonical ABI's `Table.MAX_LENGTH`).
const MAX_HANDLES: usize = (1 << 28) - 1;

/// A resource type as one instance knows it: its identity and, for host types, the
/// destructor the host registered (a core function `(param i32)`).
#[derive(Clone, Debug)]
pub(crate) struct RtResource {
    pub ty: ResourceType,
    pub host_dtor: Option<Func>,
}

/// One element of the handle table.
#[derive(Debug)]
struct Handle {
    rt: RtResource,
    rep: u32,
    own: bool,
    /// For borrow handles: the task whose call lent it.
    scope: Option<u64>,
    /// How many borrows of this handle are live in calls in progress.
    lends: u32,
}

#[derive(Debug)]
struct Task {
    id: u64,
    borrows: u32,
}

#[derive(Debug, Default)]
struct Inner {
    entered: bool,
    no_leave: bool,
    /// Slot 0 is reserved; `None` marks a free slot.
    handles: Vec<Option<Handle>>,
    free: Vec<u32>,
    resources: HashMap<ResourceRef, RtResource>,
    tasks: Vec<Task>,
    next_task: u64,
}

/// The state of one component instance.
#[derive(Debug)]
pub(crate) struct InstanceState {
    parent: Option<Arc<InstanceState>>,
    inner: Mutex<Inner>,
    /// Async handles: waitables, waitable sets, error contexts.
    conc: Mutex<super::concurrent::Table>,
    /// The async-lifted calls in progress, innermost last.
    tasks: Mutex<Vec<super::concurrent::TaskCx>>,
    /// The `task.return` hook of the next async-lifted call into this instance.
    next_on_return: Mutex<super::concurrent::OnReturn>,
    /// The async tasks not on the stack (used in the root instance only): suspended
    /// callback tasks and calls waiting to start.
    sched: Mutex<super::concurrent::Sched>,
    /// The backpressure counter (`backpressure.inc` / `dec`).
    backpressure: Mutex<u32>,
}

/// What dropping an owned handle asks the caller to do next.
pub(crate) struct DropOwned {
    pub rt: RtResource,
    pub rep: u32,
}

impl InstanceState {
    pub(crate) fn new(parent: Option<Arc<InstanceState>>) -> Arc<InstanceState> {
        let inner = Inner {
            handles: vec![None],
            ..Inner::default()
        };
        Arc::new(InstanceState {
            parent,
            inner: Mutex::new(inner),
            conc: Mutex::default(),
            tasks: Mutex::default(),
            next_on_return: Mutex::default(),
            sched: Mutex::default(),
            backpressure: Mutex::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The table of async handles.
    pub(crate) fn conc(&self) -> MutexGuard<'_, super::concurrent::Table> {
        self.conc.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The async-lifted calls in progress.
    pub(crate) fn tasks(&self) -> MutexGuard<'_, Vec<super::concurrent::TaskCx>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets (or with `None` clears) the `task.return` hook of the next async-lifted call.
    pub(crate) fn set_next_on_return(&self, hook: Option<super::concurrent::ReturnHook>) {
        self.next_on_return
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0 = hook;
    }

    /// Takes the `task.return` hook of the next async-lifted call.
    pub(crate) fn take_next_on_return(&self) -> super::concurrent::OnReturn {
        std::mem::take(
            &mut *self
                .next_on_return
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        )
    }

    /// The root instance's scheduler of async tasks.
    pub(crate) fn sched(&self) -> MutexGuard<'_, super::concurrent::Sched> {
        let mut root = self;
        while let Some(p) = root.parent.as_deref() {
            root = p;
        }
        root.sched.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The backpressure counter.
    pub(crate) fn backpressure(&self) -> MutexGuard<'_, u32> {
        self.backpressure.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a task of this instance is on the stack (its instance entered).
    pub(crate) fn busy(&self) -> bool {
        self.lock().entered
    }

    /// Marks this instance (alone) entered or left, for a task the scheduler resumes.
    pub(crate) fn set_entered(&self, entered: bool) {
        self.lock().entered = entered;
    }

    fn ancestors(&self) -> Vec<&InstanceState> {
        let mut out = vec![self];
        let mut cur = self.parent.as_deref();
        while let Some(p) = cur {
            out.push(p);
            cur = p.parent.as_deref();
        }
        out
    }

    /// The instances a call from `caller` (None: the host) into this one enters: this one and
    /// its ancestors, minus those the caller is already inside.
    fn entering_set<'a>(&'a self, caller: Option<&'a InstanceState>) -> Vec<&'a InstanceState> {
        let inside: Vec<&InstanceState> = caller.map(|c| c.ancestors()).unwrap_or_default();
        self.ancestors()
            .into_iter()
            .filter(|i| !inside.iter().any(|c| std::ptr::eq(*c, *i)))
            .collect()
    }

    /// Enters this instance from `caller`; traps if that would re-enter an instance.
    pub(crate) fn enter(&self, caller: Option<&InstanceState>) -> Result<()> {
        let set = self.entering_set(caller);
        if set.iter().any(|i| i.lock().entered) {
            return Err(Error::trap(TrapCode::CannotEnterComponent));
        }
        for i in set {
            i.lock().entered = true;
        }
        Ok(())
    }

    /// Leaves this instance back to `caller` (undoes [`Self::enter`]).
    pub(crate) fn leave(&self, caller: Option<&InstanceState>) {
        for i in self.entering_set(caller) {
            i.lock().entered = false;
        }
    }

    /// Traps unless the instance may call out (it may not during `post-return` or `realloc`).
    pub(crate) fn check_may_leave(&self) -> Result<()> {
        if self.lock().no_leave {
            return Err(Error::trap(TrapCode::CannotLeaveComponent));
        }
        Ok(())
    }

    pub(crate) fn set_may_leave(&self, may_leave: bool) {
        self.lock().no_leave = !may_leave;
    }

    /// Records the run-time type of one of the instance's resource types.
    pub(crate) fn define_resource(&self, r: ResourceRef, rt: RtResource) {
        self.lock().resources.insert(r, rt);
    }

    /// The run-time type of one of the instance's resource types.
    pub(crate) fn resource(&self, r: ResourceRef) -> Result<RtResource> {
        self.lock()
            .resources
            .get(&r)
            .cloned()
            .ok_or_else(|| Error::msg("resource type used before it was defined"))
    }

    /// Starts a call into this instance: a new scope for borrowed handles.
    pub(crate) fn begin_task(&self) -> u64 {
        let mut inner = self.lock();
        let id = inner.next_task;
        inner.next_task += 1;
        inner.tasks.push(Task { id, borrows: 0 });
        id
    }

    /// Ends a call: every handle it borrowed must have been dropped.
    pub(crate) fn end_task(&self, id: u64) -> Result<()> {
        let mut inner = self.lock();
        let Some(pos) = inner.tasks.iter().position(|t| t.id == id) else {
            return Ok(());
        };
        let task = inner.tasks.remove(pos);
        if task.borrows > 0 {
            return Err(Error::msg(
                "borrow handles still remain at the end of the call",
            ));
        }
        Ok(())
    }

    fn add(inner: &mut Inner, h: Handle) -> Result<u32> {
        if let Some(i) = inner.free.pop() {
            inner.handles[i as usize] = Some(h);
            return Ok(i);
        }
        let i = inner.handles.len();
        if i > MAX_HANDLES {
            return Err(Error::msg("cannot allocate another handle: index overflow"));
        }
        inner.handles.push(Some(h));
        Ok(i as u32)
    }

    fn get<'a>(inner: &'a mut Inner, idx: u32, ty: &ResourceType) -> Result<&'a mut Handle> {
        let h = inner
            .handles
            .get_mut(idx as usize)
            .and_then(|h| h.as_mut())
            .ok_or_else(|| Error::msg(format!("unknown handle index {idx}")))?;
        if h.rt.ty != *ty {
            return Err(Error::msg(format!(
                "handle index {idx} used with the wrong type"
            )));
        }
        Ok(h)
    }

    fn remove(inner: &mut Inner, idx: u32) -> Handle {
        let h = inner.handles[idx as usize]
            .take()
            .expect("checked by `get`");
        inner.free.push(idx);
        h
    }

    /// `canon resource.new`: a new owned handle.
    pub(crate) fn resource_new(&self, rt: RtResource, rep: u32) -> Result<u32> {
        Self::add(
            &mut self.lock(),
            Handle {
                rt,
                rep,
                own: true,
                scope: None,
                lends: 0,
            },
        )
    }

    /// `canon resource.rep`: the representation behind a handle.
    pub(crate) fn resource_rep(&self, ty: &ResourceType, idx: u32) -> Result<u32> {
        Ok(Self::get(&mut self.lock(), idx, ty)?.rep)
    }

    /// `canon resource.drop`: removes a handle. For an owned handle the caller runs the
    /// destructor it gets back; a borrow handle ends its borrow.
    pub(crate) fn resource_drop(&self, ty: &ResourceType, idx: u32) -> Result<Option<DropOwned>> {
        let mut inner = self.lock();
        let h = Self::get(&mut inner, idx, ty)?;
        if h.lends != 0 {
            return Err(Error::msg("cannot remove owned resource while borrowed"));
        }
        let h = Self::remove(&mut inner, idx);
        if h.own {
            return Ok(Some(DropOwned {
                rt: h.rt,
                rep: h.rep,
            }));
        }
        if let Some(scope) = h.scope {
            if let Some(task) = inner.tasks.iter_mut().find(|t| t.id == scope) {
                task.borrows -= 1;
            }
        }
        Ok(None)
    }

    /// Lifts an `own` handle: removes it and returns the representation.
    pub(crate) fn lift_own(&self, ty: &ResourceType, idx: u32) -> Result<u32> {
        let mut inner = self.lock();
        let h = Self::get(&mut inner, idx, ty)?;
        if h.lends != 0 {
            return Err(Error::msg("cannot remove owned resource while borrowed"));
        }
        if !h.own {
            return Err(Error::msg(format!(
                "handle index {idx} is a borrow, not an owned resource"
            )));
        }
        Ok(Self::remove(&mut inner, idx).rep)
    }

    /// Lifts a `borrow` handle: the handle stays, lent until [`Self::end_lend`].
    pub(crate) fn lift_borrow(&self, ty: &ResourceType, idx: u32) -> Result<u32> {
        let mut inner = self.lock();
        let h = Self::get(&mut inner, idx, ty)?;
        h.lends += 1;
        Ok(h.rep)
    }

    /// Ends a lend started by [`Self::lift_borrow`] once the call returned.
    pub(crate) fn end_lend(&self, idx: u32) {
        let mut inner = self.lock();
        if let Some(Some(h)) = inner.handles.get_mut(idx as usize) {
            h.lends = h.lends.saturating_sub(1);
        }
    }

    /// Lowers an owned resource: a new owned handle.
    pub(crate) fn lower_own(&self, rt: RtResource, rep: u32) -> Result<u32> {
        self.resource_new(rt, rep)
    }

    /// Lowers a borrowed resource into a call of task `scope`. The instance that implements
    /// the resource gets the representation itself.
    pub(crate) fn lower_borrow(
        self: &Arc<Self>,
        rt: RtResource,
        rep: u32,
        scope: u64,
    ) -> Result<u32> {
        if let Some(g) = rt.ty.as_guest() {
            if std::ptr::eq(g.instance.as_ptr(), Arc::as_ptr(self)) {
                return Ok(rep);
            }
        }
        let mut inner = self.lock();
        let idx = Self::add(
            &mut inner,
            Handle {
                rt,
                rep,
                own: false,
                scope: Some(scope),
                lends: 0,
            },
        )?;
        if let Some(task) = inner.tasks.iter_mut().find(|t| t.id == scope) {
            task.borrows += 1;
        }
        Ok(idx)
    }
}
