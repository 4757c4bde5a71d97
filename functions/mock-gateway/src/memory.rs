//! [`FakeShop`]: the [`Shop`] port for the handler tests: answers the statuses it is given,
//! in turn, and records every callback.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use shop_domain::DomainError;

use crate::domain::Shop;

/// One callback the shop received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The raw body.
    pub body: String,
    /// The `X-Signature` header.
    pub signature: String,
}

/// Answers each post with the next of its answers (`None`: no answer), then 200.
#[derive(Default)]
pub struct FakeShop {
    answers: Mutex<VecDeque<Option<u16>>>,
    received: Mutex<Vec<Received>>,
}

impl FakeShop {
    /// A shop answering `answers` in turn, then 200.
    pub fn answering(answers: impl IntoIterator<Item = Option<u16>>) -> Self {
        Self {
            answers: Mutex::new(answers.into_iter().collect()),
            received: Mutex::default(),
        }
    }

    /// Every callback posted, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[async_trait]
impl Shop for FakeShop {
    async fn post_callback(&self, body: &str, signature: &str) -> Result<u16, DomainError> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Received {
                body: body.to_owned(),
                signature: signature.to_owned(),
            });
        let answer = self
            .answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()
            .unwrap_or(Some(200));
        answer.ok_or_else(|| DomainError::Unavailable("connection refused".into()))
    }
}
