//! One connection to one verified peer: frames out, frames in, counters.
//!
//! Each frame travels on its own unidirectional stream: a 4-byte big-endian length, the
//! bytes, the end of the stream. A background task per link accepts the peer's streams and
//! reads them concurrently (at most `max_concurrent_streams`, which quinn enforces on the
//! peer), so a slow or stalled stream does not hold up the others, and [`Link::recv`] only
//! takes finished frames from a bounded queue. Bodies are read only after their length is
//! checked, and the bytes of read-but-not-yet-taken frames are bounded by a byte budget of
//! [`RECEIVE_BUDGET_FRAMES`] maximum frames per link.

use std::{
    fmt,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use ed25519_dalek::VerifyingKey;
use quinn::{
    ConnectionError, ReadError, ReadExactError, ReadToEndError, RecvStream, SendStream, VarInt,
    WriteError,
};
use tokio::{
    sync::{mpsc, Mutex, OwnedSemaphorePermit, Semaphore},
    task::JoinSet,
};
use tracing::{debug, debug_span, trace, Instrument};

use crate::{relay_key_hex, Hello, TransportError, STOP_FRAME_TOO_LARGE, STOP_MALFORMED};

/// Maximum frames' worth of bytes read from one peer and not yet taken by [`Link::recv`].
pub const RECEIVE_BUDGET_FRAMES: usize = 4;

/// Reset code of a frame whose sending was abandoned (the `send` future was dropped); the
/// receiver discards such a stream silently.
const RESET_ABANDONED: u32 = 1;

/// Counters of one link, from its start. Bytes are frame bytes, length prefixes excluded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Frames fully written to the connection.
    pub frames_sent: u64,
    /// Frames handed out by [`Link::recv`].
    pub frames_received: u64,
    /// Bytes of the frames sent.
    pub bytes_sent: u64,
    /// Bytes of the frames received.
    pub bytes_received: u64,
}

/// One connection to one peer relay whose key TLS verified and whose hello was accepted.
///
/// Clones share the connection. The connection closes when [`Link::close`] is called, when
/// the peer closes it or times out, or when the last clone is dropped.
#[derive(Clone)]
pub struct Link {
    inner: Arc<Inner>,
}

struct Inner {
    conn: quinn::Connection,
    peer: VerifyingKey,
    peer_hex: String,
    hello: Hello,
    max_frame_bytes: usize,
    counters: Counters,
    frames: Mutex<mpsc::Receiver<Result<Frame, TransportError>>>,
}

#[derive(Default)]
struct Counters {
    frames_sent: AtomicU64,
    frames_received: AtomicU64,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
}

/// A received frame, holding its share of the byte budget until it is handed out.
struct Frame {
    bytes: Vec<u8>,
    _budget: OwnedSemaphorePermit,
}

/// What the background readers need; deliberately not the [`Inner`], whose drop (every
/// `Link` clone gone) is what stops them.
struct Reader {
    peer_hex: String,
    max_frame_bytes: usize,
    budget: Arc<Semaphore>,
}

impl Link {
    /// Wraps a connection whose handshake and hello exchange are done, and starts reading
    /// the peer's frames. Must be called within a Tokio runtime.
    pub(crate) fn new(
        conn: quinn::Connection,
        peer: VerifyingKey,
        hello: Hello,
        max_frame_bytes: usize,
        max_concurrent_streams: u32,
    ) -> Self {
        let peer_hex = relay_key_hex(&peer);
        // The hello was the only bidirectional stream; refuse any further ones.
        conn.set_max_concurrent_bi_streams(VarInt::from_u32(0));
        let (tx, rx) = mpsc::channel(usize::try_from(max_concurrent_streams).unwrap_or(64));
        let reader = Reader {
            peer_hex: peer_hex.clone(),
            max_frame_bytes,
            budget: Arc::new(Semaphore::new(
                max_frame_bytes
                    .saturating_mul(RECEIVE_BUDGET_FRAMES)
                    .min(Semaphore::MAX_PERMITS),
            )),
        };
        let span = debug_span!("link", peer = %peer_hex);
        tokio::spawn(read_streams(conn.clone(), tx, Arc::new(reader)).instrument(span));
        Self {
            inner: Arc::new(Inner {
                conn,
                peer,
                peer_hex,
                hello,
                max_frame_bytes,
                counters: Counters::default(),
                frames: Mutex::new(rx),
            }),
        }
    }

    /// The peer's relay key, as verified in TLS (and repeated in its hello).
    pub fn peer_key(&self) -> VerifyingKey {
        self.inner.peer
    }

    /// The hello the peer sent.
    pub fn peer_hello(&self) -> &Hello {
        &self.inner.hello
    }

    /// The peer's current UDP address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.inner.conn.remote_address()
    }

    /// Sends one frame on its own unidirectional stream: 4-byte big-endian length, then the
    /// bytes.
    ///
    /// A frame above `max_frame_bytes` is refused with [`TransportError::FrameTooLarge`]
    /// before anything is sent. Waits while the peer has `max_concurrent_streams` frames in
    /// flight or its flow-control window is full (backpressure). `Ok` means the frame was
    /// handed to QUIC, not that the peer read it: acknowledge at the application level.
    ///
    /// Cancel safety: dropping the future abandons the frame; its stream is reset, and the
    /// peer discards it without counting it as an error.
    pub async fn send(&self, frame: &[u8]) -> Result<(), TransportError> {
        let max = self.inner.max_frame_bytes;
        let too_large = || TransportError::FrameTooLarge {
            peer: self.inner.peer_hex.clone(),
            len: frame.len(),
            max,
        };
        if frame.len() > max {
            return Err(too_large());
        }
        let len = u32::try_from(frame.len()).map_err(|_| too_large())?;
        let stream = self
            .inner
            .conn
            .open_uni()
            .await
            .map_err(|e| self.closed_by(e))?;
        let mut stream = ResetOnDrop(Some(stream));
        let result = async {
            let send = stream.get();
            send.write_all(&len.to_be_bytes()).await?;
            send.write_all(frame).await?;
            send.finish().map_err(|_| WriteError::ClosedStream)
        }
        .await;
        match result {
            Ok(()) => {
                stream.disarm();
                let counters = &self.inner.counters;
                counters.frames_sent.fetch_add(1, Ordering::Relaxed);
                counters
                    .bytes_sent
                    .fetch_add(u64::from(len), Ordering::Relaxed);
                Ok(())
            }
            Err(WriteError::ConnectionLost(e)) => Err(self.closed_by(e)),
            Err(WriteError::Stopped(code)) => Err(TransportError::StreamStopped {
                peer: self.inner.peer_hex.clone(),
                code: Some(code.into_inner()),
            }),
            Err(WriteError::ClosedStream | WriteError::ZeroRttRejected) => {
                Err(TransportError::StreamStopped {
                    peer: self.inner.peer_hex.clone(),
                    code: None,
                })
            }
        }
    }

    /// The next frame from the peer. Frames on different streams may arrive in any order.
    ///
    /// A malformed stream gives its error and leaves the link open (the caller counts it
    /// against the peer): [`TransportError::FrameTooLarge`] (refused on its length prefix,
    /// before its body is read; the stream is stopped), [`TransportError::Truncated`],
    /// [`TransportError::TrailingBytes`]. [`TransportError::Closed`] once the connection has
    /// ended and every frame read before that was taken.
    ///
    /// Cancel safety: cancel-safe; a frame is taken only when the call returns it. Concurrent
    /// calls on clones take turns.
    pub async fn recv(&self) -> Result<Vec<u8>, TransportError> {
        let mut frames = self.inner.frames.lock().await;
        match frames.recv().await {
            Some(Ok(frame)) => {
                let counters = &self.inner.counters;
                counters.frames_received.fetch_add(1, Ordering::Relaxed);
                counters
                    .bytes_received
                    .fetch_add(frame.bytes.len() as u64, Ordering::Relaxed);
                Ok(frame.bytes)
            }
            Some(Err(e)) => Err(e),
            // The reader task ends only when the connection has ended.
            None => Err(self.closed_by(
                self.inner
                    .conn
                    .close_reason()
                    .unwrap_or(ConnectionError::LocallyClosed),
            )),
        }
    }

    /// The current round-trip time estimate.
    pub fn rtt(&self) -> Duration {
        self.inner.conn.rtt()
    }

    /// Frames and bytes sent and received so far.
    pub fn stats(&self) -> LinkStats {
        let c = &self.inner.counters;
        LinkStats {
            frames_sent: c.frames_sent.load(Ordering::Relaxed),
            frames_received: c.frames_received.load(Ordering::Relaxed),
            bytes_sent: c.bytes_sent.load(Ordering::Relaxed),
            bytes_received: c.bytes_received.load(Ordering::Relaxed),
        }
    }

    /// Closes the connection at once with an application `code` and `reason`, which the peer
    /// sees; frames not yet delivered are lost.
    pub fn close(&self, code: u32, reason: &str) {
        self.inner
            .conn
            .close(VarInt::from_u32(code), reason.as_bytes());
    }

    /// Resolves when the connection has ended, with why ([`TransportError::Closed`]).
    /// Cancel-safe.
    pub async fn closed(&self) -> TransportError {
        let e = self.inner.conn.closed().await;
        self.closed_by(e)
    }

    /// Writes `bytes` as one stream, verbatim (no length prefix). Lets tests and tools play
    /// a misbehaving peer; a relay never needs it.
    #[doc(hidden)]
    pub async fn send_unframed(&self, bytes: &[u8]) -> Result<(), TransportError> {
        let mut send = self
            .inner
            .conn
            .open_uni()
            .await
            .map_err(|e| self.closed_by(e))?;
        let written = async {
            send.write_all(bytes).await?;
            send.finish().map_err(|_| WriteError::ClosedStream)
        };
        written.await.map_err(|e| match e {
            WriteError::ConnectionLost(e) => self.closed_by(e),
            WriteError::Stopped(code) => TransportError::StreamStopped {
                peer: self.inner.peer_hex.clone(),
                code: Some(code.into_inner()),
            },
            _ => TransportError::StreamStopped {
                peer: self.inner.peer_hex.clone(),
                code: None,
            },
        })
    }

    fn closed_by(&self, source: ConnectionError) -> TransportError {
        TransportError::Closed {
            peer: self.inner.peer_hex.clone(),
            source,
        }
    }
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("peer", &self.inner.peer_hex)
            .field("remote_addr", &self.remote_addr())
            .finish_non_exhaustive()
    }
}

/// A send stream that is reset, not finished, if dropped before [`ResetOnDrop::disarm`]:
/// quinn finishes dropped streams, which would deliver half a frame.
struct ResetOnDrop(Option<SendStream>);

impl ResetOnDrop {
    fn get(&mut self) -> &mut SendStream {
        // Invariant: `Some` until `disarm` consumes the guard's purpose, after which `get`
        // is not called.
        self.0.as_mut().expect("stream present until disarmed")
    }

    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for ResetOnDrop {
    fn drop(&mut self) {
        if let Some(stream) = &mut self.0 {
            // Already finished or reset if this fails; nothing left to undo.
            let _ = stream.reset(VarInt::from_u32(RESET_ABANDONED));
        }
    }
}

/// Accepts the peer's streams and reads each concurrently, until the connection ends or
/// every `Link` clone is gone.
async fn read_streams(
    conn: quinn::Connection,
    tx: mpsc::Sender<Result<Frame, TransportError>>,
    reader: Arc<Reader>,
) {
    let mut readers = JoinSet::new();
    loop {
        tokio::select! {
            () = tx.closed() => break,
            stream = conn.accept_uni() => match stream {
                Ok(stream) => {
                    readers.spawn(read_stream(stream, tx.clone(), reader.clone()));
                }
                Err(e) => {
                    debug!(peer = %reader.peer_hex, error = %e, "link ended");
                    break;
                }
            },
            Some(_) = readers.join_next(), if !readers.is_empty() => {}
        }
    }
    // Dropping `readers` aborts frames still being read: the connection is gone, or no one
    // is left to take them.
}

async fn read_stream(
    mut stream: RecvStream,
    tx: mpsc::Sender<Result<Frame, TransportError>>,
    reader: Arc<Reader>,
) {
    let item = match read_frame(&mut stream, &reader).await {
        Ok(Some(frame)) => Ok(frame),
        Ok(None) => return,
        Err(e) => Err(e),
    };
    // Fails only if every `Link` clone is gone, when the frame has no taker.
    let _ = tx.send(item).await;
}

/// Reads one frame. `Ok(None)` when there is nothing to report: the peer abandoned the
/// frame (reset) or the connection ended (the `Link` reports that itself).
async fn read_frame(
    stream: &mut RecvStream,
    reader: &Reader,
) -> Result<Option<Frame>, TransportError> {
    let peer = || reader.peer_hex.clone();
    let mut prefix = [0u8; 4];
    match stream.read_exact(&mut prefix).await {
        Ok(()) => {}
        Err(ReadExactError::FinishedEarly(_)) => {
            return Err(TransportError::Truncated { peer: peer() })
        }
        Err(ReadExactError::ReadError(e)) => return quiet(e, reader),
    }
    // A u32 always fits the usize of the platforms quinn supports.
    let len = u32::from_be_bytes(prefix) as usize;
    if len > reader.max_frame_bytes {
        // Fails only if the stream is already gone.
        let _ = stream.stop(VarInt::from_u32(STOP_FRAME_TOO_LARGE));
        return Err(TransportError::FrameTooLarge {
            peer: peer(),
            len,
            max: reader.max_frame_bytes,
        });
    }
    // `len <= max_frame_bytes <= u32::MAX` and the budget holds at least one maximum frame.
    let Ok(budget) = reader.budget.clone().acquire_many_owned(len as u32).await else {
        // The semaphore is never closed.
        return Ok(None);
    };
    match stream.read_to_end(len).await {
        Ok(bytes) if bytes.len() == len => Ok(Some(Frame {
            bytes,
            _budget: budget,
        })),
        Ok(_) => Err(TransportError::Truncated { peer: peer() }),
        Err(ReadToEndError::TooLong) => {
            let _ = stream.stop(VarInt::from_u32(STOP_MALFORMED));
            Err(TransportError::TrailingBytes { peer: peer(), len })
        }
        Err(ReadToEndError::Read(e)) => quiet(e, reader),
    }
}

fn quiet(e: ReadError, reader: &Reader) -> Result<Option<Frame>, TransportError> {
    trace!(peer = %reader.peer_hex, error = %e, "frame stream dropped");
    Ok(None)
}
