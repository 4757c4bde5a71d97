//! Composes the local cloud: venv → moto → function host → edge → template → resources.
//!
//! [`LocalCloud::start`] returns once every resource exists and every function has started and
//! polls the Runtime API, so "ready" means a first request will not wait on a compile or a cold
//! start. Dropping the [`LocalCloud`] stops everything it started.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::cfn_response::CfnResponses;
use crate::edge::{self, EdgeState};
use crate::gateway::{self, Gateway};
use crate::host::{FunctionHost, HostConfig};
use crate::mailbox::Mailbox;
use crate::mappings::Mappings;
use crate::moto::Moto;
use crate::provision::{self, ProvisionContext, Stack};
use crate::{procs, template};

/// A template parameter the runner fills with its edge URL when the template declares it (and
/// the caller did not set it): the one way a template learns where "AWS" is locally, e.g. to
/// build public S3 URLs such as the token issuer. Empty on AWS.
pub const ENDPOINT_URL_PARAMETER: &str = "EndpointUrl";

/// A template parameter the runner fills with its API Gateway's URL (`http://localhost:<api
/// port>`) when the template declares it and the caller did not set it: where the shop's
/// public API is, for absolute links such as a payment page's URL. On AWS the deployer sets
/// it (the custom domain, or the stage's invoke URL).
pub const PUBLIC_API_URL_PARAMETER: &str = "PublicApiUrl";

/// The parameters a template runs with: `given`, plus [`ENDPOINT_URL_PARAMETER`] (the edge's
/// URL) and [`PUBLIC_API_URL_PARAMETER`] (the API Gateway's URL) for whichever of the two the
/// template declares and `given` does not set.
pub fn local_parameters(
    template: &serde_json::Value,
    given: &BTreeMap<String, String>,
    edge_url: &str,
    api_url: &str,
) -> BTreeMap<String, String> {
    let mut parameters = given.clone();
    for (name, url) in [
        (ENDPOINT_URL_PARAMETER, edge_url),
        (PUBLIC_API_URL_PARAMETER, api_url),
    ] {
        if template.pointer(&format!("/Parameters/{name}")).is_some() {
            parameters
                .entry(name.to_owned())
                .or_insert_with(|| url.to_owned());
        }
    }
    parameters
}

/// How to start a local cloud. [`CloudConfig::new`] gives the defaults `make dev` uses.
#[derive(Clone, Debug)]
pub struct CloudConfig {
    /// The repository root (the venv lives in `<root>/.cache/venv`).
    pub root: PathBuf,
    /// The SAM template to run.
    pub template: PathBuf,
    /// The AWS edge's port; 0 picks a free one.
    pub edge_port: u16,
    /// The API Gateway's port; 0 picks a free one.
    pub api_port: u16,
    /// An already running AWS endpoint (e.g. LocalStack) to use instead of starting moto.
    pub endpoint: Option<String>,
    /// The Python to run moto and the SAM translator with; default: the project's venv.
    pub python: Option<PathBuf>,
    /// Where the function binaries are (`<root>/target/debug` by default).
    pub bin_dir: PathBuf,
    /// Run `cargo build --workspace --bins` before starting functions.
    pub build: bool,
    /// The stack name used in physical names (`<stack>-<LogicalId>`).
    pub stack_name: String,
    /// The region every ARN and client uses.
    pub region: String,
    /// Template parameter overrides.
    pub parameters: BTreeMap<String, String>,
    /// Instances each function may run at once.
    pub max_concurrency: usize,
    /// Report every resource that is not emulated on a line of its own, instead of one summary
    /// line ([`Stack::skipped_summary`]).
    pub verbose: bool,
}

impl CloudConfig {
    /// The defaults for a repository at `root`: its `template.yaml`, edge on :4566, moto.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Self {
            template: root.join("template.yaml"),
            bin_dir: root.join("target/debug"),
            root,
            edge_port: 4566,
            api_port: 3000,
            endpoint: None,
            python: None,
            build: true,
            stack_name: "shop-local".to_owned(),
            region: "us-east-1".to_owned(),
            parameters: BTreeMap::new(),
            max_concurrency: 4,
            verbose: false,
        }
    }
}

/// A running local cloud.
pub struct LocalCloud {
    edge_url: String,
    api_url: String,
    region: String,
    stack: Stack,
    host: Arc<FunctionHost>,
    mailbox: Arc<Mailbox>,
    stop_edge: Option<oneshot::Sender<()>>,
    stop_gateway: Option<oneshot::Sender<()>>,
    mappings: Mappings,
    _moto: Option<Moto>,
}

impl LocalCloud {
    /// Starts everything; `progress` receives one human-readable line per step.
    pub async fn start(
        config: CloudConfig,
        progress: impl Fn(&str) + Sync,
    ) -> anyhow::Result<Self> {
        let progress: &(dyn Fn(&str) + Sync) = &progress;
        let python = match &config.python {
            Some(python) => python.clone(),
            None => procs::ensure_venv(&config.root, progress).await?,
        };
        if config.build {
            progress("building the functions (cargo build --workspace --bins)");
            procs::run(
                procs::command("cargo")
                    .args(["build", "--workspace", "--bins"])
                    .current_dir(&config.root),
                "cargo build --workspace --bins",
            )
            .await?;
        }

        // Both ports are taken first, so a clash is reported before anything starts.
        let listener = bind(config.edge_port, "the AWS edge", "--edge-port").await?;
        let api_listener = bind(config.api_port, "the API Gateway", "--api-port").await?;
        let edge_port = listener.local_addr()?.port();
        let edge_url = format!("http://localhost:{edge_port}");
        let api_url = format!("http://localhost:{}", api_listener.local_addr()?.port());

        let (moto, upstream) = match &config.endpoint {
            Some(endpoint) => {
                progress(&format!("using the AWS endpoint {endpoint}"));
                (None, endpoint.trim_end_matches('/').to_owned())
            }
            None => {
                progress("starting moto server");
                let moto = Moto::start(&python, edge_port).await?;
                let url = moto.url().to_owned();
                (Some(moto), url)
            }
        };

        let host = FunctionHost::new(HostConfig {
            edge_url: edge_url.clone(),
            region: config.region.clone(),
            max_concurrency: config.max_concurrency,
        });
        let mailbox = Arc::new(Mailbox::default());
        let cfn_responses = Arc::new(CfnResponses::default());
        let state = EdgeState {
            host: host.clone(),
            moto_url: upstream,
            mailbox: mailbox.clone(),
            cfn_responses: cfn_responses.clone(),
        };
        let stop_edge = spawn_server("the AWS edge", |stopped| {
            edge::serve(listener, state, stopped)
        });
        progress(&format!("AWS edge listening on {edge_url}"));

        progress(&format!("expanding {}", config.template.display()));
        let expanded = template::expand(&python, &config.template, &config.region).await?;
        let parameters = local_parameters(&expanded, &config.parameters, &edge_url, &api_url);
        let context = ProvisionContext {
            sdk: sdk_config(&edge_url, &config.region),
            region: config.region.clone(),
            stack_name: config.stack_name.clone(),
            parameters,
            host: host.clone(),
            cfn_responses,
            edge_url: edge_url.clone(),
            bin_dir: config.bin_dir.clone(),
            depth: 0,
        };
        let stack = provision::provision(&expanded, &context, progress).await?;
        if config.verbose {
            for (logical_id, resource_type) in &stack.skipped {
                progress(&format!(
                    "skipped (not emulated): {resource_type} {logical_id}"
                ));
            }
        } else if let Some(summary) = stack.skipped_summary() {
            progress(&summary);
        }
        for name in host.functions() {
            host.warm(&name)
                .await
                .with_context(|| format!("function {name} did not start"))?;
        }
        progress(&format!("{} functions started", host.functions().len()));

        let mappings = Mappings::start(
            &stack,
            host.clone(),
            &sdk_config(&edge_url, &config.region),
            progress,
        )
        .await?;

        let gateway = Gateway::from_stack(&stack, host.clone())?;
        for line in gateway.summary() {
            progress(&line);
        }
        let stop_gateway = spawn_server("the API Gateway", |stopped| {
            gateway::serve(api_listener, gateway, stopped)
        });

        Ok(Self {
            edge_url,
            api_url,
            region: config.region,
            stack,
            host,
            mailbox,
            stop_edge: Some(stop_edge),
            stop_gateway: Some(stop_gateway),
            mappings,
            _moto: moto,
        })
    }

    /// The AWS edge's URL (`AWS_ENDPOINT_URL` for anything that should talk to this cloud).
    pub fn edge_url(&self) -> &str {
        &self.edge_url
    }

    /// The API Gateway's URL (the shop's HTTP API).
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// An SDK configuration pointing at the edge, with the local cloud's test credentials.
    pub fn sdk_config(&self) -> SdkConfig {
        sdk_config(&self.edge_url, &self.region)
    }

    /// What was provisioned: physical ids, attributes, outputs.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }

    /// The functions' host (for invoking functions directly).
    pub fn host(&self) -> &Arc<FunctionHost> {
        &self.host
    }

    /// The event-source mappings and schedules (e.g. to fire a schedule now).
    pub fn mappings(&self) -> &Mappings {
        &self.mappings
    }

    /// The mail the functions sent.
    pub fn mailbox(&self) -> &Arc<Mailbox> {
        &self.mailbox
    }

    /// Stops the edge and every process this cloud started.
    pub async fn stop(mut self) {
        self.mappings.stop();
        self.host.shutdown().await;
        self.stop_servers();
    }

    fn stop_servers(&mut self) {
        for stop in [self.stop_gateway.take(), self.stop_edge.take()]
            .into_iter()
            .flatten()
        {
            let _ = stop.send(());
        }
    }
}

impl Drop for LocalCloud {
    fn drop(&mut self) {
        // Function processes and moto are `kill_on_drop`; the servers stop on this signal.
        self.stop_servers();
    }
}

/// Listens on a loopback port (0 = a free one), saying how to get out of a clash.
async fn bind(port: u16, what: &str, flag: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| {
            format!(
                "cannot listen on 127.0.0.1:{port} for {what}: is another local cloud running? \
             (stop it, or pass {flag} 0)"
            )
        })
}

/// Runs a server until the returned sender fires (or is dropped).
fn spawn_server<F, Fut>(what: &'static str, serve: F) -> oneshot::Sender<()>
where
    F: FnOnce(futures::future::BoxFuture<'static, ()>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = Box::pin(async move {
        let _ = stopped.await;
    });
    let server = serve(shutdown);
    tokio::spawn(async move {
        if let Err(error) = server.await {
            eprintln!("localcloud: {what} stopped: {error:#}");
        }
    });
    stop
}

/// An SDK configuration for the local cloud at `edge_url`.
pub fn sdk_config(edge_url: &str, region: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(edge_url)
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new("test", "test", None, None, "localcloud"),
            ),
        )
        .build()
}
