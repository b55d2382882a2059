//! The few protobuf encoding rules CometBFT's hashes and sign bytes need, written by hand.
//!
//! proto3 leaves a scalar field out when it holds its default (0, empty); an embedded
//! message that gogoproto marks non-nullable is always written, even when empty. Each
//! function here says which of the two it does. Nothing here can fail: every length fits a
//! varint.

/// Wire type of varint fields.
const VARINT: u8 = 0;
/// Wire type of 64-bit fixed fields.
const FIXED64: u8 = 1;
/// Wire type of length-delimited fields (bytes, strings, messages).
const LEN: u8 = 2;

/// Appends `v` as a base-128 varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        // The low seven bits never hold 0x80: `| 0x80` here is the same as `^ 0x80` or `+`.
        out.push((v & 0x7f) as u8 | 0x80);
        v = v.wrapping_shr(7);
    }
    out.push(v as u8);
}

fn put_key(out: &mut Vec<u8>, field: u32, wire: u8) {
    // A wire type is below 8, so it fills the three bits the shift clears: `|` is `^` here.
    put_varint(out, u64::from(field).wrapping_shl(3) | u64::from(wire));
}

/// A `uint32`/`uint64` field; left out when zero.
pub(crate) fn put_uint(out: &mut Vec<u8>, field: u32, v: u64) {
    if v != 0 {
        put_key(out, field, VARINT);
        put_varint(out, v);
    }
}

/// An `int32`/`int64` field (two's complement varint); left out when zero.
pub(crate) fn put_int(out: &mut Vec<u8>, field: u32, v: i64) {
    if v != 0 {
        put_key(out, field, VARINT);
        put_varint(out, v as u64);
    }
}

/// An `sfixed64` field; left out when zero.
pub(crate) fn put_sfixed64(out: &mut Vec<u8>, field: u32, v: i64) {
    if v != 0 {
        put_key(out, field, FIXED64);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// A `bytes` or `string` field; left out when empty.
pub(crate) fn put_bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    if !b.is_empty() {
        put_message(out, field, b);
    }
}

/// An embedded message, always written (gogoproto `nullable = false`).
pub(crate) fn put_message(out: &mut Vec<u8>, field: u32, msg: &[u8]) {
    put_key(out, field, LEN);
    put_varint(out, msg.len() as u64);
    out.extend_from_slice(msg);
}

/// `google.protobuf.Timestamp { int64 seconds = 1; int32 nanos = 2; }`.
pub(crate) fn timestamp(seconds: i64, nanos: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(12);
    put_int(&mut out, 1, seconds);
    put_int(&mut out, 2, i64::from(nanos));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_defaults() {
        let mut out = Vec::new();
        put_varint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
        let mut out = Vec::new();
        put_uint(&mut out, 1, 0);
        put_bytes(&mut out, 2, &[]);
        put_sfixed64(&mut out, 3, 0);
        assert!(out.is_empty());
        put_message(&mut out, 2, &[]);
        assert_eq!(out, [0x12, 0x00]);
        let mut out = Vec::new();
        put_int(&mut out, 1, -1);
        assert_eq!(
            out,
            [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
        assert_eq!(timestamp(0, 0), Vec::<u8>::new());
        assert_eq!(timestamp(1, 0), vec![0x08, 0x01]);
    }

    #[test]
    fn a_varint_byte_holds_seven_bits() {
        let varint = |v| {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            out
        };
        assert_eq!(varint(0x7f), [0x7f]);
        assert_eq!(varint(0x80), [0x80, 0x01]);
        assert_eq!(varint(u64::MAX).len(), 10);
    }
}
