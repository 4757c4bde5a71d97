//! # End-to-end test support
//!
//! The tests in `tests/tests/` drive the shop as a client would, over HTTP, against one local
//! cloud started from the real `template.yaml` and shared by every test of the binary
//! ([`localcloud::testing::SharedCloud`]).

pub mod accounts;

use std::path::PathBuf;
use std::sync::OnceLock;

use localcloud::CloudConfig;
pub use localcloud::testing::{SharedCloud, http};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The login lockout window of the test cloud (the template's default is 900 s).
pub const LOCKOUT_WINDOW_SECS: u64 = 4;
/// The account emails' cooldown in the test cloud (the template's default is 60 s).
pub const EMAIL_COOLDOWN_SECS: u64 = 2;
/// The refresh grace period of the test cloud (the template's default is 10 s).
pub const REFRESH_GRACE_SECS: u64 = 5;
/// How long the test cloud's checkout waits for a payment (the template's default is 900 s):
/// short enough to wait out a timeout, long enough for a loaded machine to pay in time.
pub const PAYMENT_TIMEOUT_SECS: u64 = 20;

/// The shared shop, started on first use from template.yaml. Function binaries must already be
/// built (`make test` builds them first).
pub fn shop() -> &'static SharedCloud {
    static SHOP: OnceLock<SharedCloud> = OnceLock::new();
    SHOP.get_or_init(|| {
        let mut config = cloud_config();
        // Short enough for the tests to wait out: the login lockout window and the grace
        // period of a consumed refresh token.
        config.parameters.extend([
            (
                "LoginLockoutWindowSeconds".to_owned(),
                LOCKOUT_WINDOW_SECS.to_string(),
            ),
            (
                "RefreshGraceSeconds".to_owned(),
                REFRESH_GRACE_SECS.to_string(),
            ),
            (
                "EmailCooldownSeconds".to_owned(),
                EMAIL_COOLDOWN_SECS.to_string(),
            ),
            (
                "PaymentTimeoutSeconds".to_owned(),
                PAYMENT_TIMEOUT_SECS.to_string(),
            ),
        ]);
        // The tests register and log in faster than people do, all from one machine: the login
        // and account-email routes get the stage's default limits instead of their own tighter
        // ones (tests/tests/e2e/gateway.rs starts a shop of its own to test those).
        raise_auth_throttles(&mut config);
        SharedCloud::start(config)
    })
}

/// A cloud from template.yaml on ports the system picks, running the already built binaries.
pub fn cloud_config() -> CloudConfig {
    let mut config = CloudConfig::new(repo_root());
    config.edge_port = 0;
    config.api_port = 0;
    config.build = false;
    if let Ok(target) = std::env::var("CARGO_TARGET_DIR") {
        config.bin_dir = PathBuf::from(target).join("debug");
    }
    config
}

/// Gives the login and account-email routes the stage's default throttle instead of their own
/// tighter one, for tests that call them faster than people do.
pub fn raise_auth_throttles(config: &mut CloudConfig) {
    for route in ["Login", "AccountEmail"] {
        config
            .parameters
            .insert(format!("{route}ThrottleRateLimit"), "500".to_owned());
        config
            .parameters
            .insert(format!("{route}ThrottleBurstLimit"), "1000".to_owned());
    }
}
