//! The Lambda Runtime API host: runs the real function binaries as Lambda would.
//!
//! `cargo lambda watch` gives every function the same environment and one instance at a time; the
//! template gives each function its own environment, and concurrency tests need several instances.
//! So the runner hosts the [Runtime API] itself:
//!
//! - each function has a pool of *instances* (processes of its binary). An invocation goes to an
//!   idle instance; when none is idle and fewer than [`HostConfig::max_concurrency`] run, another
//!   process starts. Instances are reused (warm) like Lambda execution environments.
//! - each instance gets its own Runtime API listener on `127.0.0.1:0` (its
//!   `AWS_LAMBDA_RUNTIME_API`), so the host always knows which process holds which invocation: the
//!   one that times out is the one killed (`Sandbox.Timedout`), and a process that dies
//!   mid-invocation fails exactly that invocation (`Runtime.ExitError`).
//! - a process sees the template's variables plus the ones Lambda sets, and nothing from the
//!   developer's shell but `PATH`, `HOME`, `RUST_LOG`, `RUST_BACKTRACE` and `TZ`.
//! - processes die with the runner (`kill_on_drop` + `PR_SET_PDEATHSIG`, see [`crate::procs`]);
//!   their output goes to the runner's stderr, one line at a time, prefixed `[binary-name]`.
//!
//! [Runtime API]: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, bail};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::{Notify, oneshot};

/// The largest invocation payload and response Lambda accepts (6 MB).
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// How long a new instance may take to ask for its first invocation (Lambda allows 10 s; debug
/// binaries on a busy laptop get more) before it is killed.
const INIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Variables a function process inherits from the runner; everything else is cleared.
const INHERITED_ENV: [&str; 5] = ["PATH", "HOME", "RUST_LOG", "RUST_BACKTRACE", "TZ"];

/// Lines of a process's output kept to explain a failed start.
const OUTPUT_TAIL_LINES: usize = 20;

/// Settings shared by every function of a host.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// The AWS edge's URL, given to functions as `AWS_ENDPOINT_URL`.
    pub edge_url: String,
    /// The region, given to functions as `AWS_REGION` and `AWS_DEFAULT_REGION`.
    pub region: String,
    /// Instances each function may run at once (at least 1).
    pub max_concurrency: usize,
}

/// One function of the template, as the host runs it.
#[derive(Clone, Debug)]
pub struct FunctionSpec {
    /// The template's logical id, e.g. `GetHealthFunction`.
    pub logical_id: String,
    /// The physical function name, e.g. `shop-local-GetHealthFunction`.
    pub name: String,
    /// `arn:aws:lambda:{region}:123456789012:function:{name}`.
    pub arn: String,
    /// The built executable.
    pub binary: PathBuf,
    /// The template's `Environment.Variables`, resolved.
    pub env: BTreeMap<String, String>,
    /// The function's timeout.
    pub timeout: Duration,
    /// The function's memory size, given to it as `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`.
    pub memory_mb: u32,
}

/// What an invocation produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InvokeOutcome {
    /// The function's response.
    Success(Bytes),
    /// `{"errorType", "errorMessage"}` as the function reported it, or as Lambda reports a
    /// timeout (`Sandbox.Timedout`), a crash (`Runtime.ExitError`) or an oversized response
    /// (`Function.ResponseSizeTooLarge`).
    FunctionError(Bytes),
}

/// Why an invocation could not be made (Lambda answers these with a 4xx/5xx, not a function error).
#[derive(thiserror::Error, Debug)]
pub enum InvokeError {
    /// No function has that name, logical id or ARN.
    #[error("function not found: {0}")]
    NotFound(String),
    /// The payload is over 6 MB.
    #[error(
        "request must be smaller than {MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation"
    )]
    TooLarge,
    /// The host could not run the invocation.
    #[error("the function host failed: {0}")]
    Internal(String),
}

type Reply = oneshot::Sender<Result<InvokeOutcome, InvokeError>>;

/// Runs the registered functions' processes and routes invocations to them.
pub struct FunctionHost {
    config: HostConfig,
    functions: RwLock<BTreeMap<String, Arc<Function>>>,
    stopping: Arc<AtomicBool>,
    /// Every line any instance printed, `[binary] line`, oldest first (the last
    /// [`LOG_LINES_KEPT`]): tests read the functions' logs here, as an operator reads
    /// CloudWatch.
    log: Log,
}

/// How many log lines [`FunctionHost::log_lines`] keeps.
pub const LOG_LINES_KEPT: usize = 200_000;

type Log = Arc<Mutex<VecDeque<String>>>;

impl FunctionHost {
    /// A host with no functions yet.
    pub fn new(config: HostConfig) -> Arc<Self> {
        Arc::new(Self {
            config,
            functions: RwLock::new(BTreeMap::new()),
            stopping: Arc::new(AtomicBool::new(false)),
            log: Log::default(),
        })
    }

    /// The functions' output so far, one `[binary] line` each, oldest first.
    pub fn log_lines(&self) -> Vec<String> {
        lock_output(&self.log).iter().cloned().collect()
    }

    /// The settings this host was made with.
    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// The ARN Lambda would give a function called `name` in this host's region (for error
    /// messages about functions that do not exist).
    pub fn function_arn(&self, name: &str) -> String {
        if name.starts_with("arn:") {
            return name.to_owned();
        }
        format!(
            "arn:aws:lambda:{}:{}:function:{name}",
            self.config.region,
            crate::ACCOUNT_ID
        )
    }

    /// Adds a function (replacing one of the same name and stopping its instances). No process
    /// starts until the first invocation or [`FunctionHost::warm`]; each instance binds its own
    /// Runtime API listener on `127.0.0.1:0` when it starts.
    pub async fn register(&self, spec: FunctionSpec) -> anyhow::Result<()> {
        if !spec.binary.is_file() {
            bail!(
                "the binary of function {} ({}) is missing: {} does not exist; run `cargo build --bins` first",
                spec.logical_id,
                spec.name,
                spec.binary.display()
            );
        }
        let label = spec
            .binary
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| spec.name.clone());
        let function = Arc::new(Function {
            config: self.config.clone(),
            label,
            log: self.log.clone(),
            stopping: self.stopping.clone(),
            next_instance: AtomicU64::new(0),
            pool: Mutex::new(Pool::default()),
            changed: Notify::new(),
            spec,
        });
        let previous = self
            .write()
            .insert(function.spec.name.clone(), function.clone());
        if let Some(previous) = previous {
            previous.kill_all();
        }
        Ok(())
    }

    /// The physical name of the function called `name_or_arn`: a physical name, a logical id, a
    /// full or partial ARN, with or without the `$LATEST` qualifier.
    pub fn resolve(&self, name_or_arn: &str) -> Option<String> {
        self.lookup(name_or_arn)
            .map(|function| function.spec.name.clone())
    }

    /// The physical names of every registered function, sorted.
    pub fn functions(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    /// Invokes a function synchronously (`RequestResponse`) and waits for its outcome.
    pub async fn invoke(
        &self,
        name_or_arn: &str,
        payload: Bytes,
    ) -> Result<InvokeOutcome, InvokeError> {
        let function = self
            .lookup(name_or_arn)
            .ok_or_else(|| InvokeError::NotFound(name_or_arn.to_owned()))?;
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(InvokeError::TooLarge);
        }
        if self.stopping.load(Ordering::SeqCst) {
            return Err(InvokeError::Internal("the local cloud is stopping".into()));
        }
        let (reply, outcome) = oneshot::channel();
        function.submit(Job {
            request_id: request_id(),
            payload,
            reply,
        });
        outcome
            .await
            .map_err(|_| InvokeError::Internal("the invocation was abandoned".into()))?
    }

    /// Starts an instance of `name` (unless one already runs) and waits until it asks for an
    /// invocation, so a first request does not pay for the cold start. Fails with the process's
    /// init error and last output when it exits or hangs instead.
    pub async fn warm(&self, name: &str) -> anyhow::Result<()> {
        let function = self
            .lookup(name)
            .ok_or_else(|| anyhow!("function not found: {name}"))?;
        let deadline = tokio::time::Instant::now() + INIT_TIMEOUT + Duration::from_secs(5);
        let mut mine: Option<u64> = None;
        loop {
            let notified = function.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut pool = function.lock();
                if pool.instances.values().any(|instance| instance.ready) {
                    return Ok(());
                }
                match mine {
                    Some(id) if !pool.instances.contains_key(&id) => {
                        let why = pool
                            .failed_starts
                            .iter()
                            .find(|(failed, _)| *failed == id)
                            .map(|(_, why)| why.clone())
                            .unwrap_or_else(|| "it exited".to_owned());
                        bail!(
                            "function {} ({}) failed to start: {why}",
                            function.spec.name,
                            function.spec.binary.display()
                        );
                    }
                    Some(_) => {}
                    None => {
                        let starting = pool
                            .instances
                            .iter()
                            .find(|(_, instance)| !instance.dying)
                            .map(|(id, _)| *id);
                        mine = Some(match starting {
                            Some(id) => id,
                            None => function.spawn(&mut pool)?,
                        });
                    }
                }
            }
            tokio::time::timeout_at(deadline, notified)
                .await
                .map_err(|_| {
                    anyhow!(
                        "function {} did not ask for an invocation within {} s",
                        function.spec.name,
                        INIT_TIMEOUT.as_secs()
                    )
                })?;
        }
    }

    /// Kills every function process and waits (up to 5 s) until they are gone; later
    /// invocations fail.
    pub async fn shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let functions: Vec<Arc<Function>> = self.read().values().cloned().collect();
        for function in &functions {
            function.kill_all();
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        for function in &functions {
            while !function.lock().instances.is_empty() && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }

    fn lookup(&self, name_or_arn: &str) -> Option<Arc<Function>> {
        // arn:aws:lambda:region:account:function:name[:qualifier], account:function:name[:q],
        // or name[:qualifier].
        let parts: Vec<&str> = name_or_arn.split(':').collect();
        let (name, qualifier) = match parts.as_slice() {
            ["arn", _, "lambda", _, _, "function", name] => (*name, None),
            ["arn", _, "lambda", _, _, "function", name, qualifier] => (*name, Some(*qualifier)),
            [_, "function", name] => (*name, None),
            [_, "function", name, qualifier] => (*name, Some(*qualifier)),
            [name] => (*name, None),
            [name, qualifier] => (*name, Some(*qualifier)),
            _ => return None,
        };
        if qualifier.is_some_and(|qualifier| qualifier != "$LATEST") {
            return None;
        }
        let functions = self.read();
        functions
            .get(name)
            .or_else(|| {
                functions
                    .values()
                    .find(|function| function.spec.logical_id == name)
            })
            .cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Function>>> {
        self.functions
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<Function>>> {
        self.functions
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    #[cfg(test)]
    fn instance_count(&self, name: &str) -> usize {
        self.lookup(name)
            .map(|function| function.lock().instances.len())
            .unwrap_or(0)
    }
}

impl Drop for FunctionHost {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        for function in self.read().values() {
            function.kill_all();
        }
    }
}

/// One registered function and its pool of instances.
struct Function {
    spec: FunctionSpec,
    config: HostConfig,
    /// The log prefix: the binary's name.
    label: String,
    /// The host's log of every line.
    log: Log,
    stopping: Arc<AtomicBool>,
    next_instance: AtomicU64,
    pool: Mutex<Pool>,
    /// Signalled when an instance becomes ready or exits (for [`FunctionHost::warm`]).
    changed: Notify,
}

#[derive(Default)]
struct Pool {
    /// Invocations no instance has taken yet, oldest first.
    queue: VecDeque<Job>,
    /// Instances blocked in `GET /next`, oldest first.
    idle: VecDeque<(u64, oneshot::Sender<Delivery>)>,
    instances: HashMap<u64, Instance>,
    /// Why recent instances died before becoming ready (newest last, a few kept).
    failed_starts: VecDeque<(u64, String)>,
}

struct Job {
    request_id: String,
    payload: Bytes,
    reply: Reply,
}

/// An invocation as handed to an instance's `GET /next`.
struct Delivery {
    request_id: String,
    payload: Bytes,
    deadline_ms: u128,
}

struct Instance {
    /// The invocation this instance is running.
    current: Option<(String, Reply)>,
    /// Has asked for an invocation at least once (its init is done).
    ready: bool,
    /// Killed (timeout, init timeout, shutdown): it will not ask for work again.
    dying: bool,
    /// What it posted to `/runtime/init/error`.
    init_error: Option<Bytes>,
    /// Dropping or firing this kills the process.
    kill: Option<oneshot::Sender<()>>,
    /// The last lines it printed.
    output: Arc<Mutex<VecDeque<String>>>,
}

impl Function {
    fn lock(&self) -> MutexGuard<'_, Pool> {
        self.pool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn submit(self: &Arc<Self>, job: Job) {
        let mut pool = self.lock();
        self.dispatch(&mut pool, job);
    }

    /// Hands `job` to an idle instance, or queues it (starting an instance when needed).
    fn dispatch(self: &Arc<Self>, pool: &mut Pool, job: Job) {
        while let Some((id, waiter)) = pool.idle.pop_front() {
            if waiter.is_closed() || !pool.instances.contains_key(&id) {
                continue;
            }
            let deadline_ms = now_ms() + self.spec.timeout.as_millis();
            let delivery = Delivery {
                request_id: job.request_id.clone(),
                payload: job.payload.clone(),
                deadline_ms,
            };
            if waiter.send(delivery).is_ok() {
                self.assign(pool, id, job);
                return;
            }
        }
        pool.queue.push_back(job);
        self.scale(pool);
    }

    /// Makes `job` instance `id`'s current invocation and arms its timeout.
    fn assign(self: &Arc<Self>, pool: &mut Pool, id: u64, job: Job) {
        let Some(instance) = pool.instances.get_mut(&id) else {
            let _ = job
                .reply
                .send(Err(InvokeError::Internal("the instance vanished".into())));
            return;
        };
        let request_id = job.request_id.clone();
        instance.current = Some((job.request_id, job.reply));
        let function = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(function.spec.timeout).await;
            function.time_out(id, &request_id);
        });
    }

    fn time_out(&self, id: u64, request_id: &str) {
        let mut pool = self.lock();
        let Some(instance) = pool.instances.get_mut(&id) else {
            return;
        };
        if instance
            .current
            .as_ref()
            .is_none_or(|(current, _)| current != request_id)
        {
            return;
        }
        let Some((_, reply)) = instance.current.take() else {
            return;
        };
        instance.dying = true;
        if let Some(kill) = instance.kill.take() {
            let _ = kill.send(());
        }
        let message = format!(
            "{} {request_id} Task timed out after {:.2} seconds",
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            self.spec.timeout.as_secs_f64()
        );
        let _ = reply.send(Ok(function_error("Sandbox.Timedout", &message)));
    }

    /// Starts another instance when queued invocations outnumber the instances about to ask.
    fn scale(self: &Arc<Self>, pool: &mut Pool) {
        if self.stopping.load(Ordering::SeqCst) {
            for job in pool.queue.drain(..) {
                let _ = job.reply.send(Err(InvokeError::Internal(
                    "the local cloud is stopping".into(),
                )));
            }
            return;
        }
        let live = pool
            .instances
            .values()
            .filter(|instance| !instance.dying)
            .count();
        // Starting instances, and busy ones about to ask again, will take queued work.
        let coming = pool
            .instances
            .iter()
            .filter(|(id, instance)| {
                !instance.dying
                    && instance.current.is_none()
                    && !pool.idle.iter().any(|(idle, _)| idle == *id)
            })
            .count();
        if pool.queue.len() <= coming || live >= self.config.max_concurrency.max(1) {
            return;
        }
        if let Err(error) = self.spawn(pool) {
            eprintln!("[{}] cannot start: {error:#}", self.label);
            if live == 0 {
                for job in pool.queue.drain(..) {
                    let _ = job
                        .reply
                        .send(Err(InvokeError::Internal(format!("{error:#}"))));
                }
            }
        }
    }

    /// Starts one process of the function with its own Runtime API listener.
    fn spawn(self: &Arc<Self>, pool: &mut Pool) -> anyhow::Result<u64> {
        let id = self.next_instance.fetch_add(1, Ordering::SeqCst) + 1;
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
            .context("cannot bind a Runtime API listener")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let listener = tokio::net::TcpListener::from_std(listener)?;

        let mut command = crate::procs::command(&self.spec.binary);
        command
            .env_clear()
            .envs(self.environment(port))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().with_context(|| {
            format!(
                "cannot start {} (function {}); run `cargo build --bins`",
                self.spec.binary.display(),
                self.spec.name
            )
        })?;

        let label = if id == 1 {
            self.label.clone()
        } else {
            format!("{}#{id}", self.label)
        };
        let output = Arc::new(Mutex::new(VecDeque::new()));
        let mut forwarders = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            forwarders.push(forward(
                label.clone(),
                stdout,
                output.clone(),
                self.log.clone(),
            ));
        }
        if let Some(stderr) = child.stderr.take() {
            forwarders.push(forward(label, stderr, output.clone(), self.log.clone()));
        }

        let router = runtime_api(InstanceRef {
            function: self.clone(),
            id,
        });
        let (stop_server, server_stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            tokio::select! {
                _ = axum::serve(listener, router).into_future() => {}
                _ = server_stopped => {}
            }
        });

        let (kill, killed) = oneshot::channel::<()>();
        let function = self.clone();
        tokio::spawn(async move {
            let status = tokio::select! {
                status = child.wait() => status,
                _ = killed => {
                    let _ = child.start_kill();
                    child.wait().await
                }
            };
            // Let the last lines of output arrive before explaining the exit with them.
            let _ = tokio::time::timeout(
                Duration::from_millis(500),
                futures::future::join_all(forwarders),
            )
            .await;
            let _ = stop_server.send(());
            function.exited(id, status);
        });

        let function = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(INIT_TIMEOUT).await;
            let mut pool = function.lock();
            if let Some(instance) = pool.instances.get_mut(&id)
                && !instance.ready
            {
                instance.dying = true;
                instance.init_error.get_or_insert_with(|| {
                    function_error_bytes(
                        "Runtime.InitTimeout",
                        &format!(
                            "the process did not ask for an invocation within {} s",
                            INIT_TIMEOUT.as_secs()
                        ),
                    )
                });
                if let Some(kill) = instance.kill.take() {
                    let _ = kill.send(());
                }
            }
        });

        pool.instances.insert(
            id,
            Instance {
                current: None,
                ready: false,
                dying: false,
                init_error: None,
                kill: Some(kill),
                output,
            },
        );
        Ok(id)
    }

    /// The environment of a process: what Lambda sets, overridden by the template's variables.
    fn environment(&self, runtime_api_port: u16) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        for key in INHERITED_ENV {
            if let Ok(value) = std::env::var(key) {
                env.insert(key.to_owned(), value);
            }
        }
        let spec = &self.spec;
        let stream = format!(
            "{}/[$LATEST]{:032x}",
            chrono::Utc::now().format("%Y/%m/%d"),
            ulid::Ulid::new().0
        );
        let lambda = [
            ("AWS_ENDPOINT_URL", self.config.edge_url.clone()),
            ("AWS_REGION", self.config.region.clone()),
            ("AWS_DEFAULT_REGION", self.config.region.clone()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_LAMBDA_FUNCTION_NAME", spec.name.clone()),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                spec.memory_mb.to_string(),
            ),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", spec.name),
            ),
            ("AWS_LAMBDA_LOG_STREAM_NAME", stream),
        ];
        for (key, value) in lambda {
            env.insert(key.to_owned(), value);
        }
        env.extend(spec.env.clone());
        env.insert(
            "AWS_LAMBDA_RUNTIME_API".to_owned(),
            format!("127.0.0.1:{runtime_api_port}"),
        );
        env
    }

    /// Cleans up after a process ended: fails its invocation, explains a failed start, and makes
    /// sure queued work still has an instance to go to.
    fn exited(self: &Arc<Self>, id: u64, status: std::io::Result<ExitStatus>) {
        let mut pool = self.lock();
        pool.idle.retain(|(idle, _)| *idle != id);
        let Some(instance) = pool.instances.remove(&id) else {
            drop(pool);
            self.changed.notify_waiters();
            return;
        };
        let status = match status {
            Ok(status) => status.to_string(),
            Err(error) => format!("unknown status ({error})"),
        };
        if let Some((request_id, reply)) = instance.current {
            let message =
                format!("RequestId: {request_id} Error: Runtime exited with error: {status}");
            let _ = reply.send(Ok(function_error("Runtime.ExitError", &message)));
        }
        if !instance.ready {
            let output: Vec<String> = lock_output(&instance.output).iter().cloned().collect();
            let mut why = format!("the process exited during init ({status})");
            if let Some(init_error) = &instance.init_error {
                why.push_str(&format!(
                    "; init error: {}",
                    String::from_utf8_lossy(init_error)
                ));
            }
            if !output.is_empty() {
                why.push_str(&format!("; its last output:\n{}", output.join("\n")));
            }
            pool.failed_starts.push_back((id, why));
            if pool.failed_starts.len() > 8 {
                pool.failed_starts.pop_front();
            }
            let live = pool.instances.values().any(|other| !other.dying);
            if !live && !pool.queue.is_empty() {
                // Init fails: answer the waiting invocations as Lambda does rather than retry
                // forever; the next invocation tries a fresh process.
                let error = instance.init_error.clone().unwrap_or_else(|| {
                    function_error_bytes(
                        "Runtime.ExitError",
                        &format!("Error: Runtime exited with error: {status}"),
                    )
                });
                for job in pool.queue.drain(..) {
                    let _ = job
                        .reply
                        .send(Ok(InvokeOutcome::FunctionError(error.clone())));
                }
            }
        }
        if !pool.queue.is_empty() {
            self.scale(&mut pool);
        }
        drop(pool);
        self.changed.notify_waiters();
    }

    /// Kills every instance and fails queued invocations.
    fn kill_all(&self) {
        let mut pool = self.lock();
        for job in pool.queue.drain(..) {
            let _ = job.reply.send(Err(InvokeError::Internal(
                "the function was stopped".into(),
            )));
        }
        for instance in pool.instances.values_mut() {
            instance.dying = true;
            if let Some(kill) = instance.kill.take() {
                let _ = kill.send(());
            }
        }
    }
}

/// A function's instance, as its Runtime API handlers see it.
#[derive(Clone)]
struct InstanceRef {
    function: Arc<Function>,
    id: u64,
}

fn runtime_api(instance: InstanceRef) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
        .route(
            "/2018-06-01/runtime/invocation/{request_id}/response",
            post(invocation_response),
        )
        .route(
            "/2018-06-01/runtime/invocation/{request_id}/error",
            post(invocation_error),
        )
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(instance)
}

/// `GET /runtime/invocation/next`: long-polls until an invocation is handed to this instance.
async fn next_invocation(State(instance): State<InstanceRef>) -> Response {
    let function = &instance.function;
    let waiting = {
        let mut pool = function.lock();
        let Some(me) = pool.instances.get_mut(&instance.id) else {
            return runtime_error(
                StatusCode::GONE,
                "InstanceGone",
                "this instance was stopped",
            );
        };
        if let Some((request_id, reply)) = me.current.take() {
            let message = format!(
                "RequestId: {request_id} Error: the runtime asked for the next invocation without answering this one"
            );
            let _ = reply.send(Ok(function_error("Runtime.InvalidResponse", &message)));
        }
        let became_ready = !me.ready;
        me.ready = true;
        let waiting = match pool.queue.pop_front() {
            Some(job) => {
                let delivery = Delivery {
                    request_id: job.request_id.clone(),
                    payload: job.payload.clone(),
                    deadline_ms: now_ms() + function.spec.timeout.as_millis(),
                };
                function.assign(&mut pool, instance.id, job);
                Err(delivery)
            }
            None => {
                let (waiter, delivery) = oneshot::channel();
                pool.idle.push_back((instance.id, waiter));
                Ok(delivery)
            }
        };
        drop(pool);
        if became_ready {
            function.changed.notify_waiters();
        }
        waiting
    };
    let delivery = match waiting {
        Err(delivery) => delivery,
        Ok(waiting) => match waiting.await {
            Ok(delivery) => delivery,
            Err(_) => {
                return runtime_error(
                    StatusCode::GONE,
                    "InstanceGone",
                    "this instance was stopped",
                );
            }
        },
    };
    let mut headers = HeaderMap::new();
    let mut header = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    header("lambda-runtime-aws-request-id", delivery.request_id);
    header(
        "lambda-runtime-deadline-ms",
        delivery.deadline_ms.to_string(),
    );
    header(
        "lambda-runtime-invoked-function-arn",
        function.spec.arn.clone(),
    );
    header("lambda-runtime-trace-id", trace_id());
    header("content-type", "application/json".to_owned());
    (StatusCode::OK, headers, delivery.payload).into_response()
}

/// `POST /runtime/invocation/{id}/response`.
async fn invocation_response(
    State(instance): State<InstanceRef>,
    Path(request_id): Path<String>,
    body: Body,
) -> Response {
    let body = read_limited(body, MAX_PAYLOAD_BYTES).await;
    let outcome = match &body {
        Ok(body) => InvokeOutcome::Success(body.clone()),
        Err(ReadError::TooLarge) => function_error(
            "Function.ResponseSizeTooLarge",
            &format!(
                "Response payload size exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes)."
            ),
        ),
        Err(ReadError::Failed(error)) => function_error(
            "Runtime.InvalidResponse",
            &format!("cannot read the response: {error}"),
        ),
    };
    if !instance.complete(&request_id, outcome) {
        return invalid_request_id();
    }
    match body {
        Ok(_) => accepted(),
        Err(ReadError::TooLarge) => runtime_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "the response is over 6 MB",
        ),
        Err(ReadError::Failed(_)) => runtime_error(
            StatusCode::BAD_REQUEST,
            "InvalidResponse",
            "cannot read the response",
        ),
    }
}

/// `POST /runtime/invocation/{id}/error`.
async fn invocation_error(
    State(instance): State<InstanceRef>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = read_limited(body, MAX_PAYLOAD_BYTES)
        .await
        .unwrap_or_default();
    let outcome = InvokeOutcome::FunctionError(error_document(&headers, &body));
    if instance.complete(&request_id, outcome) {
        accepted()
    } else {
        invalid_request_id()
    }
}

/// `POST /runtime/init/error`: kept to explain why the instance did not start.
async fn init_error(
    State(instance): State<InstanceRef>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = read_limited(body, MAX_PAYLOAD_BYTES)
        .await
        .unwrap_or_default();
    let document = error_document(&headers, &body);
    if let Some(me) = instance.function.lock().instances.get_mut(&instance.id) {
        me.init_error = Some(document);
    }
    accepted()
}

impl InstanceRef {
    /// Answers this instance's current invocation if it is `request_id`.
    fn complete(&self, request_id: &str, outcome: InvokeOutcome) -> bool {
        let mut pool = self.function.lock();
        let Some(me) = pool.instances.get_mut(&self.id) else {
            return false;
        };
        match me.current.take() {
            Some((current, reply)) if current == request_id => {
                let _ = reply.send(Ok(outcome));
                true
            }
            other => {
                me.current = other;
                false
            }
        }
    }
}

/// A function's error body as Lambda returns it: the runtime's `{"errorType","errorMessage"}`
/// document, or one built from the error-type header and the raw text.
fn error_document(headers: &HeaderMap, body: &[u8]) -> Bytes {
    if let Ok(serde_json::Value::Object(document)) = serde_json::from_slice(body)
        && document.contains_key("errorType")
    {
        return Bytes::copy_from_slice(body);
    }
    let error_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("Unhandled");
    function_error_bytes(error_type, &String::from_utf8_lossy(body))
}

enum ReadError {
    TooLarge,
    Failed(axum::Error),
}

async fn read_limited(body: Body, limit: usize) -> Result<Bytes, ReadError> {
    let mut stream = body.into_data_stream();
    let mut buffer = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(ReadError::Failed)?;
        if buffer.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge);
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(buffer.freeze())
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

fn invalid_request_id() -> Response {
    runtime_error(
        StatusCode::BAD_REQUEST,
        "InvalidRequestID",
        "this instance is not running that invocation (it may have timed out)",
    )
}

fn runtime_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"errorType": error_type, "errorMessage": message})),
    )
        .into_response()
}

fn function_error(error_type: &str, message: &str) -> InvokeOutcome {
    InvokeOutcome::FunctionError(function_error_bytes(error_type, message))
}

fn function_error_bytes(error_type: &str, message: &str) -> Bytes {
    Bytes::from(json!({"errorType": error_type, "errorMessage": message}).to_string())
}

/// Copies a process's output lines to the runner's stderr and the host's log, and keeps the
/// last few.
fn forward(
    label: String,
    stream: impl AsyncRead + Unpin + Send + 'static,
    tail: Arc<Mutex<VecDeque<String>>>,
    log: Log,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("[{label}] {line}");
            {
                let mut log = lock_output(&log);
                log.push_back(format!("[{label}] {line}"));
                if log.len() > LOG_LINES_KEPT {
                    log.pop_front();
                }
            }
            let mut tail = lock_output(&tail);
            tail.push_back(line);
            if tail.len() > OUTPUT_TAIL_LINES {
                tail.pop_front();
            }
        }
    })
}

fn lock_output(output: &Mutex<VecDeque<String>>) -> MutexGuard<'_, VecDeque<String>> {
    output
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_millis())
        .unwrap_or(0)
}

/// A request id shaped like Lambda's (a UUID).
fn request_id() -> String {
    let hex = format!("{:032x}", ulid::Ulid::new().0);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// An X-Ray trace header shaped like Lambda's (not sampled: there is no X-Ray locally).
fn trace_id() -> String {
    let hex = format!("{:032x}", ulid::Ulid::new().0);
    let seconds = now_ms() / 1000;
    format!(
        "Root=1-{seconds:08x}-{};Parent={};Sampled=0",
        &hex[..24],
        &hex[16..]
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The `fixture-fn` binary next to this test executable (`cargo build -p localcloud --bins`).
    pub(crate) fn fixture_binary() -> PathBuf {
        let beside_tests = std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.join("fixture-fn")));
        match beside_tests {
            Some(path) if path.is_file() => path,
            _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug/fixture-fn"),
        }
    }

    pub(crate) fn fixture_spec(name: &str, timeout: Duration) -> FunctionSpec {
        FunctionSpec {
            logical_id: format!("{name}Function"),
            name: format!("shop-test-{name}"),
            arn: format!("arn:aws:lambda:us-east-1:123456789012:function:shop-test-{name}"),
            binary: fixture_binary(),
            env: BTreeMap::from([("GREETING".to_owned(), "hello".to_owned())]),
            timeout,
            memory_mb: 256,
        }
    }

    pub(crate) async fn fixture_host(
        max_concurrency: usize,
        timeout: Duration,
    ) -> Arc<FunctionHost> {
        let host = FunctionHost::new(HostConfig {
            edge_url: "http://localhost:1".into(),
            region: "us-east-1".into(),
            max_concurrency,
        });
        let spec = fixture_spec("Fixture", timeout);
        assert!(
            spec.binary.is_file(),
            "{} is missing: run `cargo build -p localcloud --bin fixture-fn` first",
            spec.binary.display()
        );
        host.register(spec).await.expect("register");
        host
    }

    fn json(outcome: &InvokeOutcome) -> serde_json::Value {
        let (InvokeOutcome::Success(body) | InvokeOutcome::FunctionError(body)) = outcome;
        serde_json::from_slice(body).expect("JSON outcome")
    }

    async fn invoke(host: &FunctionHost, event: serde_json::Value) -> InvokeOutcome {
        host.invoke("shop-test-Fixture", Bytes::from(event.to_string()))
            .await
            .expect("invoke")
    }

    #[tokio::test]
    async fn resolve_accepts_names_logical_ids_and_arns() {
        let host = fixture_host(1, Duration::from_secs(3)).await;
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:shop-test-Fixture";
        for name in [
            "shop-test-Fixture",
            "FixtureFunction",
            arn,
            &format!("{arn}:$LATEST"),
            "123456789012:function:shop-test-Fixture",
            "shop-test-Fixture:$LATEST",
        ] {
            assert_eq!(
                host.resolve(name).as_deref(),
                Some("shop-test-Fixture"),
                "{name}"
            );
        }
        assert_eq!(host.resolve("nope"), None);
        assert_eq!(host.resolve(&format!("{arn}:live")), None);
        assert_eq!(host.functions(), ["shop-test-Fixture"]);
    }

    #[tokio::test]
    async fn register_names_the_missing_binary_and_how_to_build_it() {
        let host = FunctionHost::new(HostConfig {
            edge_url: "http://localhost:1".into(),
            region: "us-east-1".into(),
            max_concurrency: 1,
        });
        let mut spec = fixture_spec("Missing", Duration::from_secs(1));
        spec.binary = PathBuf::from("/nonexistent/get-nothing");
        let error = host.register(spec).await.expect_err("missing binary");
        let message = error.to_string();
        assert!(message.contains("/nonexistent/get-nothing"), "{message}");
        assert!(message.contains("cargo build --bins"), "{message}");
    }

    #[tokio::test]
    async fn invoke_returns_the_response_and_reuses_the_warm_instance() {
        let host = fixture_host(4, Duration::from_secs(5)).await;
        host.warm("shop-test-Fixture").await.expect("warm");
        for value in [1, 2, 3] {
            let outcome = invoke(&host, json!({"action": "double", "value": value})).await;
            assert_eq!(
                outcome,
                InvokeOutcome::Success(Bytes::from(format!("{{\"value\":{}}}", value * 2)))
            );
        }
        assert_eq!(host.instance_count("shop-test-Fixture"), 1);
        host.shutdown().await;
        assert_eq!(host.instance_count("shop-test-Fixture"), 0);
    }

    #[tokio::test]
    async fn function_errors_carry_the_functions_error_type() {
        let host = fixture_host(1, Duration::from_secs(5)).await;
        let outcome = invoke(&host, json!({"action": "fail"})).await;
        assert!(matches!(outcome, InvokeOutcome::FunctionError(_)));
        assert_eq!(json(&outcome)["errorType"], "FixtureFailure");
        host.shutdown().await;
    }

    #[tokio::test]
    async fn two_concurrent_sleeps_run_in_parallel_on_two_instances() {
        let host = fixture_host(2, Duration::from_secs(10)).await;
        let started = std::time::Instant::now();
        let event = json!({"action": "sleep", "ms": 1500});
        let (a, b) = tokio::join!(invoke(&host, event.clone()), invoke(&host, event));
        let elapsed = started.elapsed();
        assert_eq!(json(&a), json!({"slept": 1500}));
        assert_eq!(json(&b), json!({"slept": 1500}));
        assert_eq!(host.instance_count("shop-test-Fixture"), 2);
        assert!(elapsed < Duration::from_millis(2900), "took {elapsed:?}");
        host.shutdown().await;
    }

    #[tokio::test]
    async fn a_timed_out_invocation_is_killed_and_reported_as_sandbox_timedout() {
        let host = fixture_host(1, Duration::from_secs(1)).await;
        let started = std::time::Instant::now();
        let outcome = invoke(&host, json!({"action": "sleep", "ms": 10_000})).await;
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(matches!(outcome, InvokeOutcome::FunctionError(_)));
        let error = json(&outcome);
        assert_eq!(error["errorType"], "Sandbox.Timedout");
        let message = error["errorMessage"].as_str().unwrap_or_default();
        assert!(
            message.contains("Task timed out after 1.00 seconds"),
            "{message}"
        );
        // The killed instance is replaced by the next invocation.
        let outcome = invoke(&host, json!({"action": "double", "value": 4})).await;
        assert_eq!(json(&outcome), json!({"value": 8}));
        host.shutdown().await;
    }

    #[tokio::test]
    async fn a_process_that_dies_mid_invocation_is_a_runtime_exit_error_and_is_replaced() {
        let host = fixture_host(1, Duration::from_secs(5)).await;
        let outcome = invoke(&host, json!({"action": "exit", "code": 3})).await;
        let error = json(&outcome);
        assert_eq!(error["errorType"], "Runtime.ExitError");
        let message = error["errorMessage"].as_str().unwrap_or_default();
        assert!(message.contains("exit status: 3"), "{message}");
        let outcome = invoke(&host, json!({"action": "double", "value": 1})).await;
        assert_eq!(json(&outcome), json!({"value": 2}));
        host.shutdown().await;
    }

    #[tokio::test]
    async fn the_function_sees_exactly_its_spec_env_plus_the_lambda_variables() {
        let host = FunctionHost::new(HostConfig {
            edge_url: "http://localhost:4566".into(),
            region: "eu-west-1".into(),
            max_concurrency: 1,
        });
        let mut spec = fixture_spec("Env", Duration::from_secs(5));
        spec.env
            .insert("TABLE_NAME".into(), "shop-local-Table".into());
        spec.env.insert("AWS_REGION".into(), "eu-central-1".into());
        host.register(spec).await.expect("register");
        let outcome = host
            .invoke(
                "EnvFunction",
                Bytes::from(json!({"action": "echo", "envNames": "*"}).to_string()),
            )
            .await
            .expect("invoke");
        let env = json(&outcome)["env"].clone();
        let mut env: BTreeMap<String, String> = serde_json::from_value(env).expect("env map");
        // lambda_runtime itself sets this from the trace header during each invocation, as on AWS.
        env.remove("_X_AMZN_TRACE_ID");

        let mut expected: BTreeMap<String, String> = INHERITED_ENV
            .iter()
            .filter_map(|key| Some((key.to_string(), std::env::var(key).ok()?)))
            .collect();
        for (key, value) in [
            ("GREETING", "hello"),
            ("TABLE_NAME", "shop-local-Table"),
            ("AWS_REGION", "eu-central-1"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL", "http://localhost:4566"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_LAMBDA_FUNCTION_NAME", "shop-test-Env"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/shop-test-Env"),
        ] {
            expected.insert(key.to_owned(), value.to_owned());
        }
        for key in ["AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_LOG_STREAM_NAME"] {
            let value = env.get(key).cloned().unwrap_or_default();
            assert!(!value.is_empty(), "{key} is missing");
            expected.insert(key.to_owned(), value);
        }
        assert!(env["AWS_LAMBDA_RUNTIME_API"].starts_with("127.0.0.1:"));
        assert_eq!(env, expected);
        host.shutdown().await;
    }

    #[tokio::test]
    async fn oversized_payloads_are_refused_and_oversized_responses_are_function_errors() {
        let host = fixture_host(1, Duration::from_secs(10)).await;
        let too_big = Bytes::from(vec![b' '; MAX_PAYLOAD_BYTES + 1]);
        let refused = host.invoke("shop-test-Fixture", too_big).await;
        assert!(matches!(refused, Err(InvokeError::TooLarge)));
        let outcome = invoke(
            &host,
            json!({"action": "big", "bytes": MAX_PAYLOAD_BYTES + 10}),
        )
        .await;
        assert_eq!(json(&outcome)["errorType"], "Function.ResponseSizeTooLarge");
        host.shutdown().await;
    }

    #[tokio::test]
    async fn warm_reports_an_init_failure_with_the_process_output() {
        let host = FunctionHost::new(HostConfig {
            edge_url: "http://localhost:1".into(),
            region: "us-east-1".into(),
            max_concurrency: 1,
        });
        let mut spec = fixture_spec("Broken", Duration::from_secs(5));
        spec.env.insert("FIXTURE_FAIL_INIT".into(), "1".into());
        host.register(spec).await.expect("register");
        let error = host.warm("shop-test-Broken").await.expect_err("init fails");
        let message = format!("{error:#}");
        assert!(message.contains("FIXTURE_FAIL_INIT"), "{message}");
        let outcome = host
            .invoke("shop-test-Broken", Bytes::from_static(b"{}"))
            .await
            .expect("invoke");
        assert!(
            matches!(outcome, InvokeOutcome::FunctionError(_)),
            "{outcome:?}"
        );
    }
}
