//! The users service: profiles and addresses behind API Gateway, and the consumer that keeps
//! profiles in step with the auth service.
//!
//! A tour:
//! - [`profiles`]: `GET`/`PUT`/`PATCH /api/users/me`, and the admin's `GET /api/admin/users`
//!   and `GET /api/admin/users/{id}`.
//! - [`addresses`]: `/api/users/me/addresses[/{id}]`: at most 20, exactly one default.
//! - [`events`]: `users_on_auth_events`, the SQS consumer of `UserVerified` and
//!   `UserRolesChanged`.
//! - [`internal`]: `get_address`, the internal function the checkout invokes for a saved
//!   address (`AddressNotFound` otherwise).
//! - [`dynamo`] and [`memory`]: the [`ProfileStore`] on DynamoDB and in memory (handler tests);
//!   [`contract`]: the store contract both pass. `memory` and `contract` only with feature
//!   `testing`.
//! - [`setup`]: [`Deps::from_env`], read once by each `src/bin/<function>.rs`.
//!
//! A profile exists for every verified user: made by `UserVerified`, or by the user's first
//! read if that comes first (from the token's claims), whichever wins; the other completes it.

use std::sync::Arc;

use crate::domain::ProfileStore;
use shop_domain::Clock;

pub mod addresses;
#[cfg(any(test, feature = "testing"))]
pub mod contract;
pub mod domain;
pub mod dynamo;
pub mod events;
pub mod internal;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod profiles;
pub mod setup;

/// What the users handlers need.
#[derive(Clone)]
pub struct Deps {
    /// Profiles, addresses and the outbox.
    pub profiles: Arc<dyn ProfileStore>,
    /// Timestamps.
    pub clock: Arc<dyn Clock>,
    /// The `Idempotency-Key` records of `POST /api/users/me/addresses` (in the users table).
    pub requests: Arc<dyn shop_adapters::idempotency::IdempotencyStore>,
}
