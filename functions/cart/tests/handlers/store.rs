//! The store contract ([`cart::contract`]) against the in-memory store the handler tests use;
//! the end-to-end tests run the same checks against the DynamoDB adapter.

use cart::contract;
use cart::memory::MemoryCarts;

#[tokio::test]
async fn memory_carts_start_once_and_expire() {
    contract::carts_start_once_and_expire(&MemoryCarts::new()).await;
}

#[tokio::test]
async fn memory_one_units_adds_sum_and_never_pass_99() {
    contract::one_units_adds_sum_and_never_pass_99(&MemoryCarts::new()).await;
}

#[tokio::test]
async fn memory_a_cart_holds_50_lines_in_one_currency() {
    contract::a_cart_holds_50_lines_in_one_currency(&MemoryCarts::new()).await;
}

#[tokio::test]
async fn memory_a_merge_happens_once() {
    contract::a_merge_happens_once(&MemoryCarts::new()).await;
}

#[tokio::test]
async fn memory_products_apply_in_version_order() {
    contract::products_apply_in_version_order(&MemoryCarts::new()).await;
}

#[tokio::test]
async fn memory_an_orders_lines_are_cleared_once() {
    contract::an_orders_lines_are_cleared_once(&MemoryCarts::new()).await;
}
