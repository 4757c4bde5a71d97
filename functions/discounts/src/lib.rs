//! The discounts service (being built).
