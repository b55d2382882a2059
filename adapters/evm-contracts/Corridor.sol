// SPDX-License-Identifier: Apache-2.0
//
// corridor's contracts on an EVM partner chain.
//
// CorridorOutbox: the chain's trade gateway publishes each outbound trade message as a
// CorridorMessage(bytes indexed key, bytes leaf) event. The light client of the receiving
// relay proves the transaction's receipt against the header's receiptsRoot, then this log
// inside it (light-client/src/evm/family.rs: topics = [keccak256("CorridorMessage(bytes,bytes)"),
// keccak256(key)], data = abi.encode(leaf)).
//
// CorridorInbox: relays deliver a message that k of the n configured relay keys attested
// (secp256k1 signatures, checked with ecrecover, over the delivery digest below). This is
// a WEAKER trust model than a light client: k colluding relays can deliver anything. Each
// (source chain, channel, sequence) is taken once; the receipt is a
// CorridorReceipt(bytes indexed key, bytes leaf) event, proven back the same way.
//
// Revert reasons are short names, so that clients can tell them apart: "replay",
// "unknown-signer", "signers-not-ascending", "below-threshold", "too-many-signatures",
// "bad-signature", "bad-source-chain", "too-large", "not-publisher", "key-used",
// "bad-threshold", "bad-relay-set".
pragma solidity ^0.8.20;

contract CorridorOutbox {
    /// One outbound trade message: `key` is its commitment key (`outbox/`, destination
    /// chain, channel, sequence), `leaf` its tagged canonical encoding.
    event CorridorMessage(bytes indexed key, bytes leaf);

    /// The only account that may publish (the chain's trade gateway).
    address public immutable publisher;
    /// Keys already published (keccak256 of the key): one leaf per key.
    mapping(bytes32 => bool) public published;

    constructor(address publisher_) {
        publisher = publisher_;
    }

    /// Publishes one message. Bounds match the light client's (MAX_EVM_KEY_BYTES,
    /// MAX_EVM_LEAF_BYTES).
    function publish(bytes calldata key, bytes calldata leaf) external {
        require(msg.sender == publisher, "not-publisher");
        require(key.length <= 256 && leaf.length <= 131072, "too-large");
        bytes32 id = keccak256(key);
        require(!published[id], "key-used");
        published[id] = true;
        emit CorridorMessage(key, leaf);
    }
}

contract CorridorInbox {
    /// One delivery's receipt: `key` is `receipts/`, the source chain with a one-byte
    /// length, the channel (4 bytes) and the sequence (8 bytes), big-endian; `leaf` the
    /// receipt's tagged canonical encoding, as the relays attested it.
    event CorridorReceipt(bytes indexed key, bytes leaf);

    /// Domain tag of the delivery digest.
    bytes public constant DELIVERY_TAG = "corridor/evm-inbox-delivery/v1";
    /// secp256k1 order / 2: signatures with a higher s are malleable copies.
    uint256 private constant HALF_ORDER =
        0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    mapping(address => bool) public isRelay;
    uint256 public immutable threshold;
    uint256 public immutable relayCount;
    /// Consumed (source chain, channel, sequence), by keccak256 of the receipt key.
    mapping(bytes32 => bool) public delivered;

    constructor(address[] memory relays, uint256 k) {
        require(k >= 1 && k <= relays.length && relays.length <= 256, "bad-threshold");
        for (uint256 i = 0; i < relays.length; i++) {
            require(relays[i] != address(0) && !isRelay[relays[i]], "bad-relay-set");
            isRelay[relays[i]] = true;
        }
        threshold = k;
        relayCount = relays.length;
    }

    /// The receipt key of (sourceChain, channel, sequence).
    function receiptKey(bytes calldata sourceChain, uint32 channel, uint64 sequence)
        public
        pure
        returns (bytes memory)
    {
        require(sourceChain.length >= 1 && sourceChain.length <= 50, "bad-source-chain");
        return abi.encodePacked("receipts/", uint8(sourceChain.length), sourceChain, channel, sequence);
    }

    /// What each relay signs: keccak256(DELIVERY_TAG || chainid (32 bytes) || this inbox
    /// (20 bytes) || keccak256(receipt key) || message commitment || keccak256(receipt leaf)).
    function deliveryDigest(bytes32 keyHash, bytes32 commitment, bytes32 leafHash)
        public
        view
        returns (bytes32)
    {
        return keccak256(
            abi.encodePacked(DELIVERY_TAG, block.chainid, address(this), keyHash, commitment, leafHash)
        );
    }

    /// Takes in the message `commitment` from (sourceChain, channel, sequence) with its
    /// receipt `receiptLeaf`, attested by at least `threshold` configured relays.
    /// `signatures` are 65 bytes each (r || s || v, v 27/28 or 0/1, low s), ordered by
    /// strictly increasing signer address (which also refuses one signer twice).
    function deliver(
        bytes calldata sourceChain,
        uint32 channel,
        uint64 sequence,
        bytes32 commitment,
        bytes calldata receiptLeaf,
        bytes[] calldata signatures
    ) external {
        bytes memory key = receiptKey(sourceChain, channel, sequence);
        bytes32 keyHash = keccak256(key);
        require(!delivered[keyHash], "replay");
        require(receiptLeaf.length <= 4096, "too-large");
        require(signatures.length <= relayCount, "too-many-signatures");
        bytes32 digest = deliveryDigest(keyHash, commitment, keccak256(receiptLeaf));
        address last = address(0);
        for (uint256 i = 0; i < signatures.length; i++) {
            address signer = recover(digest, signatures[i]);
            require(isRelay[signer], "unknown-signer");
            require(signer > last, "signers-not-ascending");
            last = signer;
        }
        require(signatures.length >= threshold, "below-threshold");
        delivered[keyHash] = true;
        emit CorridorReceipt(key, receiptLeaf);
    }

    function recover(bytes32 digest, bytes calldata sig) private pure returns (address) {
        require(sig.length == 65, "bad-signature");
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if (v < 27) {
            v += 27;
        }
        require(v == 27 || v == 28, "bad-signature");
        require(uint256(s) <= HALF_ORDER, "bad-signature");
        address signer = ecrecover(digest, v, r, s);
        require(signer != address(0), "bad-signature");
        return signer;
    }
}
