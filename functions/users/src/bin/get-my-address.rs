//! `get-my-address`: GET /api/users/me/addresses/{id} (User).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = users::Deps::from_env().await?;
    run(service_fn(|request| {
        users::addresses::get_my_address(&deps, request)
    }))
    .await
}
