//! The relay's sans-IO channel core (DESIGN.md "The relay's inside").
