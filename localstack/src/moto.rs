//! The moto server: every AWS API of the local cloud except Lambda.
//!
//! moto is started with `MOTO_PORT` set to the *edge's* port: its Step Functions interpreter then
//! sends Lambda invokes (and its other AWS calls) to the edge, which hands them to the function
//! host. Execution of real state-machine definitions is switched on through `/moto-api/config`.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::process::Child;

use crate::procs;

/// The script that runs moto's server (`python -c`), with cancelled DynamoDB transactions
/// leaving no stream records.
const MOTO_SERVER: &str = include_str!("moto_server.py");

/// A running moto server; dropping it kills the process.
pub struct Moto {
    url: String,
    _child: Child,
}

impl Moto {
    /// Starts moto from the venv's `python` on a free loopback port and waits until it answers.
    pub async fn start(python: &Path, edge_port: u16) -> anyhow::Result<Self> {
        let port = procs::free_port()?;
        let mut child = procs::command(python)
            // moto.server with one fix of ours (the script says which).
            .args([
                "-c",
                MOTO_SERVER,
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .env("MOTO_PORT", edge_port.to_string())
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start moto server")?;
        let stderr = child.stderr.take();
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::builder().no_proxy().build()?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(response) = client.get(format!("{url}/moto-api/")).send().await
                && response.status().is_success()
            {
                break;
            }
            if let Some(status) = child.try_wait()? {
                let mut output = String::new();
                if let Some(mut stderr) = stderr {
                    use tokio::io::AsyncReadExt;
                    let _ = stderr.read_to_string(&mut output).await;
                }
                bail!("moto server exited ({status}) before it answered:\n{output}");
            }
            if Instant::now() > deadline {
                bail!("moto server did not answer on {url} within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if let Some(stderr) = stderr {
            // moto logs every request at INFO on stderr; keep only what looks like trouble.
            tokio::spawn(async move {
                use tokio::io::AsyncBufReadExt;
                let mut lines = tokio::io::BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line.contains("Traceback")
                        || line.contains("Error")
                        || line.contains(" 500 -")
                    {
                        eprintln!("[moto] {line}");
                    }
                }
            });
        }
        let config = client
            .post(format!("{url}/moto-api/config"))
            .json(&serde_json::json!({"stepfunctions": {"execute_state_machine": true}}))
            .send()
            .await
            .context("cannot configure moto")?;
        if !config.status().is_success() {
            bail!("moto refused its configuration: {}", config.status());
        }
        Ok(Self { url, _child: child })
    }

    /// The server's own URL (the edge forwards to it).
    pub fn url(&self) -> &str {
        &self.url
    }
}
