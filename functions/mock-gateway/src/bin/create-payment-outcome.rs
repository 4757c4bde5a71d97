//! `create-payment-outcome`: `POST /mock-gateway/payments/{paymentId}` (public): pay or
//! decline, and tell the shop through its signed callback.

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = mock_gateway::Deps::from_env().await?;
    run(service_fn(|request| {
        mock_gateway::pages::create_payment_outcome(&deps, request)
    }))
    .await
}
