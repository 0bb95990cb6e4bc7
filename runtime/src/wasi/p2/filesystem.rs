//! `wasi:filesystem`: so far the `descriptor` resource of `types` and `preopens`
//! (`get-directories`, the context's preopened directories as descriptors). The descriptor
//! methods are still to come.

use super::{name, WasiView};
use crate::component::{Linker, Resource, ResourceType};
use crate::error::Result;

/// A `descriptor` resource.
#[derive(Debug)]
pub enum Descriptor {
    /// The context's preopened directory with this index.
    Preopen(usize),
}

pub(super) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    linker.instance(&name("filesystem/types"))?.resource(
        "descriptor",
        ResourceType::host::<Descriptor>(),
        |mut s, rep| {
            s.data_mut()
                .ctx()
                .table
                .delete(Resource::<Descriptor>::new_own(rep))?;
            Ok(())
        },
    )?;
    linker.instance(&name("filesystem/preopens"))?.func_wrap(
        "get-directories",
        |mut s, (): ()| {
            let view = s.data_mut().ctx();
            let names: Vec<String> = view.ctx.preopen_names().map(str::to_string).collect();
            let mut dirs = Vec::with_capacity(names.len());
            for (i, guest) in names.into_iter().enumerate() {
                dirs.push((view.table.push(Descriptor::Preopen(i))?, guest));
            }
            Ok((dirs,))
        },
    )?;
    Ok(())
}
