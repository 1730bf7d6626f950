//! Certificate trust for forwarding over DoT and DoH: which CA each server's certificate must
//! chain to, and why a handshake was refused.
//!
//! A server with `ca_file` is checked against the certificates in that file only; one
//! without it against the public web PKI roots (webpki-roots). hickory takes a single rustls
//! `ClientConfig` for all servers, so one verifier picks the roots by the name the connection
//! checks (the server's `tls_name`).
//!
//! hickory's name-server pool reports a refused certificate as "no connections available"
//! (it keeps its placeholder error over an I/O error), so the verifier also remembers the
//! last refusal: [`TlsFailures`] lets the forwarder say what really went wrong.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::config::{ForwardProtocol, ForwardServer};
use crate::error::DnsError;

/// Largest `ca_file` read: a full public CA bundle is about 250 kB.
const MAX_CA_FILE: u64 = 4 << 20;

/// A persistent certificate failure is logged at most this often per server name; the
/// SERVFAIL's EDE text names it on every query.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// The rustls client configuration for every DoT/DoH server in `servers`, and the recorder
/// of refused certificates it reports to.
pub(crate) fn client_config(
    servers: &[ForwardServer],
) -> Result<(ClientConfig, Arc<TlsFailures>), DnsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let trust = TrustByName::new(servers, &provider)?;
    let failures = trust.failures.clone();
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| DnsError::Config(format!("upstream.servers: TLS versions: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(trust))
        .with_no_client_auth();
    Ok((config, failures))
}

/// Checks the TLS settings of every server without building anything (for `check-config`):
/// `ca_file` only on tls/https, readable, holding certificates; one CA per `tls_name`.
pub(crate) fn validate(servers: &[ForwardServer]) -> Result<(), DnsError> {
    for (_, path) in pinned_names(servers)? {
        load_ca_file(path)?;
    }
    Ok(())
}

/// `tls_name` (lower case) → the `ca_file` its certificate must chain to. Refuses `ca_file`
/// on a plain server (it would silently protect nothing) and two servers with one name but
/// different trust (the verifier only sees the name).
fn pinned_names(servers: &[ForwardServer]) -> Result<HashMap<String, &Path>, DnsError> {
    let mut trust: HashMap<String, (Option<&Path>, &ForwardServer)> = HashMap::new();
    for s in servers {
        let encrypted = matches!(s.protocol, ForwardProtocol::Tls | ForwardProtocol::Https);
        let ca_file = s.ca_file.as_deref();
        if !encrypted {
            if ca_file.is_some() {
                return Err(DnsError::Config(format!(
                    "key `upstream.servers.ca_file` ({}): only tls and https servers have a certificate; remove it or set protocol = \"tls\" or \"https\"",
                    s.address
                )));
            }
            continue;
        }
        let Some(name) = s.tls_name.as_deref() else {
            continue; // Reported by the caller, which knows the key.
        };
        let name = server_name(name, s)?;
        match trust.get(&name) {
            Some((other, first)) if *other != ca_file => {
                return Err(DnsError::Config(format!(
                    "key `upstream.servers.ca_file`: servers {} and {} both have tls_name = \"{name}\" but trust different CAs ({} and {}); give them the same ca_file",
                    first.address,
                    s.address,
                    describe(*other),
                    describe(ca_file)
                )));
            }
            _ => {
                trust.insert(name, (ca_file, s));
            }
        }
    }
    Ok(trust
        .into_iter()
        .filter_map(|(name, (path, _))| Some((name, path?)))
        .collect())
}

fn describe(ca_file: Option<&Path>) -> String {
    ca_file.map_or_else(
        || "the public roots".into(),
        |p| format!("ca_file {}", p.display()),
    )
}

/// `tls_name` as rustls will compare it: a DNS name or an IP address, lower case.
fn server_name(name: &str, s: &ForwardServer) -> Result<String, DnsError> {
    ServerName::try_from(name)
        .map(|n| n.to_str().to_ascii_lowercase())
        .map_err(|e| {
            DnsError::Config(format!(
                "key `upstream.servers.tls_name` ({}): \"{name}\" is not a DNS name or IP address: {e}",
                s.address
            ))
        })
}

/// The certificates of a PEM file (one or more `BEGIN CERTIFICATE` sections), as trust
/// anchors. Every error names the key and the file.
fn load_ca_file(path: &Path) -> Result<RootCertStore, DnsError> {
    let bad = |why: String| {
        DnsError::Config(format!(
            "key `upstream.servers.ca_file`: {}: {why}",
            path.display()
        ))
    };
    let mut pem = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CA_FILE + 1).read_to_end(&mut pem))
        .map_err(|e| bad(e.to_string()))?;
    if pem.len() as u64 > MAX_CA_FILE {
        return Err(bad(format!(
            "larger than {} MiB; is this a CA certificate file?",
            MAX_CA_FILE >> 20
        )));
    }
    let mut roots = RootCertStore::empty();
    for (i, cert) in CertificateDer::pem_slice_iter(&pem).enumerate() {
        let cert = cert.map_err(|e| bad(format!("bad PEM: {e}")))?;
        roots.add(cert).map_err(|e| {
            bad(format!(
                "certificate {} is not a usable X.509 CA certificate: {e}",
                i + 1
            ))
        })?;
    }
    if roots.is_empty() {
        return Err(bad(
            "no certificate found (expected PEM sections \"-----BEGIN CERTIFICATE-----\"; convert a DER file with `openssl x509 -inform der -in FILE -out FILE.pem`)".into(),
        ));
    }
    Ok(roots)
}

/// Picks the roots for a connection by its server name; remembers refusals.
#[derive(Debug)]
struct TrustByName {
    /// Servers with a `ca_file`, by lower-case `tls_name`.
    pinned: HashMap<String, Arc<WebPkiServerVerifier>>,
    /// Everyone else: the public web PKI.
    public: Arc<WebPkiServerVerifier>,
    failures: Arc<TlsFailures>,
}

impl TrustByName {
    fn new(servers: &[ForwardServer], provider: &Arc<CryptoProvider>) -> Result<Self, DnsError> {
        let verifier = |roots: RootCertStore| {
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| DnsError::Config(format!("upstream.servers: TLS verifier: {e}")))
        };
        let mut pinned = HashMap::new();
        for (tls_name, path) in pinned_names(servers)? {
            pinned.insert(tls_name, verifier(load_ca_file(path)?)?);
        }
        let public = verifier(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        })?;
        Ok(TrustByName {
            pinned,
            public,
            failures: Arc::default(),
        })
    }
}

impl ServerCertVerifier for TrustByName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let name = server_name.to_str().to_ascii_lowercase();
        let (verifier, trusted) = match self.pinned.get(&name) {
            Some(v) => (v, Trust::CaFile),
            None => (&self.public, Trust::PublicRoots),
        };
        let verdict =
            verifier.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now);
        match &verdict {
            Ok(_) => self.failures.clear(&name),
            Err(e) => self.failures.record(name, trusted, e),
        }
        verdict
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.public.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.public.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.public.supported_verify_schemes()
    }
}

/// What a certificate was checked against.
#[derive(Debug, Clone, Copy)]
enum Trust {
    CaFile,
    PublicRoots,
}

/// The last refused upstream certificate, and when each name was last logged.
#[derive(Debug, Default)]
pub(crate) struct TlsFailures {
    last: Mutex<Option<Failure>>,
    warned: Mutex<HashMap<String, Instant>>,
}

#[derive(Debug, Clone)]
struct Failure {
    at: Instant,
    tls_name: String,
    why: String,
}

impl TlsFailures {
    fn record(&self, tls_name: String, trusted: Trust, error: &rustls::Error) {
        let why = explain(trusted, error);
        let now = Instant::now();
        let mut warned = self.warned.lock().unwrap_or_else(PoisonError::into_inner);
        if warned
            .get(&tls_name)
            .is_none_or(|t| now.duration_since(*t) >= WARN_EVERY)
        {
            tracing::warn!(tls_name = %tls_name, "upstream TLS certificate refused: {why}");
            warned.insert(tls_name.clone(), now);
        }
        drop(warned);
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(Failure {
            at: now,
            tls_name,
            why,
        });
    }

    fn clear(&self, tls_name: &str) {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if last.as_ref().is_some_and(|f| f.tls_name == tls_name) {
            *last = None;
        }
    }

    /// The certificate refusal recorded at or after `since`, as a sentence for the log and
    /// the EDE text.
    pub(crate) fn since(&self, since: Instant) -> Option<String> {
        let last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let f = last.as_ref().filter(|f| f.at >= since)?;
        Some(format!(
            "TLS certificate of upstream {} refused: {}",
            f.tls_name, f.why
        ))
    }
}

/// A refused certificate in the operator's terms, with what to check.
fn explain(trusted: Trust, error: &rustls::Error) -> String {
    let rustls::Error::InvalidCertificate(cert) = error else {
        return error.to_string();
    };
    let against = match trusted {
        Trust::CaFile => "the CA in its ca_file",
        Trust::PublicRoots => "a public CA (set `ca_file` to the CA that signed it)",
    };
    match cert {
        CertificateError::UnknownIssuer | CertificateError::BadSignature => {
            format!("not trusted: not signed by {against} ({error})")
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!("not valid for this name; check `tls_name` ({error})")
        }
        CertificateError::Expired
        | CertificateError::ExpiredContext { .. }
        | CertificateError::NotValidYet
        | CertificateError::NotValidYetContext { .. } => {
            format!(
                "outside its validity period; check the server's certificate and this host's clock ({error})"
            )
        }
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hedge_testkit::tls::TestCa;

    fn server(protocol: ForwardProtocol, tls_name: &str, ca_file: Option<&Path>) -> ForwardServer {
        ForwardServer {
            address: [192, 0, 2, 53].into(),
            protocol,
            port: None,
            tls_name: Some(tls_name.into()),
            path: None,
            ca_file: ca_file.map(Path::to_path_buf),
        }
    }

    fn error(r: Result<impl std::fmt::Debug, DnsError>) -> String {
        r.expect_err("should be refused").to_string()
    }

    #[test]
    fn ca_file_errors_name_the_key_the_file_and_the_fault() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).expect("write");
            p
        };
        let ca = TestCa::new("unit CA").expect("CA");
        let der =
            rustls::pki_types::CertificateDer::from_pem_slice(ca.pem().as_bytes()).expect("pem");
        let cases = [
            (dir.path().join("missing.pem"), "No such file or directory"),
            (file("empty.pem", b""), "no certificate found"),
            (file("der.crt", der.as_ref()), "convert a DER file"),
            (
                file("truncated.pem", b"-----BEGIN CERTIFICATE-----\nMIIB\n"),
                "bad PEM",
            ),
            (
                file(
                    "junk.pem",
                    b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                ),
                "certificate 1 is not a usable X.509 CA certificate",
            ),
        ];
        for (path, fault) in cases {
            let e = error(load_ca_file(&path));
            assert!(
                e.starts_with(&format!(
                    "key `upstream.servers.ca_file`: {}: ",
                    path.display()
                )),
                "{e}"
            );
            assert!(e.contains(fault), "{e}");
        }
        let two = format!("{}{}", ca.pem(), TestCa::new("second").expect("CA").pem());
        let roots = load_ca_file(&file("two.pem", two.as_bytes())).expect("two CAs");
        assert_eq!(roots.len(), 2);
    }

    #[test]
    fn trust_settings_that_cannot_work_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (dir.path().join("a.pem"), dir.path().join("b.pem"));
        for p in [&a, &b] {
            std::fs::write(p, TestCa::new("CA").expect("CA").pem()).expect("write");
        }
        let e = error(validate(&[server(ForwardProtocol::Udp, "x", Some(&a))]));
        assert!(
            e.contains("only tls and https servers have a certificate"),
            "{e}"
        );
        let e = error(validate(&[
            server(ForwardProtocol::Tls, "dns.council.test", Some(&a)),
            server(ForwardProtocol::Https, "DNS.council.test", Some(&b)),
        ]));
        assert!(
            e.contains("both have tls_name = \"dns.council.test\""),
            "{e}"
        );
        let e = error(validate(&[
            server(ForwardProtocol::Tls, "dns.council.test", Some(&a)),
            server(ForwardProtocol::Tls, "dns.council.test", None),
        ]));
        assert!(e.contains("the public roots"), "{e}");
        let e = error(validate(&[server(
            ForwardProtocol::Tls,
            "not a name!",
            None,
        )]));
        assert!(e.contains("key `upstream.servers.tls_name`"), "{e}");
        validate(&[
            server(ForwardProtocol::Tls, "dns.council.test", Some(&a)),
            server(ForwardProtocol::Https, "dns.council.test", Some(&a)),
            server(ForwardProtocol::Tls, "dns.quad9.net", None),
        ])
        .expect("one CA per name");
    }

    /// The verifier checks a pinned name against its ca_file only, anyone else against the
    /// public roots, and remembers why it refused.
    #[test]
    fn each_name_is_checked_against_its_own_roots() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = TestCa::new("council CA").expect("CA");
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, ca.pem()).expect("write");
        let trust = TrustByName::new(
            &[server(
                ForwardProtocol::Tls,
                "DNS.council.test",
                Some(&path),
            )],
            &Arc::new(rustls::crypto::ring::default_provider()),
        )
        .expect("verifier");
        let failures = trust.failures.clone();
        let check = |issued_for: &str, asked: &str| {
            let issued = ca.issue(issued_for).expect("cert");
            let name = ServerName::try_from(asked.to_string()).expect("name");
            trust.verify_server_cert(
                &issued.chain[0],
                &issued.chain[1..],
                &name,
                &[],
                UnixTime::now(),
            )
        };
        let start = Instant::now();
        assert!(check("dns.council.test", "dns.council.test").is_ok());
        assert_eq!(failures.since(start), None);
        assert!(check("other.council.test", "other.council.test").is_err());
        let why = failures.since(start).expect("recorded");
        assert!(
            why.contains("other.council.test refused: not trusted: not signed by a public CA"),
            "{why}"
        );
        assert!(check("www.council.test", "dns.council.test").is_err());
        let why = failures.since(start).expect("recorded");
        assert!(
            why.contains("dns.council.test refused: not valid for this name"),
            "{why}"
        );
        assert!(check("dns.council.test", "dns.council.test").is_ok());
        assert_eq!(failures.since(start), None, "a good handshake clears it");
    }
}
