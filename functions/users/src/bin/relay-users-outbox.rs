//! `relay-users-outbox`: the users table's stream → the event bus (the transactional outbox).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::outbox::serve_relay().await
}
