//! `wasi:random/random`, `insecure` and `insecure-seed`: all from the host's secure source.

use super::{name, WasiView};
use crate::component::Linker;
use crate::error::{Error, Result};

/// The most bytes one call may ask for.
const MAX_BYTES: u64 = 64 << 20;

fn bytes(len: u64) -> Result<Vec<u8>> {
    if len > MAX_BYTES {
        return Err(Error::msg(format!(
            "get-random-bytes: {len} bytes is more than the {MAX_BYTES} allowed"
        )));
    }
    let mut buf = vec![0u8; len as usize];
    crate::wasi::random::fill(&mut buf)?;
    Ok(buf)
}

fn u64() -> Result<u64> {
    let mut buf = [0u8; 8];
    crate::wasi::random::fill(&mut buf)?;
    Ok(u64::from_le_bytes(buf))
}

pub(super) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    let mut random = linker.instance(&name("random/random"))?;
    random.func_wrap("get-random-bytes", |_, (len,): (u64,)| Ok((bytes(len)?,)))?;
    random.func_wrap("get-random-u64", |_, (): ()| Ok((u64()?,)))?;
    let mut insecure = linker.instance(&name("random/insecure"))?;
    insecure.func_wrap("get-insecure-random-bytes", |_, (len,): (u64,)| {
        Ok((bytes(len)?,))
    })?;
    insecure.func_wrap("get-insecure-random-u64", |_, (): ()| Ok((u64()?,)))?;
    linker
        .instance(&name("random/insecure-seed"))?
        .func_wrap("insecure-seed", |_, (): ()| Ok(((u64()?, u64()?),)))?;
    Ok(())
}
