//! `wasi:http/types` and `wasi:http/outgoing-handler` (WASI 0.2, as wasmtime-wasi-http 48):
//! headers and trailers (`fields`), requests, responses, bodies as `wasi:io` streams, and
//! outgoing requests sent with hyper over tokio (plain `http`). The server side (the
//! `incoming-handler` export) is driven by [`crate::serve`] through
//! [`new_incoming_request`] and [`new_response_outparam`].
//!
//! All resources live in the store's [`ResourceTable`]; a body's stream is its child there,
//! so a guest must drop the stream before it finishes the body (as in wasmtime).

mod body;
mod client;
mod fields;
mod values;

pub use body::{BodyLimit, HyperBody, IncomingBody, OutgoingBody};
pub use client::{hyper_error, send, RequestOptions, TokioIo};
pub use fields::{content_length, Fields, FieldsError, FIELD_SIZE_LIMIT, FORBIDDEN_HEADERS};
pub use values::{ErrorCode, FieldSizePayload, HeaderError, Method, Scheme};

use super::io::{subscribe, InputStream, IoError, OutputStream, Pollable, Ready, Subscribe};
use super::{name, WasiView};
use crate::component::{Linker, Resource, ResourceTable, ResourceType, StoreContextMut};
use crate::error::{Error, Result};
use body::{pending, BodyContext, FutureTrailers, Pending, TrailersState};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use std::time::Duration;
use tokio::sync::oneshot;

/// An `incoming-request` resource.
pub struct IncomingRequest {
    method: http::Method,
    uri: http::Uri,
    scheme: Scheme,
    authority: String,
    headers: Fields,
    body: Option<IncomingBody>,
}

/// An `outgoing-request` resource.
pub struct OutgoingRequest {
    method: Method,
    scheme: Option<Scheme>,
    authority: Option<String>,
    path_with_query: Option<String>,
    headers: Fields,
    body: Option<HyperBody>,
}

/// What a `response-outparam` delivers: the response, or the error the guest answered with.
pub type ResponseResult = std::result::Result<http::Response<HyperBody>, ErrorCode>;

/// A `response-outparam` resource.
pub struct ResponseOutparam(oneshot::Sender<ResponseResult>);

/// An `incoming-response` resource.
pub struct IncomingResponse {
    status: u16,
    headers: Fields,
    body: Option<HyperBody>,
}

/// An `outgoing-response` resource.
pub struct OutgoingResponse {
    status: http::StatusCode,
    headers: Fields,
    body: Option<HyperBody>,
}

/// A `future-incoming-response` resource.
pub struct FutureIncomingResponse {
    response: Pending<std::result::Result<http::Response<HyperBody>, ErrorCode>>,
    consumed: bool,
}

impl Subscribe for FutureTrailers {
    fn ready(&mut self) -> Ready {
        FutureTrailers::ready(self)
    }
}

impl Subscribe for FutureIncomingResponse {
    fn ready(&mut self) -> Ready {
        if self.consumed {
            return super::io::ready_now();
        }
        self.response.ready()
    }
}

/// Adds an `incoming-request` for `req` to `table` (as `serve` does for each request); the
/// request body fails past `limit`.
pub fn new_incoming_request(
    table: &mut ResourceTable,
    req: http::Request<HyperBody>,
    scheme: Scheme,
    limit: Option<BodyLimit>,
) -> Result<Resource<IncomingRequest>> {
    let (parts, body) = req.into_parts();
    let authority = match parts.uri.authority() {
        Some(a) => a.to_string(),
        None => match parts.headers.get(http::header::HOST) {
            Some(h) => h
                .to_str()
                .map_err(|_| Error::msg("the host header is not valid text"))?
                .to_string(),
            None => String::new(),
        },
    };
    let req = IncomingRequest {
        method: parts.method,
        uri: parts.uri,
        scheme,
        authority,
        headers: Fields::new_immutable(parts.headers),
        body: Some(IncomingBody::new(body, limit)),
    };
    Ok(table.push(req)?)
}

/// Adds a `response-outparam` to `table`: `tx` gets what the guest sets (and is dropped
/// when the outparam is dropped without being set).
pub fn new_response_outparam(
    table: &mut ResourceTable,
    tx: oneshot::Sender<ResponseResult>,
) -> Result<Resource<ResponseOutparam>> {
    Ok(table.push(ResponseOutparam(tx))?)
}

fn delete<T: WasiView, R: 'static>(mut store: StoreContextMut<'_, T>, rep: u32) -> Result<()> {
    store
        .data_mut()
        .ctx()
        .table
        .delete(Resource::<R>::new_own(rep))?;
    Ok(())
}

fn table<'a, T: WasiView>(s: &'a mut StoreContextMut<'_, T>) -> &'a mut ResourceTable {
    s.data_mut().ctx().table
}

/// A `fields` change as the guest sees it: `header-error`, or a trap.
fn header_result(r: std::result::Result<(), FieldsError>) -> Result<(Result<(), HeaderError>,)> {
    match r {
        Ok(()) => Ok((Ok(()),)),
        Err(FieldsError::Header(h)) => Ok((Err(h),)),
        Err(FieldsError::Trap(e)) => Err(e),
    }
}

fn duration(d: Option<u64>) -> Option<Duration> {
    d.map(Duration::from_nanos)
}

fn nanos(d: Option<Duration>) -> Option<u64> {
    d.map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

type Res<T> = Resource<T>;
type Unit = std::result::Result<(), ()>;

pub(super) fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    add_types(linker)?;
    let mut handler = linker.instance(&name("http/outgoing-handler"))?;
    handler.func_wrap(
        "handle",
        |mut s, (req, opts): (Res<OutgoingRequest>, Option<Res<RequestOptions>>)| {
            let t = table(&mut s);
            let options = match &opts {
                Some(o) => *t.get(o)?,
                None => RequestOptions::default(),
            };
            let req = t.delete(req)?;
            let r = outgoing_request(req).map(|req| {
                let (done, response) = pending();
                body::spawn(async move { done.complete(client::send(req, options).await) });
                FutureIncomingResponse {
                    response,
                    consumed: false,
                }
            });
            Ok((match r {
                Ok(f) => Ok(t.push(f)?),
                Err(e) => Err(e),
            },))
        },
    )?;
    Ok(())
}

/// The hyper request for an `outgoing-request`, checked as wasmtime does before sending.
fn outgoing_request(
    req: OutgoingRequest,
) -> std::result::Result<http::Request<HyperBody>, ErrorCode> {
    let len = fields::content_length(req.headers.map())
        .map_err(|_| ErrorCode::internal("invalid `content-length` header"))?;
    if req.body.is_none() && len.is_some_and(|n| n != 0) {
        return Err(ErrorCode::HttpRequestBodySize(Some(0)));
    }
    let method =
        http::Method::try_from(&req.method).map_err(|_| ErrorCode::HttpRequestMethodInvalid)?;
    let scheme = match req.scheme.unwrap_or(Scheme::Http) {
        Scheme::Http => http::uri::Scheme::HTTP,
        Scheme::Https => http::uri::Scheme::HTTPS,
        Scheme::Other(s) => s.parse().map_err(|_| ErrorCode::HttpProtocolError)?,
    };
    let authority = req.authority.unwrap_or_default();
    let mut uri = http::Uri::builder()
        .scheme(scheme)
        .authority(authority.as_str());
    if let Some(p) = &req.path_with_query {
        uri = uri.path_and_query(p.as_str());
    }
    let uri = uri.build().map_err(|_| ErrorCode::HttpRequestUriInvalid)?;
    let mut builder = http::Request::builder()
        .method(method)
        .uri(uri)
        .header(http::header::HOST, authority.as_str());
    for (k, v) in req.headers.map() {
        builder = builder.header(k, v);
    }
    let body = req.body.unwrap_or_else(empty_body);
    builder.body(body).map_err(ErrorCode::internal)
}

/// An empty body.
pub fn empty_body() -> HyperBody {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed()
}

/// `path-with-query` is valid when empty or starting with `/` or `?` (never an absolute URI).
fn valid_path_with_query(p: &str) -> bool {
    (p.is_empty() || p.starts_with('/') || p.starts_with('?'))
        && http::uri::Builder::new().path_and_query(p).build().is_ok()
}

fn add_types<T: WasiView + 'static>(linker: &mut Linker<T>) -> Result<()> {
    let mut types = linker.instance(&name("http/types"))?;
    macro_rules! resource {
        ($name:literal, $ty:ty) => {
            types.resource($name, ResourceType::host::<$ty>(), delete::<T, $ty>)?;
        };
    }
    resource!("fields", Fields);
    resource!("incoming-request", IncomingRequest);
    resource!("outgoing-request", OutgoingRequest);
    resource!("request-options", RequestOptions);
    resource!("response-outparam", ResponseOutparam);
    resource!("incoming-response", IncomingResponse);
    resource!("incoming-body", IncomingBody);
    resource!("future-trailers", FutureTrailers);
    resource!("outgoing-response", OutgoingResponse);
    resource!("outgoing-body", OutgoingBody);
    resource!("future-incoming-response", FutureIncomingResponse);

    types.func_wrap("http-error-code", |mut s, (err,): (Res<IoError>,)| {
        Ok((ErrorCode::from_io(&table(&mut s).get(&err)?.0),))
    })?;

    // fields
    types.func_wrap("[constructor]fields", |mut s, (): ()| {
        Ok((table(&mut s).push(Fields::new_mutable())?,))
    })?;
    types.func_wrap(
        "[static]fields.from-list",
        |mut s, (entries,): (Vec<(String, Vec<u8>)>,)| {
            let mut f = Fields::new_mutable();
            for (n, v) in entries {
                match f.append(&n, v) {
                    Ok(()) => {}
                    Err(FieldsError::Header(h)) => return Ok((Err(h),)),
                    Err(FieldsError::Trap(e)) => return Err(e),
                }
            }
            Ok((Ok(table(&mut s).push(f)?),))
        },
    )?;
    types.func_wrap(
        "[method]fields.get",
        |mut s, (this, n): (Res<Fields>, String)| Ok((table(&mut s).get(&this)?.get(&n),)),
    )?;
    types.func_wrap(
        "[method]fields.has",
        |mut s, (this, n): (Res<Fields>, String)| Ok((table(&mut s).get(&this)?.has(&n),)),
    )?;
    types.func_wrap(
        "[method]fields.set",
        |mut s, (this, n, v): (Res<Fields>, String, Vec<Vec<u8>>)| {
            header_result(table(&mut s).get_mut(&this)?.set(&n, v))
        },
    )?;
    types.func_wrap(
        "[method]fields.delete",
        |mut s, (this, n): (Res<Fields>, String)| {
            header_result(table(&mut s).get_mut(&this)?.delete(&n))
        },
    )?;
    types.func_wrap(
        "[method]fields.append",
        |mut s, (this, n, v): (Res<Fields>, String, Vec<u8>)| {
            header_result(table(&mut s).get_mut(&this)?.append(&n, v))
        },
    )?;
    types.func_wrap(
        "[method]fields.entries",
        |mut s, (this,): (Res<Fields>,)| Ok((table(&mut s).get(&this)?.entries(),)),
    )?;
    types.func_wrap("[method]fields.clone", |mut s, (this,): (Res<Fields>,)| {
        let t = table(&mut s);
        let copy = t.get(&this)?.mutable_copy();
        Ok((t.push(copy)?,))
    })?;

    // incoming-request
    types.func_wrap(
        "[method]incoming-request.method",
        |mut s, (this,): (Res<IncomingRequest>,)| {
            Ok((Method::from(&table(&mut s).get(&this)?.method),))
        },
    )?;
    types.func_wrap(
        "[method]incoming-request.path-with-query",
        |mut s, (this,): (Res<IncomingRequest>,)| {
            let r = table(&mut s).get(&this)?;
            Ok((r.uri.path_and_query().map(|p| p.as_str().to_string()),))
        },
    )?;
    types.func_wrap(
        "[method]incoming-request.scheme",
        |mut s, (this,): (Res<IncomingRequest>,)| {
            Ok((Some(table(&mut s).get(&this)?.scheme.clone()),))
        },
    )?;
    types.func_wrap(
        "[method]incoming-request.authority",
        |mut s, (this,): (Res<IncomingRequest>,)| {
            Ok((Some(table(&mut s).get(&this)?.authority.clone()),))
        },
    )?;
    types.func_wrap(
        "[method]incoming-request.headers",
        |mut s, (this,): (Res<IncomingRequest>,)| {
            let t = table(&mut s);
            let h = t.get(&this)?.headers.clone();
            Ok((t.push(h)?,))
        },
    )?;
    types.func_wrap(
        "[method]incoming-request.consume",
        |mut s, (this,): (Res<IncomingRequest>,)| {
            let t = table(&mut s);
            Ok((match t.get_mut(&this)?.body.take() {
                Some(b) => Ok(t.push(b)?),
                None => Err(()),
            },))
        },
    )?;

    // outgoing-request
    types.func_wrap(
        "[constructor]outgoing-request",
        |mut s, (headers,): (Res<Fields>,)| {
            let t = table(&mut s);
            let mut headers = t.delete(headers)?;
            headers.set_immutable();
            Ok((t.push(OutgoingRequest {
                method: Method::Get,
                scheme: None,
                authority: None,
                path_with_query: None,
                headers,
                body: None,
            })?,))
        },
    )?;
    types.func_wrap(
        "[method]outgoing-request.body",
        |mut s, (this,): (Res<OutgoingRequest>,)| {
            let t = table(&mut s);
            let req = t.get_mut(&this)?;
            if req.body.is_some() {
                return Ok((Err(()),));
            }
            let Ok(len) = fields::content_length(req.headers.map()) else {
                return Ok((Err(()),));
            };
            let (body, hyper) = OutgoingBody::new(BodyContext::Request, len);
            req.body = Some(hyper);
            Ok((Ok(t.push(body)?),))
        },
    )?;
    types.func_wrap(
        "[method]outgoing-request.method",
        |mut s, (this,): (Res<OutgoingRequest>,)| Ok((table(&mut s).get(&this)?.method.clone(),)),
    )?;
    types.func_wrap(
        "[method]outgoing-request.set-method",
        |mut s, (this, m): (Res<OutgoingRequest>, Method)| {
            if let Method::Other(o) = &m {
                if http::Method::from_bytes(o.as_bytes()).is_err() {
                    return Ok((Unit::Err(()),));
                }
            }
            table(&mut s).get_mut(&this)?.method = m;
            Ok((Ok(()),))
        },
    )?;
    types.func_wrap(
        "[method]outgoing-request.path-with-query",
        |mut s, (this,): (Res<OutgoingRequest>,)| {
            Ok((table(&mut s).get(&this)?.path_with_query.clone(),))
        },
    )?;
    types.func_wrap(
        "[method]outgoing-request.set-path-with-query",
        |mut s, (this, p): (Res<OutgoingRequest>, Option<String>)| {
            if p.as_deref().is_some_and(|p| !valid_path_with_query(p)) {
                return Ok((Unit::Err(()),));
            }
            table(&mut s).get_mut(&this)?.path_with_query = p;
            Ok((Ok(()),))
        },
    )?;
    types.func_wrap(
        "[method]outgoing-request.scheme",
        |mut s, (this,): (Res<OutgoingRequest>,)| Ok((table(&mut s).get(&this)?.scheme.clone(),)),
    )?;
    types.func_wrap(
        "[method]outgoing-request.set-scheme",
        |mut s, (this, scheme): (Res<OutgoingRequest>, Option<Scheme>)| {
            if let Some(Scheme::Other(o)) = &scheme {
                if o.parse::<http::uri::Scheme>().is_err() {
                    return Ok((Unit::Err(()),));
                }
            }
            table(&mut s).get_mut(&this)?.scheme = scheme;
            Ok((Ok(()),))
        },
    )?;
    types.func_wrap(
        "[method]outgoing-request.authority",
        |mut s, (this,): (Res<OutgoingRequest>,)| {
            Ok((table(&mut s).get(&this)?.authority.clone(),))
        },
    )?;
    types.func_wrap(
        "[method]outgoing-request.set-authority",
        |mut s, (this, a): (Res<OutgoingRequest>, Option<String>)| {
            if let Some(a) = &a {
                if a.parse::<http::uri::Authority>().is_err() {
                    return Ok((Unit::Err(()),));
                }
            }
            table(&mut s).get_mut(&this)?.authority = a;
            Ok((Ok(()),))
        },
    )?;
    types.func_wrap(
        "[method]outgoing-request.headers",
        |mut s, (this,): (Res<OutgoingRequest>,)| {
            let t = table(&mut s);
            let h = t.get(&this)?.headers.clone();
            Ok((t.push(h)?,))
        },
    )?;

    // request-options
    types.func_wrap("[constructor]request-options", |mut s, (): ()| {
        Ok((table(&mut s).push(RequestOptions::default())?,))
    })?;
    type Get = fn(&RequestOptions) -> Option<Duration>;
    type Set = fn(&mut RequestOptions, Option<Duration>);
    let accessors: [(&str, &str, Get, Set); 3] = [
        (
            "[method]request-options.connect-timeout",
            "[method]request-options.set-connect-timeout",
            |o| o.connect_timeout,
            |o, d| o.connect_timeout = d,
        ),
        (
            "[method]request-options.first-byte-timeout",
            "[method]request-options.set-first-byte-timeout",
            |o| o.first_byte_timeout,
            |o, d| o.first_byte_timeout = d,
        ),
        (
            "[method]request-options.between-bytes-timeout",
            "[method]request-options.set-between-bytes-timeout",
            |o| o.between_bytes_timeout,
            |o, d| o.between_bytes_timeout = d,
        ),
    ];
    for (get, set, getter, setter) in accessors {
        types.func_wrap(get, move |mut s, (this,): (Res<RequestOptions>,)| {
            Ok((nanos(getter(table(&mut s).get(&this)?)),))
        })?;
        types.func_wrap(
            set,
            move |mut s, (this, d): (Res<RequestOptions>, Option<u64>)| {
                setter(table(&mut s).get_mut(&this)?, duration(d));
                Ok((Unit::Ok(()),))
            },
        )?;
    }

    // response-outparam
    types.func_wrap(
        "[method]response-outparam.send-informational",
        |_s,
         (_this, _status, _headers): (Res<ResponseOutparam>, u16, Res<Fields>)|
         -> Result<(std::result::Result<(), ErrorCode>,)> {
            Err(Error::msg(
                "response-outparam.send-informational: not implemented",
            ))
        },
    )?;
    types.func_wrap(
        "[static]response-outparam.set",
        |mut s,
         (this, resp): (
            Res<ResponseOutparam>,
            std::result::Result<Res<OutgoingResponse>, ErrorCode>,
        )| {
            let t = table(&mut s);
            let value = match resp {
                Ok(r) => {
                    let r = t.delete(r)?;
                    let mut resp = http::Response::new(r.body.unwrap_or_else(empty_body));
                    *resp.status_mut() = r.status;
                    *resp.headers_mut() = r.headers.into_map();
                    Ok(resp)
                }
                Err(e) => Err(e),
            };
            let out = t.delete(this)?;
            let _ = out.0.send(value);
            Ok(())
        },
    )?;

    // incoming-response
    types.func_wrap(
        "[method]incoming-response.status",
        |mut s, (this,): (Res<IncomingResponse>,)| Ok((table(&mut s).get(&this)?.status,)),
    )?;
    types.func_wrap(
        "[method]incoming-response.headers",
        |mut s, (this,): (Res<IncomingResponse>,)| {
            let t = table(&mut s);
            let h = t.get(&this)?.headers.clone();
            Ok((t.push(h)?,))
        },
    )?;
    types.func_wrap(
        "[method]incoming-response.consume",
        |mut s, (this,): (Res<IncomingResponse>,)| {
            let t = table(&mut s);
            Ok((match t.get_mut(&this)?.body.take() {
                Some(b) => Ok(t.push(IncomingBody::new(b, None))?),
                None => Err(()),
            },))
        },
    )?;

    // incoming-body
    types.func_wrap(
        "[method]incoming-body.stream",
        |mut s, (this,): (Res<IncomingBody>,)| {
            let t = table(&mut s);
            Ok((match t.get_mut(&this)?.take_stream() {
                Some(st) => Ok(t.push_child(InputStream::new(st), &this)?),
                None => Err(()),
            },))
        },
    )?;
    types.func_wrap(
        "[static]incoming-body.finish",
        |mut s, (this,): (Res<IncomingBody>,)| {
            let t = table(&mut s);
            let body = t.delete(this)?;
            Ok((t.push(body.into_trailers())?,))
        },
    )?;

    // future-trailers
    types.func_wrap(
        "[method]future-trailers.subscribe",
        |mut s, (this,): (Res<FutureTrailers>,)| -> Result<(Res<Pollable>,)> {
            Ok((subscribe(table(&mut s), &this)?,))
        },
    )?;
    types.func_wrap(
        "[method]future-trailers.get",
        |mut s, (this,): (Res<FutureTrailers>,)| {
            let t = table(&mut s);
            type Got = Option<
                std::result::Result<std::result::Result<Option<Res<Fields>>, ErrorCode>, ()>,
            >;
            let got: Got = match t.get_mut(&this)?.take() {
                TrailersState::Pending => None,
                TrailersState::Consumed => Some(Err(())),
                TrailersState::Ready(Ok(None)) => Some(Ok(Ok(None))),
                TrailersState::Ready(Ok(Some(map))) => {
                    Some(Ok(Ok(Some(t.push(Fields::new_immutable(map))?))))
                }
                TrailersState::Ready(Err(e)) => Some(Ok(Err(e))),
            };
            Ok((got,))
        },
    )?;

    // outgoing-response
    types.func_wrap(
        "[constructor]outgoing-response",
        |mut s, (headers,): (Res<Fields>,)| {
            let t = table(&mut s);
            let mut headers = t.delete(headers)?;
            headers.set_immutable();
            Ok((t.push(OutgoingResponse {
                status: http::StatusCode::OK,
                headers,
                body: None,
            })?,))
        },
    )?;
    types.func_wrap(
        "[method]outgoing-response.status-code",
        |mut s, (this,): (Res<OutgoingResponse>,)| Ok((table(&mut s).get(&this)?.status.as_u16(),)),
    )?;
    types.func_wrap(
        "[method]outgoing-response.set-status-code",
        |mut s, (this, code): (Res<OutgoingResponse>, u16)| {
            let Ok(code) = http::StatusCode::from_u16(code) else {
                return Ok((Unit::Err(()),));
            };
            table(&mut s).get_mut(&this)?.status = code;
            Ok((Ok(()),))
        },
    )?;
    types.func_wrap(
        "[method]outgoing-response.headers",
        |mut s, (this,): (Res<OutgoingResponse>,)| {
            let t = table(&mut s);
            let h = t.get(&this)?.headers.clone();
            Ok((t.push(h)?,))
        },
    )?;
    types.func_wrap(
        "[method]outgoing-response.body",
        |mut s, (this,): (Res<OutgoingResponse>,)| {
            let t = table(&mut s);
            let resp = t.get_mut(&this)?;
            if resp.body.is_some() {
                return Ok((Err(()),));
            }
            let Ok(len) = fields::content_length(resp.headers.map()) else {
                return Ok((Err(()),));
            };
            let (body, hyper) = OutgoingBody::new(BodyContext::Response, len);
            resp.body = Some(hyper);
            Ok((Ok(t.push(body)?),))
        },
    )?;

    // outgoing-body
    types.func_wrap(
        "[method]outgoing-body.write",
        |mut s, (this,): (Res<OutgoingBody>,)| {
            let t = table(&mut s);
            Ok((match t.get_mut(&this)?.take_stream() {
                Some(st) => Ok(t.push_child(OutputStream::new(st), &this)?),
                None => Err(()),
            },))
        },
    )?;
    types.func_wrap(
        "[static]outgoing-body.finish",
        |mut s, (this, trailers): (Res<OutgoingBody>, Option<Res<Fields>>)| {
            let t = table(&mut s);
            let body = t.delete(this)?;
            let trailers = match trailers {
                Some(tr) => Some(t.delete(tr)?.into_map()),
                None => None,
            };
            Ok((body.finish(trailers),))
        },
    )?;

    // future-incoming-response
    types.func_wrap(
        "[method]future-incoming-response.subscribe",
        |mut s, (this,): (Res<FutureIncomingResponse>,)| -> Result<(Res<Pollable>,)> {
            Ok((subscribe(table(&mut s), &this)?,))
        },
    )?;
    types.func_wrap(
        "[method]future-incoming-response.get",
        |mut s, (this,): (Res<FutureIncomingResponse>,)| {
            let t = table(&mut s);
            type Got = Option<
                std::result::Result<std::result::Result<Res<IncomingResponse>, ErrorCode>, ()>,
            >;
            let f = t.get_mut(&this)?;
            if f.consumed {
                return Ok((Got::Some(Err(())),));
            }
            let got: Got = match f.response.try_take() {
                None => None,
                Some(r) => {
                    f.consumed = true;
                    match r.unwrap_or_else(|| Err(ErrorCode::internal("the request task ended"))) {
                        Ok(resp) => {
                            let (parts, body) = resp.into_parts();
                            let r = IncomingResponse {
                                status: parts.status.as_u16(),
                                headers: Fields::new_immutable(parts.headers),
                                body: Some(body),
                            };
                            Some(Ok(Ok(t.push(r)?)))
                        }
                        Err(e) => Some(Ok(Err(e))),
                    }
                }
            };
            Ok((got,))
        },
    )?;
    Ok(())
}
