//! The frames' bounds and encoding, the lane's key, and the in-memory store's semantics
//! (atomic batches, prefix scans within one column), asserted value by value.

mod common;

use common::{SimChain, F};
use corridor_light_client::merkle::MultiProof;
use corridor_light_client::receipt::{Receipt, ReceiptResult};
use corridor_light_client::{ChainId, Hash32, Height};
use corridor_relay_core::store::{Column, MemStore, Store, Write, WriteBatch};
use corridor_relay_core::wire::{
    Ack, ClientTrust, Frame, FrameError, Lane, Limits, MessageBatch, ReceiptAck, ReceiptBatch,
    TrustStatus,
};

fn lane() -> Lane {
    Lane {
        source: ChainId::new("cn-shanghai").unwrap(),
        destination: ChainId::new("kz-astana").unwrap(),
        channel: 7,
    }
}

#[test]
fn a_lane_has_a_stable_key_and_a_readable_name() {
    assert_eq!(lane().key(), "cn-shanghai/kz-astana/7");
    assert_eq!(lane().to_string(), "cn-shanghai -> kz-astana #7");
}

/// Limits of `n` everywhere, the frame size unbounded.
fn limits(n: usize) -> Limits {
    Limits {
        max_frame_bytes: usize::MAX,
        max_batch_messages: n,
        max_light_blocks: n,
        max_ack_sequences: n,
        max_trust_entries: n,
    }
}

/// One frame of each kind, each list of it `n` long (the others empty).
fn frames(n: usize) -> Vec<(&'static str, Frame<F>)> {
    let mut cn = SimChain::new("cn-shanghai");
    let kz = SimChain::new("kz-astana");
    cn.submit(kz.id(), 7, 1);
    cn.produce();
    let message = cn.committed[&Height(2)][0].clone();
    let receipt = Receipt {
        source_chain: lane().source,
        destination_chain: lane().destination,
        channel: 7,
        sequence: 1,
        message_commitment: Hash32([1; 32]),
        result: ReceiptResult::Delivered,
    };
    let trust = ClientTrust {
        chain: lane().source,
        root_height: Height(1),
        latest: Some(Height(2)),
    };
    let batch = |messages: usize, blocks: usize| MessageBatch::<F> {
        lane: lane(),
        height: Height(2),
        light_blocks: vec![cn.blocks[1].clone(); blocks],
        messages: vec![message.0.clone(); messages],
        proof: (messages > 0).then(|| MultiProof {
            tree_size: 1,
            indices: vec![0; messages],
            hashes: Vec::new(),
        }),
    };
    let receipts = |receipts: usize, blocks: usize| ReceiptBatch::<F> {
        chain: lane().destination,
        height: Height(2),
        light_blocks: vec![kz.blocks[0].clone(); blocks],
        receipts: vec![receipt.clone(); receipts],
        proof: (receipts > 0).then(|| MultiProof {
            tree_size: 1,
            indices: vec![0; receipts],
            hashes: Vec::new(),
        }),
    };
    vec![
        ("batch messages", Frame::Batch(batch(n, 0))),
        ("light blocks", Frame::Batch(batch(0, n))),
        ("batch receipts", Frame::Receipts(receipts(n, 0))),
        ("light blocks", Frame::Receipts(receipts(0, n))),
        (
            "ack sequences",
            Frame::Ack(Ack {
                lane: lane(),
                sequences: vec![1; n],
                trusted_height: None,
            }),
        ),
        (
            "ack sequences",
            Frame::ReceiptAck(ReceiptAck {
                lane: lane(),
                sequences: vec![1; n],
                trusted_height: Some(Height(3)),
            }),
        ),
        (
            "trust entries",
            Frame::Trust(TrustStatus {
                clients: vec![trust; n],
            }),
        ),
    ]
}

#[test]
fn every_list_may_reach_its_limit_and_not_pass_it() {
    for (what, frame) in frames(3) {
        let bytes = frame.encode().unwrap();
        assert_eq!(Frame::<F>::decode(&bytes, &limits(3)), Ok(frame.clone()));
        assert_eq!(frame.check(&limits(3)), Ok(()), "{what}");
        let err = Frame::<F>::decode(&bytes, &limits(2)).unwrap_err();
        assert_eq!(
            err,
            FrameError::TooMany {
                what,
                got: 3,
                max: 2
            }
        );
        assert_eq!(err.reason(), "frame-limits");
        assert_eq!(frame.check(&limits(2)), Err(err));
    }
}

#[test]
fn a_frame_may_reach_the_size_limit_and_not_pass_it() {
    let (_, frame) = frames(1).remove(4);
    let bytes = frame.encode().unwrap();
    let at = Limits {
        max_frame_bytes: bytes.len(),
        ..Limits::default()
    };
    assert_eq!(Frame::<F>::decode(&bytes, &at), Ok(frame));
    let below = Limits {
        max_frame_bytes: bytes.len() - 1,
        ..Limits::default()
    };
    let err = Frame::<F>::decode(&bytes, &below).unwrap_err();
    assert_eq!(
        err,
        FrameError::TooLarge {
            len: bytes.len(),
            max: bytes.len() - 1
        }
    );
    assert_eq!(err.reason(), "frame-too-large");
}

#[test]
fn bytes_that_are_no_frame_are_refused_as_bad_frames() {
    let err = Frame::<F>::decode(b"\xa1\x64type\x63bad", &Limits::default()).unwrap_err();
    assert!(matches!(err, FrameError::Decode(_)), "{err:?}");
    assert_eq!(err.reason(), "bad-frame");
    assert_eq!(FrameError::Encode("x".into()).reason(), "encode");
}

#[test]
fn column_names_are_the_column_families() {
    let names: Vec<_> = Column::ALL.iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        ["clients", "outbound", "inbound", "receipts", "audit", "meta"]
    );
}

#[test]
fn a_write_batch_keeps_its_writes_in_order() {
    let mut batch = WriteBatch::default();
    assert!(batch.is_empty());
    batch.put(Column::Meta, "a", vec![1]);
    assert!(!batch.is_empty());
    let mut other = WriteBatch::default();
    other.delete(Column::Audit, "b");
    batch.extend(other);
    assert_eq!(
        batch.writes,
        vec![
            Write {
                column: Column::Meta,
                key: b"a".to_vec(),
                value: Some(vec![1]),
            },
            Write {
                column: Column::Audit,
                key: b"b".to_vec(),
                value: None,
            },
        ]
    );
}

#[test]
fn the_memory_store_applies_batches_and_scans_one_prefix_of_one_column() {
    let store = MemStore::new();
    let mut batch = WriteBatch::default();
    for key in ["next/a", "next/b", "nexu", "closed/a", "next"] {
        batch.put(Column::Meta, key, key.as_bytes().to_vec());
    }
    batch.put(Column::Clients, "next/c", vec![9]);
    batch.put(Column::Audit, "next/d", vec![8]);
    store.write(&batch).unwrap();
    assert_eq!(store.len(Column::Meta), 5);
    assert_eq!(store.len(Column::Clients), 1);
    assert_eq!(store.len(Column::Outbound), 0);

    let scanned = store.scan(Column::Meta, b"next/").unwrap();
    assert_eq!(
        scanned,
        vec![
            (b"next/a".to_vec(), b"next/a".to_vec()),
            (b"next/b".to_vec(), b"next/b".to_vec()),
        ],
        "only this column, only this prefix"
    );
    assert_eq!(
        store.scan(Column::Clients, b"next/").unwrap(),
        vec![(b"next/c".to_vec(), vec![9])],
        "not the next column's keys of the same prefix"
    );
    assert_eq!(store.scan(Column::Clients, b"").unwrap().len(), 1);
    assert_eq!(store.scan(Column::Receipts, b"").unwrap(), Vec::new());

    assert_eq!(
        store.get(Column::Meta, b"nexu").unwrap(),
        Some(b"nexu".to_vec())
    );
    assert_eq!(store.get(Column::Clients, b"nexu").unwrap(), None);

    let mut batch = WriteBatch::default();
    batch.delete(Column::Meta, "next/a");
    batch.put(Column::Meta, "next/b", vec![2]);
    store.write(&batch).unwrap();
    assert_eq!(store.get(Column::Meta, b"next/a").unwrap(), None);
    assert_eq!(store.get(Column::Meta, b"next/b").unwrap(), Some(vec![2]));
    assert_eq!(store.len(Column::Meta), 4);
}

#[test]
fn a_bounded_scan_goes_in_steps_after_a_key_within_its_prefix() {
    let store = MemStore::new();
    let mut batch = WriteBatch::default();
    for k in ["a/1", "a/2", "a/3", "b/1", "a"] {
        batch.put(Column::Meta, k.as_bytes().to_vec(), k.as_bytes().to_vec());
    }
    batch.put(Column::Audit, b"a/0".to_vec(), Vec::new());
    store.write(&batch).unwrap();
    let keys = |after: Option<&str>, limit| -> Vec<String> {
        store
            .scan_after(Column::Meta, b"a/", after.map(str::as_bytes), limit)
            .unwrap()
            .into_iter()
            .map(|(k, _)| String::from_utf8(k).unwrap())
            .collect()
    };
    assert_eq!(keys(None, 2), ["a/1", "a/2"]);
    assert_eq!(keys(Some("a/2"), 2), ["a/3"]);
    assert_eq!(keys(Some("a/3"), 2), Vec::<String>::new());
    assert_eq!(keys(Some("a/1"), 1), ["a/2"]);
    // A position before the prefix starts at the prefix; nothing of another column.
    assert_eq!(keys(Some("a"), 5), ["a/1", "a/2", "a/3"]);
    assert_eq!(keys(None, 0), Vec::<String>::new());
}

#[test]
fn a_batch_goes_on_the_wire_of_every_family_tagged_with_its_own() {
    use corridor_light_client::any::{AnyBatchProof, AnyFamily, AnyLightBlock};

    let mut cn = SimChain::new("cn-shanghai");
    let kz = SimChain::new("kz-astana");
    cn.submit(kz.id(), 7, 1);
    cn.produce();
    let (message, proof) = cn.committed[&Height(2)][0].clone();
    let batch = MessageBatch::<F> {
        lane: lane(),
        height: Height(2),
        light_blocks: cn.blocks[..2].to_vec(),
        messages: vec![message],
        proof: MultiProof::join(std::slice::from_ref(&proof)),
    };
    let any = batch.clone().into_any();
    assert_eq!(any.lane, batch.lane);
    assert_eq!(any.height, batch.height);
    assert_eq!(any.messages, batch.messages);
    assert_eq!(
        any.light_blocks,
        batch
            .light_blocks
            .iter()
            .cloned()
            .map(AnyLightBlock::from)
            .collect::<Vec<_>>()
    );
    assert_eq!(any.proof, batch.proof.clone().map(AnyBatchProof::Corridor));
    // Through the wire and back: the same batch, each part tagged.
    let frame = Frame::<AnyFamily>::Batch(any.clone());
    let bytes = frame.encode().unwrap();
    let Frame::Batch(back) = Frame::<AnyFamily>::decode(&bytes, &Limits::default()).unwrap() else {
        panic!("a batch")
    };
    assert_eq!(back, any);
    // An untagged (single-family) frame is not a frame of every family.
    let plain = Frame::<F>::Batch(batch).encode().unwrap();
    assert!(matches!(
        Frame::<AnyFamily>::decode(&plain, &Limits::default()),
        Err(FrameError::Decode(_))
    ));
}
