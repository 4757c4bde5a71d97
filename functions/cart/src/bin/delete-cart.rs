//! `delete-cart`: DELETE /api/cart (User).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = cart::Deps::store_from_env().await?;
    run(service_fn(|request| {
        cart::carts::delete_cart(&deps, request)
    }))
    .await
}
