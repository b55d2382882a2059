//! Two pinned relays over loopback: hellos, frames both ways, counters, closing.

mod common;

use common::{hello, key, pair, within};
use corridor_quic::{relay_key_hex, TransportConfig, TransportError, MAX_CHAINS};
use quinn::ConnectionError;

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[tokio::test]
async fn pinned_peers_exchange_hellos_and_frames() {
    let p = pair(TransportConfig::default(), TransportConfig::default()).await;

    // Each side sees the other's verified key and hello.
    assert_eq!(p.client.peer_key(), key(2).verifying_key());
    assert_eq!(p.server.peer_key(), key(1).verifying_key());
    assert_eq!(p.client.peer_hello(), &hello(&key(2), &["kz-customs"]));
    assert_eq!(
        p.server.peer_hello(),
        &hello(&key(1), &["cn-shanghai-trade"])
    );
    assert_eq!(
        p.client.remote_addr(),
        p.server_endpoint.local_addr().expect("addr")
    );
    assert_eq!(
        p.server.remote_addr(),
        p.client_endpoint.local_addr().expect("addr")
    );

    // Client to server: frames of various sizes, up to a few MiB, sent concurrently.
    let outbound = vec![
        Vec::new(),
        pattern(10, 1),
        pattern(1 << 20, 2),
        pattern(3 << 20, 3),
        pattern(8 << 20, 4),
    ];
    let sending = async {
        for frame in &outbound {
            p.client.send(frame).await.expect("send");
        }
    };
    let receiving = async {
        let mut got = Vec::new();
        for _ in 0..outbound.len() {
            got.push(p.server.recv().await.expect("recv"));
        }
        got
    };
    let ((), mut got) = within(async { tokio::join!(sending, receiving) }).await;
    // Frames on separate streams may arrive in any order.
    got.sort_by_key(Vec::len);
    assert_eq!(got, outbound);

    // Server to client.
    let inbound = [pattern(5, 9), pattern(2 << 20, 8)];
    for frame in &inbound {
        within(p.server.send(frame)).await.expect("send back");
    }
    let mut back = vec![
        within(p.client.recv()).await.expect("recv back"),
        within(p.client.recv()).await.expect("recv back"),
    ];
    back.sort_by_key(Vec::len);
    assert_eq!(back, inbound);

    let out_bytes: u64 = outbound.iter().map(|f| f.len() as u64).sum();
    let in_bytes: u64 = inbound.iter().map(|f| f.len() as u64).sum();
    let client = p.client.stats();
    let server = p.server.stats();
    assert_eq!((client.frames_sent, client.bytes_sent), (5, out_bytes));
    assert_eq!(
        (server.frames_received, server.bytes_received),
        (5, out_bytes)
    );
    assert_eq!((server.frames_sent, server.bytes_sent), (2, in_bytes));
    assert_eq!(
        (client.frames_received, client.bytes_received),
        (2, in_bytes)
    );
    assert!(p.client.rtt() < common::WAIT);
}

#[tokio::test]
async fn hello_carries_many_chains() {
    let (a, b) = (key(1), key(2));
    let client = common::bind(&a, &[&b], TransportConfig::default());
    let server = common::bind(&b, &[&a], TransportConfig::default());
    let chains: Vec<String> = (0..MAX_CHAINS).map(|i| format!("{i:0>128}")).collect();
    let chain_refs: Vec<&str> = chains.iter().map(String::as_str).collect();
    let (dialled, accepted) = common::handshake(
        &client,
        &server,
        &b,
        &hello(&a, &chain_refs),
        &hello(&b, &[]),
    )
    .await;
    let accepted = accepted.expect("accepted");
    assert_eq!(accepted.peer_hello().chains, chains);
    assert!(dialled.expect("dialled").peer_hello().chains.is_empty());
}

#[tokio::test]
async fn closing_a_link_ends_it_on_both_sides() {
    let p = pair(TransportConfig::default(), TransportConfig::default()).await;
    p.client.close(7, "rotating keys");

    let here = within(p.client.recv()).await.expect_err("closed here");
    assert_eq!(here.reason(), "closed");
    assert!(
        matches!(&here, TransportError::Closed { peer, source: ConnectionError::LocallyClosed }
            if *peer == relay_key_hex(&key(2).verifying_key())),
        "{here:?}"
    );

    let there = within(p.server.recv()).await.expect_err("closed there");
    assert_eq!(there.reason(), "closed");
    match &there {
        TransportError::Closed {
            peer,
            source: ConnectionError::ApplicationClosed(close),
        } => {
            assert_eq!(*peer, relay_key_hex(&key(1).verifying_key()));
            assert_eq!(close.error_code, quinn::VarInt::from_u32(7));
            assert_eq!(&close.reason[..], b"rotating keys");
        }
        other => panic!("unexpected {other:?}"),
    }
    // `closed` resolves too, and sending fails with the same reason.
    assert_eq!(within(p.server.closed()).await.reason(), "closed");
    let send = within(p.server.send(b"late"))
        .await
        .expect_err("no send after close");
    assert_eq!(send.reason(), "closed");
}

#[tokio::test]
async fn closing_the_endpoint_closes_links_and_accept() {
    let p = pair(TransportConfig::default(), TransportConfig::default()).await;
    p.server_endpoint.close();

    let err = within(p.client.recv()).await.expect_err("peer shut down");
    match &err {
        TransportError::Closed {
            source: ConnectionError::ApplicationClosed(close),
            ..
        } => {
            assert_eq!(
                close.error_code,
                quinn::VarInt::from_u32(corridor_quic::CLOSE_SHUTDOWN)
            );
            assert_eq!(&close.reason[..], b"shutdown");
        }
        other => panic!("unexpected {other:?}"),
    }
    let err = within(p.server.recv()).await.expect_err("closed locally");
    assert_eq!(err.reason(), "closed");
    assert!(within(p.server_endpoint.accept(&hello(&key(2), &[])))
        .await
        .is_none());
    within(p.server_endpoint.wait_idle()).await;
}

/// Handshakes taken with `Endpoint::incoming` run side by side: a second attempt completes
/// while the first is still waiting, then the first completes too; a refused attempt fails
/// the dialler's connect.
#[tokio::test]
async fn incoming_handshakes_run_side_by_side_and_can_be_refused() {
    use common::bind;
    let (a, b, c) = (key(1), key(2), key(3));
    let server = bind(&b, &[&a, &c], TransportConfig::default());
    let addr = server.local_addr().expect("addr");
    let server_hello = hello(&b, &["kz-customs"]);
    let first = bind(&a, &[&b], TransportConfig::default());
    let second = bind(&c, &[&b], TransportConfig::default());
    let dial = |ep: &corridor_quic::Endpoint, k: &ed25519_dalek::SigningKey| {
        let (ep, h) = (ep.clone(), hello(k, &["cn-shanghai-trade"]));
        let expected = b.verifying_key();
        tokio::spawn(async move { ep.connect(addr, expected, &h).await })
    };
    let dial_first = dial(&first, &a);
    let attempt_first = within(server.incoming()).await.expect("an attempt");
    let dial_second = dial(&second, &c);
    let attempt_second = within(server.incoming()).await.expect("an attempt");
    // The second completes while the first has not even started its handshake.
    let link_second = within(attempt_second.accept(&server_hello))
        .await
        .expect("second accepted");
    assert_eq!(link_second.peer_key(), c.verifying_key());
    let link_first = within(attempt_first.accept(&server_hello))
        .await
        .expect("first accepted");
    assert_eq!(link_first.peer_key(), a.verifying_key());
    assert!(within(dial_first).await.expect("task").is_ok());
    assert!(within(dial_second).await.expect("task").is_ok());

    // A refused attempt: the dialler's connect fails, no link.
    let third = bind(&a, &[&b], TransportConfig::default());
    let dial_third = dial(&third, &a);
    let attempt = within(server.incoming()).await.expect("an attempt");
    assert_eq!(
        attempt.remote_addr(),
        third.local_addr().expect("addr"),
        "the attempt is the third dialler's"
    );
    attempt.refuse();
    let refused = within(dial_third).await.expect("task");
    let Err(err) = refused else {
        panic!("a refused attempt must not connect");
    };
    assert_eq!(err.reason(), "handshake", "{err}");
    assert!(
        err.to_string()
            .contains("the server refused to accept a new connection"),
        "{err}"
    );
}
