//! Loopback endpoints and links for the transport tests. Every wait is bounded.
#![allow(dead_code)]

use std::{future::Future, net::SocketAddr, time::Duration};

use corridor_quic::{Endpoint, Hello, Link, TransportConfig, TransportError};
use ed25519_dalek::SigningKey;

/// The longest any single step may take before the test fails.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// A fixed relay key, one per `n`.
pub(crate) fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

/// Runs `f`, failing the test if it takes longer than [`WAIT`].
pub(crate) async fn within<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(WAIT, f)
        .await
        .expect("step did not finish in time")
}

/// An endpoint on 127.0.0.1 (port picked by the OS) for `key`, allowing `allowed`.
pub(crate) fn bind(key: &SigningKey, allowed: &[&SigningKey], config: TransportConfig) -> Endpoint {
    let loopback: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let allowed = allowed.iter().map(|k| k.verifying_key()).collect();
    Endpoint::bind(loopback, key, allowed, config).expect("bind")
}

/// The correct hello of `key` serving `chains`.
pub(crate) fn hello(key: &SigningKey, chains: &[&str]) -> Hello {
    Hello::new(
        &key.verifying_key(),
        chains.iter().map(|c| c.to_string()).collect(),
    )
}

/// Two endpoints pinned to each other, and the link between them from each side.
pub(crate) struct Pair {
    /// The dialling side's endpoint.
    pub(crate) client_endpoint: Endpoint,
    /// The accepting side's endpoint.
    pub(crate) server_endpoint: Endpoint,
    /// The dialling side's link.
    pub(crate) client: Link,
    /// The accepting side's link.
    pub(crate) server: Link,
}

/// A client (key 1) connected to a server (key 2), each with its own limits.
pub(crate) async fn pair(client_config: TransportConfig, server_config: TransportConfig) -> Pair {
    let (a, b) = (key(1), key(2));
    let client_endpoint = bind(&a, &[&b], client_config);
    let server_endpoint = bind(&b, &[&a], server_config);
    let (client, server) = handshake(
        &client_endpoint,
        &server_endpoint,
        &b,
        &hello(&a, &["cn-shanghai-trade"]),
        &hello(&b, &["kz-customs"]),
    )
    .await;
    Pair {
        client_endpoint,
        server_endpoint,
        client: client.expect("client connects"),
        server: server.expect("server accepts"),
    }
}

/// Runs `connect` (expecting `server_key`) and `accept` together, with the given hellos.
pub(crate) async fn handshake(
    client: &Endpoint,
    server: &Endpoint,
    server_key: &SigningKey,
    client_hello: &Hello,
    server_hello: &Hello,
) -> (Result<Link, TransportError>, Result<Link, TransportError>) {
    let addr = server.local_addr().expect("server address");
    let (dialled, accepted) = within(async {
        tokio::join!(
            client.connect(addr, server_key.verifying_key(), client_hello),
            server.accept(server_hello)
        )
    })
    .await;
    (dialled, accepted.expect("server endpoint open"))
}
