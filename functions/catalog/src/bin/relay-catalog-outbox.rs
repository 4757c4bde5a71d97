//! `relay-catalog-outbox`: the catalog table's stream (outbox inserts only) → the shop's bus.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::outbox::serve_relay().await
}
