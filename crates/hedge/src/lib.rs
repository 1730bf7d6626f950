//! The `hedge` command's implementation, as a library so that the fuzz targets in `fuzz/`
//! can reach the configuration loader. Not a stable API: the binary (`main.rs`) is the
//! product; everything here is `#[doc(hidden)]` except what the binary needs.

pub mod cli;
pub mod cmd;
mod config;
mod fd_limit;
mod live_policy;
mod metrics;
mod network;
mod observe;
mod output;
mod portal;
mod public_space;
mod requests_watch;
mod staff_portal;
mod starter;
mod stats;
#[cfg(test)]
mod test_support;

/// `hedge.toml` as a whole, for tests/docs.rs, which checks docs/configuration.md against
/// it. Not an API.
#[doc(hidden)]
pub use config::Config;

/// Entry points for the fuzz targets (cargo feature `fuzzing`). Not an API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzz {
    pub use crate::config::{check_with_index, parse};
    pub use crate::starter::index as starter_index;
}
