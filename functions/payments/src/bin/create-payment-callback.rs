//! `create-payment-callback`: `POST /api/payments/callback` (public, signed by the gateway):
//! settles a payment once and resolves the waiting checkout.

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = payments::Deps::callback_from_env().await?;
    run(service_fn(|request| {
        payments::callback::create_payment_callback(&deps, request)
    }))
    .await
}
