//! The TLS listener's rustls configuration (ring, TLS 1.2 and 1.3), from PEM files; with a
//! client CA, senders must present a certificate it signed.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// Builds the acceptor; the error names the file or setting at fault.
pub(super) fn acceptor(
    cert: Option<&Path>,
    key: Option<&Path>,
    client_ca: Option<&Path>,
) -> Result<TlsAcceptor, String> {
    let (Some(cert), Some(key)) = (cert, key) else {
        return Err(
            "KANSOKU_SYSLOG_TLS_ADDR needs KANSOKU_SYSLOG_TLS_CERT and KANSOKU_SYSLOG_TLS_KEY"
                .to_string(),
        );
    };
    let chain = certificates(cert, "KANSOKU_SYSLOG_TLS_CERT")?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        format!(
            "cannot read a PEM private key from {} (KANSOKU_SYSLOG_TLS_KEY): {e}",
            key.display()
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            for certificate in certificates(path, "KANSOKU_SYSLOG_TLS_CLIENT_CA")? {
                roots.add(certificate).map_err(|e| {
                    format!(
                        "invalid CA certificate in {} (KANSOKU_SYSLOG_TLS_CLIENT_CA): {e}",
                        path.display()
                    )
                })?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| format!("KANSOKU_SYSLOG_TLS_CLIENT_CA: {e}"))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder
        .with_single_cert(chain, key)
        .map_err(|e| format!("the TLS certificate does not match its key or is invalid: {e}"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn certificates(path: &Path, setting: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certificates = CertificateDer::pem_file_iter(path)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            format!(
                "cannot read PEM certificates from {} ({setting}): {e}",
                path.display()
            )
        })?;
    if certificates.is_empty() {
        return Err(format!(
            "{} ({setting}) holds no PEM certificate",
            path.display()
        ));
    }
    Ok(certificates)
}
