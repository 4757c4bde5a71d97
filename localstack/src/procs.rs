//! Child processes and the Python venv.
//!
//! Everything the runner starts (moto, function instances, pip) must die with it, even when the
//! runner itself is killed with SIGKILL: [`command`] arranges that with `PR_SET_PDEATHSIG` on top of
//! tokio's `kill_on_drop`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;

/// A command whose process is killed when its handle is dropped or when the runner dies.
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.kill_on_drop(true).stdin(Stdio::null());
    // SAFETY: prctl is async-signal-safe and touches only the calling (child) process.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

/// Copies every line of a child's output to the runner's stderr, prefixed with `[label]`.
pub fn forward_lines(label: String, stream: impl AsyncRead + Unpin + Send + 'static) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("[{label}] {line}");
        }
    });
}

/// Returns the venv's python, creating `<root>/.cache/venv` from `localstack/requirements.txt`
/// when it is missing or the requirements changed since it was made (the stamp file holds them).
///
/// An exclusive `flock` on `.cache/venv.lock` makes runners that start at once (parallel tests)
/// wait for one another instead of installing over each other. The venv is made in place, like
/// `make venv` makes it, so its console scripts (`cfn-lint`, `sam`) work.
pub async fn ensure_venv(root: &Path, progress: &(dyn Fn(&str) + Sync)) -> anyhow::Result<PathBuf> {
    let requirements = root.join("localstack/requirements.txt");
    let wanted = tokio::fs::read_to_string(&requirements)
        .await
        .with_context(|| format!("cannot read {}", requirements.display()))?;
    let venv = root.join(".cache/venv");
    let stamp = venv.join(".requirements");
    let current = || async { tokio::fs::read_to_string(&stamp).await.ok() };
    if current().await.as_deref() == Some(wanted.as_str()) {
        return Ok(venv.join("bin/python"));
    }
    tokio::fs::create_dir_all(root.join(".cache")).await?;
    let _lock = lock_exclusive(root.join(".cache/venv.lock")).await?;
    if current().await.as_deref() != Some(wanted.as_str()) {
        progress(&format!(
            "creating the Python venv in {} (once; about a minute)",
            venv.display()
        ));
        let _ = tokio::fs::remove_dir_all(&venv).await;
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
        run(
            command(&python).arg("-m").arg("venv").arg(&venv),
            "python3 -m venv",
        )
        .await?;
        run(
            command(venv.join("bin/python"))
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(&requirements),
            "pip install -r localstack/requirements.txt",
        )
        .await?;
        tokio::fs::write(&stamp, &wanted).await?;
    }
    Ok(venv.join("bin/python"))
}

/// Takes an exclusive advisory lock on `path`, held until the returned file is dropped.
async fn lock_exclusive(path: PathBuf) -> anyhow::Result<std::fs::File> {
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        // SAFETY: flock on a file descriptor we own; blocks until the lock is ours.
        if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&file), libc::LOCK_EX) } != 0 {
            return Err(std::io::Error::last_os_error()).context("cannot lock the venv");
        }
        Ok(file)
    })
    .await?
}

/// Runs a command to completion, failing with its output when it fails.
pub async fn run(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let output = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .with_context(|| format!("cannot start `{what}`"))?;
    if !output.status.success() {
        bail!(
            "`{what}` failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// Asks the kernel for a free loopback port (for servers that cannot be handed a listener).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}
