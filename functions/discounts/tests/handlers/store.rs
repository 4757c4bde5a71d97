//! The store contract ([`discounts::contract`]) against the in-memory store the handler tests
//! use; the end-to-end tests run the same checks against the DynamoDB adapter.

use discounts::contract;
use discounts::memory::MemoryDiscounts;

#[tokio::test]
async fn memory_codes_are_unique_ignoring_case_and_writes_conditional() {
    contract::codes_are_unique_ignoring_case_and_writes_conditional(&MemoryDiscounts::new()).await;
}

#[tokio::test]
async fn memory_a_write_from_a_stale_read_changes_nothing() {
    contract::a_write_from_a_stale_read_changes_nothing(&MemoryDiscounts::new()).await;
}

#[tokio::test]
async fn memory_reservations_hold_both_limits_at_once() {
    contract::reservations_hold_both_limits_at_once(&MemoryDiscounts::new()).await;
}

#[tokio::test]
async fn memory_concurrent_reservations_never_pass_the_limit() {
    contract::concurrent_reservations_never_pass_the_limit(&MemoryDiscounts::new()).await;
}

#[tokio::test]
async fn memory_redemptions_move_once_per_order() {
    contract::redemptions_move_once_per_order(&MemoryDiscounts::new()).await;
}

#[tokio::test]
async fn memory_lists_cover_everything_once() {
    contract::lists_cover_everything_once(&MemoryDiscounts::new()).await;
}

#[tokio::test]
async fn memory_the_projection_keeps_the_newest_version() {
    contract::the_projection_keeps_the_newest_version(&MemoryDiscounts::new()).await;
}
