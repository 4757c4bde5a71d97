//! The notifications store contract: what every [`SentLog`] adapter must do, written once and
//! run against both [`MemorySentLog`](crate::mail::memory::MemorySentLog) (the handler tests'
//! `store` module) and the DynamoDB adapter against moto (the end-to-end tests' `stores`
//! module), so the fake the handler tests trust cannot drift from the table.

use shop_domain::{Clock, EventId, SystemClock};

use crate::mail::SentLog;

/// An event is sent once it is marked; marking it again (a redelivery, or two deliveries at
/// once) is not an error and changes nothing; other events stay unsent.
pub async fn a_marked_event_is_sent_and_marking_is_idempotent(log: &impl SentLog) {
    let now = SystemClock.now();
    let (event, other) = (EventId::new(), EventId::new());
    assert!(!log.was_sent(event).await.unwrap());
    log.mark_sent(event, now).await.unwrap();
    assert!(log.was_sent(event).await.unwrap());
    log.mark_sent(event, now).await.unwrap();
    assert!(log.was_sent(event).await.unwrap());
    assert!(!log.was_sent(other).await.unwrap());

    let (a, b) = tokio::join!(log.mark_sent(other, now), log.mark_sent(other, now));
    a.unwrap();
    b.unwrap();
    assert!(log.was_sent(other).await.unwrap());
}
