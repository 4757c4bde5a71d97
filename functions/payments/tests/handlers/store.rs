//! The store contract ([`payments::contract`]) against the in-memory store the handler tests
//! use; the end-to-end tests run the same checks against the DynamoDB adapter.

use payments::contract;
use payments::memory::MemoryPayments;

#[tokio::test]
async fn memory_a_payment_is_created_once() {
    let store = MemoryPayments::new();
    assert_eq!(
        contract::a_payment_is_created_once(&store).await,
        store.events().len()
    );
}

#[tokio::test]
async fn memory_the_callbacks_transition_has_one_winner() {
    let store = MemoryPayments::new();
    assert_eq!(
        contract::the_callbacks_transition_has_one_winner(&store).await,
        store.events().len()
    );
}

#[tokio::test]
async fn memory_an_event_id_is_processed_once() {
    let store = MemoryPayments::new();
    assert_eq!(
        contract::an_event_id_is_processed_once(&store).await,
        store.events().len()
    );
}

#[tokio::test]
async fn memory_the_token_store_and_the_callback_leave_one_sender() {
    let store = MemoryPayments::new();
    let written = contract::the_token_store_and_the_callback_leave_one_sender(&store).await;
    assert_eq!(written, store.events().len());
}

#[tokio::test]
async fn memory_a_void_or_refund_happens_once() {
    let store = MemoryPayments::new();
    assert_eq!(
        contract::a_void_or_refund_happens_once(&store).await,
        store.events().len()
    );
}
