//! Logging set-up for function binaries.

use tracing_subscriber::EnvFilter;

/// Installs the global `tracing` subscriber: JSON lines on stdout inside Lambda (CloudWatch
/// Logs Insights queries the fields), human-readable output elsewhere.
///
/// The level comes from `RUST_LOG` (default `info`). Inside Lambda (detected by
/// `AWS_LAMBDA_FUNCTION_NAME`) there are no ANSI colours and no timestamps of our own, since
/// CloudWatch stamps every line. Calling it twice is harmless: the second call does nothing,
/// which keeps tests that build several handlers simple.
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        builder
            .json()
            .with_ansi(false)
            .without_time()
            .with_current_span(false)
            .with_span_list(true)
            .flatten_event(true)
            .with_target(false)
            .try_init()
    } else {
        builder.pretty().try_init()
    };
    // Already initialised (a second call, or a test harness): keep the existing subscriber.
    drop(result);
}
