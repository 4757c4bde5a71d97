//! What `localcloud` prints once the cloud is up, in the order a reader can trust.
//!
//! `ready` means "send requests now": when an after-ready command (`make dev`'s seed) has to
//! fill the shop first, [`announce`] says where the API and the edge are, streams the command's
//! output line by line (prefixed with its program's name) while it runs, and prints `ready`
//! with the URLs only after it has exited, whatever it answered.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::mpsc;

use crate::procs;

/// Where the running cloud answers, and its stack's outputs.
pub struct Endpoints<'a> {
    /// The API Gateway's URL.
    pub api_url: &'a str,
    /// The AWS edge's URL.
    pub edge_url: &'a str,
    /// The stack's outputs, resolved.
    pub outputs: &'a BTreeMap<String, Value>,
}

/// Runs `after_ready` (a shell command, with `API_URL` and `AWS_ENDPOINT_URL` set) when there
/// is one, copying its stdout and stderr to `out` as they come, then prints the ready block.
/// The command failing is reported, not returned: the cloud keeps running either way.
pub async fn announce(
    endpoints: &Endpoints<'_>,
    after_ready: Option<&str>,
    out: &mut (dyn Write + Send),
) -> std::io::Result<()> {
    if let Some(command) = after_ready {
        writeln!(
            out,
            "localcloud: up: API {}, AWS edge {}; running `{command}` before ready",
            endpoints.api_url, endpoints.edge_url
        )?;
        out.flush()?;
        run_streaming(command, endpoints, out).await?;
    }
    for line in ready_lines(endpoints) {
        writeln!(out, "{line}")?;
    }
    out.flush()
}

/// The lines printed once the cloud is ready: the URLs and the stack's outputs.
pub fn ready_lines(endpoints: &Endpoints<'_>) -> Vec<String> {
    let Endpoints {
        api_url, edge_url, ..
    } = endpoints;
    let mut lines = vec![
        "localcloud: ready".to_owned(),
        format!("  API:       {api_url}  (curl {api_url}/api/health)"),
        format!("  AWS edge:  {edge_url}  (aws --endpoint-url {edge_url} ...)"),
        format!("  mailbox:   {edge_url}/_localcloud/mailbox?to=<address>"),
    ];
    for (name, value) in endpoints.outputs {
        let value = value
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| value.to_string());
        // The template's URL of the API is AWS's (moto's id); locally the API is elsewhere.
        let here = if value.contains(".execute-api.") {
            format!("  (on AWS; here {api_url})")
        } else {
            String::new()
        };
        lines.push(format!("  output {name}: {value}{here}"));
    }
    lines
}

/// Runs `command` to its end, each output line to `out` as `<program> | <line>`.
async fn run_streaming(
    command: &str,
    endpoints: &Endpoints<'_>,
    out: &mut (dyn Write + Send),
) -> std::io::Result<()> {
    let label = program_name(command);
    let child = procs::command("sh")
        .arg("-c")
        .arg(command)
        .env("API_URL", endpoints.api_url)
        .env("AWS_ENDPOINT_URL", endpoints.edge_url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            writeln!(
                out,
                "localcloud: cannot run `{command}`: {error}; still running"
            )?;
            return Ok(());
        }
    };
    // Both streams into one channel, so lines keep the order they were written in (per
    // stream; across the two, the order they arrived in).
    let (lines, mut received) = mpsc::unbounded_channel();
    if let Some(stdout) = child.stdout.take() {
        forward(stdout, lines.clone());
    }
    if let Some(stderr) = child.stderr.take() {
        forward(stderr, lines.clone());
    }
    drop(lines);
    let own_prefix = format!("{label}: ");
    while let Some(line) = received.recv().await {
        // A program that names itself (`seed: …`) is not named twice.
        let line = line.strip_prefix(&own_prefix).unwrap_or(&line);
        writeln!(out, "{label} | {line}")?;
        out.flush()?;
    }
    match child.wait().await {
        Ok(status) if status.success() => {}
        Ok(status) => writeln!(
            out,
            "localcloud: `{command}` failed ({status}); still running"
        )?,
        Err(error) => writeln!(
            out,
            "localcloud: `{command}` did not finish: {error}; still running"
        )?,
    }
    Ok(())
}

fn forward(stream: impl AsyncRead + Unpin + Send + 'static, lines: mpsc::UnboundedSender<String>) {
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
}

/// The file name of a command's first word: `target/debug/seed 10` → `seed`.
fn program_name(command: &str) -> &str {
    let program = command.split_whitespace().next().unwrap_or("after-ready");
    program.rsplit('/').next().unwrap_or(program)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn announced(after_ready: Option<&str>) -> Vec<String> {
        let outputs = BTreeMap::from([
            (
                "ApiUrl".to_owned(),
                Value::from("https://a1.execute-api.us-east-1.amazonaws.com"),
            ),
            ("EventBusName".to_owned(), Value::from("shop-dev")),
        ]);
        let endpoints = Endpoints {
            api_url: "http://localhost:3000",
            edge_url: "http://localhost:4566",
            outputs: &outputs,
        };
        let mut out = Vec::new();
        announce(&endpoints, after_ready, &mut out).await.unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn position(lines: &[String], wanted: &str) -> usize {
        lines
            .iter()
            .position(|line| line == wanted)
            .unwrap_or_else(|| panic!("no line {wanted:?} in {lines:#?}"))
    }

    #[tokio::test]
    async fn ready_comes_after_everything_the_after_ready_command_printed() {
        let lines = announced(Some(
            "echo seeding; echo from stderr >&2; sleep 0.2; echo \"echo: API $API_URL\"",
        ))
        .await;
        assert_eq!(
            lines[0],
            "localcloud: up: API http://localhost:3000, AWS edge http://localhost:4566; \
             running `echo seeding; echo from stderr >&2; sleep 0.2; echo \"echo: API $API_URL\"` \
             before ready"
        );
        let ready = position(&lines, "localcloud: ready");
        for printed in [
            "echo | seeding",
            "echo | from stderr",
            // The command's own `echo: ` prefix is not doubled; API_URL is set.
            "echo | API http://localhost:3000",
        ] {
            assert!(position(&lines, printed) < ready, "{lines:#?}");
        }
        assert_eq!(ready, lines.len() - 6, "the ready block ends the output");
        assert_eq!(
            lines[ready + 1],
            "  API:       http://localhost:3000  (curl http://localhost:3000/api/health)"
        );
        assert_eq!(
            lines[lines.len() - 2],
            "  output ApiUrl: https://a1.execute-api.us-east-1.amazonaws.com  \
             (on AWS; here http://localhost:3000)"
        );
        assert_eq!(lines.last().unwrap(), "  output EventBusName: shop-dev");
    }

    #[tokio::test]
    async fn a_failing_after_ready_command_is_reported_and_ready_still_follows() {
        let lines = announced(Some("echo half-seeded; exit 3")).await;
        let failed = position(
            &lines,
            "localcloud: `echo half-seeded; exit 3` failed (exit status: 3); still running",
        );
        assert!(position(&lines, "echo | half-seeded") < failed);
        assert!(failed < position(&lines, "localcloud: ready"));
    }

    #[tokio::test]
    async fn without_an_after_ready_command_ready_is_the_first_line() {
        let lines = announced(None).await;
        assert_eq!(lines[0], "localcloud: ready");
        assert_eq!(lines.len(), 6, "ready, three endpoints, two outputs");
    }

    #[test]
    fn the_prefix_is_the_programs_file_name() {
        assert_eq!(program_name("target/debug/seed 10"), "seed");
        assert_eq!(program_name("seed"), "seed");
        assert_eq!(program_name(""), "after-ready");
    }
}
