//! The trader's commands, clients of a relay's trader API (`corridor_relay::api`):
//!
//! - `corridor send`: builds a message from a document file, signs it with the trader's key
//!   and submits it (`POST /v1/messages`); prints its id.
//! - `corridor evidence get --api`: fetches a message's evidence file.
//! - `corridor track`: follows one message's events (`GET /v1/messages/{id}/events`, resumed
//!   with `Last-Event-ID` when the stream drops) with a live status line, until it is
//!   delivered, rejected or timed out, or the wait runs out.
//!
//! The trader's key is a key file as `corridor keys generate` writes it (hex seed, mode
//! 0600). Reads authenticate with a token the key signs for (`POST /v1/tokens`).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use corridor_light_client::envelope::{
    payload_from_json, Deadline, DocumentKind, MessageBody, VERSION,
};
use corridor_light_client::signature::{PublicKey, SigningKey};
use corridor_light_client::{hash, ChainId, Height};
use corridor_relay::api::auth::{token_request_bytes, RELAY_HEADER};
use serde_json::{json, Value};

/// What `corridor send` needs.
pub(crate) struct SendOptions {
    /// Base URL of the relay's trader API.
    pub(crate) api: String,
    /// The trader's key file.
    pub(crate) key: PathBuf,
    /// The document, JSON.
    pub(crate) doc: PathBuf,
    /// Its kind (snake_case).
    pub(crate) kind: String,
    /// Source chain.
    pub(crate) from: String,
    /// Destination chain.
    pub(crate) to: String,
    /// The addressee's key, hex.
    pub(crate) receiver: String,
    /// Channel.
    pub(crate) channel: u32,
    /// Nonce; default the time in nanoseconds.
    pub(crate) nonce: Option<u64>,
    /// Deliver by this destination height.
    pub(crate) deadline_height: Option<u64>,
    /// Deliver within this many seconds from now (default one day).
    pub(crate) deadline_secs: Option<u64>,
}

use corridor_relay::now;

fn load_key(path: &std::path::Path) -> anyhow::Result<SigningKey> {
    let key = corridor_relay::keys::load(path)?;
    Ok(SigningKey::from_seed(key.to_bytes()))
}

/// A problem document's one-line summary, or the body as it came.
fn refusal(status: reqwest::StatusCode, body: &str) -> anyhow::Error {
    match serde_json::from_str::<Value>(body) {
        Ok(p) if p["type"].is_string() => {
            let name = p["type"]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches("urn:corridor:problem:");
            let field = p["field"]
                .as_str()
                .map(|f| format!(" [{f}]"))
                .unwrap_or_default();
            anyhow::anyhow!(
                "refused ({status}, {name}){field}: {}",
                p["detail"].as_str().unwrap_or_default()
            )
        }
        _ => anyhow::anyhow!("refused ({status}): {body}"),
    }
}

/// Builds, signs and submits; returns the id and whether it was already submitted.
pub(crate) async fn send(o: &SendOptions) -> anyhow::Result<(String, bool)> {
    let key = load_key(&o.key)?;
    let text =
        std::fs::read_to_string(&o.doc).with_context(|| format!("reading {}", o.doc.display()))?;
    let doc: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", o.doc.display()))?;
    let kind = DocumentKind::ALL
        .into_iter()
        .find(|k| k.as_str() == o.kind)
        .with_context(|| {
            format!(
                "--kind {} is not one of {}",
                o.kind,
                DocumentKind::ALL.map(DocumentKind::as_str).join(", ")
            )
        })?;
    let receiver: [u8; 32] = hex::decode(&o.receiver)
        .ok()
        .and_then(|b| b.try_into().ok())
        .context("--receiver is not a public key (64 hex digits)")?;
    let deadline = match (o.deadline_height, o.deadline_secs) {
        (Some(_), Some(_)) => bail!("give --deadline-height or --deadline-secs, not both"),
        (Some(h), None) => Deadline::Height(Height(h)),
        (None, secs) => Deadline::Time(
            now()
                .checked_add(Duration::from_secs(secs.unwrap_or(86_400)))
                .context("--deadline-secs is too far")?,
        ),
    };
    let payload = payload_from_json(&doc)?;
    let body = MessageBody {
        version: VERSION,
        source_chain: ChainId::new(o.from.clone()).map_err(|e| anyhow::anyhow!("--from: {e}"))?,
        destination_chain: ChainId::new(o.to.clone()).map_err(|e| anyhow::anyhow!("--to: {e}"))?,
        channel: o.channel,
        nonce: o.nonce.unwrap_or_else(|| now().unix_nanos()),
        sender: key.public_key(),
        receiver: PublicKey(receiver),
        kind,
        payload_hash: hash::sha3(&payload.0),
        payload,
        deadline,
    };
    let signed = body.sign(&key)?;
    let response = reqwest::Client::new()
        .post(format!("{}/v1/messages", o.api.trim_end_matches('/')))
        .json(&signed)
        .send()
        .await
        .with_context(|| format!("reaching {}", o.api))?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        return Err(refusal(status, &text));
    }
    let answer: Value = serde_json::from_str(&text)?;
    let id = answer["id"].as_str().context("no id in the answer")?;
    Ok((id.to_owned(), answer["duplicate"] == true))
}

/// How tracking ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Tracked {
    /// Delivered (and perhaps acknowledged).
    Delivered(String),
    /// Rejected or timed out.
    Failed(String),
    /// The wait ran out at this status.
    Waiting(String),
}

async fn token(client: &reqwest::Client, api: &str, key: &SigningKey) -> anyhow::Result<String> {
    // The relay's key, from any answer: a token request is signed for one relay.
    let relay = client
        .get(format!("{api}/v1/openapi.json"))
        .send()
        .await
        .with_context(|| format!("reaching {api}"))?
        .headers()
        .get(RELAY_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(v, &mut bytes)
                .ok()
                .map(|()| PublicKey(bytes))
        })
        .with_context(|| format!("{api} does not name its relay ({RELAY_HEADER} header)"))?;
    let at = now().unix_nanos() / 1_000_000_000;
    let signature = key.sign(&token_request_bytes(&key.public_key(), at, &relay));
    let response = client
        .post(format!("{api}/v1/tokens"))
        .json(&json!({ "key": key.public_key(), "at": at, "relay": relay, "signature": signature }))
        .send()
        .await
        .with_context(|| format!("reaching {api}"))?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        return Err(refusal(status, &text));
    }
    let answer: Value = serde_json::from_str(&text)?;
    Ok(answer["token"].as_str().context("no token")?.to_owned())
}

/// How far along the lifecycle a status is.
fn rank(status: &str) -> u8 {
    match status {
        "committed" => 1,
        "forwarded" => 2,
        "delivered" => 3,
        "acknowledged" | "rejected" | "timed_out" => 4,
        _ => 0,
    }
}

fn settled(status: &str) -> Option<Tracked> {
    match status {
        "delivered" | "acknowledged" => Some(Tracked::Delivered(status.to_owned())),
        "rejected" | "timed_out" => Some(Tracked::Failed(status.to_owned())),
        _ => None,
    }
}

/// Follows message `id` until it settles or `timeout` passes, writing one line per change
/// (a live line on a terminal) to `out`.
pub(crate) async fn track(
    api: &str,
    key_file: &std::path::Path,
    id: &str,
    timeout: Duration,
    out: &mut (impl Write + IsTerminal),
) -> anyhow::Result<Tracked> {
    let api = api.trim_end_matches('/');
    let key = load_key(key_file)?;
    let client = reqwest::Client::new();
    let token = token(&client, api, &key).await?;
    let live = out.is_terminal();
    let show = |out: &mut dyn Write, line: String| -> std::io::Result<()> {
        if live {
            write!(out, "\r\x1b[2K{line}")?;
        } else {
            writeln!(out, "{line}")?;
        }
        out.flush()
    };
    let response = client
        .get(format!("{api}/v1/messages/{id}"))
        .bearer_auth(&token)
        .send()
        .await?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        return Err(refusal(status, &text));
    }
    let view: Value = serde_json::from_str(&text)?;
    let mut current = view["status"].as_str().unwrap_or("unknown").to_owned();
    show(out, format!("{id}: {current}"))?;
    if let Some(done) = settled(&current) {
        if live {
            writeln!(out)?;
        }
        return Ok(done);
    }
    let deadline = Instant::now() + timeout;
    let mut last_event: Option<u64> = None;
    loop {
        let mut request = client
            .get(format!("{api}/v1/messages/{id}/events"))
            .bearer_auth(&token);
        if let Some(n) = last_event {
            request = request.header("last-event-id", n.to_string());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let mut response = match tokio::time::timeout(left, request.send()).await {
            Ok(Ok(r)) if r.status().is_success() => r,
            Ok(Ok(r)) => {
                let status = r.status();
                return Err(refusal(status, &r.text().await.unwrap_or_default()));
            }
            Ok(Err(_)) => {
                // The relay went away: try again until the wait runs out.
                tokio::time::sleep(Duration::from_secs(1).min(left)).await;
                if Instant::now() >= deadline {
                    break;
                }
                continue;
            }
            Err(_) => break,
        };
        let mut buffer = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let chunk = match tokio::time::timeout(left, response.chunk()).await {
                Err(_) => {
                    if live {
                        writeln!(out)?;
                    }
                    return Ok(Tracked::Waiting(current));
                }
                Ok(Ok(Some(c))) => c,
                // The stream ended or broke: resume from the last event.
                Ok(Ok(None) | Err(_)) => break,
            };
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let mut data = None;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        last_event = v.trim().parse().ok().or(last_event);
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = serde_json::from_str::<Value>(v).ok();
                    }
                }
                let Some(event) = data else { continue };
                let status = event["status"].as_str().unwrap_or("unknown");
                // The stream replays the message's history first: show only what is new.
                if rank(status) <= rank(&current) {
                    continue;
                }
                current = status.to_owned();
                show(
                    out,
                    format!(
                        "{id}: {current} ({} at {})",
                        event["stage"].as_str().unwrap_or_default(),
                        event["at"].as_str().unwrap_or_default()
                    ),
                )?;
                if let Some(done) = settled(&current) {
                    if live {
                        writeln!(out)?;
                    }
                    return Ok(done);
                }
            }
        }
        if Instant::now() >= deadline {
            break;
        }
    }
    if live {
        writeln!(out)?;
    }
    Ok(Tracked::Waiting(current))
}

/// The evidence file of message `id` from a relay's trader API, as it came.
pub(crate) async fn fetch_evidence(
    api: &str,
    key_file: &std::path::Path,
    id: &str,
) -> anyhow::Result<Vec<u8>> {
    let api = api.trim_end_matches('/');
    let key = load_key(key_file)?;
    let client = reqwest::Client::new();
    let token = token(&client, api, &key).await?;
    let response = client
        .get(format!("{api}/v1/messages/{id}/evidence"))
        .bearer_auth(&token)
        .send()
        .await
        .with_context(|| format!("reaching {api}"))?;
    let status = response.status();
    let bytes = response.bytes().await?;
    if !status.is_success() {
        return Err(refusal(status, &String::from_utf8_lossy(&bytes)));
    }
    Ok(bytes.to_vec())
}
