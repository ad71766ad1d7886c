//! TLS in front of the collector: a certificate authority and certificates made for
//! each run (`rcgen`), and a rustls terminator on 127.0.0.1 that forwards the decrypted
//! bytes to one of rotel's plain ports. The exporter sees a real TLS server: real
//! handshakes, real certificate checks, optionally a required client certificate.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

/// A certificate and its key, in memory and as PEM files.
#[derive(Debug)]
pub struct Issued {
    der: CertificateDer<'static>,
    key: Vec<u8>,
    /// The certificate's PEM file.
    pub cert_file: PathBuf,
    /// The key's PEM file.
    pub key_file: PathBuf,
}

/// Everything a TLS test needs, written under a temporary directory removed on drop.
#[derive(Debug)]
pub struct Pki {
    dir: PathBuf,
    /// The CA that signs the certificates below; its PEM file is `ca_file`.
    pub ca_file: PathBuf,
    ca_der: CertificateDer<'static>,
    /// Another CA, which signed nothing here: trusting it must not verify the server.
    pub other_ca_file: PathBuf,
    /// The server certificate for `127.0.0.1` and `localhost`.
    pub server: Issued,
    /// A server certificate for `collector.invalid` only: a name mismatch on loopback.
    pub misnamed_server: Issued,
    /// A client certificate for mutual TLS.
    pub client: Issued,
}

impl Pki {
    /// Makes the CA and the certificates.
    ///
    /// # Panics
    ///
    /// When the certificates cannot be made or written (a broken test environment).
    pub fn generate() -> Pki {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "otel-tests-pki-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create the PKI directory");

        let (ca, ca_key) = authority("otel-tests CA");
        let (other_ca, _) = authority("otel-tests other CA");
        let ca_file = write(&dir, "ca.pem", &ca.pem());
        let other_ca_file = write(&dir, "other-ca.pem", &other_ca.pem());

        let issue = |name: &str, sans: Vec<SanType>, client: bool| -> Issued {
            let mut params = CertificateParams::default();
            params.distinguished_name.push(DnType::CommonName, name);
            params.subject_alt_names = sans;
            params.extended_key_usages = vec![if client {
                rcgen::ExtendedKeyUsagePurpose::ClientAuth
            } else {
                rcgen::ExtendedKeyUsagePurpose::ServerAuth
            }];
            let key = KeyPair::generate().expect("generate a key");
            let cert = params
                .signed_by(&key, &ca, &ca_key)
                .expect("sign the certificate");
            Issued {
                der: cert.der().clone(),
                key: key.serialize_der(),
                cert_file: write(&dir, &format!("{name}.pem"), &cert.pem()),
                key_file: write(&dir, &format!("{name}.key"), &key.serialize_pem()),
            }
        };
        let loopback = vec![
            SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])),
            SanType::DnsName("localhost".try_into().expect("a DNS name")),
        ];
        let server = issue("server", loopback, false);
        let misnamed_server = issue(
            "misnamed-server",
            vec![SanType::DnsName(
                "collector.invalid".try_into().expect("a DNS name"),
            )],
            false,
        );
        let client = issue("client", Vec::new(), true);
        Pki {
            dir,
            ca_file,
            ca_der: ca.der().clone(),
            other_ca_file,
            server,
            misnamed_server,
            client,
        }
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn authority(name: &str) -> (rcgen::Certificate, KeyPair) {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().expect("generate a CA key");
    let cert = params.self_signed(&key).expect("self-sign the CA");
    (cert, key)
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write a PEM file");
    path
}

/// How the terminator presents itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminate {
    /// The loopback certificate, no client certificate asked for.
    Plain,
    /// The loopback certificate, and a client certificate signed by the CA required.
    MutualTls,
    /// The `collector.invalid` certificate.
    Misnamed,
}

/// A TLS server on 127.0.0.1 forwarding each connection to `backend` in plain TCP.
/// Stops when dropped.
#[derive(Debug)]
pub struct TlsTerminator {
    addr: SocketAddr,
    handshake_errors: Arc<Mutex<Vec<String>>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TlsTerminator {
    /// Starts listening on a free loopback port.
    ///
    /// # Panics
    ///
    /// When the runtime or the listener cannot be set up.
    pub fn start(pki: &Pki, backend: SocketAddr, mode: Terminate) -> TlsTerminator {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("TLS versions");
        let builder = match mode {
            Terminate::MutualTls => {
                let mut roots = RootCertStore::empty();
                roots.add(pki.ca_der.clone()).expect("the CA is a trust anchor");
                let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .expect("a client verifier");
                builder.with_client_cert_verifier(verifier)
            }
            Terminate::Plain | Terminate::Misnamed => builder.with_no_client_auth(),
        };
        let issued = match mode {
            Terminate::Misnamed => &pki.misnamed_server,
            Terminate::Plain | Terminate::MutualTls => &pki.server,
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(issued.key.clone()));
        let mut config = builder
            .with_single_cert(vec![issued.der.clone()], key)
            .expect("the server certificate and key match");
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tls-terminator")
            .enable_all()
            .build()
            .expect("a runtime for the terminator");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let handshake_errors = Arc::new(Mutex::new(Vec::new()));
        let errors = handshake_errors.clone();
        runtime.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let errors = errors.clone();
                tokio::spawn(async move {
                    let mut tls = match acceptor.accept(tcp).await {
                        Ok(tls) => tls,
                        Err(e) => {
                            if let Ok(mut errors) = errors.lock() {
                                errors.push(e.to_string());
                            }
                            return;
                        }
                    };
                    let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        TlsTerminator {
            addr,
            handshake_errors,
            runtime: Some(runtime),
        }
    }

    /// `https://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// What failed handshakes looked like from the server's side.
    pub fn handshake_errors(&self) -> Vec<String> {
        self.handshake_errors
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default()
    }
}

impl Drop for TlsTerminator {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// What a failed export over TLS reported.
#[derive(Debug)]
pub struct Refused {
    /// The error `force_flush` returned.
    pub flush_error: String,
    /// `telemetry_status().traces.last_error`.
    pub last_error: String,
}

/// Exports one span to `endpoint` (where the handshake is expected to fail) and returns
/// what the flush and the status said. Installs global state: one call at a time.
///
/// # Panics
///
/// When init fails, or when the flush succeeds.
pub fn refused_export(
    protocol: otel_core::config::Protocol,
    endpoint: &str,
    configure: impl FnOnce(otel_core::TelemetryBuilder) -> otel_core::TelemetryBuilder,
) -> Refused {
    use otel_core::config::ExporterKind;

    let builder = otel_core::Telemetry::builder()
        .env(|_| None)
        .service_name(crate::unique_service_name("tls-refused"))
        .otlp_endpoint(endpoint)
        .otlp_protocol(protocol)
        .otlp_timeout(std::time::Duration::from_secs(5))
        .traces_exporters([ExporterKind::Otlp])
        .metrics_exporters([])
        .logs_exporters([])
        .quiet(true);
    let guard = configure(builder).init().expect("init does not connect yet");
    otel_core::in_span("over-tls", || {});
    let flush_error = match guard.force_flush() {
        Ok(()) => panic!("the export to {endpoint} ({}) must fail", protocol.as_str()),
        Err(e) => e.to_string(),
    };
    let last_error = otel_core::telemetry_status()
        .traces
        .last_error
        .unwrap_or_default();
    let _ = guard.shutdown();
    Refused {
        flush_error,
        last_error,
    }
}
