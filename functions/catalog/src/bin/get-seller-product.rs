//! `get-seller-product`: `GET /api/seller/products/{id}` (Seller, own products in any status).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = catalog::Deps::from_env().await?;
    run(service_fn(|request| {
        catalog::products::get_seller_product(&deps, request)
    }))
    .await
}
