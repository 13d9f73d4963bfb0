//! Unit tests of the state tables.
