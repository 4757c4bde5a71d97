//! The cart service (being built).
