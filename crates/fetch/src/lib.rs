//! Downloading list sources for hedge, so that a hostile or broken server cannot harm the
//! host or what hedge serves.
//!
//! - [`Client::fetch`]: one conditional GET (ETag / Last-Modified), with a connect, a stall
//!   and a total time limit, a size cap, retries with backoff on transient failures only,
//!   redirects that keep their scheme, pages served as lists refused, and an optional
//!   `sha256` pin checked before the file is used.
//! - [`unpack_tar_gz`]: unpacks an archive into a fresh folder, refusing entries that
//!   escape it, devices and oversized members or totals (a gzip bomb); links are skipped.
//!
//! This crate knows nothing of list formats or indexes: the caller decides what to download
//! and where, and what to do with the files.

#![deny(missing_docs)]

mod client;
mod error;
mod unpack;

pub use client::{Client, Fetched, Limits, Progress, Request, Validators};
pub use error::{Error, Result};
pub use unpack::{UnpackLimits, Unpacked, unpack_tar_gz};
