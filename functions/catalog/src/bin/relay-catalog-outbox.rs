//! `relay-catalog-outbox`: the catalog table's stream (outbox inserts only) → the shop's bus.

use aws_lambda_events::event::dynamodb::Event;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shop_adapters::eventbridge::EventBridgePublisher;
use shop_adapters::outbox::relay;
use shop_adapters::{aws, config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let bus = config::required("EVENT_BUS_NAME")?;
    let sdk = aws::sdk_config().await;
    let publisher = EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(&sdk), bus);
    run(service_fn(|event: LambdaEvent<Event>| {
        relay(&publisher, event.payload)
    }))
    .await
}
