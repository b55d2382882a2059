//! The embedded devnet demo, end to end: three chains on loopback, every document kind
//! submitted, carried, verified by the destination inbox and its receipt proven back; a
//! forged delivery refused, a replayed one answered with its original acknowledgement.

use std::time::Duration;

use corridor_relay::demo::{run, DemoOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_is_delivered_once_and_attacks_are_refused() {
    let options = DemoOptions {
        data_dir: None,
        block_interval: Duration::from_millis(100),
        timeout: Duration::from_secs(90),
    };
    let mut out = Vec::new();
    let summary = run(options, &mut out)
        .await
        .unwrap_or_else(|e| panic!("demo failed: {e:#}\n{}", String::from_utf8_lossy(&out)));
    let text = String::from_utf8_lossy(&out);
    assert_eq!(summary.submitted, 7, "{text}");
    assert_eq!(summary.delivered, 7, "{text}");
    assert_eq!(summary.receipts_proven, 7, "{text}");
    assert!(summary.replay_idempotent, "{text}");
    assert!(summary.forged_refused, "{text}");
    assert_eq!(summary.delivered_on_chain, 7, "{text}");
    assert_eq!(summary.extra_receipts_on_chain, 0, "{text}");
    assert!(text.contains("7 delivered exactly once"), "{text}");
    assert!(text.contains("invalid-proof"), "{text}");
}
