//! Everything the transport refuses, each with its specific reason: unpinned keys in either
//! direction, bad hellos, oversized, truncated and overlong frames.

mod common;

use common::{bind, handshake, hello, key, pair, within};
use corridor_quic::{relay_key_hex, HelloError, TransportConfig, TransportError};

fn limit(max_frame_bytes: usize) -> TransportConfig {
    TransportConfig {
        max_frame_bytes,
        ..TransportConfig::default()
    }
}

#[tokio::test]
async fn server_refuses_an_unpinned_client() {
    let (stranger, server_key, someone) = (key(1), key(2), key(3));
    // The stranger pins the server, but the server only knows `someone`.
    let client = bind(&stranger, &[&server_key], TransportConfig::default());
    let server = bind(&server_key, &[&someone], TransportConfig::default());
    let (dialled, accepted) = handshake(
        &client,
        &server,
        &server_key,
        &hello(&stranger, &["cn-shanghai-trade"]),
        &hello(&server_key, &[]),
    )
    .await;

    let refused = accepted.expect_err("server refuses");
    assert_eq!(refused.reason(), "unknown-peer");
    assert!(
        matches!(refused, TransportError::Handshake { .. }),
        "{refused:?}"
    );
    let text = refused.to_string();
    let stranger_hex = relay_key_hex(&stranger.verifying_key());
    assert!(
        text.contains(&format!(
            "ed25519 key {stranger_hex} is not in the corridor peer allowlist"
        )),
        "{text}"
    );

    // TLS 1.3 lets the client finish its side; it learns of the refusal before any hello.
    let refused = dialled.expect_err("client is refused");
    assert_eq!(refused.reason(), "refused-by-peer");
    assert!(
        refused
            .to_string()
            .contains("not in the corridor peer allowlist"),
        "{refused}"
    );
}

#[tokio::test]
async fn client_refuses_a_server_with_another_key() {
    let (a, b, c) = (key(1), key(2), key(3));
    // The client pins both b and c and dials c's address... which b is serving.
    let client = bind(&a, &[&b, &c], TransportConfig::default());
    let server = bind(&b, &[&a], TransportConfig::default());
    let (dialled, accepted) =
        handshake(&client, &server, &c, &hello(&a, &[]), &hello(&b, &[])).await;

    let refused = dialled.expect_err("client refuses");
    assert_eq!(refused.reason(), "unknown-peer");
    let text = refused.to_string();
    let (b_hex, c_hex) = (
        relay_key_hex(&b.verifying_key()),
        relay_key_hex(&c.verifying_key()),
    );
    assert!(
        text.contains(&format!("ed25519 key {b_hex} is not the key {c_hex}")),
        "{text}"
    );

    let refused = accepted.expect_err("server sees the refusal");
    assert_eq!(refused.reason(), "refused-by-peer");
}

#[tokio::test]
async fn client_refuses_a_server_outside_its_allowlist() {
    let (a, b) = (key(1), key(2));
    // Dialling b by key, but b is not in the client's allowlist.
    let client = bind(&a, &[&key(3)], TransportConfig::default());
    let server = bind(&b, &[&a], TransportConfig::default());
    let (dialled, accepted) =
        handshake(&client, &server, &b, &hello(&a, &[]), &hello(&b, &[])).await;
    let refused = dialled.expect_err("client refuses");
    assert_eq!(refused.reason(), "unknown-peer");
    assert!(
        refused
            .to_string()
            .contains("is not in the corridor peer allowlist"),
        "{refused}"
    );
    assert_eq!(accepted.expect_err("refused").reason(), "refused-by-peer");
}

#[tokio::test]
async fn hello_with_another_version_is_refused() {
    let (a, b) = (key(1), key(2));
    let client = bind(&a, &[&b], TransportConfig::default());
    let server = bind(&b, &[&a], TransportConfig::default());
    let mut future = hello(&a, &["cn-shanghai-trade"]);
    future.version = 2;
    let (dialled, accepted) = handshake(&client, &server, &b, &future, &hello(&b, &[])).await;

    let refused = accepted.expect_err("server refuses the hello");
    assert_eq!(refused.reason(), "bad-hello");
    match &refused {
        TransportError::BadHello {
            peer,
            source: HelloError::Version { got: 2 },
            ..
        } => {
            assert_eq!(*peer, relay_key_hex(&a.verifying_key()));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        refused.to_string().ends_with("version 2, we speak 1"),
        "{refused}"
    );

    let refused = dialled.expect_err("client learns its hello was refused");
    assert_eq!(refused.reason(), "hello-refused");
    assert!(
        refused.to_string().contains("version 2, we speak 1"),
        "{refused}"
    );
}

#[tokio::test]
async fn hello_naming_another_key_is_refused() {
    let (a, b, c) = (key(1), key(2), key(3));
    let client = bind(&a, &[&b], TransportConfig::default());
    let server = bind(&b, &[&a, &c], TransportConfig::default());
    // a proves its own key in TLS but claims to be c in its hello.
    let (dialled, accepted) =
        handshake(&client, &server, &b, &hello(&c, &[]), &hello(&b, &[])).await;

    let refused = accepted.expect_err("server refuses the hello");
    assert_eq!(refused.reason(), "bad-hello");
    match &refused {
        TransportError::BadHello {
            peer,
            source: HelloError::KeyMismatch { claimed, proved },
            ..
        } => {
            assert_eq!(*peer, relay_key_hex(&a.verifying_key()));
            assert_eq!(*proved, relay_key_hex(&a.verifying_key()));
            assert_eq!(*claimed, relay_key_hex(&c.verifying_key()));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(dialled.expect_err("refused").reason(), "hello-refused");
}

#[tokio::test]
async fn client_refuses_a_bad_server_hello() {
    let (a, b) = (key(1), key(2));
    let client = bind(&a, &[&b], TransportConfig::default());
    let server = bind(&b, &[&a], TransportConfig::default());
    let mut future = hello(&b, &[]);
    future.version = 9;
    let (dialled, accepted) = handshake(&client, &server, &b, &hello(&a, &[]), &future).await;

    let refused = dialled.expect_err("client refuses the server's hello");
    assert_eq!(refused.reason(), "bad-hello");
    assert!(
        matches!(
            refused,
            TransportError::BadHello {
                source: HelloError::Version { got: 9 },
                ..
            }
        ),
        "{refused:?}"
    );
    // The server had finished its part; its link ends with the client's refusal.
    let link = accepted.expect("server side was done");
    let closed = within(link.closed()).await;
    assert!(
        closed
            .to_string()
            .contains("bad hello: version 9, we speak 1"),
        "{closed}"
    );
}

#[tokio::test]
async fn frame_above_the_limit_is_refused_before_sending() {
    let p = pair(limit(1024), limit(1024)).await;
    let err = within(p.client.send(&[0; 1025]))
        .await
        .expect_err("too large");
    assert_eq!(err.reason(), "frame-too-large");
    assert!(
        matches!(&err, TransportError::FrameTooLarge { peer, len: 1025, max: 1024 }
            if *peer == relay_key_hex(&key(2).verifying_key())),
        "{err:?}"
    );
    assert_eq!(p.client.stats().frames_sent, 0);

    // Nothing reached the peer: the next frame it sees is the one that fits.
    within(p.client.send(&[1; 1024])).await.expect("fits");
    assert_eq!(within(p.server.recv()).await.expect("recv"), vec![1; 1024]);
}

#[tokio::test]
async fn length_prefix_above_the_receivers_limit_is_refused() {
    // The client allows itself 1 MiB frames; the server accepts only 64 KiB.
    let p = pair(limit(1 << 20), limit(64 << 10)).await;
    within(p.client.send(&vec![7; 100 << 10]))
        .await
        .expect("within the sender's limit");
    let err = within(p.server.recv())
        .await
        .expect_err("above the receiver's limit");
    assert_eq!(err.reason(), "frame-too-large");
    assert!(
        matches!(&err, TransportError::FrameTooLarge { peer, len, max: 65_536 }
            if *len == 100 << 10 && *peer == relay_key_hex(&key(1).verifying_key())),
        "{err:?}"
    );

    // A bare prefix claiming 4 GiB is refused on the prefix alone.
    within(p.client.send_unframed(&u32::MAX.to_be_bytes()))
        .await
        .expect("raw prefix");
    let err = within(p.server.recv()).await.expect_err("prefix refused");
    assert!(
        matches!(
            err,
            TransportError::FrameTooLarge {
                len: 4_294_967_295,
                ..
            }
        ),
        "{err:?}"
    );

    // The link stays up: the caller decides what a refused frame costs the peer.
    within(p.client.send(b"still here")).await.expect("send");
    assert_eq!(within(p.server.recv()).await.expect("recv"), b"still here");
    assert_eq!(p.server.stats().frames_received, 1);
}

#[tokio::test]
async fn stream_ending_early_is_truncated_and_extra_bytes_are_refused() {
    let p = pair(TransportConfig::default(), TransportConfig::default()).await;
    let peer = relay_key_hex(&key(1).verifying_key());

    // Declares 100 bytes, carries 10.
    let mut short = 100u32.to_be_bytes().to_vec();
    short.extend_from_slice(&[0; 10]);
    within(p.client.send_unframed(&short)).await.expect("raw");
    let err = within(p.server.recv()).await.expect_err("truncated body");
    assert_eq!(err.reason(), "truncated");
    assert!(
        matches!(&err, TransportError::Truncated { peer: p } if *p == peer),
        "{err:?}"
    );

    // Ends inside the length prefix.
    within(p.client.send_unframed(&[0, 0])).await.expect("raw");
    let err = within(p.server.recv()).await.expect_err("truncated prefix");
    assert_eq!(err.reason(), "truncated");

    // Declares 2 bytes, carries 3.
    within(p.client.send_unframed(&[0, 0, 0, 2, 1, 2, 3]))
        .await
        .expect("raw");
    let err = within(p.server.recv()).await.expect_err("trailing bytes");
    assert_eq!(err.reason(), "trailing-bytes");
    assert!(
        matches!(err, TransportError::TrailingBytes { len: 2, .. }),
        "{err:?}"
    );
    assert_eq!(p.server.stats().frames_received, 0);
}

#[tokio::test]
async fn silent_address_times_out_within_the_handshake_budget() {
    // A UDP socket that never answers.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    let addr = silent.local_addr().expect("addr");
    let budget = std::time::Duration::from_millis(300);
    let config = TransportConfig {
        handshake_timeout: budget,
        ..TransportConfig::default()
    };
    let client = bind(&key(1), &[&key(2)], config);
    let err = within(client.connect(addr, key(2).verifying_key(), &hello(&key(1), &[])))
        .await
        .expect_err("nobody answers");
    assert_eq!(err.reason(), "handshake-timeout");
    assert!(
        matches!(err, TransportError::HandshakeTimeout { addr: a, after } if a == addr && after == budget),
        "{err:?}"
    );
}

#[tokio::test]
async fn abandoned_send_is_discarded_not_counted() {
    let p = pair(TransportConfig::default(), TransportConfig::default()).await;
    // Start an 8 MiB frame and drop the future almost at once: the stream is reset, not
    // finished, so the peer never sees half a frame.
    let big = vec![5; 8 << 20];
    let abandoned = tokio::time::timeout(std::time::Duration::from_micros(1), p.client.send(&big));
    assert!(
        abandoned.await.is_err(),
        "the send should still be in progress"
    );
    within(p.client.send(b"next")).await.expect("send");
    assert_eq!(within(p.server.recv()).await.expect("recv"), b"next");
    // Nor an error for it: a finished half frame would surface as `Truncated`.
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(300), p.server.recv());
    assert!(quiet.await.is_err(), "the abandoned frame surfaced");
    assert_eq!(p.client.stats().frames_sent, 1);
}
