//! # localcloud: the shop's docker-less local cloud
//!
//! `localcloud` runs the whole of `template.yaml` on one machine with no Docker engine:
//!
//! - [`moto`] starts a pinned moto server (from a Python venv it creates under `.cache/` when
//!   missing) for every AWS API but Lambda;
//! - [`template`] expands the SAM template into plain CloudFormation with `aws-sam-translator`
//!   (`localstack/expand.py`) and resolves intrinsics (`Ref`, `Fn::GetAtt`, `Fn::Sub`, ...) for local;
//! - [`provision`] creates every resource of the expanded template, in dependency order;
//! - [`host`] hosts the Lambda Runtime API itself and runs the real function binaries, each
//!   process with exactly the environment the template gives its function;
//! - [`edge`] is the AWS edge (like LocalStack's :4566): Lambda `Invoke` goes to the host, every
//!   other call to moto, and every email sent through SES/SESv2 lands in the [`mailbox`];
//! - [`gateway`] is the API Gateway in front of the functions: routes, JWT authorizers, CORS and
//!   route throttling from the template;
//! - [`cloud`] composes them: [`cloud::LocalCloud::start`] brings everything up and dropping the
//!   handle stops everything it started;
//! - [`ready`] is what the `localcloud` binary prints once the cloud is up (after its
//!   after-ready command, such as `make dev`'s seed, has run).

pub mod cfn_response;
pub mod cloud;
pub mod edge;
pub mod gateway;
pub mod host;
pub mod mailbox;
pub mod mappings;
pub mod moto;
pub mod procs;
pub mod provision;
pub mod ready;
pub mod template;
pub mod testing;
pub mod token;

pub use cloud::{CloudConfig, LocalCloud};

/// The account id every local ARN carries (moto's default account).
pub const ACCOUNT_ID: &str = "123456789012";
