//! What the portal's and the staff pages' tests share: a self-signed certificate, and a
//! client that sends one byte at a time.

#![allow(dead_code)] // each test file uses its part

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A self-signed certificate for `name`, written as PEM files in a temporary folder.
pub struct SelfSigned {
    /// The folder (removed on drop).
    pub dir: tempfile::TempDir,
    /// The certificate's PEM, for a client to trust.
    pub pem: String,
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
    /// The server configuration loaded from the files.
    pub config: Arc<rustls::ServerConfig>,
}

impl SelfSigned {
    pub fn new(name: &str) -> SelfSigned {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec![name.to_string()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert_path, cert.pem()).expect("write");
        std::fs::write(&key_path, key.serialize_pem()).expect("write");
        let config = hedge_portal::load_tls(&cert_path, &key_path).expect("tls");
        SelfSigned {
            dir,
            pem: cert.pem(),
            cert_path,
            key_path,
            config,
        }
    }

    /// A client that trusts the certificate and finds `name` at `addr`.
    pub fn client(&self, name: &str, addr: SocketAddr) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(self.pem.as_bytes()).expect("pem"))
            .resolve(name, addr)
    }
}

/// Connects to `addr`, sends `at_once`, then `trickled` over and over, one byte a second,
/// until the server closes the connection; returns how long that took, or None if it was
/// still open after 20 s. Runs on a blocking thread.
pub async fn slow_client(
    addr: SocketAddr,
    at_once: &'static [u8],
    trickled: &'static [u8],
) -> Option<Duration> {
    tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.write_all(at_once).expect("write");
        trickle(s, trickled, Duration::from_secs(1), Duration::from_secs(20))
    })
    .await
    .expect("join")
}

/// Sends `bytes` (over and over) on `s`, one per `gap`, until the server closes the
/// connection; returns how long that took, or None if it was still open after `give_up`.
fn trickle(mut s: TcpStream, bytes: &[u8], gap: Duration, give_up: Duration) -> Option<Duration> {
    s.set_read_timeout(Some(gap)).expect("timeout");
    let started = Instant::now();
    for &b in bytes.iter().cycle() {
        if started.elapsed() > give_up {
            return None;
        }
        if s.write_all(&[b]).is_err() {
            return Some(started.elapsed());
        }
        let mut buf = [0u8; 4096];
        match s.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => {} // a 408 on its way out: the close follows
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Some(started.elapsed()),
        }
    }
    None
}
