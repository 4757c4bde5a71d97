//! openapi.yaml says what the shop enforces: schemathesis (pinned in localstack/requirements.txt)
//! generates requests for every operation from the document, valid and invalid ones, sends them
//! to a local cloud of this module's own, and checks each answer against the document: no server
//! error, a declared status, content type, headers and body, valid data accepted and invalid data
//! refused. Its configuration, with the reason for every exception, is tests/fuzz/
//! schemathesis.toml; the rules JSON Schema cannot state are listed in tests/fuzz/hooks.py.
//!
//! The cloud is not the shared one: fuzzing registers accounts, trips the login lockout and the
//! email cooldowns, and fills the catalog with generated names, which would disturb the other
//! tests.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use shop_e2e::accounts::{SEEDED, SEEDED_PASSWORD, Shop, login, seed_accounts};
use shop_e2e::{SharedCloud, cloud_config, http, raise_auth_throttles, repo_root};

/// Test cases per operation and phase; `SHOP_FUZZ_EXAMPLES` overrides it (a longer run finds
/// more). 25 keeps the run near 70 s on two cores.
const EXAMPLES: u32 = 25;
/// Longer than any run of [`EXAMPLES`] should take; a hung run fails instead of blocking the suite.
const RUN_TIMEOUT: Duration = Duration::from_secs(600);

fn fuzz_cloud() -> &'static SharedCloud {
    static CLOUD: OnceLock<SharedCloud> = OnceLock::new();
    CLOUD.get_or_init(|| {
        let mut config = cloud_config();
        config.stack_name = "shop-fuzz".to_owned();
        // Thousands of requests from one client: the login and account-email routes get the
        // stage's default limits instead of their own tighter ones, so the functions behind them
        // are reached (a throttled request is a declared 429 all the same).
        raise_auth_throttles(&mut config);
        SharedCloud::start(config)
    })
}

#[test]
fn every_operation_answers_as_openapi_yaml_says() {
    fuzz_cloud().run(|cloud| async move {
        let shop = Shop {
            api_url: cloud.api_url().to_owned(),
            edge_url: cloud.edge_url().to_owned(),
            http: http(),
        };
        // The accounts are real (registered, verified, logged in): the users service and
        // change-password serve only subjects that have an account.
        let local_admin = localcloud::token::mint(
            &cloud.sdk_config(),
            &cloud.stack().outputs,
            "Admin",
            TimeDelta::minutes(5),
        )
        .await
        .expect("a local admin token");
        seed_accounts(&shop, &local_admin)
            .await
            .expect("the admin, seller and user accounts");
        let mut tokens = Vec::new();
        for (email, _, role) in SEEDED {
            let pair = login(&shop, email, SEEDED_PASSWORD).await.expect("a login");
            let variable = format!("SHOP_{}_TOKEN", role.unwrap_or("User").to_uppercase());
            tokens.push((variable, pair["accessToken"].as_str().unwrap().to_owned()));
        }

        let root = repo_root();
        let started = Instant::now();
        let output =
            tokio::time::timeout(RUN_TIMEOUT, schemathesis(&root, cloud.api_url(), &tokens))
                .await
                .expect("schemathesis finished within the timeout");
        let report = format!(
            "{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.status.success(),
            "schemathesis found requests that openapi.yaml and the shop disagree on \
             (rerun one with its `st replay` id, or see tests/fuzz/):\n{report}"
        );
        eprintln!(
            "fuzz: schemathesis passed in {:.0?}: {}",
            started.elapsed(),
            summary(&report)
        );
    });
}

/// Runs schemathesis over openapi.yaml against `api_url`, with `tokens` in the environment.
async fn schemathesis(
    root: &Path,
    api_url: &str,
    tokens: &[(String, String)],
) -> std::process::Output {
    let examples = std::env::var("SHOP_FUZZ_EXAMPLES").unwrap_or_else(|_| EXAMPLES.to_string());
    // Its own working directory: schemathesis may leave files (`.hypothesis`) behind.
    let workdir = std::env::temp_dir().join(format!("shop-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&workdir).expect("a working directory");
    let mut command = tokio::process::Command::new(root.join(".cache/venv/bin/schemathesis"));
    command
        .arg("--config-file")
        .arg(root.join("tests/fuzz/schemathesis.toml"))
        .arg("run")
        .arg(root.join("openapi.yaml"))
        .args(["--url", api_url])
        .args(["--max-examples", &examples])
        // Two workers on two cores: the functions need the rest.
        .args(["--workers", "2"])
        .args(["--generation-database", "none"])
        .arg("--no-color")
        .current_dir(&workdir)
        .env("SCHEMATHESIS_HOOKS", root.join("tests/fuzz/hooks.py"))
        .envs(tokens.iter().map(|(name, token)| (name, token)))
        .kill_on_drop(true);
    // A fixed seed by default, so `make test` (and CI) runs the same cases every time; set
    // SHOP_FUZZ_SEED to explore others.
    let seed = std::env::var("SHOP_FUZZ_SEED").unwrap_or_else(|_| "20261203".to_owned());
    command.args(["--seed", &seed]);
    let output = command
        .output()
        .await
        .expect("schemathesis runs (`make venv` installs it into .cache/venv)");
    let _ = std::fs::remove_dir_all(&workdir);
    output
}

/// The lines of schemathesis's summary worth a log line: operations, test cases, seed.
fn summary(report: &str) -> String {
    report
        .lines()
        .map(str::trim)
        .filter(|line| {
            line.starts_with("Tested:")
                || line.contains("generated,")
                || line.starts_with("Filtered:")
                || line.starts_with("Seed:")
        })
        .collect::<Vec<_>>()
        .join("; ")
}
