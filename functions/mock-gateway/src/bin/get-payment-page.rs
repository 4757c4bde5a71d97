//! `get-payment-page`: `GET /mock-gateway/payments/{paymentId}` (public): the payment page.

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = mock_gateway::Deps::page_from_env().await?;
    run(service_fn(|request| {
        mock_gateway::pages::get_payment_page(&deps, request)
    }))
    .await
}
