//! `users-on-auth-events`: `UserVerified` and `UserRolesChanged` from the auth service (bus
//! rule → SQS → this function) create and update profiles.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::init_tracing();
    let deps = users::Deps::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        users::events::users_on_auth_events(&deps, event)
    }))
    .await
}
