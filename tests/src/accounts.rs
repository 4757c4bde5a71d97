//! Accounts through the API as a person makes them: register, read the verification email in
//! the local mailbox, verify, log in. Used by `seed` (the accounts of `make dev`) and by the
//! end-to-end tests.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// The password of every seeded account. Local only: `make dev` prints it.
pub const SEEDED_PASSWORD: &str = "local-only-password";

/// The seeded accounts: (email, full name, role beyond User).
pub const SEEDED: [(&str, &str, Option<&str>); 3] = [
    ("admin@example.com", "Ada Admin", Some("Admin")),
    ("seller@example.com", "Sam Seller", Some("Seller")),
    ("user@example.com", "Uma User", None),
];

/// How long an email may take to arrive (bus → queue → consumer → SES → mailbox).
const MAIL_TIMEOUT: Duration = Duration::from_secs(60);

/// The local shop's API and AWS edge.
#[derive(Clone)]
pub struct Shop {
    /// The API Gateway's URL.
    pub api_url: String,
    /// The AWS edge's URL (its mailbox).
    pub edge_url: String,
    /// One client.
    pub http: reqwest::Client,
}

impl Shop {
    /// POSTs `body` to `path` (with `token` when given); status and JSON body.
    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> anyhow::Result<(u16, Value)> {
        self.send(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    /// Sends one request; status and JSON body (`null` when empty).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self.http.request(method, format!("{}{path}", self.api_url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("sending {path}"))?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// The newest email to `to` whose subject is `subject` and that arrived after `seen`
    /// others with that subject, waiting for it.
    pub async fn mail(&self, to: &str, subject: &str, seen: usize) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + MAIL_TIMEOUT;
        loop {
            let mails = self.mails(to, subject).await?;
            if mails.len() > seen {
                return Ok(mails[0].clone());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("no new `{subject}` email for {to} within {MAIL_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The emails to `to` with `subject`, newest first.
    pub async fn mails(&self, to: &str, subject: &str) -> anyhow::Result<Vec<Value>> {
        let to: String = form_urlencoded::byte_serialize(to.as_bytes()).collect();
        let url = format!("{}/_localcloud/mailbox?to={to}", self.edge_url);
        let mails: Vec<Value> = self.http.get(url).send().await?.json().await?;
        Ok(mails
            .into_iter()
            .filter(|m| m["subject"] == subject)
            .collect())
    }
}

/// The one-time code of an account email: the line after "Or enter this code …".
pub fn code_in(mail: &Value) -> anyhow::Result<String> {
    let body = mail["body"].as_str().unwrap_or_default();
    let mut lines = body
        .lines()
        .skip_while(|l| !l.starts_with("Or enter this code"));
    lines
        .find(|l| !l.trim().is_empty() && !l.starts_with("Or enter"))
        .map(|l| l.trim().to_owned())
        .ok_or_else(|| anyhow!("no code in the email:\n{body}"))
}

/// The claims of a JWT, unverified (its middle part).
pub fn claims(token: &str) -> anyhow::Result<Value> {
    let payload = token.split('.').nth(1).context("not a JWT")?;
    Ok(serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?)
}

/// Registers `email` and verifies it through the mailbox; the user id. An email already
/// registered (and verified) is kept: its id comes from a login.
pub async fn register_verified(
    shop: &Shop,
    email: &str,
    full_name: &str,
    password: &str,
) -> anyhow::Result<String> {
    let (status, body) = shop
        .post(
            "/api/auth/register",
            None,
            json!({"email": email, "password": password, "fullName": full_name}),
        )
        .await?;
    match status {
        201 => {
            let mail = shop.mail(email, "Verify your email address", 0).await?;
            let token = code_in(&mail)?;
            let (status, body) = shop
                .post(
                    "/api/auth/verify-email",
                    None,
                    json!({"email": email, "token": token}),
                )
                .await?;
            if status != 200 {
                bail!("verifying {email}: {status} {body}");
            }
        }
        409 => {}
        _ => bail!("registering {email}: {status} {body}"),
    }
    let pair = login(shop, email, password).await?;
    let access = pair["accessToken"].as_str().unwrap_or_default();
    Ok(claims(access)?["sub"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

/// Logs in; the token pair.
pub async fn login(shop: &Shop, email: &str, password: &str) -> anyhow::Result<Value> {
    let (status, body) = shop
        .post(
            "/api/auth/login",
            None,
            json!({"email": email, "password": password}),
        )
        .await?;
    if status != 200 {
        bail!("logging in as {email}: {status} {body}");
    }
    Ok(body)
}

/// Makes the [`SEEDED`] accounts (verified, with their roles) unless they exist; an admin
/// `admin_token` sets the roles. The accounts' ids, in [`SEEDED`] order.
pub async fn seed_accounts(shop: &Shop, admin_token: &str) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    for (email, name, role) in SEEDED {
        let id = register_verified(shop, email, name, SEEDED_PASSWORD).await?;
        if let Some(role) = role {
            let (status, body) = shop
                .send(
                    reqwest::Method::PUT,
                    &format!("/api/admin/users/{id}/roles"),
                    Some(admin_token),
                    Some(json!({ "roles": ["User", role] })),
                )
                .await?;
            if status != 200 {
                bail!("giving {email} the {role} role: {status} {body}");
            }
        }
        ids.push(id);
    }
    Ok(ids)
}
