//! A Tower connector that opens TCP, then TLS, for hyper's client and tonic's channel,
//! and reports every TLS failure of the connection (during the handshake or on a later
//! read, where TLS 1.3 servers refuse client certificates) with its cause.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use super::cause::{closed_after_certificate_request, tls_cause};
use super::client::TlsClient;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Told the cause of each TLS failure, as [`tls_cause`] words it.
pub(crate) type OnTlsFailure = Arc<dyn Fn(String) + Send + Sync>;

/// Connects to the URI's host and port over TLS, whatever the URI's scheme: it is only
/// used for endpoints that are `https://`.
#[derive(Clone)]
pub(crate) struct TlsConnector {
    tcp: HttpConnector,
    tls: tokio_rustls::TlsConnector,
    client: TlsClient,
    on_failure: OnTlsFailure,
}

impl std::fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConnector").finish_non_exhaustive()
    }
}

impl TlsConnector {
    pub(crate) fn new(client: TlsClient, connect_timeout: Duration, on_failure: OnTlsFailure) -> Self {
        let mut tcp = HttpConnector::new();
        // The scheme says "https"; the TCP part does not care.
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(connect_timeout));
        TlsConnector {
            tcp,
            tls: tokio_rustls::TlsConnector::from(client.config.clone()),
            client,
            on_failure,
        }
    }
}

impl tower::Service<Uri> for TlsConnector {
    type Response = TlsStream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<TlsStream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        tower::Service::<Uri>::poll_ready(&mut self.tcp, cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        // `Uri::host` keeps the brackets of an IPv6 literal.
        let host = uri
            .host()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let connecting = tower::Service::call(&mut self.tcp, uri);
        let tls = self.tls.clone();
        let client = self.client.clone();
        let on_failure = self.on_failure.clone();
        Box::pin(async move {
            let server_name = ServerName::try_from(host.clone())
                .map_err(|_| format!("{host:?} is not a host name or IP address TLS can verify"))?;
            let tcp = connecting.await?;
            let handshake = tls.connect(server_name, tcp.into_inner()).await;
            let certificate_requested = client.certificate_requested.swap(false, Ordering::Relaxed);
            match handshake {
                Ok(stream) => Ok(TlsStream {
                    inner: TokioIo::new(stream),
                    on_failure,
                    certificate_requested,
                    certificate_sent: client.has_certificate,
                    answered: false,
                    reported: false,
                }),
                Err(error) => {
                    if let Some(cause) = tls_cause(&error) {
                        on_failure(cause);
                    }
                    Err(error.into())
                }
            }
        })
    }
}

/// A TLS connection that reports the TLS errors its reads and writes meet.
pub(crate) struct TlsStream {
    inner: TokioIo<tokio_rustls::client::TlsStream<TcpStream>>,
    on_failure: OnTlsFailure,
    /// The server asked for a client certificate during the handshake.
    certificate_requested: bool,
    /// And one was configured (so it was sent).
    certificate_sent: bool,
    /// A read has succeeded: the server accepted the handshake, so a later reset is
    /// not about certificates.
    answered: bool,
    reported: bool,
}

impl TlsStream {
    fn watch<T>(&mut self, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if let Poll::Ready(Err(error)) = &poll {
            if let Some(cause) = self.cause(error) {
                (self.on_failure)(cause);
                self.reported = true;
            }
        }
        poll
    }

    fn cause(&self, error: &io::Error) -> Option<String> {
        if let Some(cause) = tls_cause(error) {
            return Some(cause);
        }
        let closed = matches!(
            error.kind(),
            io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::UnexpectedEof
        );
        (closed && self.certificate_requested && !self.answered && !self.reported)
            .then(|| closed_after_certificate_request(self.certificate_sent))
    }
}

impl Read for TlsStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: ReadBufCursor<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            this.answered = true;
        }
        this.watch(poll)
    }
}

impl Write for TlsStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.watch(poll)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        this.watch(poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.watch(poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.watch(poll)
    }
}

/// For hyper's pooled client: nothing to report beyond "connected" (the HTTP exporter
/// speaks HTTP/1.1, so no ALPN upgrade to announce).
impl Connection for TlsStream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}
