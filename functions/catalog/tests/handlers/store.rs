//! The store contract ([`catalog::contract`]) against the in-memory catalog the handler tests
//! use; the end-to-end tests run the same checks against the DynamoDB adapter.

use catalog::contract;
use catalog::memory::MemoryCatalog;

#[tokio::test]
async fn the_memory_catalog_lists_exactly_what_the_reference_lists() {
    contract::lists_exactly_what_the_reference_lists(&MemoryCatalog::new()).await;
}

#[tokio::test]
async fn memory_catalog_writes_are_conditional_and_slugs_unique() {
    let store = MemoryCatalog::new();
    let succeeded = contract::writes_are_conditional_and_slugs_unique(&store).await;
    assert_eq!(store.events().len(), succeeded);
}

#[tokio::test]
async fn in_the_memory_catalog_an_insert_and_the_delete_of_its_target_never_both_win() {
    contract::an_insert_and_the_delete_of_what_it_points_at_never_both_win(&MemoryCatalog::new())
        .await;
}
