//! `localcloud`: runs template.yaml on this machine. See the crate docs and the README.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use localcloud::token::{self, RunState};
use localcloud::{CloudConfig, LocalCloud};

/// The shop's docker-less local cloud: moto + the real function binaries + an AWS edge.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The SAM template to run.
    #[arg(long, default_value = "template.yaml")]
    template: PathBuf,
    /// The repository root (venv in .cache/venv, binaries in target/debug).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// The AWS edge's port; 0 picks a free one.
    #[arg(long, default_value_t = 4566)]
    edge_port: u16,
    /// The API Gateway's port; 0 picks a free one.
    #[arg(long, default_value_t = 3000)]
    api_port: u16,
    /// Use this running AWS endpoint (e.g. LocalStack, http://localhost:4566) instead of moto.
    #[arg(long)]
    endpoint: Option<String>,
    /// Stack name used in physical resource names.
    #[arg(long, default_value = "shop-local")]
    stack_name: String,
    /// Region of every ARN and client.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Template parameter override, `Name=Value` (repeatable).
    #[arg(long = "parameter", value_name = "NAME=VALUE")]
    parameters: Vec<String>,
    /// Instances each function may run at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Do not run `cargo build --workspace --bins` first.
    #[arg(long)]
    no_build: bool,
    /// A shell command to run once the cloud is ready (e.g. a seed), with `API_URL` and
    /// `AWS_ENDPOINT_URL` set; the cloud keeps running whatever it answers.
    #[arg(long, value_name = "COMMAND")]
    after_ready: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print a bearer access token for a local-only user, signed with the running cloud's
    /// current key (`make token ROLE=Admin`).
    Token {
        /// User, Seller or Admin.
        #[arg(long, default_value = "User")]
        role: String,
        /// Lifetime in minutes (at most 60).
        #[arg(long, default_value_t = 60)]
        minutes: i64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let root = args.root.canonicalize().context("--root does not exist")?;
    if let Some(Command::Token { role, minutes }) = &args.command {
        let state = RunState::load(&root)?;
        let sdk = localcloud::cloud::sdk_config(&state.edge_url, &state.region);
        let lifetime = chrono::TimeDelta::minutes(*minutes);
        println!(
            "{}",
            token::mint(&sdk, &state.outputs, role, lifetime).await?
        );
        return Ok(());
    }
    let mut config = CloudConfig::new(&root);
    config.template = root.join(&args.template);
    config.edge_port = args.edge_port;
    config.api_port = args.api_port;
    config.endpoint = args.endpoint;
    config.stack_name = args.stack_name;
    config.region = args.region.clone();
    config.max_concurrency = args.concurrency.max(1);
    config.build = !args.no_build;
    config.parameters = parse_parameters(&args.parameters)?;

    let cloud = LocalCloud::start(config, |line| eprintln!("localcloud: {line}")).await?;
    let stack = cloud.stack();
    let state = RunState {
        edge_url: cloud.edge_url().to_owned(),
        api_url: cloud.api_url().to_owned(),
        region: args.region.clone(),
        outputs: stack.outputs.clone(),
    };
    state.save(&root)?;
    println!("localcloud: ready");
    println!(
        "  API:       {}  (curl {}/api/health)",
        cloud.api_url(),
        cloud.api_url()
    );
    println!(
        "  AWS edge:  {}  (aws --endpoint-url {} ...)",
        cloud.edge_url(),
        cloud.edge_url()
    );
    println!(
        "  mailbox:   {}/_localcloud/mailbox?to=<address>",
        cloud.edge_url()
    );
    for (name, value) in &stack.outputs {
        println!(
            "  output {name}: {}",
            value
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| value.to_string())
        );
    }
    if let Some(command) = &args.after_ready {
        let status = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .env("API_URL", cloud.api_url())
            .env("AWS_ENDPOINT_URL", cloud.edge_url())
            .kill_on_drop(true)
            .status()
            .await;
        match status {
            Ok(status) if status.success() => {}
            Ok(status) => eprintln!("localcloud: `{command}` failed ({status}); still running"),
            Err(error) => eprintln!("localcloud: cannot run `{command}`: {error}; still running"),
        }
    }
    println!("Press Ctrl-C to stop.");
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        signal = tokio::signal::ctrl_c() => signal?,
        _ = terminate.recv() => {}
    }
    eprintln!("localcloud: stopping");
    let _ = std::fs::remove_file(RunState::path(&root));
    cloud.stop().await;
    Ok(())
}

fn parse_parameters(raw: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    raw.iter()
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) => Ok((name.to_owned(), value.to_owned())),
            None => bail!("--parameter takes NAME=VALUE, got `{pair}`"),
        })
        .collect()
}
