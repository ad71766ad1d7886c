//! TLS settings of an OTLP exporter: which certificate authorities to trust and which
//! client certificate to present (`OTEL_EXPORTER_OTLP_CERTIFICATE`, `_CLIENT_CERTIFICATE`,
//! `_CLIENT_KEY` and their per-signal forms).
//!
//! The files are checked when the configuration is resolved, so that a wrong path is
//! reported with the variable that holds it (a warning for the environment, an error for
//! the builder) rather than later as a failed handshake. The exporter parses them for
//! good when it is built (`export::tls`, feature `tls`).

use std::path::{Path, PathBuf};

/// TLS files of one signal's OTLP exporter. All empty (the default): `https://`
/// endpoints are verified against the platform's root certificates and webpki's
/// (Mozilla's), and no client certificate is sent.
///
/// ```
/// use otel_core::config::Config;
///
/// let env = [
///     ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector.internal:4318"),
///     ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/definitely/missing/ca.pem"),
/// ];
/// let (config, warnings) = Config::from_lookup(|k| {
///     env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
/// });
/// // A file that cannot be read is a warning naming the variable; the default roots are used.
/// assert_eq!(warnings[0].variable, "OTEL_EXPORTER_OTLP_CERTIFICATE");
/// assert_eq!(config.otlp_traces.tls.certificate, None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// PEM file of the certificate authorities that may sign the collector's
    /// certificate; replaces the default roots (a private CA, a self-signed collector).
    pub certificate: Option<PathBuf>,
    /// PEM file of the client certificate chain, for mutual TLS.
    pub client_certificate: Option<PathBuf>,
    /// PEM file of the client certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub client_key: Option<PathBuf>,
}

impl TlsConfig {
    /// Whether a client certificate is configured (it always comes with its key).
    ///
    /// ```
    /// assert!(!otel_core::config::TlsConfig::default().is_mutual());
    /// ```
    pub fn is_mutual(&self) -> bool {
        self.client_certificate.is_some() && self.client_key.is_some()
    }
}

/// What a PEM file must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PemKind {
    Certificate,
    PrivateKey,
}

impl PemKind {
    fn labels(self) -> &'static [&'static str] {
        match self {
            Self::Certificate => &["CERTIFICATE"],
            Self::PrivateKey => &["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"],
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Certificate => "PEM certificate (-----BEGIN CERTIFICATE-----)",
            Self::PrivateKey => "PEM private key (-----BEGIN PRIVATE KEY-----)",
        }
    }
}

/// Checks that `path` can be read and holds at least one PEM block of `kind`.
pub(crate) fn check_pem_file(path: &Path, kind: PemKind) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let text = String::from_utf8_lossy(&bytes);
    let found = kind
        .labels()
        .iter()
        .any(|label| text.contains(&format!("-----BEGIN {label}-----")));
    if found {
        Ok(())
    } else {
        Err(format!("the file holds no {}", kind.describe()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_files_are_checked_for_their_kind() {
        let dir = std::env::temp_dir().join(format!("otel-core-tls-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        std::fs::write(
            &cert,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        std::fs::write(
            &key,
            "-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n",
        )
        .unwrap();

        assert_eq!(check_pem_file(&cert, PemKind::Certificate), Ok(()));
        assert_eq!(check_pem_file(&key, PemKind::PrivateKey), Ok(()));
        let wrong = check_pem_file(&key, PemKind::Certificate).unwrap_err();
        assert_eq!(
            wrong,
            "the file holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        );
        let missing = check_pem_file(&dir.join("missing.pem"), PemKind::Certificate).unwrap_err();
        assert!(missing.starts_with("cannot read the file"), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
