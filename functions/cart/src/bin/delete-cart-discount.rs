//! `delete-cart-discount`: DELETE /api/cart/discount (User).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = cart::Deps::from_env().await?;
    run(service_fn(|request| {
        cart::discount::delete_cart_discount(&deps, request)
    }))
    .await
}
