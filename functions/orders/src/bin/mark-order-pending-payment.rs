//! `mark-order-pending-payment`: internal (the checkout saga): PENDING -> PENDING_PAYMENT with the payment.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::init_tracing();
    let deps = orders::Deps::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        orders::internal::mark_order_pending_payment(&deps, event)
    }))
    .await
}
