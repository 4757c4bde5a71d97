//! `patch-cart-item`: PATCH /api/cart/items/{itemId} (User).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = cart::Deps::from_env().await?;
    run(service_fn(|request| {
        cart::items::patch_cart_item(&deps, request)
    }))
    .await
}
