//! The UDP endpoint: dials peers and accepts them, both with mutual TLS and a hello exchange.

use std::{fmt, net::SocketAddr, sync::Arc};

use ed25519_dalek::{SigningKey, VerifyingKey};
use quinn::{ConnectionError, ReadToEndError, RecvStream, SendStream, VarInt, WriteError};
use rustls::crypto::CryptoProvider;
use tracing::{debug, info};

use crate::{
    hello::{HelloError, MAX_HELLO_BYTES},
    relay_key_hex,
    tls::{self, Identity},
    Hello, Link, TransportConfig, TransportError, CLOSE_BAD_HELLO, CLOSE_SHUTDOWN,
};

/// A bound UDP socket that is both server and client for `corridor/1`.
///
/// Clones share the socket. Every peer, dialled or accepted, must hold a key from the
/// allowlist given to [`Endpoint::bind`] and prove it in TLS, then send an acceptable
/// [`Hello`].
#[derive(Clone)]
pub struct Endpoint {
    quinn: quinn::Endpoint,
    shared: Arc<Shared>,
}

struct Shared {
    identity: Identity,
    key: VerifyingKey,
    allowed: Vec<[u8; 32]>,
    provider: Arc<CryptoProvider>,
    transport: Arc<quinn::TransportConfig>,
    config: TransportConfig,
}

/// Why a hello exchange failed: the connection went away, or the peer's hello is bad.
enum HelloFailure {
    Lost(ConnectionError),
    Bad(HelloError),
}

impl Endpoint {
    /// Binds a UDP socket at `addr` (port 0 picks one) as both server and client, with
    /// identity `key`, accepting only peers whose ed25519 public key is in `allowed` (in both
    /// directions: mutual TLS). Must be called within a Tokio runtime.
    pub fn bind(
        addr: SocketAddr,
        key: &SigningKey,
        allowed: Vec<VerifyingKey>,
        config: TransportConfig,
    ) -> Result<Self, TransportError> {
        let transport = config.quinn()?;
        let identity = Identity::new(key)?;
        let provider = tls::provider();
        let allowed: Vec<[u8; 32]> = allowed.iter().map(VerifyingKey::to_bytes).collect();
        let server = tls::server_config(&provider, &identity, &allowed, transport.clone())?;
        let quinn = quinn::Endpoint::server(server, addr)
            .map_err(|source| TransportError::Bind { addr, source })?;
        let key = key.verifying_key();
        debug!(relay = %relay_key_hex(&key), %addr, peers = allowed.len(), "endpoint bound");
        Ok(Self {
            quinn,
            shared: Arc::new(Shared {
                identity,
                key,
                allowed,
                provider,
                transport,
                config,
            }),
        })
    }

    /// The socket's local address (with the port picked when bound to port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, TransportError> {
        self.quinn
            .local_addr()
            .map_err(|source| TransportError::Io { source })
    }

    /// Dials `addr`, requires the server to present `expected` (which must also be in the
    /// allowlist), sends `hello` and checks the server's (version, key equal to the TLS key),
    /// all within `handshake_timeout`.
    ///
    /// `hello` is sent as given; the peer checks it. A peer that refuses our key or hello
    /// makes this fail with [`TransportError::Handshake`] (reason `"refused-by-peer"` or
    /// `"hello-refused"`): TLS 1.3 lets a refused client finish its side of the handshake,
    /// so success is declared only once the server's hello has arrived.
    ///
    /// Cancel safety: dropping the future abandons the connection attempt.
    pub async fn connect(
        &self,
        addr: SocketAddr,
        expected: VerifyingKey,
        hello: &Hello,
    ) -> Result<Link, TransportError> {
        let after = self.shared.config.handshake_timeout;
        tokio::time::timeout(after, self.dial(addr, expected, hello))
            .await
            .unwrap_or(Err(TransportError::HandshakeTimeout { addr, after }))
    }

    async fn dial(
        &self,
        addr: SocketAddr,
        expected: VerifyingKey,
        hello: &Hello,
    ) -> Result<Link, TransportError> {
        let shared = &self.shared;
        let client = tls::client_config(
            &shared.provider,
            &shared.identity,
            &shared.allowed,
            expected.to_bytes(),
            shared.transport.clone(),
        )?;
        let connecting = self
            .quinn
            .connect_with(client, addr, tls::SERVER_NAME)
            .map_err(|source| TransportError::Connect { addr, source })?;
        let handshake = |source| TransportError::Handshake { addr, source };
        let conn = connecting.await.map_err(handshake)?;
        let peer = verified_key(&conn, addr)?;
        let theirs = async {
            let (mut send, mut recv) = conn.open_bi().await.map_err(HelloFailure::Lost)?;
            write_hello(&mut send, hello).await?;
            read_hello(&mut recv).await
        }
        .await;
        let theirs = self.judge(&conn, addr, &peer, theirs)?;
        info!(peer = %relay_key_hex(&peer), %addr, chains = ?theirs.chains, "link up (dialled)");
        Ok(self.link(conn, peer, theirs))
    }

    /// The next incoming link, its TLS handshake and hello exchange done (within
    /// `handshake_timeout`); `None` once the endpoint is closed.
    ///
    /// A failing incoming handshake gives `Some(Err(..))` (a refused key is reason
    /// `"unknown-peer"`); call again for the next one. Handshakes accepted this way run one
    /// at a time, so an incoming peer can hold up the next ones for at most
    /// `handshake_timeout`; a server that must not be held up uses [`Endpoint::incoming`].
    ///
    /// Cancel safety: cancelling before a connection attempt arrives loses nothing; a
    /// handshake in progress is abandoned.
    pub async fn accept(&self, hello: &Hello) -> Option<Result<Link, TransportError>> {
        Some(self.incoming().await?.accept(hello).await)
    }

    /// The next incoming connection attempt, before its handshake; `None` once the endpoint
    /// is closed. Completing it with [`Incoming::accept`] in a task of its own lets several
    /// handshakes run at once, so a peer that never finishes its handshake holds up no one.
    pub async fn incoming(&self) -> Option<Incoming> {
        let incoming = self.quinn.accept().await?;
        Some(Incoming {
            addr: incoming.remote_address(),
            endpoint: self.clone(),
            incoming,
        })
    }

    async fn answer(
        &self,
        incoming: quinn::Incoming,
        addr: SocketAddr,
        hello: &Hello,
    ) -> Result<Link, TransportError> {
        let handshake = |source| TransportError::Handshake { addr, source };
        let conn = incoming.await.map_err(handshake)?;
        let peer = verified_key(&conn, addr)?;
        let (mut send, mut recv) = conn.accept_bi().await.map_err(handshake)?;
        let theirs = self.judge(&conn, addr, &peer, read_hello(&mut recv).await)?;
        match write_hello(&mut send, hello).await {
            Ok(()) => {}
            Err(HelloFailure::Lost(source)) => return Err(handshake(source)),
            Err(HelloFailure::Bad(source)) => {
                return Err(TransportError::BadHello {
                    peer: relay_key_hex(&peer),
                    addr,
                    source,
                })
            }
        }
        info!(peer = %relay_key_hex(&peer), %addr, chains = ?theirs.chains, "link up (accepted)");
        Ok(self.link(conn, peer, theirs))
    }

    /// Turns the outcome of reading the peer's hello into the hello or an error, closing
    /// the connection on a bad hello (the peer sees [`CLOSE_BAD_HELLO`] and the reason).
    fn judge(
        &self,
        conn: &quinn::Connection,
        addr: SocketAddr,
        peer: &VerifyingKey,
        theirs: Result<Hello, HelloFailure>,
    ) -> Result<Hello, TransportError> {
        let source = match theirs.map(|h| h.check(peer).map(|()| h)) {
            Ok(Ok(hello)) => return Ok(hello),
            Ok(Err(bad)) | Err(HelloFailure::Bad(bad)) => bad,
            Err(HelloFailure::Lost(source)) => {
                return Err(TransportError::Handshake { addr, source })
            }
        };
        let reason = format!("bad hello: {source}");
        conn.close(VarInt::from_u32(CLOSE_BAD_HELLO), reason.as_bytes());
        debug!(peer = %relay_key_hex(peer), %addr, error = %source, "hello refused");
        Err(TransportError::BadHello {
            peer: relay_key_hex(peer),
            addr,
            source,
        })
    }

    fn link(&self, conn: quinn::Connection, peer: VerifyingKey, hello: Hello) -> Link {
        let config = &self.shared.config;
        Link::new(
            conn,
            peer,
            hello,
            config.max_frame_bytes,
            config.max_concurrent_streams,
        )
    }

    /// Closes every connection (application code [`CLOSE_SHUTDOWN`], reason `"shutdown"`)
    /// and refuses new ones; pending [`Endpoint::accept`] calls return `None`.
    pub fn close(&self) {
        self.quinn
            .close(VarInt::from_u32(CLOSE_SHUTDOWN), b"shutdown");
    }

    /// Waits until every connection has been cleanly shut down (call after
    /// [`Endpoint::close`] so peers learn of the close before the process exits).
    /// Cancel-safe.
    pub async fn wait_idle(&self) {
        self.quinn.wait_idle().await;
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("relay", &relay_key_hex(&self.shared.key))
            .field("local_addr", &self.quinn.local_addr().ok())
            .finish_non_exhaustive()
    }
}

/// The peer's key once TLS has accepted it.
fn verified_key(
    conn: &quinn::Connection,
    addr: SocketAddr,
) -> Result<VerifyingKey, TransportError> {
    tls::peer_key(conn).ok_or_else(|| {
        // Unreachable with our verifier (certificates mandatory and ed25519); refuse rather
        // than trust a connection whose key we cannot name.
        conn.close(VarInt::from_u32(CLOSE_BAD_HELLO), b"no verified peer key");
        TransportError::Handshake {
            addr,
            source: conn
                .close_reason()
                .unwrap_or(ConnectionError::LocallyClosed),
        }
    })
}

async fn write_hello(send: &mut SendStream, hello: &Hello) -> Result<(), HelloFailure> {
    let body = hello.encode();
    // Our own hellos are small: the limits on chains keep them far below u32::MAX.
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    let written = async {
        send.write_all(&len.to_be_bytes()).await?;
        send.write_all(&body).await?;
        send.finish().map_err(|_| WriteError::ClosedStream)
    };
    written.await.map_err(|e| match e {
        WriteError::ConnectionLost(e) => HelloFailure::Lost(e),
        _ => HelloFailure::Bad(HelloError::Aborted),
    })
}

async fn read_hello(recv: &mut RecvStream) -> Result<Hello, HelloFailure> {
    let bytes = match recv.read_to_end(4 + MAX_HELLO_BYTES).await {
        Ok(bytes) => bytes,
        Err(ReadToEndError::TooLong) => {
            return Err(HelloFailure::Bad(HelloError::TooLarge {
                len: 4 + MAX_HELLO_BYTES + 1,
                max: MAX_HELLO_BYTES,
            }))
        }
        Err(ReadToEndError::Read(quinn::ReadError::ConnectionLost(e))) => {
            return Err(HelloFailure::Lost(e))
        }
        Err(ReadToEndError::Read(_)) => return Err(HelloFailure::Bad(HelloError::Aborted)),
    };
    let Some((prefix, body)) = bytes.split_first_chunk::<4>() else {
        return Err(HelloFailure::Bad(HelloError::Length {
            declared: None,
            received: bytes.len(),
        }));
    };
    let declared = u32::from_be_bytes(*prefix) as usize;
    if declared > MAX_HELLO_BYTES {
        return Err(HelloFailure::Bad(HelloError::TooLarge {
            len: declared,
            max: MAX_HELLO_BYTES,
        }));
    }
    if declared != body.len() {
        return Err(HelloFailure::Bad(HelloError::Length {
            declared: Some(declared),
            received: body.len(),
        }));
    }
    Hello::decode(body).map_err(HelloFailure::Bad)
}

/// An incoming connection attempt whose handshake has not run yet (see
/// [`Endpoint::incoming`]).
pub struct Incoming {
    endpoint: Endpoint,
    incoming: quinn::Incoming,
    addr: SocketAddr,
}

impl Incoming {
    /// Where the attempt comes from.
    pub fn remote_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Runs the TLS handshake and the hello exchange, within `handshake_timeout`.
    pub async fn accept(self, hello: &Hello) -> Result<Link, TransportError> {
        let Self {
            endpoint,
            incoming,
            addr,
        } = self;
        let after = endpoint.shared.config.handshake_timeout;
        tokio::time::timeout(after, endpoint.answer(incoming, addr, hello))
            .await
            .unwrap_or(Err(TransportError::HandshakeTimeout { addr, after }))
    }

    /// Refuses the attempt without a handshake (too many in progress).
    pub fn refuse(self) {
        self.incoming.refuse();
    }
}
