//! `patch-my-profile`: PATCH /api/users/me (User; JSON merge patch).

use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shop_adapters::init_tracing();
    let deps = users::Deps::from_env().await?;
    run(service_fn(|request| {
        users::profiles::patch_my_profile(&deps, request)
    }))
    .await
}
