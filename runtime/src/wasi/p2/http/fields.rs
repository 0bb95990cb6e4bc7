//! The `fields` resource (headers and trailers): an [`http::HeaderMap`] that is either
//! mutable, with a size limit, or immutable (the headers of a request or response, and
//! trailers handed to the guest). As wasmtime-wasi-http: forbidden names are refused when
//! set and stripped from what the host hands in; `content-length` must be one decimal value.

use super::values::HeaderError;
use crate::error::{Error, Result};
use http::header::Entry;
use http::{HeaderMap, HeaderName, HeaderValue};

/// The most bytes the names and values of one mutable `fields` may take (wasmtime's default).
pub const FIELD_SIZE_LIMIT: usize = 128 * 1024;

/// Header names a guest may neither set nor see (hop-by-hop and connection-level ones).
pub const FORBIDDEN_HEADERS: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
    "http2-settings",
];

/// Whether a guest may not use this header name.
pub fn is_forbidden(name: &HeaderName) -> bool {
    FORBIDDEN_HEADERS.contains(&name.as_str())
}

/// A `fields` resource.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    map: HeaderMap,
    /// `Some(limit)` while mutable.
    limit: Option<usize>,
    size: usize,
}

/// Why a change was refused: a guest-visible `header-error`, or a trap (size limits).
pub enum FieldsError {
    /// Returned to the guest.
    Header(HeaderError),
    /// Traps the guest.
    Trap(Error),
}

impl From<HeaderError> for FieldsError {
    fn from(e: HeaderError) -> Self {
        FieldsError::Header(e)
    }
}

fn name_size(n: &HeaderName) -> usize {
    n.as_str().len() + std::mem::size_of::<HeaderName>()
}

fn value_size(v: &HeaderValue) -> usize {
    v.len() + std::mem::size_of::<HeaderValue>()
}

fn content_size(map: &HeaderMap) -> usize {
    map.keys().map(name_size).sum::<usize>() + map.values().map(value_size).sum::<usize>()
}

fn parse_name(name: &str) -> Result<HeaderName, FieldsError> {
    let name: HeaderName = name.parse().map_err(|_| HeaderError::InvalidSyntax)?;
    if is_forbidden(&name) {
        return Err(HeaderError::Forbidden.into());
    }
    Ok(name)
}

fn parse_value(name: &HeaderName, value: Vec<u8>) -> Result<HeaderValue, FieldsError> {
    if name == http::header::CONTENT_LENGTH
        && (value.is_empty() || !value.iter().all(u8::is_ascii_digit))
    {
        return Err(HeaderError::InvalidSyntax.into());
    }
    HeaderValue::from_bytes(&value).map_err(|_| HeaderError::InvalidSyntax.into())
}

fn too_big() -> FieldsError {
    FieldsError::Trap(Error::msg("total size of fields exceeds limit"))
}

impl Fields {
    /// Empty and mutable.
    pub fn new_mutable() -> Self {
        Fields {
            map: HeaderMap::new(),
            limit: Some(FIELD_SIZE_LIMIT),
            size: 0,
        }
    }

    /// Immutable, from what the host received; forbidden names are dropped.
    pub fn new_immutable(mut map: HeaderMap) -> Self {
        for name in FORBIDDEN_HEADERS {
            map.remove(name);
        }
        let size = content_size(&map);
        Fields {
            map,
            limit: None,
            size,
        }
    }

    /// The map.
    pub fn map(&self) -> &HeaderMap {
        &self.map
    }

    /// The map, taken.
    pub fn into_map(self) -> HeaderMap {
        self.map
    }

    /// Makes it immutable.
    pub fn set_immutable(&mut self) {
        self.limit = None;
    }

    /// A mutable copy (`clone`).
    pub fn mutable_copy(&self) -> Self {
        Fields {
            map: self.map.clone(),
            limit: Some(FIELD_SIZE_LIMIT),
            size: self.size,
        }
    }

    fn limit(&self) -> Result<usize, FieldsError> {
        self.limit
            .ok_or(FieldsError::Header(HeaderError::Immutable))
    }

    /// `get`: every value of `name` (none for an invalid name).
    pub fn get(&self, name: &str) -> Vec<Vec<u8>> {
        match HeaderName::from_bytes(name.as_bytes()) {
            Ok(n) => self
                .map
                .get_all(&n)
                .iter()
                .map(|v| v.as_bytes().to_vec())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// `has`.
    pub fn has(&self, name: &str) -> bool {
        HeaderName::from_bytes(name.as_bytes()).is_ok_and(|n| self.map.contains_key(&n))
    }

    /// `entries`: in insertion order per name.
    pub fn entries(&self) -> Vec<(String, Vec<u8>)> {
        self.map
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    /// `set`: replaces every value of `name`.
    pub fn set(&mut self, name: &str, values: Vec<Vec<u8>>) -> Result<(), FieldsError> {
        let name = parse_name(name)?;
        let limit = self.limit()?;
        if name == http::header::CONTENT_LENGTH && values.len() > 1 {
            return Err(HeaderError::InvalidSyntax.into());
        }
        let values = values
            .into_iter()
            .map(|v| parse_value(&name, v))
            .collect::<Result<Vec<_>, _>>()?;
        let new_values: usize = values.iter().map(value_size).sum();
        let old: usize = self.map.get_all(&name).iter().map(value_size).sum();
        let had = self.map.contains_key(&name);
        let key = if had || values.is_empty() {
            0
        } else {
            name_size(&name)
        };
        let removed_key = if had && values.is_empty() {
            name_size(&name)
        } else {
            0
        };
        let new_size = self.size + new_values + key - old - removed_key;
        if new_size > limit {
            return Err(too_big());
        }
        self.size = new_size;
        match self.map.try_entry(name).map_err(|_| too_big())? {
            Entry::Vacant(e) => {
                let mut values = values.into_iter();
                if let Some(first) = values.next() {
                    let mut entry = e.try_insert_entry(first).map_err(|_| too_big())?;
                    for v in values {
                        entry.append(v);
                    }
                }
            }
            Entry::Occupied(mut e) => {
                let mut values = values.into_iter();
                match values.next() {
                    Some(first) => {
                        e.insert(first);
                        for v in values {
                            e.append(v);
                        }
                    }
                    None => {
                        e.remove_entry_mult();
                    }
                }
            }
        }
        Ok(())
    }

    /// `delete`: removes every value of `name`.
    pub fn delete(&mut self, name: &str) -> Result<(), FieldsError> {
        let name = parse_name(name)?;
        self.limit()?;
        if let Entry::Occupied(e) = self.map.try_entry(name).map_err(|_| too_big())? {
            let (n, values) = e.remove_entry_mult();
            let removed = name_size(&n) + values.map(|v| value_size(&v)).sum::<usize>();
            self.size -= removed;
        }
        Ok(())
    }

    /// `append`: adds one value to `name`.
    pub fn append(&mut self, name: &str, value: Vec<u8>) -> Result<(), FieldsError> {
        let name = parse_name(name)?;
        let value = parse_value(&name, value)?;
        let limit = self.limit()?;
        let had = self.map.contains_key(&name);
        if name == http::header::CONTENT_LENGTH && had {
            return Err(HeaderError::InvalidSyntax.into());
        }
        let new_size = self.size + value_size(&value) + if had { 0 } else { name_size(&name) };
        if new_size > limit {
            return Err(too_big());
        }
        self.map.try_append(name, value).map_err(|_| too_big())?;
        self.size = new_size;
        Ok(())
    }
}

/// The body size announced by `content-length`: `invalid-syntax` when it is malformed or
/// repeated.
pub fn content_length(map: &HeaderMap) -> Result<Option<u64>, HeaderError> {
    let mut values = map.get_all(http::header::CONTENT_LENGTH).iter();
    let Some(v) = values.next() else {
        return Ok(None);
    };
    let invalid = HeaderError::InvalidSyntax;
    if values.next().is_some() {
        return Err(invalid);
    }
    let v = v.as_bytes();
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return Err(invalid);
    }
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Some)
        .ok_or(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(r: Result<(), FieldsError>) -> Option<HeaderError> {
        match r {
            Ok(()) => None,
            Err(FieldsError::Header(h)) => Some(h),
            Err(FieldsError::Trap(e)) => panic!("trap: {e}"),
        }
    }

    #[test]
    fn mutability_and_errors() {
        let mut f = Fields::new_mutable();
        assert_eq!(header(f.append("x-a", b"1".to_vec())), None);
        assert_eq!(header(f.append("x-a", b"2".to_vec())), None);
        assert_eq!(f.get("X-A"), vec![b"1".to_vec(), b"2".to_vec()]);
        assert_eq!(
            header(f.append("bad name", b"1".to_vec())),
            Some(HeaderError::InvalidSyntax)
        );
        assert_eq!(
            header(f.set("host", vec![b"h".to_vec()])),
            Some(HeaderError::Forbidden)
        );
        assert_eq!(
            header(f.append("content-length", b"+5".to_vec())),
            Some(HeaderError::InvalidSyntax)
        );
        assert_eq!(header(f.set("x-a", vec![b"3".to_vec()])), None);
        assert_eq!(f.get("x-a"), vec![b"3".to_vec()]);
        assert_eq!(f.size, content_size(&f.map));
        assert_eq!(header(f.delete("x-a")), None);
        assert!(!f.has("x-a"));
        assert_eq!(f.size, 0);
        f.set_immutable();
        assert_eq!(
            header(f.append("x-b", b"1".to_vec())),
            Some(HeaderError::Immutable)
        );
        let mut c = f.mutable_copy();
        assert_eq!(header(c.append("x-b", b"1".to_vec())), None);
        assert!(matches!(
            c.append("x-big", vec![b'a'; FIELD_SIZE_LIMIT]),
            Err(FieldsError::Trap(_))
        ));
        let mut m = HeaderMap::new();
        m.insert("host", HeaderValue::from_static("a"));
        m.insert("x-ok", HeaderValue::from_static("b"));
        let i = Fields::new_immutable(m);
        assert!(!i.has("host") && i.has("x-ok"));
    }
}
