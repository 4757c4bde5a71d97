//! The store contract ([`orders::contract`]) against the in-memory store the handler tests
//! use; the end-to-end tests run the same checks against the DynamoDB adapter.

use orders::contract;
use orders::memory::MemoryOrders;

#[tokio::test]
async fn memory_one_checkout_lock_per_user_under_concurrency() {
    contract::one_checkout_lock_per_user_under_concurrency(&MemoryOrders::new()).await;
}

#[tokio::test]
async fn memory_status_transitions_have_one_winner() {
    let store = MemoryOrders::new();
    let written = contract::status_transitions_have_one_winner(&store).await;
    assert_eq!(store.outbox().len(), written);
}

#[tokio::test]
async fn memory_order_numbers_are_unique() {
    contract::order_numbers_are_unique(&MemoryOrders::new()).await;
}

#[tokio::test]
async fn memory_lists_cover_everything_once() {
    contract::lists_cover_everything_once(&MemoryOrders::new()).await;
}
