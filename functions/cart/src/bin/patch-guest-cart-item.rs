//! `patch-guest-cart-item`: PATCH /api/guest-carts/{cartId}/items/{itemId} (X-Cart-Token).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = cart::Deps::from_env().await?;
    run(service_fn(|request| {
        cart::items::patch_guest_cart_item(&deps, request)
    }))
    .await
}
