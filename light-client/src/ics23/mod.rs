//! ICS-23 (placeholder while building)
