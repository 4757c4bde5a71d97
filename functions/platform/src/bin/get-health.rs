//! `get-health`: `GET /api/health`. Reads its config, builds the AWS probes once, serves.

use std::sync::Arc;

use lambda_http::{Error, run, service_fn};
use platform::{Deps, handle};
use shop_adapters::dynamo::TableProbe;
use shop_adapters::eventbridge::BusProbe;
use shop_adapters::{aws, config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let table = config::required("TABLE_NAME")?;
    let bus = config::required("EVENT_BUS_NAME")?;
    let sdk = aws::sdk_config().await;
    let deps = Deps::new(vec![
        Arc::new(TableProbe::new(aws_sdk_dynamodb::Client::new(&sdk), table)),
        Arc::new(BusProbe::new(aws_sdk_eventbridge::Client::new(&sdk), bus)),
    ]);
    run(service_fn(|req| handle(&deps, req))).await
}
