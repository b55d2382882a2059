//! Runners for the public CometBFT vector formats (described in `vectors/README.md`).
//!
//! Pure: callers read the files and hand over parsed JSON. Each runner returns a
//! [`VectorOutcome`] (expected, got) so the relay's `corridor vectors cometbft DIR` and the
//! tests print the same thing.
//!
//! - Model-based single-step files ([`run_single_step`]): trust threshold 1/3, clock drift
//!   0, the file's trusting period; after `SUCCESS` the block becomes trusted.
//! - RPC responses ([`run_rpc`]): header hashes against block IDs, commits against the
//!   genesis validator set when the caller found one, and adjacent and skipping
//!   verification along `block_search` results.
//! - Bisection files ([`run_bisection`]): the bisection planner from the primary's block
//!   at the trusted height to the target. Files whose trusted header does not hash to
//!   `trust_options.hash` under current (protobuf) rules are the amino-era ones: the
//!   README says a modern verifier must reject them, so `INVALID` is expected whatever the
//!   file's `expected_output` says.
//! - A bare header ([`run_bare_header`]): it must parse.

use core::time::Duration;

use serde_json::Value;

use super::json::{self, field, ParseError};
use super::{CometVerifier, LightBlock, SignedHeader, Timestamp, TrustedState, ValidatorSet};
use crate::bisection::{Bisection, Outcome};
use crate::prepared::SetCache;
use crate::types::{Height, Options, Time, TrustThreshold};
use crate::verifier::{Verdict, Verifier};

/// What a vector file expects and what the verifier gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VectorOutcome {
    /// What the file expects.
    pub expected: String,
    /// What was obtained.
    pub got: String,
}

impl VectorOutcome {
    /// Whether they agree.
    pub fn passed(&self) -> bool {
        self.expected == self.got
    }
}

/// The kinds of CometBFT vector file, told apart by shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// `{initial, input}`.
    SingleStep,
    /// `{trust_options, primary, height_to_verify, ...}`.
    Bisection,
    /// A JSON-RPC envelope `{jsonrpc, result}`.
    Rpc,
    /// A bare header object.
    BareHeader,
}

/// Tells what kind of file `value` is.
pub fn file_kind(value: &Value) -> Option<FileKind> {
    if value.get("initial").is_some() && value.get("input").is_some() {
        Some(FileKind::SingleStep)
    } else if value.get("trust_options").is_some() && value.get("primary").is_some() {
        Some(FileKind::Bisection)
    } else if value.get("result").is_some() {
        Some(FileKind::Rpc)
    } else if value.get("chain_id").is_some() && value.get("last_block_id").is_some() {
        Some(FileKind::BareHeader)
    } else {
        None
    }
}

/// Runs any CometBFT vector file. `genesis` is the validator set of the chain the file's
/// RPC responses come from, when known (the `genesis.json` beside them).
pub fn run_file(value: &Value, genesis: Option<&ValidatorSet>) -> VectorOutcome {
    match file_kind(value) {
        Some(FileKind::SingleStep) => run_single_step(value),
        Some(FileKind::Bisection) => run_bisection(value),
        Some(FileKind::Rpc) => run_rpc(value, genesis),
        Some(FileKind::BareHeader) => run_bare_header(value),
        None => VectorOutcome {
            expected: "a CometBFT vector".into(),
            got: "unknown file shape".into(),
        },
    }
}

fn time_of(value: &Value, name: &str) -> Result<Time, ParseError> {
    let text = field(value, name, None)?.as_str().unwrap_or_default();
    Timestamp::parse(text)
        .ok()
        .and_then(Timestamp::to_time)
        .ok_or_else(|| ParseError {
            height: None,
            field: name.into(),
            reason: format!("bad time {text:?}"),
        })
}

fn nanos_of(value: &Value, name: &str) -> Result<u64, ParseError> {
    let v = field(value, name, None)?;
    v.as_str()
        .and_then(|s| s.parse::<u64>().ok())
        .or_else(|| v.as_u64())
        .ok_or_else(|| ParseError {
            height: None,
            field: name.into(),
            reason: "not a count of nanoseconds".into(),
        })
}

/// One step of a single-step file.
#[derive(Clone, Debug)]
pub struct Step {
    /// The block to verify (or why it does not parse: such a block is `INVALID`).
    pub block: Result<LightBlock, ParseError>,
    /// The verifier's `now`.
    pub now: Time,
    /// The expected verdict class.
    pub verdict: String,
}

/// A parsed single-step file.
#[derive(Clone, Debug)]
pub struct SingleStepCase {
    /// The file's description.
    pub description: String,
    /// The first trusted state.
    pub initial: TrustedState,
    /// Options: threshold 1/3, drift 0, the file's trusting period.
    pub options: Options,
    /// The steps.
    pub steps: Vec<Step>,
}

/// Parses a model-based single-step file.
pub fn parse_single_step(value: &Value) -> Result<SingleStepCase, ParseError> {
    let initial = field(value, "initial", None)?;
    let signed_header = json::signed_header(field(initial, "signed_header", None)?)?;
    let next_validators = json::validator_set(field(initial, "next_validator_set", None)?)?;
    let options = Options {
        trust_threshold: TrustThreshold::ONE_THIRD,
        trusting_period: Duration::from_nanos(nanos_of(initial, "trusting_period")?),
        clock_drift: Duration::ZERO,
    };
    let inputs = field(value, "input", None)?
        .as_array()
        .ok_or_else(|| ParseError {
            height: None,
            field: "input".into(),
            reason: "not a list".into(),
        })?;
    let steps = inputs
        .iter()
        .map(|step| {
            Ok(Step {
                block: field(step, "block", None).and_then(json::light_block),
                now: time_of(step, "now")?,
                verdict: field(step, "verdict", None)?
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            })
        })
        .collect::<Result<Vec<_>, ParseError>>()?;
    Ok(SingleStepCase {
        description: value
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        initial: TrustedState {
            header: signed_header.header,
            next_validators,
            cache: SetCache::empty(),
        },
        options,
        steps,
    })
}

/// The verdict of every step of a single-step case, as `(class, detail)`.
pub fn single_step_verdicts(case: &SingleStepCase) -> Vec<(String, String)> {
    step_verdicts(case, false)
}

/// As [`single_step_verdicts`], verifying as a stream does: the initial state's next set is
/// prepared, and each trusted state carries the prepared set over
/// ([`Verifier::trusted_state_after`]). The verdicts must be the same.
pub fn single_step_verdicts_streamed(case: &SingleStepCase) -> Vec<(String, String)> {
    step_verdicts(case, true)
}

fn step_verdicts(case: &SingleStepCase, streamed: bool) -> Vec<(String, String)> {
    let mut trusted = case.initial.clone();
    if streamed {
        trusted.cache = SetCache::carry(&trusted.next_validators, &SetCache::empty());
    }
    let mut out = Vec::with_capacity(case.steps.len());
    for step in &case.steps {
        match &step.block {
            Ok(block) => {
                let verdict = CometVerifier.verify_update(block, &trusted, &case.options, step.now);
                if verdict == Verdict::Success {
                    trusted = if streamed {
                        CometVerifier.trusted_state_after(block, &trusted)
                    } else {
                        TrustedState::from_block(block)
                    };
                }
                let detail = match &verdict {
                    Verdict::Invalid(e) => e.to_string(),
                    Verdict::NotEnoughTrust(t) => t.to_string(),
                    Verdict::Success => String::new(),
                };
                out.push((verdict.class().to_owned(), detail));
            }
            Err(e) => out.push(("INVALID".to_owned(), format!("unparseable block: {e}"))),
        }
    }
    out
}

/// Runs a model-based single-step file: expected and got are the verdict classes of all
/// steps joined by `>`.
pub fn run_single_step(value: &Value) -> VectorOutcome {
    match parse_single_step(value) {
        Ok(case) => {
            let expected: Vec<&str> = case.steps.iter().map(|s| s.verdict.as_str()).collect();
            let got = single_step_verdicts(&case);
            let got_classes: Vec<&str> = got.iter().map(|(c, _)| c.as_str()).collect();
            let mut got_text = got_classes.join(">");
            if expected != got_classes {
                if let Some((_, detail)) = got
                    .iter()
                    .zip(&expected)
                    .find(|((c, _), e)| c != *e)
                    .map(|(g, _)| g)
                {
                    got_text = format!("{got_text} ({detail})");
                }
            }
            VectorOutcome {
                expected: expected.join(">"),
                got: got_text,
            }
        }
        Err(e) => VectorOutcome {
            expected: "a single-step file".into(),
            got: format!("error: {e}"),
        },
    }
}

/// Runs a bare header: it must parse.
pub fn run_bare_header(value: &Value) -> VectorOutcome {
    VectorOutcome {
        expected: "header parses".into(),
        got: match json::header(value) {
            Ok(_) => "header parses".into(),
            Err(e) => format!("error: {e}"),
        },
    }
}

/// Runs a (legacy) bisection file with the bisection planner over the primary's blocks.
pub fn run_bisection(value: &Value) -> VectorOutcome {
    match bisection_outcome(value) {
        Ok((expected, got)) => VectorOutcome { expected, got },
        Err(e) => VectorOutcome {
            expected: "a bisection file".into(),
            got: format!("error: {e}"),
        },
    }
}

fn bisection_outcome(value: &Value) -> Result<(String, String), ParseError> {
    let bad = |f: &str, r: &str| ParseError {
        height: None,
        field: f.into(),
        reason: r.into(),
    };
    let opts = field(value, "trust_options", None)?;
    let trust_height = Height(nanos_of(opts, "height")?);
    let trusted_hash = field(opts, "hash", None)?
        .as_str()
        .and_then(|h| crate::Hash32::from_hex(h).ok())
        .ok_or_else(|| bad("trust_options.hash", "not a hash"))?;
    let level = field(opts, "trust_level", None)?;
    let threshold = TrustThreshold::new(
        nanos_of(level, "numerator")?,
        nanos_of(level, "denominator")?,
    )
    .map_err(|e| bad("trust_options.trust_level", &e.to_string()))?;
    let options = Options {
        trust_threshold: threshold,
        trusting_period: Duration::from_nanos(nanos_of(opts, "period")?),
        clock_drift: Duration::from_secs(10),
    };
    let target = Height(nanos_of(value, "height_to_verify")?);
    let now = time_of(value, "now")?;
    let blocks = field(field(value, "primary", None)?, "lite_blocks", None)?
        .as_array()
        .ok_or_else(|| bad("primary.lite_blocks", "not a list"))?
        .iter()
        .map(json::light_block)
        .collect::<Result<Vec<_>, _>>()?;
    let trusted = blocks
        .iter()
        .find(|b| b.height() == trust_height)
        .ok_or_else(|| bad("primary.lite_blocks", "no block at the trusted height"))?;
    let amino_era = trusted.header().hash() != trusted_hash;
    let expected = if amino_era {
        "INVALID".to_owned()
    } else {
        match value.get("expected_output").and_then(Value::as_str) {
            Some("no error") => "SUCCESS".to_owned(),
            _ => "INVALID".to_owned(),
        }
    };
    let mut bisection = Bisection::new(
        CometVerifier,
        TrustedState::from_block(trusted),
        target,
        options,
    );
    while let Some(h) = bisection.next_height() {
        let Some(block) = blocks.iter().find(|b| b.height() == h) else {
            return Ok((
                expected,
                format!("INVALID (the primary has no block at {h})"),
            ));
        };
        if bisection.handle_light_block(block, now).is_err() {
            break;
        }
    }
    let got = match bisection.outcome() {
        Outcome::Done(_) => "SUCCESS".to_owned(),
        Outcome::Failed(_) if expected == "INVALID" => "INVALID".to_owned(),
        Outcome::Failed(e) => format!("INVALID ({e})"),
        other => format!("{other:?}"),
    };
    Ok((expected, got))
}

/// A light block of a chain with a fixed validator set: header, commit, and the set as
/// both validators and next validators.
pub fn fixed_set_block(signed_header: SignedHeader, set: &ValidatorSet) -> LightBlock {
    LightBlock {
        signed_header,
        validators: set.clone(),
        next_validators: set.clone(),
    }
}

/// Checks one RPC response: every header hashes to its block ID; with the genesis set,
/// the validator-set hashes and every commit's signatures check, and consecutive blocks of
/// a `block_search` verify adjacently and by skipping.
pub fn run_rpc(value: &Value, genesis: Option<&ValidatorSet>) -> VectorOutcome {
    match rpc_checks(value, genesis) {
        Ok(_) => VectorOutcome {
            expected: "consistent".into(),
            got: "consistent".into(),
        },
        Err(e) => VectorOutcome {
            expected: "consistent".into(),
            got: format!("error: {e}"),
        },
    }
}

/// What [`rpc_checks`] counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RpcSummary {
    /// Headers whose hash matched their block ID.
    pub headers: usize,
    /// Commit signatures verified.
    pub signatures: usize,
    /// Light-client steps (adjacent or skipping) that verified.
    pub steps: usize,
    /// Validator sets parsed from a genesis file.
    pub genesis_validators: usize,
}

impl core::fmt::Display for RpcSummary {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} headers, {} signatures, {} verification steps",
            self.headers, self.signatures, self.steps
        )
    }
}

fn check_header_hash(header: &super::Header, id: &Value, what: &str) -> Result<(), String> {
    let id = field(id, "hash", Some(header.height)).map_err(|e| e.to_string())?;
    let expected = id.as_str().unwrap_or_default();
    let got = header.hash();
    if !expected.eq_ignore_ascii_case(&got.to_string()) {
        return Err(format!(
            "{what}: header at height {} hashes to {got}, block ID says {expected}",
            header.height
        ));
    }
    Ok(())
}

fn check_commit(
    chain_id: &crate::ChainId,
    commit: &super::Commit,
    set: &ValidatorSet,
) -> Result<usize, String> {
    CometVerifier
        .verify_commit_power(chain_id, commit, set, None)
        .map_err(|e| e.to_string())?;
    Ok(commit
        .signatures
        .iter()
        .filter(|s| matches!(s, super::CommitSig::Commit { .. }))
        .count())
}

/// The checks of [`run_rpc`], with what they counted.
pub fn rpc_checks(value: &Value, genesis: Option<&ValidatorSet>) -> Result<RpcSummary, String> {
    let result = field(value, "result", None).map_err(|e| e.to_string())?;
    let mut s = RpcSummary::default();
    let err = |e: ParseError| e.to_string();
    if let Some(g) = result.get("genesis") {
        let set = json::validators(field(g, "validators", None).map_err(err)?).map_err(err)?;
        s.genesis_validators = set.len();
    } else if let Some(sh) = result.get("signed_header") {
        let sh = json::signed_header(sh).map_err(err)?;
        s.headers = s.headers.saturating_add(1);
        if let Some(set) = genesis {
            let block = fixed_set_block(sh, set);
            CometVerifier
                .verify_block_shape(&block)
                .map_err(|e| e.to_string())?;
            s.signatures = s.signatures.saturating_add(check_commit(
                &block.header().chain_id,
                &block.signed_header.commit,
                set,
            )?);
        } else {
            let h = &sh.header;
            if sh.commit.block_id.hash != Some(h.hash()) {
                return Err(format!(
                    "header at height {} does not hash to the commit's block ID",
                    h.height
                ));
            }
        }
    } else if let Some(metas) = result.get("block_metas").and_then(Value::as_array) {
        for m in metas {
            let header = json::header(field(m, "header", None).map_err(err)?).map_err(err)?;
            check_header_hash(
                &header,
                field(m, "block_id", None).map_err(err)?,
                "block_metas",
            )?;
            if let Some(set) = genesis {
                check_set(&header, set)?;
            }
            s.headers = s.headers.saturating_add(1);
        }
    } else if let Some(blocks) = result.get("blocks").and_then(Value::as_array) {
        let mut parsed = Vec::with_capacity(blocks.len());
        for b in blocks {
            parsed.push(rpc_block(b, genesis, &mut s)?);
        }
        parsed.sort_by_key(|(h, _)| h.height);
        if let Some(set) = genesis {
            s.steps = s.steps.saturating_add(verify_along(&parsed, set)?);
        }
    } else if result.get("block").is_some() {
        rpc_block(result, genesis, &mut s)?;
    } else {
        return Err("unknown RPC result".into());
    }
    Ok(s)
}

fn check_set(header: &super::Header, set: &ValidatorSet) -> Result<(), String> {
    if header.validators_hash != set.hash() || header.next_validators_hash != set.hash() {
        return Err(format!(
            "header at height {} names another validator set than genesis",
            header.height
        ));
    }
    Ok(())
}

/// Checks one `{block_id, block: {header, last_commit}}`; returns the header and its last
/// commit.
fn rpc_block(
    b: &Value,
    genesis: Option<&ValidatorSet>,
    s: &mut RpcSummary,
) -> Result<(super::Header, super::Commit), String> {
    let err = |e: ParseError| e.to_string();
    let block = field(b, "block", None).map_err(err)?;
    let header = json::header(field(block, "header", None).map_err(err)?).map_err(err)?;
    check_header_hash(&header, field(b, "block_id", None).map_err(err)?, "block")?;
    s.headers = s.headers.saturating_add(1);
    let last_commit = json::commit(field(block, "last_commit", Some(header.height)).map_err(err)?)
        .map_err(err)?;
    if let Some(set) = genesis {
        check_set(&header, set)?;
        if header.height.0 > 1 {
            if Some(last_commit.block_id) != header.last_block_id
                || last_commit.height.increment() != Some(header.height)
            {
                return Err(format!(
                    "last commit of block {} is not for its last block ID",
                    header.height
                ));
            }
            s.signatures =
                s.signatures
                    .saturating_add(check_commit(&header.chain_id, &last_commit, set)?);
        }
    }
    Ok((header, last_commit))
}

/// Builds light blocks from consecutive RPC blocks (header h, commit h = `last_commit` of
/// block h+1) and verifies each adjacently from the previous one, and the last one by
/// skipping from the first, `now` one second after the header.
fn verify_along(
    blocks: &[(super::Header, super::Commit)],
    set: &ValidatorSet,
) -> Result<usize, String> {
    let mut light = Vec::new();
    for pair in blocks.windows(2) {
        if let [(h, _), (next, commit)] = pair {
            if next.height.0 == h.height.0.saturating_add(1) {
                let sh = SignedHeader {
                    header: h.clone(),
                    commit: commit.clone(),
                };
                light.push(fixed_set_block(sh, set));
            }
        }
    }
    let options = Options {
        trusting_period: Duration::from_secs(14 * 24 * 3600),
        ..Options::default()
    };
    let mut steps: usize = 0;
    for pair in light.windows(2) {
        if let [a, b] = pair {
            let now = b
                .header()
                .time
                .checked_add(Duration::from_secs(1))
                .unwrap_or(b.header().time);
            let verdict =
                CometVerifier.verify_update(b, &TrustedState::from_block(a), &options, now);
            if verdict != Verdict::Success {
                return Err(format!(
                    "step {} -> {}: {verdict:?}",
                    a.height(),
                    b.height()
                ));
            }
            steps = steps.saturating_add(1);
        }
    }
    if let (Some(first), Some(last)) = (light.first(), light.last()) {
        if last.height().0 > first.height().0.saturating_add(1) {
            let now = last
                .header()
                .time
                .checked_add(Duration::from_secs(1))
                .unwrap_or(last.header().time);
            let verdict =
                CometVerifier.verify_update(last, &TrustedState::from_block(first), &options, now);
            if verdict != Verdict::Success {
                return Err(format!(
                    "skip {} -> {}: {verdict:?}",
                    first.height(),
                    last.height()
                ));
            }
            steps = steps.saturating_add(1);
        }
    }
    Ok(steps)
}
