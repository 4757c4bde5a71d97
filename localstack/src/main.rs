//! `localcloud`: runs template.yaml on this machine. See the crate docs and the README.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use localcloud::token::{self, RunState};
use localcloud::{CloudConfig, LocalCloud, ready};

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
    /// A shell command to run once the cloud is up (e.g. a seed), with `API_URL` and
    /// `AWS_ENDPOINT_URL` set: its output is shown as it runs, `ready` is printed when it has
    /// finished, and the cloud keeps running whatever it answers.
    #[arg(long, value_name = "COMMAND")]
    after_ready: Option<String>,
    /// List every resource the local cloud does not emulate, instead of a one-line summary.
    #[arg(long)]
    verbose: bool,
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
    config.verbose = args.verbose;

    let cloud = LocalCloud::start(config, |line| eprintln!("localcloud: {line}")).await?;
    let stack = cloud.stack();
    let state = RunState {
        edge_url: cloud.edge_url().to_owned(),
        api_url: cloud.api_url().to_owned(),
        region: args.region.clone(),
        outputs: stack.outputs.clone(),
    };
    state.save(&root)?;
    // Signals are caught from here on, so Ctrl-C during the after-ready command stops it and
    // everything else as cleanly as later.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let announced = async {
        let endpoints = ready::Endpoints {
            api_url: cloud.api_url(),
            edge_url: cloud.edge_url(),
            outputs: &stack.outputs,
        };
        ready::announce(
            &endpoints,
            args.after_ready.as_deref(),
            &mut std::io::stdout(),
        )
        .await?;
        println!("Press Ctrl-C to stop.");
        std::future::pending::<std::io::Result<()>>().await
    };
    tokio::select! {
        announced = announced => announced?,
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
