//! The rustls client configuration of one exporter.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use rustls::client::ResolvesClientCert;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, SignatureScheme};

use crate::config::TlsConfig;
use crate::{Error, ErrorKind};

/// The application protocol offered in the handshake: gRPC needs HTTP/2, the HTTP
/// exporter's client speaks HTTP/1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(all(feature = "otlp-grpc", feature = "otlp-http")), allow(dead_code))]
pub(crate) enum Alpn {
    Http2,
    Http11,
}

/// One exporter's rustls configuration, and what its handshakes learnt.
#[derive(Debug, Clone)]
pub(crate) struct TlsClient {
    pub(crate) config: Arc<ClientConfig>,
    /// Set when a server asks for a client certificate; the connector reads and clears
    /// it after each handshake.
    pub(crate) certificate_requested: Arc<AtomicBool>,
    /// Whether a client certificate is configured.
    pub(crate) has_certificate: bool,
}

/// Builds the configuration for `tls`; every file problem is an error naming the file.
pub(crate) fn client_config(tls: &TlsConfig, alpn: Alpn) -> Result<TlsClient, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = match &tls.certificate {
        Some(path) => ca_bundle(path)?,
        None => default_roots().clone(),
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(format!("no usable TLS protocol version: {e}")))?
        .with_root_certificates(roots);
    let mut config = match (&tls.client_certificate, &tls.client_key) {
        (Some(cert), Some(key)) => {
            let chain = certificates(cert)?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| tls_error(format!("cannot read the client key {}: {e}", key.display())))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                tls_error(format!(
                    "the client certificate {} and its key do not make a usable identity: {e}",
                    cert.display()
                ))
            })?
        }
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = match alpn {
        Alpn::Http2 => vec![b"h2".to_vec()],
        Alpn::Http11 => vec![b"http/1.1".to_vec()],
    };
    let certificate_requested = Arc::new(AtomicBool::new(false));
    let has_certificate = config.client_auth_cert_resolver.has_certs();
    config.client_auth_cert_resolver = Arc::new(WatchedResolver {
        inner: config.client_auth_cert_resolver.clone(),
        requested: certificate_requested.clone(),
    });
    Ok(TlsClient {
        config: Arc::new(config),
        certificate_requested,
        has_certificate,
    })
}

/// Notes that the server asked for a client certificate. A TLS 1.3 server that refuses
/// the certificate (or its absence) does so after the client has finished its
/// handshake, and often closes the connection before the client reads the alert: the
/// request then dies of a broken pipe, and this note is what explains it.
#[derive(Debug)]
struct WatchedResolver {
    inner: Arc<dyn ResolvesClientCert>,
    requested: Arc<AtomicBool>,
}

impl ResolvesClientCert for WatchedResolver {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.requested.store(true, Ordering::Relaxed);
        self.inner.resolve(root_hint_subjects, sigschemes)
    }

    fn only_raw_public_keys(&self) -> bool {
        self.inner.only_raw_public_keys()
    }

    fn has_certs(&self) -> bool {
        self.inner.has_certs()
    }
}

/// webpki's roots (Mozilla's list, compiled in, so minimal containers without a CA
/// store still verify public backends) plus the platform's (which carry a company's
/// own CAs). Loaded once per process: reading the platform store takes milliseconds.
fn default_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        // Unreadable or malformed platform certificates are skipped: webpki's roots
        // still verify every public backend.
        let native = rustls_native_certs::load_native_certs();
        let _ = roots.add_parsable_certificates(native.certs);
        roots
    })
}

fn ca_bundle(path: &Path) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(path)? {
        roots.add(cert).map_err(|e| {
            tls_error(format!(
                "a certificate in the CA file {} cannot be used as a trust anchor: {e}",
                path.display()
            ))
        })?;
    }
    Ok(roots)
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let read = |e: rustls::pki_types::pem::Error| {
        tls_error(format!("cannot read certificates from {}: {e}", path.display()))
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(read)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(read)?;
    if certs.is_empty() {
        return Err(tls_error(format!(
            "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        )));
    }
    Ok(certs)
}

fn tls_error(message: String) -> Error {
    Error::new(ErrorKind::Exporter, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Files {
        dir: std::path::PathBuf,
    }

    impl Files {
        fn new(name: &str) -> Files {
            let dir = std::env::temp_dir().join(format!("otel-core-tls-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Files { dir }
        }
        fn write(&self, name: &str, contents: &str) -> std::path::PathBuf {
            let path = self.dir.join(name);
            std::fs::write(&path, contents).unwrap();
            path
        }
    }

    impl Drop for Files {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    #[test]
    fn default_roots_include_webpki() {
        let client = client_config(&TlsConfig::default(), Alpn::Http2).unwrap();
        assert_eq!(client.config.alpn_protocols, vec![b"h2".to_vec()]);
        assert!(!client.has_certificate);
        assert!(default_roots().len() >= webpki_roots::TLS_SERVER_ROOTS.len());
    }

    #[test]
    fn a_ca_bundle_and_a_client_identity_are_loaded() {
        let files = Files::new("identity");
        let ca = rcgen::generate_simple_self_signed(vec!["ca.test".into()]).unwrap();
        let client = rcgen::generate_simple_self_signed(vec!["client.test".into()]).unwrap();
        let tls = TlsConfig {
            certificate: Some(files.write("ca.pem", &ca.cert.pem())),
            client_certificate: Some(files.write("client.pem", &client.cert.pem())),
            client_key: Some(files.write("client.key", &client.key_pair.serialize_pem())),
        };
        let client = client_config(&tls, Alpn::Http11).unwrap();
        assert!(client.has_certificate);
        assert!(client.config.client_auth_cert_resolver.has_certs());
        assert_eq!(client.config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn unusable_files_are_errors_naming_the_file() {
        let files = Files::new("broken");
        let empty = files.write("empty.pem", "not a certificate\n");
        let err = client_config(
            &TlsConfig {
                certificate: Some(empty.clone()),
                ..TlsConfig::default()
            },
            Alpn::Http2,
        )
        .unwrap_err();
        assert!(err.message().contains(&empty.display().to_string()), "{err}");
        assert!(err.message().contains("no PEM certificate"), "{err}");

        let cert = rcgen::generate_simple_self_signed(vec!["a.test".into()]).unwrap();
        let other = rcgen::generate_simple_self_signed(vec!["b.test".into()]).unwrap();
        let err = client_config(
            &TlsConfig {
                certificate: None,
                client_certificate: Some(files.write("a.pem", &cert.cert.pem())),
                client_key: Some(files.write("b.key", &other.key_pair.serialize_pem())),
            },
            Alpn::Http2,
        )
        .unwrap_err();
        assert!(err.message().contains("do not make a usable identity"), "{err}");
    }
}
