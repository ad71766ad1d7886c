//! An axum router served on 127.0.0.1 at a port the OS picks, until dropped: how the
//! examples start their local servers and stand-in APIs.

use std::future::IntoFuture;
use std::net::SocketAddr;

use tokio::task::JoinHandle;

/// A router being served; dropping it stops the server.
#[derive(Debug)]
pub struct LocalServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl LocalServer {
    /// Binds 127.0.0.1 on a port the OS picks and serves `router` on a task of its own.
    ///
    /// # Errors
    ///
    /// When no port can be bound.
    pub async fn start(router: axum::Router) -> std::io::Result<LocalServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = axum::serve(listener, router).into_future();
        let task = tokio::spawn(async move {
            // Ends only when the listener fails; a server that stops only ends the
            // example's calls to it early, which they report.
            let _ = server.await;
        });
        Ok(LocalServer { addr, task })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
