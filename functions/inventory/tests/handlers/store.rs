//! The store contract ([`inventory::contract`]) against the in-memory store the handler tests
//! use; the end-to-end tests run the same checks against the DynamoDB adapter.

use inventory::contract;
use inventory::memory::MemoryInventory;

#[tokio::test]
async fn memory_reservations_never_oversell() {
    let store = MemoryInventory::new();
    let succeeded = contract::reservations_never_oversell(&store).await;
    assert_eq!(store.events().len(), succeeded);
}

#[tokio::test]
async fn memory_transitions_happen_once() {
    contract::transitions_happen_once(&MemoryInventory::new()).await;
}

#[tokio::test]
async fn memory_writes_from_a_stale_read_are_refused() {
    contract::writes_from_a_stale_read_are_refused(&MemoryInventory::new()).await;
}

#[tokio::test]
async fn memory_product_facts_apply_once_and_in_order() {
    contract::product_facts_apply_once_and_in_order(&MemoryInventory::new()).await;
}

#[tokio::test]
async fn memory_expiries_are_found_and_movements_paged() {
    contract::expiries_are_found_and_movements_paged(&MemoryInventory::new()).await;
}
