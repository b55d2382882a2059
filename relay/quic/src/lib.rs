//! corridor/1: QUIC between relays.
