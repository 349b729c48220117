//! TLS: a source trusts the system roots plus its own CA file, and a
//! certificate it cannot verify is an error it reports, never a silent accept.

use std::sync::Arc;
use std::time::Duration;

use futures_util::SinkExt;
use herald_core::config::{Credentials, SourceConfig};
use herald_core::model::{Protocol, SourceId};
use herald_core::source::probe::probe;
use herald_core::source::SourceSpec;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

/// A CA, and a server certificate for `localhost` signed by it.
fn certificates() -> (String, CertificateDer<'static>, PrivateKeyDer<'static>) {
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("ca certificate");
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().expect("server key");
    let server = CertificateParams::new(vec!["localhost".to_string()])
        .expect("server params")
        .signed_by(&server_key, &issuer)
        .expect("server certificate");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    (ca.pem(), server.der().clone(), key)
}

/// A wss server on loopback that sends one ntfy message to each client.
async fn serve_tls(certificate: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> u16 {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(vec![certificate], key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        for _ in 0..8 {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let Ok(mut socket) = tokio_tungstenite::accept_async(tls).await else {
                    return;
                };
                let frame = r#"{"id":"tls1","time":1700000000,"event":"message","topic":"secure","title":"over tls"}"#;
                let _ = socket.send(Message::text(frame)).await;
                tokio::time::sleep(Duration::from_secs(2)).await;
            });
        }
    });
    port
}

fn spec(port: u16, ca_file: Option<std::path::PathBuf>) -> SourceSpec {
    SourceSpec {
        id: SourceId(1),
        name: "secure".into(),
        protocol: Protocol::Ntfy,
        url: url::Url::parse(&format!("wss://localhost:{port}/secure/ws")).expect("url"),
        config: SourceConfig {
            ca_file,
            ..SourceConfig::default()
        },
        credentials: Credentials::default(),
    }
}

#[tokio::test]
async fn a_custom_ca_is_trusted_and_an_unknown_one_is_reported() {
    let (ca_pem, certificate, key) = certificates();
    let port = serve_tls(certificate, key).await;
    let directory = tempfile::tempdir().expect("temp dir");
    let ca_file = directory.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).expect("write ca file");

    let trusted = probe(&spec(port, Some(ca_file)), Duration::from_millis(500)).await;
    assert!(
        trusted.connected,
        "the source's own CA must be trusted: {trusted:?}"
    );
    assert_eq!(
        trusted.messages, 1,
        "the message arrives over TLS: {trusted:?}"
    );
    assert_eq!(trusted.first_message.as_deref(), Some("over tls"));

    let untrusted = probe(&spec(port, None), Duration::from_millis(500)).await;
    assert!(
        !untrusted.connected,
        "a certificate from an unknown CA must be refused: {untrusted:?}"
    );
    let error = untrusted.error.unwrap_or_default().to_lowercase();
    assert!(
        error.contains("certificate"),
        "the error must say it is about the certificate: {error}"
    );
}

#[test]
fn a_ca_file_that_is_not_pem_is_a_clear_error() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("bogus.pem");
    std::fs::write(&path, "not a certificate").expect("write");
    let error = herald_core::source::tls::client_config(Some(&path))
        .expect_err("no certificates in the file");
    assert!(error.contains("holds no certificates"), "{error}");
    let missing =
        herald_core::source::tls::client_config(Some(std::path::Path::new("/nonexistent/ca.pem")))
            .expect_err("missing file");
    assert!(missing.contains("cannot read ca file"), "{missing}");
}
