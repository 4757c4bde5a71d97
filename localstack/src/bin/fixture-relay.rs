//! `fixture-relay`: the outbox relay of the runner's outbox tests (localstack/tests/fixture/
//! outbox.rs), built exactly like a service's `relay-<service>-outbox`: reads its bus, builds
//! the EventBridge publisher once, and serves `shop_adapters::outbox::relay`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::outbox::serve_relay().await
}
