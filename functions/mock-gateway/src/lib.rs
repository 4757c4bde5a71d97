//! The mock payment gateway: a stand-in for a payment provider's hosted payment page. It is
//! deliberately not part of the payments service — it shares no code with it and reaches the
//! shop only the way a provider does, over HTTP through the shop's public, signed callback
//! (`POST /api/payments/callback`); it never calls Step Functions.
//!
//! A tour:
//! - [`pages`]: `get-payment-page` (the HTML page with Pay and Decline) and
//!   `create-payment-outcome` (the buttons' and tests' POST: signs and sends the callback).
//! - [`domain`]: the page request's signature check, the callback's signature, the pages
//!   and the [`Shop`](domain::Shop) port.
//! - [`shop`]: the port over HTTP; [`memory`]: a fake shop for the handler tests (feature
//!   `testing`).
//! - [`setup`]: [`Deps::page_from_env`] and [`Deps::from_env`].

use std::sync::Arc;
use std::time::Duration;

use shop_domain::{Clock, SecretSource};

use crate::domain::Shop;

pub mod domain;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod pages;
pub mod setup;
pub mod shop;

/// What the gateway's handlers need.
#[derive(Clone)]
pub struct Deps {
    /// Where the webhook secret is read (cached): the key of both signatures.
    pub secrets: Arc<dyn SecretSource>,
    /// The secret's ARN.
    pub secret_id: String,
    /// The shop's callback (create-payment-outcome only).
    pub shop: Option<Arc<dyn Shop>>,
    /// The callback's `t`.
    pub clock: Arc<dyn Clock>,
    /// The pause before the second try of the callback (doubled before the third).
    pub backoff: Duration,
}
