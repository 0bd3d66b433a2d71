//! Responses cross the wire in a shape of our own, because tarpc 0.38 writes a
//! `ServerError`'s kind as an `i32` and reads it as a `u32`: the varint formats (postcard,
//! bincode's default options) zigzag the one and not the other, so every kind arrived
//! garbled (`WouldBlock`, 10, read back as 20, unknown, so `Other`: an overload would have
//! looked like an internal error). Here the kind is a `u32` both ways, numbered as tarpc
//! numbers it.

use serde::{Deserialize, Serialize};
use std::io::ErrorKind;
use tarpc::{Response, ServerError};

#[derive(Serialize)]
pub(super) struct Out<'a, T> {
    request_id: u64,
    message: Result<&'a T, ErrorOut<'a>>,
}

#[derive(Serialize)]
struct ErrorOut<'a> {
    kind: u32,
    detail: &'a str,
}

#[derive(Deserialize)]
pub(super) struct In<T> {
    request_id: u64,
    message: Result<T, ErrorIn>,
}

#[derive(Deserialize)]
struct ErrorIn {
    kind: u32,
    detail: String,
}

impl<'a, T> From<&'a Response<T>> for Out<'a, T> {
    fn from(response: &'a Response<T>) -> Self {
        Out {
            request_id: response.request_id,
            message: response.message.as_ref().map_err(|error| ErrorOut {
                kind: number(error.kind),
                detail: &error.detail,
            }),
        }
    }
}

impl<T> From<In<T>> for Response<T> {
    fn from(response: In<T>) -> Self {
        Response {
            request_id: response.request_id,
            message: response
                .message
                .map_err(|error| ServerError::new(kind(error.kind), error.detail)),
        }
    }
}

/// tarpc's numbering, in its order.
const KINDS: [ErrorKind; 18] = [
    ErrorKind::NotFound,
    ErrorKind::PermissionDenied,
    ErrorKind::ConnectionRefused,
    ErrorKind::ConnectionReset,
    ErrorKind::ConnectionAborted,
    ErrorKind::NotConnected,
    ErrorKind::AddrInUse,
    ErrorKind::AddrNotAvailable,
    ErrorKind::BrokenPipe,
    ErrorKind::AlreadyExists,
    ErrorKind::WouldBlock,
    ErrorKind::InvalidInput,
    ErrorKind::InvalidData,
    ErrorKind::TimedOut,
    ErrorKind::WriteZero,
    ErrorKind::Interrupted,
    ErrorKind::Other,
    ErrorKind::UnexpectedEof,
];

const OTHER: u32 = 16;

pub(super) fn number(kind: ErrorKind) -> u32 {
    KINDS
        .iter()
        .position(|known| *known == kind)
        .map_or(OTHER, |index| index as u32)
}

pub(super) fn kind(number: u32) -> ErrorKind {
    KINDS
        .get(number as usize)
        .copied()
        .unwrap_or(ErrorKind::Other)
}
