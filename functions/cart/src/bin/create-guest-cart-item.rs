//! `create-guest-cart-item`: POST /api/guest-carts/{cartId}/items (X-Cart-Token).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = cart::Deps::from_env().await?;
    run(service_fn(|request| {
        cart::items::create_guest_cart_item(&deps, request)
    }))
    .await
}
