//! TLS for sources: the system's roots plus, per source, an optional PEM
//! file of extra authorities. There is deliberately no way to skip
//! certificate checks.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use crate::i18n::text;

fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let loaded = rustls_native_certs::load_native_certs();
        for error in &loaded.errors {
            tracing::warn!(%error, "could not load a system certificate");
        }
        loaded.certs
    })
}

/// A client config trusting the system roots and the certificates in `ca_file`.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    let (_added, _ignored) = roots.add_parsable_certificates(system_roots().iter().cloned());
    if let Some(path) = ca_file {
        let shown = path.display().to_string();
        let problem = |key: &str, error: &dyn std::fmt::Display| {
            text(key, &[("path", &shown), ("error", &error.to_string())])
        };
        let pem =
            std::fs::read(path).map_err(|error| problem("field.ca_file_unreadable", &error))?;
        let mut found = 0;
        for certificate in rustls_pemfile::certs(&mut pem.as_slice()) {
            let certificate =
                certificate.map_err(|error| problem("field.ca_file_not_pem", &error))?;
            roots
                .add(certificate)
                .map_err(|error| problem("field.ca_file_bad_certificate", &error))?;
            found += 1;
        }
        if found == 0 {
            return Err(text("field.ca_file_empty", &[("path", &shown)]));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| text("connection.tls_setup", &[("error", &error.to_string())]))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
