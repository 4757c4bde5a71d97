//! `relay-outbox`: one service's table stream (outbox inserts only) → the shop's bus. Every
//! service's relay runs this binary (infra/outbox-relay.yaml); the events name their source.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::outbox::serve_relay().await
}
