//! The shop's domain: the vocabulary every service shares, with no AWS and no Lambda in sight.
//!
//! A tour:
//! - [`id`]: ULID-backed typed ids ([`ProductId`], [`OrderId`], …) and the [`typed_id!`] macro
//!   services use to define their own.
//! - [`money`]: [`Money`] in integer minor units with a validated ISO 4217 [`Currency`]; checked
//!   arithmetic, never `f64`.
//! - [`error`]: [`DomainError`], the one error type handlers return; it knows its HTTP status,
//!   its public name and whether a retry could help.
//! - [`event`]: the [`EventEnvelope`] every event travels in and the [`DomainEvent`] trait that
//!   names an event's type, source and schema version.
//! - [`catalog`]: products, categories and brands — validation, merge patch, ETags, the
//!   category tree, the `shop.catalog` events, list-query semantics and the store ports.
//! - [`identity`]: accounts (email normalisation, password policy, roles), refresh-token
//!   families with rotation and a grace period, the login lockout, the `shop.auth` events.
//! - [`users`]: profiles and addresses (validation, the default address), `shop.users` events.
//! - [`ports`]: the narrow async traits adapters implement ([`Clock`], [`EventPublisher`],
//!   [`SecretSource`], [`HealthProbe`]).
//!
//! The crate's Cargo.toml must never gain an `aws-sdk-*` or `lambda_*` dependency: the AWS and
//! in-memory implementations of the ports live in `shop-adapters`, so this crate's rules can be
//! tested without a cloud.

pub mod catalog;
pub mod error;
pub mod event;
pub mod id;
pub mod identity;
pub mod money;
pub mod ports;
#[cfg(test)]
mod test_support;
pub mod timestamp;
pub mod users;

pub use error::{DomainError, FieldError};
pub use event::{DomainEvent, EventEnvelope};
pub use id::{
    AddressId, BrandId, CartId, CategoryId, CorrelationId, DiscountId, EventId, NotificationId,
    OrderId, PaymentId, ProductId, ReservationId, ReviewId, SessionId, UserId,
};
pub use money::{Currency, Money};
pub use ports::{Clock, EventPublisher, HealthProbe, OutgoingEvent, SecretSource, SystemClock};

/// Re-exported so that [`typed_id!`] works in crates that do not depend on serde directly.
#[doc(hidden)]
pub use serde as __serde;
/// Re-exported so that [`typed_id!`] expands to paths that resolve in any crate using it.
#[doc(hidden)]
pub use ulid as __ulid;
