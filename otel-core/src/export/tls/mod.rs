//! TLS for the OTLP exporters (feature `tls`): one rustls client configuration and one
//! connector serve gRPC and HTTP alike, so both transports trust the same roots, present
//! the same client certificate and explain a failed handshake the same way.
//!
//! - `client.rs` builds the rustls configuration from a [`TlsConfig`](crate::config::TlsConfig):
//!   the platform's roots and webpki's, or the CA bundle of `OTEL_EXPORTER_OTLP_CERTIFICATE`;
//!   the client certificate of `_CLIENT_CERTIFICATE` / `_CLIENT_KEY` for mutual TLS.
//! - `connector.rs` opens TCP, then TLS, and watches the stream for the rest of its life:
//!   with TLS 1.3 a server that refuses the client certificate says so only after the
//!   handshake, on the first read.
//! - `cause.rs` turns a rustls error into the sentence an operator needs ("the server's
//!   certificate is not signed by a trusted CA"), which the exporters report instead of the
//!   transport's generic failure.
//!
//! The ring provider is named explicitly everywhere (never the process default), so the
//! build works whichever other rustls provider features the application's dependency graph
//! turns on.

#![cfg_attr(
    not(any(feature = "otlp-grpc", feature = "otlp-http")),
    allow(dead_code, unused_imports)
)]

mod cause;
mod client;
mod connector;

pub(crate) use client::{client_config, Alpn};
pub(crate) use connector::{OnTlsFailure, TlsConnector};
