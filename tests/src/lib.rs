//! End-to-end tests of corridor live in `tests/`; this crate has no library code.
