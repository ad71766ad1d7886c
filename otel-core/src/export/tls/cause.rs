//! What a failed TLS handshake means, in words an operator can act on.
//!
//! The transports wrap rustls's error in several layers (hyper, tonic, `io::Error`),
//! and `io::Error::source()` skips the error it carries, so the chain is walked by hand
//! with `io::Error::get_ref` at each step.

use std::error::Error as StdError;

use rustls::{AlertDescription, CertificateError};

/// The cause of a TLS failure somewhere in `error`'s chain, or `None` when the failure
/// was not TLS (a refused connection, a timeout).
pub(crate) fn tls_cause(error: &(dyn StdError + 'static)) -> Option<String> {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(tls) = as_rustls(current) {
            return Some(describe(tls));
        }
        next = current.source();
    }
    None
}

fn as_rustls<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner = error.downcast_ref::<std::io::Error>()?.get_ref()?;
    let inner: &(dyn StdError + 'static) = inner;
    as_rustls(inner)
}

const TRUST_HINT: &str = "if the collector's certificate comes from a private CA or is self-signed, \
     set OTEL_EXPORTER_OTLP_CERTIFICATE to that CA's PEM file";
const CLIENT_HINT: &str =
    "set OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY to a certificate the server accepts";

/// A connection closed right after a handshake in which the server asked for a client
/// certificate, before the server's answer could be read (see `client.rs`).
pub(crate) fn closed_after_certificate_request(certificate_sent: bool) -> String {
    let cause = if certificate_sent {
        format!(
            "the server closed the connection right after checking the client certificate: it most likely \
             refused it ({CLIENT_HINT})"
        )
    } else {
        format!("the server requires a client certificate and none was sent ({CLIENT_HINT})")
    };
    format!(
        "TLS handshake failed: {cause} [the connection was closed before the server's alert could be read]"
    )
}

fn describe(error: &rustls::Error) -> String {
    let cause = match error {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => {
                format!("the server's certificate is not trusted: it is not signed by a trusted CA ({TRUST_HINT})")
            }
            CertificateError::BadSignature => {
                format!(
                    "the server's certificate is not trusted: its signature does not verify ({TRUST_HINT})"
                )
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "the server's certificate does not match the endpoint's host name (connect by a name the \
                 certificate lists, or reissue the certificate with this name)"
                    .to_owned()
            }
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => {
                "the server's certificate is outside its validity period (expired, not yet valid, or this \
                 machine's clock is wrong)"
                    .to_owned()
            }
            CertificateError::Revoked => "the server's certificate has been revoked".to_owned(),
            _ => "the server's certificate was rejected".to_owned(),
        },
        rustls::Error::AlertReceived(alert) => match alert {
            AlertDescription::CertificateRequired => {
                format!("the server requires a client certificate and none was sent ({CLIENT_HINT})")
            }
            AlertDescription::BadCertificate
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateRevoked
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnknownCA
            | AlertDescription::AccessDenied
            | AlertDescription::DecryptError => {
                format!("the server refused the client certificate ({CLIENT_HINT})")
            }
            AlertDescription::HandshakeFailure | AlertDescription::ProtocolVersion => {
                "the server and the exporter share no TLS version or cipher suite".to_owned()
            }
            AlertDescription::NoApplicationProtocol => {
                "the server does not speak the protocol the exporter offered (HTTP/2 for gRPC, HTTP/1.1 for \
                 HTTP): is OTEL_EXPORTER_OTLP_PROTOCOL right for this port?"
                    .to_owned()
            }
            _ => "the server ended the handshake".to_owned(),
        },
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            "the server did not answer with TLS (is the endpoint an http:// port?)".to_owned()
        }
        _ => "the TLS connection failed".to_owned(),
    };
    format!("TLS handshake failed: {cause} [rustls: {error}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapper(Box<dyn StdError + Send + Sync>);

    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("client error (Connect)")
        }
    }

    impl StdError for Wrapper {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(self.0.as_ref())
        }
    }

    fn wrapped(error: rustls::Error) -> Wrapper {
        Wrapper(Box::new(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            error,
        )))
    }

    #[test]
    fn the_cause_is_found_inside_io_errors() {
        let cause = tls_cause(&wrapped(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        )))
        .unwrap();
        assert!(
            cause.starts_with("TLS handshake failed: the server's certificate is not trusted"),
            "{cause}"
        );
        assert!(cause.contains("OTEL_EXPORTER_OTLP_CERTIFICATE"), "{cause}");
        assert!(
            cause.contains("[rustls: invalid peer certificate: UnknownIssuer]"),
            "{cause}"
        );
    }

    #[test]
    fn each_cause_has_its_sentence() {
        let cases = [
            (
                rustls::Error::InvalidCertificate(CertificateError::NotValidForName),
                "does not match the endpoint's host name",
            ),
            (
                rustls::Error::AlertReceived(AlertDescription::CertificateRequired),
                "requires a client certificate",
            ),
            (
                rustls::Error::AlertReceived(AlertDescription::UnknownCA),
                "refused the client certificate",
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::Expired),
                "outside its validity period",
            ),
        ];
        for (error, expected) in cases {
            let cause = tls_cause(&wrapped(error)).unwrap();
            assert!(cause.contains(expected), "{cause}");
        }
    }

    #[test]
    fn other_failures_are_not_tls() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        assert_eq!(tls_cause(&Wrapper(Box::new(refused))), None);
    }
}
