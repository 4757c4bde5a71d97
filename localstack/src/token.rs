//! Local-only access tokens (`make token ROLE=Admin`).
//!
//! Until users can log in (the identity service), people and tests still need bearer tokens for
//! protected routes. This signs one for a local-only user with the stack's *current* signing key,
//! read from Secrets Manager through the edge exactly as the login function will read it, so
//! the gateway validates it like any real token.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use aws_config::SdkConfig;
use chrono::{TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shop_adapters::tokens::{AccessClaims, KeySet, sign};

/// The roles a local token may carry (the seed's authorization matrix).
pub const ROLES: [&str; 3] = ["User", "Seller", "Admin"];

/// What a running `localcloud` writes for other commands (`localcloud token`) to find it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunState {
    /// The AWS edge's URL.
    pub edge_url: String,
    /// The API Gateway's URL.
    pub api_url: String,
    /// The region of every client.
    pub region: String,
    /// The stack's outputs, resolved.
    pub outputs: BTreeMap<String, Value>,
}

impl RunState {
    /// Where a cloud rooted at `root` keeps its state.
    pub fn path(root: &Path) -> PathBuf {
        root.join(".cache/localcloud/state.json")
    }

    /// Writes the state file.
    pub fn save(&self, root: &Path) -> anyhow::Result<()> {
        let path = Self::path(root);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, serde_json::to_vec_pretty(self)?)
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// Reads the state file of a running cloud.
    pub fn load(root: &Path) -> anyhow::Result<Self> {
        let path = Self::path(root);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "no local cloud state at {}: start the shop with `make dev` first",
                path.display()
            )
        })?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// Signs an access token for the local-only user of `role` (subject `local-<role>`), valid
/// for `lifetime` (at most 60 minutes, as every access token).
pub async fn mint(
    sdk: &SdkConfig,
    outputs: &BTreeMap<String, Value>,
    role: &str,
    lifetime: TimeDelta,
) -> anyhow::Result<String> {
    let subject = format!("local-{}", role.to_ascii_lowercase());
    mint_for(sdk, outputs, role, &subject, lifetime).await
}

/// [`mint`] for the local-only user `subject`: tests need two sellers to prove that one may
/// not change the other's products.
pub async fn mint_for(
    sdk: &SdkConfig,
    outputs: &BTreeMap<String, Value>,
    role: &str,
    subject: &str,
    lifetime: TimeDelta,
) -> anyhow::Result<String> {
    let Some(role) = ROLES.iter().find(|r| r.eq_ignore_ascii_case(role)) else {
        bail!("unknown role `{role}`: use one of {}", ROLES.join(", "));
    };
    let output = |name: &str| {
        outputs.get(name).and_then(Value::as_str).ok_or_else(|| {
            anyhow!("the stack has no output `{name}`: is this the shop's template?")
        })
    };
    let secret = aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(output("SigningKeysSecretArn")?)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "cannot read the signing keys: {}",
                aws_smithy_types::error::display::DisplayErrorContext(e)
            )
        })?;
    let keys = KeySet::from_secret_string(secret.secret_string().unwrap_or_default())?
        .ok_or_else(|| anyhow!("the signing keys have not been created yet"))?;
    let claims = AccessClaims::new(
        subject.to_owned(),
        vec![(*role).to_owned()],
        output("TokenIssuer")?,
        output("TokenAudience")?,
        Utc::now(),
        lifetime,
    )
    .with_email(format!(
        "{}@local.test",
        subject.trim_start_matches("local-")
    ));
    Ok(sign(&claims, keys.signing_key())?)
}
