//! The value types of `wasi:http/types` as Rust types: `method`, `scheme`, `error-code`,
//! `header-error`, and their conversions to and from component [`Val`]s.

use crate::component::types::Type;
use crate::component::{ComponentType, Lift, Lower, Val};
use crate::error::{Error, Result};
use std::fmt;

fn mismatch(expected: &str, ty: &Type) -> Error {
    Error::msg(format!("type mismatch: expected {expected}, found {ty}"))
}

/// Checks that `ty` is a variant with exactly these case names, in order.
fn check_cases(expected: &str, ty: &Type, names: &[&str]) -> Result<()> {
    match ty {
        Type::Variant(v) if v.cases().map(|(n, _)| n).eq(names.iter().copied()) => Ok(()),
        _ => Err(mismatch(expected, ty)),
    }
}

fn some<T: Lower>(v: Option<&T>) -> Result<Val> {
    Ok(Val::Option(match v {
        Some(x) => Some(Box::new(x.lower()?)),
        None => None,
    }))
}

fn case(name: &str, payload: Option<Val>) -> Val {
    Val::Variant(name.to_string(), payload.map(Box::new))
}

/// `method`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// `get`
    Get,
    /// `head`
    Head,
    /// `post`
    Post,
    /// `put`
    Put,
    /// `delete`
    Delete,
    /// `connect`
    Connect,
    /// `options`
    Options,
    /// `trace`
    Trace,
    /// `patch`
    Patch,
    /// `other(string)`
    Other(String),
}

const METHODS: [&str; 10] = [
    "get", "head", "post", "put", "delete", "connect", "options", "trace", "patch", "other",
];

impl From<&http::Method> for Method {
    fn from(m: &http::Method) -> Self {
        match *m {
            http::Method::GET => Method::Get,
            http::Method::HEAD => Method::Head,
            http::Method::POST => Method::Post,
            http::Method::PUT => Method::Put,
            http::Method::DELETE => Method::Delete,
            http::Method::CONNECT => Method::Connect,
            http::Method::OPTIONS => Method::Options,
            http::Method::TRACE => Method::Trace,
            http::Method::PATCH => Method::Patch,
            _ => Method::Other(m.to_string()),
        }
    }
}

impl TryFrom<&Method> for http::Method {
    type Error = http::method::InvalidMethod;
    fn try_from(m: &Method) -> std::result::Result<Self, Self::Error> {
        Ok(match m {
            Method::Get => http::Method::GET,
            Method::Head => http::Method::HEAD,
            Method::Post => http::Method::POST,
            Method::Put => http::Method::PUT,
            Method::Delete => http::Method::DELETE,
            Method::Connect => http::Method::CONNECT,
            Method::Options => http::Method::OPTIONS,
            Method::Trace => http::Method::TRACE,
            Method::Patch => http::Method::PATCH,
            Method::Other(s) => http::Method::from_bytes(s.as_bytes())?,
        })
    }
}

impl ComponentType for Method {
    fn typecheck(ty: &Type) -> Result<()> {
        check_cases("method", ty, &METHODS)
    }
}

impl Lower for Method {
    fn lower(&self) -> Result<Val> {
        Ok(match self {
            Method::Other(s) => case("other", Some(Val::String(s.clone()))),
            m => {
                let i = [
                    Method::Get,
                    Method::Head,
                    Method::Post,
                    Method::Put,
                    Method::Delete,
                    Method::Connect,
                    Method::Options,
                    Method::Trace,
                    Method::Patch,
                ]
                .iter()
                .position(|x| x == m)
                .unwrap_or(0);
                case(METHODS[i], None)
            }
        })
    }
}

impl Lift for Method {
    fn lift(v: Val) -> Result<Self> {
        match v {
            Val::Variant(n, p) => Ok(match (n.as_str(), p) {
                ("get", None) => Method::Get,
                ("head", None) => Method::Head,
                ("post", None) => Method::Post,
                ("put", None) => Method::Put,
                ("delete", None) => Method::Delete,
                ("connect", None) => Method::Connect,
                ("options", None) => Method::Options,
                ("trace", None) => Method::Trace,
                ("patch", None) => Method::Patch,
                ("other", Some(s)) => Method::Other(String::lift(*s)?),
                (n, _) => return Err(Error::msg(format!("not a method: {n}"))),
            }),
            other => Err(Error::msg(format!("not a method: {other}"))),
        }
    }
}

/// `scheme`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// `HTTP`
    Http,
    /// `HTTPS`
    Https,
    /// `other(string)`
    Other(String),
}

impl ComponentType for Scheme {
    fn typecheck(ty: &Type) -> Result<()> {
        check_cases("scheme", ty, &["HTTP", "HTTPS", "other"])
    }
}

impl Lower for Scheme {
    fn lower(&self) -> Result<Val> {
        Ok(match self {
            Scheme::Http => case("HTTP", None),
            Scheme::Https => case("HTTPS", None),
            Scheme::Other(s) => case("other", Some(Val::String(s.clone()))),
        })
    }
}

impl Lift for Scheme {
    fn lift(v: Val) -> Result<Self> {
        match v {
            Val::Variant(n, p) => Ok(match (n.as_str(), p) {
                ("HTTP", None) => Scheme::Http,
                ("HTTPS", None) => Scheme::Https,
                ("other", Some(s)) => Scheme::Other(String::lift(*s)?),
                (n, _) => return Err(Error::msg(format!("not a scheme: {n}"))),
            }),
            other => Err(Error::msg(format!("not a scheme: {other}"))),
        }
    }
}

/// `header-error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// `invalid-syntax`
    InvalidSyntax,
    /// `forbidden`
    Forbidden,
    /// `immutable`
    Immutable,
}

const HEADER_ERRORS: [&str; 3] = ["invalid-syntax", "forbidden", "immutable"];

impl ComponentType for HeaderError {
    fn typecheck(ty: &Type) -> Result<()> {
        check_cases("header-error", ty, &HEADER_ERRORS)
    }
}

impl Lower for HeaderError {
    fn lower(&self) -> Result<Val> {
        Ok(case(HEADER_ERRORS[*self as usize], None))
    }
}

impl Lift for HeaderError {
    fn lift(v: Val) -> Result<Self> {
        match v {
            Val::Variant(n, None) => match n.as_str() {
                "invalid-syntax" => Ok(HeaderError::InvalidSyntax),
                "forbidden" => Ok(HeaderError::Forbidden),
                "immutable" => Ok(HeaderError::Immutable),
                _ => Err(Error::msg(format!("not a header-error: {n}"))),
            },
            other => Err(Error::msg(format!("not a header-error: {other}"))),
        }
    }
}

/// `field-size-payload`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSizePayload {
    /// `field-name`
    pub field_name: Option<String>,
    /// `field-size`
    pub field_size: Option<u32>,
}

/// `error-code`: every case of the WIT variant, with its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum ErrorCode {
    DnsTimeout,
    DnsError {
        rcode: Option<String>,
        info_code: Option<u16>,
    },
    DestinationNotFound,
    DestinationUnavailable,
    DestinationIpProhibited,
    DestinationIpUnroutable,
    ConnectionRefused,
    ConnectionTerminated,
    ConnectionTimeout,
    ConnectionReadTimeout,
    ConnectionWriteTimeout,
    ConnectionLimitReached,
    TlsProtocolError,
    TlsCertificateError,
    TlsAlertReceived {
        alert_id: Option<u8>,
        alert_message: Option<String>,
    },
    HttpRequestDenied,
    HttpRequestLengthRequired,
    HttpRequestBodySize(Option<u64>),
    HttpRequestMethodInvalid,
    HttpRequestUriInvalid,
    HttpRequestUriTooLong,
    HttpRequestHeaderSectionSize(Option<u32>),
    HttpRequestHeaderSize(Option<FieldSizePayload>),
    HttpRequestTrailerSectionSize(Option<u32>),
    HttpRequestTrailerSize(FieldSizePayload),
    HttpResponseIncomplete,
    HttpResponseHeaderSectionSize(Option<u32>),
    HttpResponseHeaderSize(FieldSizePayload),
    HttpResponseBodySize(Option<u64>),
    HttpResponseTrailerSectionSize(Option<u32>),
    HttpResponseTrailerSize(FieldSizePayload),
    HttpResponseTransferCoding(Option<String>),
    HttpResponseContentCoding(Option<String>),
    HttpResponseTimeout,
    HttpUpgradeFailed,
    HttpProtocolError,
    LoopDetected,
    ConfigurationError,
    InternalError(Option<String>),
}

/// The case names of `error-code`, in WIT order.
pub const ERROR_CODES: [&str; 39] = [
    "DNS-timeout",
    "DNS-error",
    "destination-not-found",
    "destination-unavailable",
    "destination-IP-prohibited",
    "destination-IP-unroutable",
    "connection-refused",
    "connection-terminated",
    "connection-timeout",
    "connection-read-timeout",
    "connection-write-timeout",
    "connection-limit-reached",
    "TLS-protocol-error",
    "TLS-certificate-error",
    "TLS-alert-received",
    "HTTP-request-denied",
    "HTTP-request-length-required",
    "HTTP-request-body-size",
    "HTTP-request-method-invalid",
    "HTTP-request-URI-invalid",
    "HTTP-request-URI-too-long",
    "HTTP-request-header-section-size",
    "HTTP-request-header-size",
    "HTTP-request-trailer-section-size",
    "HTTP-request-trailer-size",
    "HTTP-response-incomplete",
    "HTTP-response-header-section-size",
    "HTTP-response-header-size",
    "HTTP-response-body-size",
    "HTTP-response-trailer-section-size",
    "HTTP-response-trailer-size",
    "HTTP-response-transfer-coding",
    "HTTP-response-content-coding",
    "HTTP-response-timeout",
    "HTTP-upgrade-failed",
    "HTTP-protocol-error",
    "loop-detected",
    "configuration-error",
    "internal-error",
];

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self)
    }
}

impl std::error::Error for ErrorCode {}

impl ErrorCode {
    /// An `internal-error` with a message.
    pub fn internal(msg: impl fmt::Display) -> Self {
        ErrorCode::InternalError(Some(msg.to_string()))
    }

    /// The code behind an I/O error made by [`ErrorCode::into_io`], if it is one.
    pub fn from_io(e: &std::io::Error) -> Option<ErrorCode> {
        e.get_ref()?.downcast_ref::<ErrorCode>().cloned()
    }

    /// This code as an I/O error (a stream's `last-operation-failed`), recoverable by
    /// `http-error-code`.
    pub fn into_io(self) -> std::io::Error {
        std::io::Error::other(self)
    }

    fn index(&self) -> usize {
        use ErrorCode::*;
        match self {
            DnsTimeout => 0,
            DnsError { .. } => 1,
            DestinationNotFound => 2,
            DestinationUnavailable => 3,
            DestinationIpProhibited => 4,
            DestinationIpUnroutable => 5,
            ConnectionRefused => 6,
            ConnectionTerminated => 7,
            ConnectionTimeout => 8,
            ConnectionReadTimeout => 9,
            ConnectionWriteTimeout => 10,
            ConnectionLimitReached => 11,
            TlsProtocolError => 12,
            TlsCertificateError => 13,
            TlsAlertReceived { .. } => 14,
            HttpRequestDenied => 15,
            HttpRequestLengthRequired => 16,
            HttpRequestBodySize(_) => 17,
            HttpRequestMethodInvalid => 18,
            HttpRequestUriInvalid => 19,
            HttpRequestUriTooLong => 20,
            HttpRequestHeaderSectionSize(_) => 21,
            HttpRequestHeaderSize(_) => 22,
            HttpRequestTrailerSectionSize(_) => 23,
            HttpRequestTrailerSize(_) => 24,
            HttpResponseIncomplete => 25,
            HttpResponseHeaderSectionSize(_) => 26,
            HttpResponseHeaderSize(_) => 27,
            HttpResponseBodySize(_) => 28,
            HttpResponseTrailerSectionSize(_) => 29,
            HttpResponseTrailerSize(_) => 30,
            HttpResponseTransferCoding(_) => 31,
            HttpResponseContentCoding(_) => 32,
            HttpResponseTimeout => 33,
            HttpUpgradeFailed => 34,
            HttpProtocolError => 35,
            LoopDetected => 36,
            ConfigurationError => 37,
            InternalError(_) => 38,
        }
    }
}

fn field_size_val(p: &FieldSizePayload) -> Result<Val> {
    Ok(Val::Record(vec![
        ("field-name".into(), some(p.field_name.as_ref())?),
        ("field-size".into(), some(p.field_size.as_ref())?),
    ]))
}

fn record_fields(v: Val, what: &str) -> Result<Vec<Val>> {
    match v {
        Val::Record(f) => Ok(f.into_iter().map(|(_, v)| v).collect()),
        other => Err(Error::msg(format!("not a {what}: {other}"))),
    }
}

fn field_size_lift(v: Val) -> Result<FieldSizePayload> {
    let mut f = record_fields(v, "field-size-payload")?.into_iter();
    let mut next = || {
        f.next()
            .ok_or_else(|| Error::msg("field-size-payload: missing field"))
    };
    Ok(FieldSizePayload {
        field_name: Option::lift(next()?)?,
        field_size: Option::lift(next()?)?,
    })
}

impl ComponentType for ErrorCode {
    fn typecheck(ty: &Type) -> Result<()> {
        check_cases("error-code", ty, &ERROR_CODES)
    }
}

impl Lower for ErrorCode {
    fn lower(&self) -> Result<Val> {
        use ErrorCode::*;
        let payload = match self {
            DnsError { rcode, info_code } => Some(Val::Record(vec![
                ("rcode".into(), some(rcode.as_ref())?),
                ("info-code".into(), some(info_code.as_ref())?),
            ])),
            TlsAlertReceived {
                alert_id,
                alert_message,
            } => Some(Val::Record(vec![
                ("alert-id".into(), some(alert_id.as_ref())?),
                ("alert-message".into(), some(alert_message.as_ref())?),
            ])),
            HttpRequestBodySize(n) | HttpResponseBodySize(n) => Some(some(n.as_ref())?),
            HttpRequestHeaderSectionSize(n)
            | HttpRequestTrailerSectionSize(n)
            | HttpResponseHeaderSectionSize(n)
            | HttpResponseTrailerSectionSize(n) => Some(some(n.as_ref())?),
            HttpRequestHeaderSize(p) => Some(Val::Option(match p {
                Some(p) => Some(Box::new(field_size_val(p)?)),
                None => None,
            })),
            HttpRequestTrailerSize(p) | HttpResponseHeaderSize(p) | HttpResponseTrailerSize(p) => {
                Some(field_size_val(p)?)
            }
            HttpResponseTransferCoding(s) | HttpResponseContentCoding(s) | InternalError(s) => {
                Some(some(s.as_ref())?)
            }
            _ => None,
        };
        Ok(case(ERROR_CODES[self.index()], payload))
    }
}

impl Lift for ErrorCode {
    fn lift(v: Val) -> Result<Self> {
        use ErrorCode::*;
        let Val::Variant(name, payload) = v else {
            return Err(Error::msg(format!("not an error-code: {v}")));
        };
        let p = || -> Result<Val> {
            payload
                .clone()
                .map(|b| *b)
                .ok_or_else(|| Error::msg(format!("error-code {name}: missing payload")))
        };
        Ok(match name.as_str() {
            "DNS-timeout" => DnsTimeout,
            "DNS-error" => {
                let mut f = record_fields(p()?, "DNS-error-payload")?.into_iter();
                DnsError {
                    rcode: Option::lift(f.next().unwrap_or(Val::Option(None)))?,
                    info_code: Option::lift(f.next().unwrap_or(Val::Option(None)))?,
                }
            }
            "destination-not-found" => DestinationNotFound,
            "destination-unavailable" => DestinationUnavailable,
            "destination-IP-prohibited" => DestinationIpProhibited,
            "destination-IP-unroutable" => DestinationIpUnroutable,
            "connection-refused" => ConnectionRefused,
            "connection-terminated" => ConnectionTerminated,
            "connection-timeout" => ConnectionTimeout,
            "connection-read-timeout" => ConnectionReadTimeout,
            "connection-write-timeout" => ConnectionWriteTimeout,
            "connection-limit-reached" => ConnectionLimitReached,
            "TLS-protocol-error" => TlsProtocolError,
            "TLS-certificate-error" => TlsCertificateError,
            "TLS-alert-received" => {
                let mut f = record_fields(p()?, "TLS-alert-received-payload")?.into_iter();
                TlsAlertReceived {
                    alert_id: Option::lift(f.next().unwrap_or(Val::Option(None)))?,
                    alert_message: Option::lift(f.next().unwrap_or(Val::Option(None)))?,
                }
            }
            "HTTP-request-denied" => HttpRequestDenied,
            "HTTP-request-length-required" => HttpRequestLengthRequired,
            "HTTP-request-body-size" => HttpRequestBodySize(Option::lift(p()?)?),
            "HTTP-request-method-invalid" => HttpRequestMethodInvalid,
            "HTTP-request-URI-invalid" => HttpRequestUriInvalid,
            "HTTP-request-URI-too-long" => HttpRequestUriTooLong,
            "HTTP-request-header-section-size" => HttpRequestHeaderSectionSize(Option::lift(p()?)?),
            "HTTP-request-header-size" => HttpRequestHeaderSize(match p()? {
                Val::Option(Some(b)) => Some(field_size_lift(*b)?),
                _ => None,
            }),
            "HTTP-request-trailer-section-size" => {
                HttpRequestTrailerSectionSize(Option::lift(p()?)?)
            }
            "HTTP-request-trailer-size" => HttpRequestTrailerSize(field_size_lift(p()?)?),
            "HTTP-response-incomplete" => HttpResponseIncomplete,
            "HTTP-response-header-section-size" => {
                HttpResponseHeaderSectionSize(Option::lift(p()?)?)
            }
            "HTTP-response-header-size" => HttpResponseHeaderSize(field_size_lift(p()?)?),
            "HTTP-response-body-size" => HttpResponseBodySize(Option::lift(p()?)?),
            "HTTP-response-trailer-section-size" => {
                HttpResponseTrailerSectionSize(Option::lift(p()?)?)
            }
            "HTTP-response-trailer-size" => HttpResponseTrailerSize(field_size_lift(p()?)?),
            "HTTP-response-transfer-coding" => HttpResponseTransferCoding(Option::lift(p()?)?),
            "HTTP-response-content-coding" => HttpResponseContentCoding(Option::lift(p()?)?),
            "HTTP-response-timeout" => HttpResponseTimeout,
            "HTTP-upgrade-failed" => HttpUpgradeFailed,
            "HTTP-protocol-error" => HttpProtocolError,
            "loop-detected" => LoopDetected,
            "configuration-error" => ConfigurationError,
            "internal-error" => InternalError(Option::lift(p()?)?),
            n => return Err(Error::msg(format!("not an error-code: {n}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_round_trip() {
        let codes = [
            ErrorCode::DnsError {
                rcode: Some("x".into()),
                info_code: Some(3),
            },
            ErrorCode::ConnectionRefused,
            ErrorCode::HttpRequestBodySize(Some(5)),
            ErrorCode::HttpRequestHeaderSize(Some(FieldSizePayload {
                field_name: Some("a".into()),
                field_size: None,
            })),
            ErrorCode::HttpResponseTrailerSize(FieldSizePayload::default()),
            ErrorCode::InternalError(Some("boom".into())),
        ];
        for c in codes {
            assert_eq!(ErrorCode::lift(c.lower().unwrap()).unwrap(), c);
        }
        let io = ErrorCode::ConnectionTimeout.into_io();
        assert_eq!(ErrorCode::from_io(&io), Some(ErrorCode::ConnectionTimeout));
        for m in [Method::Patch, Method::Other("PURGE".into())] {
            assert_eq!(Method::lift(m.lower().unwrap()).unwrap(), m);
        }
    }
}
