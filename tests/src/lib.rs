//! # End-to-end test support
//!
//! The tests in `tests/tests/` drive the shop as a client would: over HTTP, against a local cloud
//! started from the real `template.yaml`. One cloud is shared by every test in a test binary (it
//! takes seconds to start); each picks its own free ports, so test binaries can run side by side.
//!
//! The cloud runs on a runtime of its own whose worker threads live as long as the test binary:
//! function processes are tied to the thread that spawned them (`PR_SET_PDEATHSIG`), so they must
//! not be spawned from a test's short-lived thread.

use std::path::PathBuf;
use std::sync::OnceLock;

use localcloud::{CloudConfig, LocalCloud};
use tokio::runtime::Runtime;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The shared local cloud and the runtime it runs on, started on first use.
///
/// Function binaries must already be built (`make test` builds them first).
pub fn shop() -> &'static (Runtime, LocalCloud) {
    static SHOP: OnceLock<(Runtime, LocalCloud)> = OnceLock::new();
    SHOP.get_or_init(|| {
        let runtime = Runtime::new().expect("a tokio runtime");
        let root = repo_root();
        let mut config = CloudConfig::new(&root);
        config.edge_port = 0;
        config.build = false;
        if let Ok(target) = std::env::var("CARGO_TARGET_DIR") {
            config.bin_dir = PathBuf::from(target).join("debug");
        }
        let cloud = runtime
            .block_on(async {
                tokio::spawn(LocalCloud::start(config, |line| eprintln!("localcloud: {line}")))
                    .await
                    .expect("the start task")
            })
            .unwrap_or_else(|error| {
                panic!("the local cloud did not start (run through `make test`, which builds the functions first): {error:#}")
            });
        (runtime, cloud)
    })
}

/// Runs `test` on the shared cloud's runtime.
pub fn with_shop<F, Fut>(test: F)
where
    F: FnOnce(&'static LocalCloud) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (runtime, cloud) = shop();
    runtime.block_on(async move {
        tokio::spawn(test(cloud)).await.unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()))
    });
}

/// A plain HTTP client that never uses a proxy from the environment.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("an HTTP client")
}
