//! The embedded devnet demo, end to end through the real binary: three chains on loopback
//! and three operators' relays as processes of their own; traders send every document kind
//! along the trade routes and every message must be delivered exactly once (counted on the
//! destination chains' own receipts) and acknowledged (counted in the source relays' stores);
//! with `--chaos`, a relay killed and restarted, one paused, a chain withholding blocks and
//! a rogue's forgeries change none of that, and every forgery is refused by its reason.

use std::process::Command;

fn demo(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_corridor"))
        .args([
            "devnet",
            "--any-ports",
            "--block-ms",
            "100",
            "--timeout-secs",
            "150",
        ])
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}\n{errors}");
    text
}

/// The summary's row of `corridor`: (submitted, delivered, twice, acknowledged).
fn row(text: &str, corridor: &str) -> (String, u64, u64, u64) {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(corridor))
        .unwrap_or_else(|| panic!("no summary row for {corridor}:\n{text}"));
    let fields: Vec<&str> = line[line.find(corridor).unwrap() + corridor.len()..]
        .split_whitespace()
        .collect();
    let n = |i: usize| fields[i].parse::<u64>().unwrap();
    (fields[0].to_owned(), n(1), n(2), n(3))
}

#[test]
fn every_message_crosses_through_the_relays_exactly_once() {
    let text = demo(&["--messages", "22"]);
    assert!(
        text.contains("22 of 22 delivered exactly once, 0 duplicated, 22 acknowledged"),
        "{text}"
    );
    // Eleven routes, two messages each: six corridors, each row consistent.
    let mut total = 0;
    for corridor in [
        "cn-shanghai -> kz-astana",
        "cn-shanghai -> pk-karachi",
        "kz-astana -> cn-shanghai",
        "kz-astana -> pk-karachi",
        "pk-karachi -> cn-shanghai",
        "pk-karachi -> kz-astana",
    ] {
        let (submitted, delivered, twice, acked) = row(&text, corridor);
        let (sent, planned) = submitted.split_once('/').unwrap();
        assert_eq!(sent, planned, "{corridor}: {text}");
        let sent: u64 = sent.parse().unwrap();
        assert!(sent > 0, "{corridor}");
        assert_eq!(
            (delivered, twice, acked),
            (sent, 0, sent),
            "{corridor}: {text}"
        );
        total += sent;
    }
    assert_eq!(total, 22);
    assert!(text.contains("/metrics"), "{text}");
}

/// A second run on the same data folder resumes the chains, the relays' keys and stores,
/// and carries its own messages exactly once too.
#[test]
fn a_rerun_on_the_same_data_folder_resumes() {
    let dir = corridor_light_client::testkit::TempDir::new("demo-resume");
    let data = dir.path().to_str().unwrap();
    let first = demo(&["--messages", "11", "--data-dir", data]);
    assert!(first.contains("11 of 11 delivered exactly once"), "{first}");
    let key = |text: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with("relay cn-shanghai"))
            .and_then(|l| l.split("key ").nth(1))
            .map(str::to_owned)
            .unwrap()
    };
    let second = demo(&["--messages", "11", "--data-dir", data]);
    assert!(
        second.contains("11 of 11 delivered exactly once, 0 duplicated, 11 acknowledged"),
        "{second}"
    );
    assert_eq!(key(&first), key(&second), "the operator's key is kept");
}

#[test]
fn chaos_loses_and_duplicates_nothing_and_every_forgery_is_refused() {
    let text = demo(&["--messages", "44", "--chaos"]);
    assert!(
        text.contains("44 of 44 delivered exactly once, 0 duplicated, 44 acknowledged"),
        "{text}"
    );
    for expected in [
        "relay kz-astana killed (SIGKILL)",
        "relay kz-astana restarted on its store",
        "chain pk-karachi withholds its blocks",
        "relay pk-karachi paused (SIGSTOP)",
        "injected 3 bad-frame: 3 refused as bad-frame",
        "injected 1 invalid-proof: 1 refused as invalid-proof",
        "injected 1 duplicate: 1 refused as duplicate",
    ] {
        assert!(text.contains(expected), "no {expected:?} in:\n{text}");
    }
}
