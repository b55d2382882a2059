//! Canonical vote sign bytes: what a CometBFT validator signs when it precommits.
//!
//! `CanonicalVote { SignedMsgType type = 1; sfixed64 height = 2; sfixed64 round = 3;
//! CanonicalBlockID block_id = 4; Timestamp timestamp = 5; string chain_id = 6; }`, encoded
//! as protobuf and prefixed with its length as a varint (CometBFT `VoteSignBytes`). The
//! block ID is left out when it is the zero ID (a nil vote); the timestamp is always
//! written (non-nullable).
//!
//! Within one commit only the timestamp differs from vote to vote, so [`VoteTemplate`]
//! encodes the rest once.

use super::{proto, BlockId, Commit, Timestamp};
use crate::types::ChainId;

/// `SignedMsgType` of a precommit.
pub const PRECOMMIT: u64 = 2;

/// The parts of a commit's votes that every vote shares.
#[derive(Clone, Debug)]
pub struct VoteTemplate {
    head: Vec<u8>,
    chain_id: Vec<u8>,
}

impl VoteTemplate {
    /// The template of precommits for `block_id` at the commit's height and round.
    pub fn precommit(chain_id: &ChainId, commit: &Commit, block_id: Option<&BlockId>) -> Self {
        let mut head = Vec::with_capacity(96);
        proto::put_uint(&mut head, 1, PRECOMMIT);
        // Heights and rounds are at most i64::MAX / u32::MAX here.
        proto::put_sfixed64(
            &mut head,
            2,
            i64::try_from(commit.height.0).unwrap_or(i64::MAX),
        );
        proto::put_sfixed64(&mut head, 3, i64::from(commit.round));
        if let Some(id) = block_id.filter(|id| !id.is_zero()) {
            proto::put_message(&mut head, 4, &id.encode());
        }
        let mut tail = Vec::with_capacity(chain_id.as_str().len().saturating_add(2));
        proto::put_bytes(&mut tail, 6, chain_id.as_str().as_bytes());
        Self {
            head,
            chain_id: tail,
        }
    }

    /// The sign bytes of the vote with `timestamp`, appended to `out`.
    pub fn sign_bytes_into(&self, timestamp: &Timestamp, out: &mut Vec<u8>) {
        let mut ts = Vec::with_capacity(16);
        proto::put_message(&mut ts, 5, &timestamp.encode());
        let len = self
            .head
            .len()
            .saturating_add(ts.len())
            .saturating_add(self.chain_id.len());
        proto::put_varint(out, len as u64);
        out.extend_from_slice(&self.head);
        out.extend_from_slice(&ts);
        out.extend_from_slice(&self.chain_id);
    }

    /// The sign bytes of the vote with `timestamp`.
    pub fn sign_bytes(&self, timestamp: &Timestamp) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        self.sign_bytes_into(timestamp, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cometbft::PartSetHeader;
    use crate::types::{Hash32, Height};

    #[test]
    fn sign_bytes_match_the_readme_example() {
        // vectors/README.md, v0_38 height 10: 113 bytes, round absent.
        let block =
            Hash32::from_hex("00ECDAC463C201ECD4BDBBAAE4A53A4C80291D4051FD69ED97F6420CE1388BFE")
                .unwrap();
        let parts =
            Hash32::from_hex("FF0A320E696FD233DD4D3CC7CD82FF90F54B8FDBC9C700D9375C95A02782B062")
                .unwrap();
        let block_id = BlockId {
            hash: Some(block),
            part_set_header: PartSetHeader {
                total: 1,
                hash: Some(parts),
            },
        };
        let commit = Commit {
            height: Height(10),
            round: 0,
            block_id,
            signatures: vec![],
        };
        let chain = ChainId::new("dockerchain").unwrap();
        let ts = Timestamp::parse("2023-05-17T14:12:53.605374524Z").unwrap();
        let bytes = VoteTemplate::precommit(&chain, &commit, Some(&block_id)).sign_bytes(&ts);
        assert_eq!(bytes.len(), 113);
        let expected = format!(
            "700802110a0000000000000022480a20{}122408011220{}2a0c08e5c193a30610bc90d5a002320b646f636b6572636861696e",
            hex::encode(block.0),
            hex::encode(parts.0)
        );
        assert_eq!(hex::encode(&bytes), expected);
    }
}
