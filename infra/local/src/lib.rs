//! visa-local: the whole portal in one process on a laptop.

pub mod blobs;
pub mod config;
pub mod console;
pub mod demo;
pub mod faults;
pub mod gateway;
pub mod issuer;
pub mod mail;
pub mod outbox;
pub mod reminders;
pub mod retention;
pub mod sandbox;
pub mod signer;
pub mod sqlite;
pub mod staff;

use std::sync::Arc;

/// Prints the address and serves until Ctrl-C or SIGTERM.
pub async fn serve(
    listener: tokio::net::TcpListener,
    gw: Arc<gateway::Gateway>,
) -> std::io::Result<()> {
    let app = gateway::router(gw);
    println!("visa-local listening on http://{}", listener.local_addr()?);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
