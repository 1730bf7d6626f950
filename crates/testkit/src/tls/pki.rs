//! [`TestCa`]: a private certificate authority, made with rcgen, that signs server
//! certificates for tests.

use std::io;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A CA certificate and its key, generated fresh: nothing outside the test trusts it.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A server certificate chain (leaf, then the CA) and the leaf's private key.
pub struct Issued {
    /// Leaf first, as TLS sends it.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's key.
    pub key: PrivateKeyDer<'static>,
}

impl TestCa {
    /// A new CA whose certificate has `common_name` as its subject.
    ///
    /// # Errors
    ///
    /// When rcgen cannot generate the key or the certificate.
    pub fn new(common_name: &str) -> io::Result<TestCa> {
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(tls_error)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().map_err(tls_error)?;
        let issuer = CertifiedIssuer::self_signed(params, key).map_err(tls_error)?;
        Ok(TestCa { issuer })
    }

    /// The CA certificate, PEM-encoded (what goes into a `ca_file`).
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for `tls_name` (a DNS name or an IP address), signed by this CA.
    ///
    /// # Errors
    ///
    /// When `tls_name` is not a valid subject alternative name, or signing fails.
    pub fn issue(&self, tls_name: &str) -> io::Result<Issued> {
        let mut params = CertificateParams::new(vec![tls_name.to_string()]).map_err(tls_error)?;
        params.distinguished_name.push(DnType::CommonName, tls_name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().map_err(tls_error)?;
        let leaf = params.signed_by(&key, &self.issuer).map_err(tls_error)?;
        Ok(Issued {
            chain: vec![leaf.der().clone(), self.issuer.der().clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        })
    }
}

fn tls_error(error: rcgen::Error) -> io::Error {
    io::Error::other(format!(
        "hedge-testkit: cannot make a test certificate: {error}"
    ))
}
