//! One local cloud shared by every test of a test binary.
//!
//! A cloud takes seconds to start, so test binaries start one on first use and share it. It runs
//! on a runtime of its own whose worker threads live as long as the test binary: child processes
//! are tied to the thread that spawned them (`PR_SET_PDEATHSIG`), so they must not be spawned from
//! a test's short-lived thread. Each cloud picks its own free ports, so test binaries can run side
//! by side.
//!
//! ```ignore
//! static CLOUD: OnceLock<SharedCloud> = OnceLock::new();
//! fn cloud() -> &'static SharedCloud { CLOUD.get_or_init(|| SharedCloud::start(config())) }
//! #[test] fn it_works() { cloud().run(|cloud| async move { /* ... */ }) }
//! ```

use std::future::Future;

use tokio::runtime::Runtime;

use crate::{CloudConfig, LocalCloud};

/// A local cloud and the runtime it runs on.
pub struct SharedCloud {
    runtime: Runtime,
    cloud: LocalCloud,
}

impl SharedCloud {
    /// Starts a cloud, panicking with the reason (tests have nothing better to do with it).
    pub fn start(config: CloudConfig) -> Self {
        let runtime = Runtime::new().expect("a tokio runtime");
        let cloud = runtime
            .block_on(async {
                tokio::spawn(LocalCloud::start(config, |line| {
                    eprintln!("localcloud: {line}")
                }))
                .await
                .expect("the start task")
            })
            .unwrap_or_else(|error| {
                panic!(
                    "the local cloud did not start (run through `make test`, which builds the \
                     functions and the venv first): {error:#}"
                )
            });
        Self { runtime, cloud }
    }

    /// Runs one test on the cloud's runtime; a panic in the test fails the calling test.
    pub fn run<F, Fut>(&'static self, test: F)
    where
        F: FnOnce(&'static LocalCloud) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let task = self.runtime.spawn(test(&self.cloud));
        if let Err(error) = self.runtime.block_on(task) {
            // The test panicked on a worker thread, whose output goes to the capture of the test
            // that started the runtime (not this one): panicking again here with its message is
            // what makes the message appear under the failed test.
            let payload = error.into_panic();
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("the test panicked with a value that is not a message");
            panic!("{message}");
        }
    }

    /// The cloud itself.
    pub fn cloud(&self) -> &LocalCloud {
        &self.cloud
    }
}

/// A plain HTTP client that never uses a proxy from the environment.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("an HTTP client")
}
