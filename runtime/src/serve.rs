//! `wasmgate serve`: an HTTP/1.1 server (hyper, keep-alive, chunked bodies, trailers) that
//! hands each request to a component's `wasi:http/incoming-handler` export, or to its
//! `wasi:http/handler@0.3.x` export (WASI 0.3: `handle: async func(request) -> result<response,
//! error-code>`).
//!
//! As `wasmtime serve`, every request gets a fresh instance of the component, in a store of
//! its own; the guest runs on tokio's blocking pool (`spawn_blocking`) while its response
//! body streams back through a channel, so the server must run on a multi-threaded runtime.
//!
//! Limits: a request head bigger than [`ServeOptions::max_header_bytes`] is answered 431 (by
//! hyper), a body bigger than [`ServeOptions::max_body_bytes`] 413 (at once for a
//! `content-length`, else when the guest reads past the limit); a guest that traps before
//! it sets its response is answered 503, one that returns without setting it 500.
//!
//! A 0.3 `handle` gets a `request` whose body is read from hyper as the guest consumes it;
//! its response goes to hyper as soon as the export calls `task.return`
//! ([`Func::call_with_on_return`](crate::component::Func::call_with_on_return)) while the
//! instance's event loop keeps running on the blocking thread, so a body the guest writes
//! after returning streams out as written. An `error-code` is answered 500. Response
//! trailers are not sent yet.

use crate::component::{Component, Linker, Resource, ResourceTable, Val};
use crate::error::{Error, Result};
use crate::wasi::p2::http::{
    self as wasi_http, BodyLimit, HyperBody, IncomingRequest, ResponseOutparam, Scheme, TokioIo,
};
use crate::wasi::p2::{self, WasiCtxView, WasiView};
use crate::wasi::p3::http as p3_http;
use crate::wasi::WasiCtx;
use crate::{Engine, Store};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::oneshot;

/// Limits of the server.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// The most bytes of a request head (request line and headers): 431 past it.
    pub max_header_bytes: usize,
    /// The most bytes of a request body: 413 past it.
    pub max_body_bytes: u64,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            max_header_bytes: 64 * 1024,
            max_body_bytes: 64 * 1024 * 1024,
        }
    }
}

/// The store data of one request.
pub struct ServeHost {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for ServeHost {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

type MakeCtx = dyn Fn() -> Result<WasiCtx> + Send + Sync;

struct Shared {
    engine: Engine,
    component: Component,
    linker: Linker<ServeHost>,
    export: String,
    /// `export` is `wasi:http/handler@0.3.x`.
    p3: bool,
    make_ctx: Box<MakeCtx>,
    options: ServeOptions,
}

/// A component ready to serve requests.
#[derive(Clone)]
pub struct Server {
    shared: Arc<Shared>,
}

/// The export name of `wasi:http/incoming-handler` a component has, at any 0.2.x version.
pub fn incoming_handler_export(component: &Component) -> Option<&str> {
    component
        .exports()
        .map(|(n, _)| n)
        .find(|n| n.starts_with("wasi:http/incoming-handler@0.2."))
}

/// The export name of `wasi:http/handler` a component has, at any 0.3.x version.
pub fn handler_export(component: &Component) -> Option<&str> {
    component
        .exports()
        .map(|(n, _)| n)
        .find(|n| n.starts_with("wasi:http/handler@0.3."))
}

impl Server {
    /// A server for `component`; `make_ctx` gives each request's instance its WASI context.
    pub fn new(
        component: Component,
        make_ctx: impl Fn() -> Result<WasiCtx> + Send + Sync + 'static,
        options: ServeOptions,
    ) -> Result<Server> {
        let (export, p3) = match incoming_handler_export(&component) {
            Some(e) => (e.to_string(), false),
            None => match handler_export(&component) {
                Some(e) => (e.to_string(), true),
                None => {
                    return Err(Error::msg(
                        "the component does not export `wasi:http/incoming-handler` \
                         or `wasi:http/handler`",
                    ))
                }
            },
        };
        let engine = component.engine().clone();
        let mut linker = Linker::new(&engine);
        p2::add_to_linker(&mut linker)?;
        if p3 {
            crate::wasi::p3::add_to_linker(&mut linker)?;
        }
        Ok(Server {
            shared: Arc::new(Shared {
                engine,
                component,
                linker,
                export,
                p3,
                make_ctx: Box::new(make_ctx),
                options,
            }),
        })
    }

    /// Accepts connections on `listener` until an accept fails; each connection is served on
    /// its own task.
    pub async fn run(self, listener: tokio::net::TcpListener) -> Result<()> {
        loop {
            let (stream, _) = listener
                .accept()
                .await
                .map_err(|e| Error::msg(format!("accept: {e}")))?;
            let _ = stream.set_nodelay(true);
            let server = self.clone();
            let max_head = self.shared.options.max_header_bytes.max(8192);
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let server = server.clone();
                    async move { Ok::<_, Infallible>(server.handle(req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .max_buf_size(max_head)
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    }

    /// Answers one request.
    pub async fn handle(
        &self,
        req: http::Request<hyper::body::Incoming>,
    ) -> http::Response<HyperBody> {
        let limit = self.shared.options.max_body_bytes;
        match wasi_http::content_length(req.headers()) {
            Ok(Some(n)) if n > limit => return status(413, "request body too large\n"),
            _ => {}
        }
        let exceeded = Arc::new(AtomicBool::new(false));
        let body_limit = BodyLimit {
            max: limit,
            exceeded: exceeded.clone(),
        };
        if self.shared.p3 {
            return self.handle_p3(req, exceeded).await;
        }
        let req = req.map(|b| b.map_err(|e| wasi_http::hyper_error(&e)).boxed());
        let (tx, rx) = oneshot::channel();
        let shared = self.shared.clone();
        let guest = tokio::task::spawn_blocking(move || run_guest(&shared, req, body_limit, tx));
        let answer = rx.await;
        if exceeded.load(Ordering::SeqCst) {
            return status(413, "request body too large\n");
        }
        match answer {
            Ok(Ok(resp)) => resp,
            Ok(Err(code)) => status(500, &format!("the component answered {code}\n")),
            Err(_) => match guest.await {
                Ok(Err(e)) => {
                    eprintln!("error: {e}");
                    status(503, "the component failed\n")
                }
                Ok(Ok(())) => status(
                    500,
                    "the component did not set a response (response-outparam.set)\n",
                ),
                Err(_) => status(503, "the component failed\n"),
            },
        }
    }
}

impl Server {
    /// Answers one request with a `wasi:http/handler@0.3.x` export.
    async fn handle_p3(
        &self,
        req: http::Request<hyper::body::Incoming>,
        exceeded: Arc<AtomicBool>,
    ) -> http::Response<HyperBody> {
        let limit = usize::try_from(self.shared.options.max_body_bytes).unwrap_or(usize::MAX);
        let ex = exceeded.clone();
        let req = req.map(|b| {
            http_body_util::Limited::new(b, limit)
                .map_err(move |e| match e.downcast_ref::<hyper::Error>() {
                    Some(h) => wasi_http::hyper_error(h),
                    None => {
                        ex.store(true, Ordering::SeqCst);
                        wasi_http::ErrorCode::HttpRequestBodySize(None)
                    }
                })
                .boxed()
        });
        let (tx, rx) = oneshot::channel();
        let shared = self.shared.clone();
        let guest = tokio::task::spawn_blocking(move || run_guest_p3(&shared, req, tx));
        let answer = rx.await;
        if exceeded.load(Ordering::SeqCst) {
            return status(413, "request body too large\n");
        }
        match answer {
            Ok(Ok(resp)) => resp,
            Ok(Err(code)) => status(500, &format!("the component answered {code}\n")),
            Err(_) => {
                match guest.await {
                    Ok(Err(e)) => eprintln!("error: {e}"),
                    Ok(Ok(())) => eprintln!("error: the component returned no response"),
                    Err(_) => {}
                }
                status(503, "the component failed\n")
            }
        }
    }
}

/// The answer of a 0.3 `handle`: a response, or the `error-code` it gave.
type P3Answer = std::result::Result<http::Response<HyperBody>, String>;

fn run_guest_p3(
    shared: &Shared,
    req: http::Request<HyperBody>,
    tx: oneshot::Sender<P3Answer>,
) -> Result<()> {
    let host = ServeHost {
        wasi: (shared.make_ctx)()?,
        table: ResourceTable::new(),
    };
    let mut store = Store::new(&shared.engine, host);
    let instance = shared.linker.instantiate(&mut store, &shared.component)?;
    let req = p3_http::incoming_request(&mut store.data_mut().table, req)?;
    let idx = instance
        .get_export_index(&store, None, &shared.export)
        .and_then(|i| instance.get_export_index(&store, Some(&i), "handle"))
        .ok_or_else(|| Error::msg(format!("`{}` exports no `handle`", shared.export)))?;
    let handle = instance
        .get_func(&store, &idx)
        .ok_or_else(|| Error::msg(format!("`{}#handle` is not a function", shared.export)))?;
    let mut results = [Val::Bool(false)];
    // The hook runs at `task.return`; the call goes on until the guest's task exits (its
    // body stream and trailers written), which is what keeps the response body flowing.
    handle.call_with_on_return(
        &mut store,
        &[req],
        &mut results,
        move |host: &mut ServeHost, vals| {
            let v = vals
                .first()
                .ok_or_else(|| Error::msg("`handle` returned nothing"))?;
            let _ = tx.send(p3_http::outgoing_response(&mut host.table, v)?);
            Ok(())
        },
    )?;
    Ok(())
}

fn run_guest(
    shared: &Shared,
    req: http::Request<HyperBody>,
    limit: BodyLimit,
    tx: oneshot::Sender<wasi_http::ResponseResult>,
) -> Result<()> {
    let host = ServeHost {
        wasi: (shared.make_ctx)()?,
        table: ResourceTable::new(),
    };
    let mut store = Store::new(&shared.engine, host);
    let instance = shared.linker.instantiate(&mut store, &shared.component)?;
    let table = &mut store.data_mut().table;
    let req = wasi_http::new_incoming_request(table, req, Scheme::Http, Some(limit))?;
    let out = wasi_http::new_response_outparam(table, tx)?;
    let idx = instance
        .get_export_index(&store, None, &shared.export)
        .and_then(|i| instance.get_export_index(&store, Some(&i), "handle"))
        .ok_or_else(|| Error::msg(format!("`{}` exports no `handle`", shared.export)))?;
    let handle = instance
        .get_typed_func::<(Resource<IncomingRequest>, Resource<ResponseOutparam>), ()>(
            &store, &idx,
        )?;
    handle.call(&mut store, (req, out))?;
    Ok(())
}

fn status(code: u16, msg: &str) -> http::Response<HyperBody> {
    let mut r = http::Response::new(
        Full::new(Bytes::from(msg.to_string()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *r.status_mut() =
        http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    r
}

/// Binds `addr` (a multi-threaded tokio runtime must be current).
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::msg(format!("failed to bind to address '{addr}': {e}")))
}
