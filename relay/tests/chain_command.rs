//! `corridor chain --config FILE`: the real binary runs a devnet chain from a demo config
//! (moved to port 0 and a temporary store) and serves its RPC; a bad config is refused with
//! exit code 2 and a message that names the problem.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn temp_dir(name: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "corridor-cli-{name}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn demo_config(chain: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../config")
        .join(format!("{chain}.toml"));
    std::fs::read_to_string(path).unwrap()
}

/// A plain HTTP/1.0 GET (the server closes the connection after answering).
fn http_get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn chain_command_serves_a_demo_chain() {
    let dir = temp_dir("serve");
    let config = demo_config("kz-astana")
        .replace("listen = \"127.0.0.1:26702\"", "listen = \"127.0.0.1:0\"")
        .replace(
            "store_path = \"data/kz-astana\"",
            &format!("store_path = {:?}", dir.join("store").display().to_string()),
        );
    let path = dir.join("kz-astana.toml");
    std::fs::write(&path, config).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_corridor"))
        .args(["chain", "--config"])
        .arg(&path)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    let addr = url.trim_start_matches("http://");
    let status = http_get(addr, "/status");
    let block = http_get(addr, "/blocks/1");
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let ok = |answer: &str| answer.lines().next().is_some_and(|l| l.contains(" 200 "));
    assert!(ok(&status), "{status}");
    assert!(status.contains("\"chain_id\":\"kz-astana\""), "{status}");
    assert!(ok(&block), "{block}");
}

#[test]
fn chain_command_refuses_a_bad_config_naming_the_key() {
    let dir = temp_dir("bad");
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        demo_config("pk-karachi").replace("block_interval_ms = 500", "block_interval_ms = 0"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_corridor"))
        .args(["chain", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let missing = Command::new(env!("CARGO_BIN_EXE_corridor"))
        .args(["chain", "--config"])
        .arg(dir.join("absent.toml"))
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("block_interval_ms"), "{stderr}");
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("absent.toml"));
}
