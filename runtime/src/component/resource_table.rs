//! The host's table of resources: values of any type behind typed handles ([`Resource<T>`],
//! whose representation is the table index), a free list that reuses indices, parent/child
//! links (a child must be deleted before its parent) and a capacity limit.

use super::resources::Resource;
use std::any::Any;
use std::fmt;

/// Why a [`ResourceTable`] operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceTableError {
    /// The table holds its maximum number of entries.
    Full,
    /// No entry at this index.
    NotPresent,
    /// The entry is of another type than the handle says.
    WrongType,
    /// The entry still has children, so it cannot be deleted.
    HasChildren,
}

impl fmt::Display for ResourceTableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ResourceTableError::Full => "resource table has no free keys",
            ResourceTableError::NotPresent => "resource not present",
            ResourceTableError::WrongType => "resource is of another type",
            ResourceTableError::HasChildren => "resource has children",
        })
    }
}

impl std::error::Error for ResourceTableError {}

impl From<ResourceTableError> for crate::Error {
    fn from(e: ResourceTableError) -> Self {
        crate::Error::host(e)
    }
}

enum Slot {
    Free { next: Option<u32> },
    Occupied(Entry),
}

struct Entry {
    value: Box<dyn Any + Send>,
    parent: Option<u32>,
    children: Vec<u32>,
}

/// The most entries a table holds unless told otherwise.
const DEFAULT_MAX_CAPACITY: usize = 1_000_000;

/// A table of host resources.
pub struct ResourceTable {
    slots: Vec<Slot>,
    free_head: Option<u32>,
    len: usize,
    max_capacity: usize,
}

impl Default for ResourceTable {
    fn default() -> Self {
        ResourceTable::new()
    }
}

impl fmt::Debug for ResourceTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceTable")
            .field("len", &self.len)
            .field("max_capacity", &self.max_capacity)
            .finish()
    }
}

impl ResourceTable {
    /// An empty table.
    pub fn new() -> Self {
        ResourceTable::with_capacity(0)
    }

    /// An empty table with room for `capacity` entries before it reallocates.
    pub fn with_capacity(capacity: usize) -> Self {
        ResourceTable {
            slots: Vec::with_capacity(capacity),
            free_head: None,
            len: 0,
            max_capacity: DEFAULT_MAX_CAPACITY,
        }
    }

    /// Whether the table holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many entries the table holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The most entries the table may hold.
    pub fn max_capacity(&self) -> usize {
        self.max_capacity
    }

    /// Sets the most entries the table may hold.
    pub fn set_max_capacity(&mut self, max: usize) {
        self.max_capacity = max;
    }

    fn insert(&mut self, entry: Entry) -> Result<u32, ResourceTableError> {
        if self.len >= self.max_capacity {
            return Err(ResourceTableError::Full);
        }
        let idx = match self.free_head {
            Some(i) => {
                let Slot::Free { next } = self.slots[i as usize] else {
                    unreachable!("the free list only links free slots")
                };
                self.free_head = next;
                self.slots[i as usize] = Slot::Occupied(entry);
                i
            }
            None => {
                let i = u32::try_from(self.slots.len()).map_err(|_| ResourceTableError::Full)?;
                self.slots.push(Slot::Occupied(entry));
                i
            }
        };
        self.len += 1;
        Ok(idx)
    }

    fn entry(&self, idx: u32) -> Result<&Entry, ResourceTableError> {
        match self.slots.get(idx as usize) {
            Some(Slot::Occupied(e)) => Ok(e),
            _ => Err(ResourceTableError::NotPresent),
        }
    }

    fn entry_mut(&mut self, idx: u32) -> Result<&mut Entry, ResourceTableError> {
        match self.slots.get_mut(idx as usize) {
            Some(Slot::Occupied(e)) => Ok(e),
            _ => Err(ResourceTableError::NotPresent),
        }
    }

    /// Adds a value; its owned handle.
    pub fn push<T: Send + 'static>(&mut self, value: T) -> Result<Resource<T>, ResourceTableError> {
        let idx = self.insert(Entry {
            value: Box::new(value),
            parent: None,
            children: Vec::new(),
        })?;
        Ok(Resource::new_own(idx))
    }

    /// Adds a value as a child of `parent`: the parent cannot be deleted before it.
    pub fn push_child<T: Send + 'static, U: 'static>(
        &mut self,
        value: T,
        parent: &Resource<U>,
    ) -> Result<Resource<T>, ResourceTableError> {
        let parent_idx = parent.rep();
        self.entry(parent_idx)?;
        let idx = self.insert(Entry {
            value: Box::new(value),
            parent: Some(parent_idx),
            children: Vec::new(),
        })?;
        self.entry_mut(parent_idx)?.children.push(idx);
        Ok(Resource::new_own(idx))
    }

    /// Makes an existing entry a child of `parent`.
    pub fn add_child<T: 'static, U: 'static>(
        &mut self,
        child: &Resource<T>,
        parent: &Resource<U>,
    ) -> Result<(), ResourceTableError> {
        let (c, p) = (child.rep(), parent.rep());
        self.entry(p)?;
        let old = self.entry(c)?.parent;
        if let Some(old) = old {
            if let Ok(e) = self.entry_mut(old) {
                e.children.retain(|x| *x != c);
            }
        }
        self.entry_mut(c)?.parent = Some(p);
        self.entry_mut(p)?.children.push(c);
        Ok(())
    }

    /// Removes the parent link of `child` to `parent`.
    pub fn remove_child<T: 'static, U: 'static>(
        &mut self,
        child: &Resource<T>,
        parent: &Resource<U>,
    ) -> Result<(), ResourceTableError> {
        let (c, p) = (child.rep(), parent.rep());
        if self.entry(c)?.parent != Some(p) {
            return Err(ResourceTableError::NotPresent);
        }
        self.entry_mut(c)?.parent = None;
        self.entry_mut(p)?.children.retain(|x| *x != c);
        Ok(())
    }

    /// The value behind a handle.
    pub fn get<T: 'static>(&self, key: &Resource<T>) -> Result<&T, ResourceTableError> {
        self.entry(key.rep())?
            .value
            .downcast_ref()
            .ok_or(ResourceTableError::WrongType)
    }

    /// The value behind a handle, mutably.
    pub fn get_mut<T: 'static>(&mut self, key: &Resource<T>) -> Result<&mut T, ResourceTableError> {
        self.entry_mut(key.rep())?
            .value
            .downcast_mut()
            .ok_or(ResourceTableError::WrongType)
    }

    /// The value at an index, untyped.
    pub fn get_any_mut(&mut self, key: u32) -> Result<&mut dyn Any, ResourceTableError> {
        Ok(&mut *self.entry_mut(key)?.value)
    }

    /// Removes the value behind an owned handle and returns it. Fails if it has children.
    pub fn delete<T: 'static>(&mut self, resource: Resource<T>) -> Result<T, ResourceTableError> {
        let idx = resource.rep();
        let e = self.entry(idx)?;
        if !e.value.is::<T>() {
            return Err(ResourceTableError::WrongType);
        }
        if !e.children.is_empty() {
            return Err(ResourceTableError::HasChildren);
        }
        let parent = e.parent;
        let slot = std::mem::replace(
            &mut self.slots[idx as usize],
            Slot::Free {
                next: self.free_head,
            },
        );
        self.free_head = Some(idx);
        self.len -= 1;
        if let Some(p) = parent {
            if let Ok(e) = self.entry_mut(p) {
                e.children.retain(|x| *x != idx);
            }
        }
        let Slot::Occupied(entry) = slot else {
            unreachable!("checked occupied above")
        };
        Ok(*entry.value.downcast::<T>().expect("type checked above"))
    }

    /// The children of an entry, untyped.
    pub fn iter_children<T: 'static>(
        &self,
        parent: &Resource<T>,
    ) -> Result<impl Iterator<Item = &(dyn Any + Send)> + '_, ResourceTableError> {
        let e = self.entry(parent.rep())?;
        Ok(e.children
            .iter()
            .filter_map(move |c| match &self.slots[*c as usize] {
                Slot::Occupied(e) => Some(&*e.value),
                Slot::Free { .. } => None,
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_list_reuses_indices_and_types_are_checked() {
        let mut t = ResourceTable::new();
        let a = t.push(1u32).unwrap();
        let b = t.push("b".to_string()).unwrap();
        assert_eq!((a.rep(), b.rep()), (0, 1));
        assert_eq!(*t.get(&a).unwrap(), 1);
        *t.get_mut(&a).unwrap() += 1;
        assert_eq!(t.delete(a).unwrap(), 2);
        let wrong: Resource<u64> = Resource::new_own(1);
        assert_eq!(t.get(&wrong).unwrap_err(), ResourceTableError::WrongType);
        let gone: Resource<u32> = Resource::new_own(0);
        assert_eq!(t.get(&gone).unwrap_err(), ResourceTableError::NotPresent);
        let c = t.push(3u8).unwrap();
        assert_eq!(c.rep(), 0, "a freed index is reused");
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn children_block_their_parent() {
        let mut t = ResourceTable::new();
        let parent = t.push(()).unwrap();
        let child = t.push_child(5i32, &parent).unwrap();
        assert_eq!(t.iter_children(&parent).unwrap().count(), 1);
        let p2 = Resource::<()>::new_own(parent.rep());
        assert_eq!(t.delete(p2).unwrap_err(), ResourceTableError::HasChildren);
        assert_eq!(t.delete(child).unwrap(), 5);
        t.delete(parent).unwrap();
        assert!(t.is_empty());

        let a = t.push(1u8).unwrap();
        let b = t.push(2u8).unwrap();
        t.add_child(&b, &a).unwrap();
        let a2 = Resource::<u8>::new_own(a.rep());
        assert_eq!(t.delete(a2).unwrap_err(), ResourceTableError::HasChildren);
        t.remove_child(&b, &a).unwrap();
        t.delete(a).unwrap();
    }

    #[test]
    fn capacity_is_limited() {
        let mut t = ResourceTable::new();
        t.set_max_capacity(2);
        t.push(1).unwrap();
        let two = t.push(2).unwrap();
        assert_eq!(t.push(3).unwrap_err(), ResourceTableError::Full);
        t.delete(two).unwrap();
        t.push(4).unwrap();
        assert_eq!(t.max_capacity(), 2);
    }
}
