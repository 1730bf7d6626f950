//! [`TlsUpstream`]: every zone over DoT and DoH, with a certificate from a private CA.

use std::sync::Arc;

use hedge_testkit::{TlsUpstream, names};
use hickory_proto::rr::{RData, RecordType};
use hickory_resolver::Resolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolverConfig,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// A hickory resolver over `protocol` to `port`, trusting only the upstream's CA.
fn resolver(
    upstream: &TlsUpstream,
    protocol: ProtocolConfig,
    port: u16,
) -> Resolver<TokioRuntimeProvider> {
    let mut roots = rustls::RootCertStore::empty();
    let ca = CertificateDer::from_pem_slice(upstream.ca_pem().as_bytes()).expect("CA PEM");
    roots.add(ca).expect("CA");
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut connection = ConnectionConfig::new(protocol);
    connection.port = port;
    let server = NameServerConfig::new([127, 0, 0, 1].into(), true, vec![connection]);
    Resolver::builder_with_config(
        ResolverConfig::from_parts(None, vec![], vec![server]),
        TokioRuntimeProvider::default(),
    )
    .with_tls_config(tls)
    .build()
    .expect("resolver")
}

#[tokio::test]
async fn tls_upstream_answers_over_dot_and_doh_for_its_name() {
    let upstream = TlsUpstream::start_local("dns.council.test")
        .await
        .expect("free ports on 127.0.0.1");
    let name: Arc<str> = Arc::from(upstream.tls_name());
    let dot = resolver(
        &upstream,
        ProtocolConfig::Tls {
            server_name: name.clone(),
        },
        upstream.dot_addr().port(),
    );
    let doh = resolver(
        &upstream,
        ProtocolConfig::Https {
            server_name: name,
            path: Arc::from(TlsUpstream::DOH_PATH),
        },
        upstream.doh_addr().port(),
    );
    for resolver in [dot, doh] {
        let lookup = resolver
            .lookup(names::WWW_EXAMPLE_COM, RecordType::A)
            .await
            .expect("answer");
        let answers = &lookup.message().answers;
        assert_eq!(answers.len(), 1, "{answers:?}");
        assert_eq!(answers[0].data, RData::A(names::WWW_EXAMPLE_COM_A.into()));
    }
    assert_eq!(upstream.queries_answered(), 2);
}
