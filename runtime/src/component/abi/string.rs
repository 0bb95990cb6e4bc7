//! Strings in the three canonical encodings (`utf8`, `utf16`, `latin1+utf16`): loading with
//! the bounds, alignment and encoding checks, and storing with the specification's sequence
//! of `realloc` calls (optimistic size first, then grow or shrink).

use super::MAX_STRING_BYTE_LENGTH;
use super::{aligned, allocate, check_range, trap, write, AbiCx, StringEncoding};
use crate::error::{Error, Result, TrapCode};

/// The `latin1+utf16` tag: the top bit of the length marks UTF-16.
const UTF16_TAG: u32 = 1 << 31;

/// `load_string_from_range`: the string of `tagged_len` code units at `ptr`.
pub(crate) fn load_string(cx: &mut dyn AbiCx, ptr: u32, tagged_len: u32) -> Result<String> {
    enum Enc {
        Utf8,
        Utf16,
        Latin1,
    }
    let (align, bytes, enc) = match cx.encoding() {
        StringEncoding::Utf8 => (1, tagged_len as u64, Enc::Utf8),
        StringEncoding::Utf16 => (2, 2 * tagged_len as u64, Enc::Utf16),
        StringEncoding::CompactUtf16 if tagged_len & UTF16_TAG != 0 => {
            (2, 2 * (tagged_len ^ UTF16_TAG) as u64, Enc::Utf16)
        }
        StringEncoding::CompactUtf16 => (2, tagged_len as u64, Enc::Latin1),
    };
    if bytes > MAX_STRING_BYTE_LENGTH {
        return Err(trap(TrapCode::StringOutOfBounds));
    }
    if !aligned(ptr as u64, align) {
        return Err(trap(TrapCode::UnalignedPointer));
    }
    check_range(cx, ptr as u64, bytes, TrapCode::StringOutOfBounds)?;
    let mem = cx.memory()?;
    let raw = &mem[ptr as usize..ptr as usize + bytes as usize];
    match enc {
        Enc::Utf8 => std::str::from_utf8(raw)
            .map(str::to_string)
            .map_err(|_| Error::msg("invalid utf-8 string")),
        Enc::Utf16 => {
            let units = raw
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .map_err(|_| Error::msg("invalid utf-16 string"))
        }
        Enc::Latin1 => Ok(raw.iter().map(|b| *b as char).collect()),
    }
}

/// Allocated memory must be aligned and inside memory.
fn check_alloc(cx: &dyn AbiCx, ptr: u32, align: u32, len: u64) -> Result<()> {
    if !aligned(ptr as u64, align) {
        return Err(trap(TrapCode::UnalignedPointer));
    }
    check_range(cx, ptr as u64, len, TrapCode::StringOutOfBounds)
}

/// `store_string_into_range` for a string held as UTF-8: its pointer and (tagged) length in
/// the options' encoding.
pub(crate) fn store_string(cx: &mut dyn AbiCx, s: &str) -> Result<(u32, u32)> {
    let len = u32::try_from(s.len()).map_err(|_| Error::msg("string too long to lower"))?;
    match cx.encoding() {
        StringEncoding::Utf8 => {
            let ptr = allocate(cx, 1, len)?;
            check_alloc(cx, ptr, 1, len as u64)?;
            write(cx, ptr, s.as_bytes())?;
            Ok((ptr, len))
        }
        StringEncoding::Utf16 => {
            // `store_utf8_to_utf16`: one UTF-16 unit per source byte at worst, then shrink.
            let worst = 2 * len as u64;
            let worst32 = u32::try_from(worst).map_err(|_| Error::msg("string too long"))?;
            let mut ptr = allocate(cx, 2, worst32)?;
            check_alloc(cx, ptr, 2, worst)?;
            let encoded: Vec<u8> = s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
            write(cx, ptr, &encoded)?;
            if (encoded.len() as u64) < worst {
                ptr = cx.realloc(ptr, worst32, 2, encoded.len() as u32)?;
                check_alloc(cx, ptr, 2, encoded.len() as u64)?;
            }
            Ok((ptr, (encoded.len() / 2) as u32))
        }
        StringEncoding::CompactUtf16 => store_latin1_or_utf16(cx, s, len),
    }
}

/// `store_string_to_latin1_or_utf16`: Latin-1 while every character fits, else inflate the
/// bytes written so far in place and finish in UTF-16.
fn store_latin1_or_utf16(cx: &mut dyn AbiCx, s: &str, src_units: u32) -> Result<(u32, u32)> {
    let mut ptr = allocate(cx, 2, src_units)?;
    check_alloc(cx, ptr, 2, src_units as u64)?;
    let mut written: u32 = 0;
    for c in s.chars() {
        if (c as u32) < 0x100 {
            write(cx, ptr + written, &[c as u8])?;
            written += 1;
            continue;
        }
        let worst = 2 * src_units as u64;
        let worst32 = u32::try_from(worst).map_err(|_| Error::msg("string too long"))?;
        ptr = cx.realloc(ptr, src_units, 2, worst32)?;
        check_alloc(cx, ptr, 2, worst)?;
        let mem = cx.memory_mut()?;
        let base = ptr as usize;
        for j in (0..written as usize).rev() {
            mem[base + 2 * j] = mem[base + j];
            mem[base + 2 * j + 1] = 0;
        }
        let encoded: Vec<u8> = s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let done = 2 * written as usize;
        write(cx, ptr + done as u32, &encoded[done..])?;
        if (encoded.len() as u64) < worst {
            ptr = cx.realloc(ptr, worst32, 2, encoded.len() as u32)?;
            check_alloc(cx, ptr, 2, encoded.len() as u64)?;
        }
        return Ok((ptr, (encoded.len() / 2) as u32 | UTF16_TAG));
    }
    if written < src_units {
        ptr = cx.realloc(ptr, src_units, 2, written)?;
        check_alloc(cx, ptr, 2, written as u64)?;
    }
    Ok((ptr, written))
}
