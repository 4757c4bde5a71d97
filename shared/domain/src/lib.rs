//! The shop's kernel: the vocabulary every service shares, with no AWS and no Lambda in sight.
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
//! - [`merge_patch`]: RFC 7396 JSON merge patch (PATCH routes).
//! - [`paging`]: the page size and `nextToken` bounds every list shares.
//! - [`timestamp`]: RFC 3339 UTC timestamps with milliseconds, as stored and sent.
//! - `testing` (feature `testing`, for the services' tests): a fixed clock and event helpers.
//!
//! Each service's own rules, events and ports live in its crate (`functions/<service>/src/
//! domain`), never here (docs/service-structure.md).
//! - [`ports`]: the narrow async traits adapters implement ([`Clock`], [`EventPublisher`],
//!   [`SecretSource`], [`HealthProbe`]).
//!
//! The crate's Cargo.toml must never gain an `aws-sdk-*` or `lambda_*` dependency: the AWS and
//! in-memory implementations of the ports live in `shop-adapters`, so this crate's rules can be
//! tested without a cloud.

pub mod error;
pub mod event;
pub mod id;
pub mod merge_patch;
pub mod money;
pub mod paging;
pub mod ports;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod timestamp;

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
