//! The store contract ([`users::contract`]) against the in-memory store the handler tests use;
//! the end-to-end tests run the same checks against the DynamoDB adapter.

use users::contract;
use users::memory::MemoryProfiles;

#[tokio::test]
async fn memory_profiles_are_created_once_and_updated_conditionally() {
    let store = MemoryProfiles::new();
    let succeeded = contract::profiles_are_created_once_and_updated_conditionally(&store).await;
    assert_eq!(store.events().len(), succeeded);
}

#[tokio::test]
async fn memory_auth_facts_apply_once_and_in_order() {
    contract::auth_facts_apply_once_and_in_order(&MemoryProfiles::new()).await;
}

#[tokio::test]
async fn memory_addresses_are_written_with_the_profiles_next_version() {
    contract::addresses_are_written_with_the_profiles_next_version(&MemoryProfiles::new()).await;
}

#[tokio::test]
async fn memory_profile_pages_cover_every_match_once() {
    contract::profile_pages_cover_every_match_once(&MemoryProfiles::new()).await;
}
