//! Golden vectors of the native family.
//!
//! The generator writes `tests/vectors/native/*.json` (run with `CORRIDOR_BLESS=1` to write
//! them anew after a deliberate format change). This test checks that the generator still
//! writes exactly the checked-in files and that every checked-in file gives its verdict, so a
//! change to the encoding, the hashing or a rule shows up here.

use std::path::PathBuf;

use corridor_light_client::native::vectors::NativeVector;
use corridor_light_client::testgen::golden_vectors;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/native")
}

#[test]
fn generator_writes_the_checked_in_vectors() {
    let bless = std::env::var("CORRIDOR_BLESS").is_ok_and(|v| v == "1");
    for (name, vector) in golden_vectors().unwrap() {
        let path = dir().join(format!("{name}.json"));
        if bless {
            let json = serde_json::to_string_pretty(&vector).unwrap();
            std::fs::write(&path, json + "\n").unwrap();
            continue;
        }
        let stored: NativeVector = serde_json::from_str(
            &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
        .unwrap();
        assert_eq!(
            stored, vector,
            "{name}: the generator no longer writes the checked-in vector"
        );
    }
}

#[test]
fn every_checked_in_vector_gives_its_verdict() {
    let mut count = 0;
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let vector: NativeVector =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let result = vector.run().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            result.passed(),
            "{name}: expected {}, got {}",
            result.expected,
            result.got
        );
        // The file name states the class, so a vector cannot quietly change its meaning.
        let class = if name.starts_with("invalid_") {
            "INVALID"
        } else if name.ends_with("not_enough_trust") {
            "NOT_ENOUGH_TRUST"
        } else {
            "SUCCESS"
        };
        assert_eq!(vector.expected, class, "{name}");
        count += 1;
    }
    assert!(count >= 20, "only {count} vectors found");
}

#[test]
fn a_changed_byte_in_a_vector_is_caught() {
    let (_, vector) = golden_vectors().unwrap().into_iter().next().unwrap();
    let mut tampered = vector.clone();
    // Flip one hex digit inside the untrusted block's header bytes.
    let mut chars: Vec<char> = tampered.untrusted.chars().collect();
    let i = chars.len() / 3;
    chars[i] = if chars[i] == '0' { '1' } else { '0' };
    tampered.untrusted = chars.into_iter().collect();
    let outcome = tampered.run();
    assert!(outcome.is_err() || !outcome.unwrap().passed());
}
