//! `send-account-emails`: `UserRegistered`, `VerificationEmailRequested` and
//! `PasswordResetRequested` from the auth service (bus rule → SQS → this function) become the
//! verification and password-reset emails.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shop_adapters::init_tracing();
    let deps = notifications::Deps::from_env().await?;
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        notifications::account_emails::send_account_emails(&deps, event)
    }))
    .await
}
