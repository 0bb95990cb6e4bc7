//! Resources at run time: [`ResourceType`] (the identity of a resource type: a host type, or
//! one definition in one component instance), [`ResourceAny`] (a lifted handle of any type)
//! and [`Resource<T>`] (a typed handle to a host-defined resource).

use super::state::InstanceState;
use crate::error::{Error, Result};
use crate::store::{AsContextMut, Func};
use std::any::TypeId;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::sync::{Arc, Weak};

/// The identity of a resource type at run time. Host types are identified by a Rust type
/// ([`ResourceType::host`]); a resource type defined by a component is new for each instance.
#[derive(Clone)]
pub struct ResourceType(Kind);

#[derive(Clone)]
enum Kind {
    Host(TypeId, &'static str),
    Guest(Arc<GuestResource>),
}

/// A resource type defined by a component instance (`(type (resource (rep i32) (dtor ..)))`).
pub(crate) struct GuestResource {
    /// The destructor, a core function `(param i32)`.
    pub(crate) dtor: Option<Func>,
    /// The instance that defined the type (its "impl").
    pub(crate) instance: Weak<InstanceState>,
}

impl ResourceType {
    /// The resource type of host values of Rust type `T`.
    pub fn host<T: 'static>() -> ResourceType {
        ResourceType(Kind::Host(TypeId::of::<T>(), std::any::type_name::<T>()))
    }

    pub(crate) fn guest(dtor: Option<Func>, instance: Weak<InstanceState>) -> ResourceType {
        ResourceType(Kind::Guest(Arc::new(GuestResource { dtor, instance })))
    }

    /// The component-defined resource behind this type, if it is one.
    pub(crate) fn as_guest(&self) -> Option<&GuestResource> {
        match &self.0 {
            Kind::Guest(g) => Some(g),
            Kind::Host(..) => None,
        }
    }

    /// Whether this type was defined by the host.
    pub fn is_host(&self) -> bool {
        matches!(self.0, Kind::Host(..))
    }
}

impl PartialEq for ResourceType {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Kind::Host(a, _), Kind::Host(b, _)) => a == b,
            (Kind::Guest(a), Kind::Guest(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}
impl Eq for ResourceType {}

impl Hash for ResourceType {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match &self.0 {
            Kind::Host(id, _) => id.hash(state),
            Kind::Guest(g) => (Arc::as_ptr(g) as usize).hash(state),
        }
    }
}

impl fmt::Debug for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Host(_, name) => write!(f, "ResourceType::host::<{name}>"),
            Kind::Guest(g) => write!(f, "ResourceType::guest({:p})", Arc::as_ptr(g)),
        }
    }
}

/// A handle of any resource type, lifted out of a component: owned (`own<R>`) or borrowed
/// for the duration of a call (`borrow<R>`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResourceAny {
    ty: ResourceType,
    rep: u32,
    own: bool,
}

impl fmt::Debug for ResourceAny {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceAny")
            .field("ty", &self.ty)
            .field("rep", &self.rep)
            .field("own", &self.own)
            .finish()
    }
}

impl ResourceAny {
    pub(crate) fn new(ty: ResourceType, rep: u32, own: bool) -> ResourceAny {
        ResourceAny { ty, rep, own }
    }
    /// The resource's type.
    pub fn ty(&self) -> ResourceType {
        self.ty.clone()
    }
    /// Whether this handle owns the resource.
    pub fn owned(&self) -> bool {
        self.own
    }
    /// The representation the resource's implementation chose (for host resources, the
    /// value given to [`Resource::new_own`]).
    pub fn rep(&self) -> u32 {
        self.rep
    }

    /// A typed handle, if this is a host resource of type `T`.
    pub fn try_into_resource<T: 'static>(self) -> Result<Resource<T>> {
        if self.ty != ResourceType::host::<T>() {
            return Err(Error::msg(format!(
                "resource type mismatch: expected {:?}, found {:?}",
                ResourceType::host::<T>(),
                self.ty
            )));
        }
        Ok(Resource {
            rep: self.rep,
            own: self.own,
            _marker: PhantomData,
        })
    }

    /// The untyped form of a typed host handle.
    pub fn try_from_resource<T: 'static>(resource: Resource<T>) -> Result<ResourceAny> {
        Ok(ResourceAny::new(
            ResourceType::host::<T>(),
            resource.rep,
            resource.own,
        ))
    }

    /// Drops an owned handle: runs the destructor of a component-defined resource. Dropping a
    /// borrow or a host resource does nothing here (the host owns its resources).
    pub fn resource_drop(self, mut store: impl AsContextMut) -> Result<()> {
        if !self.own {
            return Ok(());
        }
        let Some(guest) = self.ty.as_guest() else {
            return Ok(());
        };
        let store = store.as_store_mut();
        let instance = guest.instance.upgrade();
        if let Some(inst) = &instance {
            inst.enter(None)?;
        }
        let result = match guest.dtor {
            Some(dtor) => super::call_core(store, dtor, &[self.rep as u64]).map(drop),
            None => Ok(()),
        };
        if let Some(inst) = &instance {
            inst.leave(None);
        }
        result
    }
}

/// A typed handle to a host resource of Rust type `T`: its representation (typically an
/// index into the host's [`ResourceTable`](super::ResourceTable)) and whether it is owned.
pub struct Resource<T: 'static> {
    rep: u32,
    own: bool,
    _marker: PhantomData<fn() -> T>,
}

impl<T: 'static> Resource<T> {
    /// An owned handle with this representation.
    pub fn new_own(rep: u32) -> Resource<T> {
        Resource {
            rep,
            own: true,
            _marker: PhantomData,
        }
    }
    /// A borrowed handle with this representation.
    pub fn new_borrow(rep: u32) -> Resource<T> {
        Resource {
            rep,
            own: false,
            _marker: PhantomData,
        }
    }
    /// The representation.
    pub fn rep(&self) -> u32 {
        self.rep
    }
    /// Whether this handle owns the resource.
    pub fn owned(&self) -> bool {
        self.own
    }
}

impl<T: 'static> fmt::Debug for Resource<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resource")
            .field("rep", &self.rep)
            .field("own", &self.own)
            .finish()
    }
}
