//! The store contract ([`auth::contract`]) against the in-memory store the handler tests use;
//! the end-to-end tests run the same checks against the DynamoDB adapter.

use auth::contract;
use auth::memory::MemoryAccounts;

#[tokio::test]
async fn memory_accounts_are_unique_per_email_and_written_conditionally() {
    let store = MemoryAccounts::new();
    let succeeded = contract::accounts_are_unique_per_email_and_written_conditionally(&store).await;
    assert_eq!(store.events().len(), succeeded);
}

#[tokio::test]
async fn memory_sessions_rotate_once_per_generation() {
    contract::sessions_rotate_once_per_generation(&MemoryAccounts::new()).await;
}

#[tokio::test]
async fn memory_password_attempts_are_counted_per_window() {
    contract::password_attempts_are_counted_per_window(&MemoryAccounts::new()).await;
}

#[tokio::test]
async fn memory_emails_are_limited_per_cooldown_and_day() {
    contract::emails_are_limited_per_cooldown_and_day(&MemoryAccounts::new()).await;
}
