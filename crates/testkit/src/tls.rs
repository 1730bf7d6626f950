//! DNS over TLS and HTTPS on loopback, with certificates from a private CA made per run: the
//! target for DoT/DoH forwarding tests.
//!
//! - [`TestCa`]: a certificate authority that exists only in this process; its PEM is what a
//!   resolver must be told to trust.
//! - [`TlsUpstream`]: one server for every zone of the standard hierarchy (like
//!   [`crate::Upstream`]), over DoT and DoH on two ports of `127.0.0.1`, its certificate
//!   issued by its own [`TestCa`] for the name it is started with.

mod pki;
mod upstream;

pub use pki::TestCa;
pub use upstream::TlsUpstream;
