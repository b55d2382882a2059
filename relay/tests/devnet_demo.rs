//! The embedded devnet demo, end to end through the real binary: three chains on loopback,
//! every document kind submitted, carried, verified by the destination inbox and its receipt
//! proven back; a forged delivery refused, a replayed one answered with its original
//! acknowledgement. `corridor devnet` exits 0 only when every message has exactly one
//! receipt in its destination chain's own committed receipts and both attacks got the
//! expected answers.

use std::process::Command;

#[test]
fn every_message_is_delivered_once_and_attacks_are_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_corridor"))
        .args(["devnet", "--block-ms", "100", "--timeout-secs", "90"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}\n{errors}");
    assert!(text.contains("7 delivered exactly once"), "{text}");
    assert!(text.contains("invalid-proof"), "{text}");
}
