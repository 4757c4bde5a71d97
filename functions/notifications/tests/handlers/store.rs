//! The store contract ([`notifications::contract`]) against the in-memory sent log the handler
//! tests use; the end-to-end tests run the same checks against the DynamoDB adapter.

use notifications::contract;
use notifications::mail::memory::MemorySentLog;

#[tokio::test]
async fn in_memory_a_marked_event_is_sent_and_marking_is_idempotent() {
    contract::a_marked_event_is_sent_and_marking_is_idempotent(&MemorySentLog::default()).await;
}
