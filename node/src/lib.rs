//! Embed an mltools node in any Rust application, or run one as the `mltools` binary.
//!
//! A [`Node`] hosts the services its [`NodeConfig`] lists, supervises them, and hands out
//! clients (`node.datasets()`) that reach them by the configured transport. The CLI
//! ([`cli`]) is a thin layer over the same clients.
//!
//! | module | what it holds |
//! |---|---|
//! | [`config`] | the TOML configuration and its checks |
//! | [`node`] | [`Node`] and [`NodeBuilder`] |
//! | [`cli`] | the `mltools` command line: arguments, commands, tables and JSON output |

pub mod cli;
pub mod config;
pub mod node;

pub use config::{InProcess, NodeConfig};
pub use node::{Node, NodeBuilder, NodeError};
