//! The TCP transport over real sockets on 127.0.0.1 (port 0): calls and their errors, frame
//! limits, token auth, TLS, hostile input, reconnection.

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/guard_suite.rs"]
mod guard_suite;

mod auth;
mod calls;
mod frames;
mod guards;
mod hostile;
mod latency;
mod reconnect;
mod tls;
