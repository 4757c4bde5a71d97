//! Event-source mappings and schedules from the template, run with AWS's semantics.
//!
//! moto stores `AWS::Lambda::EventSourceMapping`s but its own SQS → Lambda delivery ignores
//! partial batch failures, it never fires schedules, and it cannot invoke functions the runner
//! hosts. So the runner reads the provisioned [`Stack`] and drives the functions itself, always
//! through [`FunctionHost::invoke`]:
//!
//! - [`sqs`]: `EventSourceMapping`s on queues: long-polling through the edge, batch size and
//!   batching window, the real SQS event, delete on success, `ReportBatchItemFailures`, FIFO
//!   group order, `ScalingConfig.MaximumConcurrency`, `FilterCriteria`. Failed messages stay in
//!   the queue until their visibility timeout, and moto itself moves them to the queue's DLQ after
//!   `maxReceiveCount` receives (checked: moto 5.2.5 redrives on `ReceiveMessage`);
//! - [`streams`]: `EventSourceMapping`s on DynamoDB streams: shard polling in order,
//!   `StartingPosition`, batching, `FilterCriteria`, `ReportBatchItemFailures` (retry from the
//!   lowest failed sequence number), `BisectBatchOnFunctionError`, `MaximumRetryAttempts` and
//!   `DestinationConfig.OnFailure` (SQS or SNS);
//! - [`schedule`]: `AWS::Events::Rule`s with a `ScheduleExpression` and
//!   `AWS::Scheduler::Schedule`s targeting functions, fired on time (UTC) or at once through
//!   [`Mappings::fire_schedule`];
//! - [`filter`]: the `FilterCriteria` patterns both pollers apply.
//!
//! Not emulated (reported through `progress` when the template has them): Kinesis, Kafka and MQ
//! sources, `MaximumRecordAgeInSeconds`, `TumblingWindowInSeconds`, `ParallelizationFactor`,
//! schedules targeting anything but a function, EventBridge rules with *event patterns* that
//! target functions (moto delivers rule → SQS, not → function), and `InputTransformer` on
//! schedule targets.
//!
//! Every batch that fails is logged on stderr as one line, `[mapping <LogicalId>] ...`.

pub mod filter;
pub mod schedule;
mod sqs;
mod streams;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use aws_config::SdkConfig;
use bytes::Bytes;
use chrono::Utc;
use serde_json::{Map, Value, json};
use tokio::task::JoinHandle;

use crate::host::{FunctionHost, InvokeError, InvokeOutcome};
use crate::provision::{ProvisionedResource, Stack};
use crate::template::scalar_string;

use self::schedule::Expression;

/// Local cap on `MaximumRetryAttempts: -1` ("until the record expires", 24 h on AWS).
pub const MAX_STREAM_RETRIES: i64 = 10_000;

/// The running mappings and schedules of a stack. Dropping it stops every poller and timer.
pub struct Mappings {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
    mappings: Vec<String>,
    schedules: BTreeMap<String, Arc<Schedule>>,
}

/// What every poller needs: where to invoke, the AWS clients, the region.
struct Shared {
    host: Arc<FunctionHost>,
    region: String,
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
    streams: aws_sdk_dynamodbstreams::Client,
}

impl Mappings {
    /// Starts every enabled event-source mapping and schedule of `stack`. `sdk` must point at
    /// the edge (or the endpoint moto/LocalStack answers on); `progress` gets one line per
    /// mapping. Fails when a mapping cannot work (its queue or stream does not exist, its filter
    /// or schedule uses what this module does not implement), naming the resource.
    ///
    /// Start it once per cloud: two [`Mappings`] on one stack would deliver stream records twice.
    pub async fn start(
        stack: &Stack,
        host: Arc<FunctionHost>,
        sdk: &SdkConfig,
        progress: &(dyn Fn(&str) + Sync),
    ) -> anyhow::Result<Self> {
        let region = sdk
            .region()
            .map(ToString::to_string)
            .unwrap_or_else(|| host.config().region.clone());
        let shared = Arc::new(Shared {
            host,
            region,
            sqs: aws_sdk_sqs::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            streams: aws_sdk_dynamodbstreams::Client::new(sdk),
        });
        let mut this = Self {
            shared: shared.clone(),
            tasks: Vec::new(),
            mappings: Vec::new(),
            schedules: BTreeMap::new(),
        };
        for (id, resource) in &stack.resources {
            let props = &resource.properties;
            match resource.resource_type.as_str() {
                "AWS::Lambda::EventSourceMapping" => {
                    if props.get("Enabled").and_then(truthy) == Some(false) {
                        progress(&format!("event-source mapping {id} is disabled"));
                        continue;
                    }
                    let source = string(props, "EventSourceArn")
                        .with_context(|| format!("event-source mapping {id}"))?;
                    let mut tasks = if source.starts_with("arn:aws:sqs:") {
                        sqs::start(&shared, id, props, stack)
                            .await
                            .with_context(|| format!("event-source mapping {id} ({source})"))?
                    } else if source.starts_with("arn:aws:dynamodb:") && source.contains("/stream/")
                    {
                        streams::start(&shared, id, props, stack)
                            .await
                            .with_context(|| format!("event-source mapping {id} ({source})"))?
                    } else {
                        progress(&format!(
                            "event-source mapping {id} not emulated (source {source})"
                        ));
                        continue;
                    };
                    progress(&format!(
                        "event-source mapping {id}: {source} → {}",
                        string(props, "FunctionName").unwrap_or_default()
                    ));
                    this.tasks.append(&mut tasks);
                    this.mappings.push(id.clone());
                }
                "AWS::Events::Rule" | "AWS::Scheduler::Schedule" => {
                    if props.get("EventPattern").is_some()
                        && targets(resource).iter().any(|t| is_function(&t.arn))
                    {
                        progress(&format!(
                            "rule {id}: event-pattern rules are not delivered to functions locally"
                        ));
                    }
                    let Some(expression) = props.get("ScheduleExpression").and_then(scalar_string)
                    else {
                        continue;
                    };
                    let targets: Vec<Target> = targets(resource)
                        .into_iter()
                        .filter(|target| {
                            let local = is_function(&target.arn);
                            if !local {
                                progress(&format!(
                                    "schedule {id}: target {} not emulated",
                                    target.arn
                                ));
                            }
                            local
                        })
                        .collect();
                    if targets.is_empty() {
                        continue;
                    }
                    let expression =
                        Expression::parse(&expression).with_context(|| format!("schedule {id}"))?;
                    let enabled = props
                        .get("State")
                        .and_then(Value::as_str)
                        .is_none_or(|state| state.eq_ignore_ascii_case("ENABLED"));
                    let schedule = Arc::new(Schedule {
                        id: id.clone(),
                        arn: schedule_arn(resource, &shared.region),
                        scheduler: resource.resource_type == "AWS::Scheduler::Schedule",
                        targets,
                    });
                    if enabled {
                        let timer = schedule.clone();
                        let shared = shared.clone();
                        this.tasks.push(tokio::spawn(async move {
                            timer.run(&shared, expression).await;
                        }));
                    }
                    progress(&format!(
                        "schedule {id}{}: {} → {}",
                        if enabled { "" } else { " (disabled)" },
                        props
                            .get("ScheduleExpression")
                            .and_then(Value::as_str)
                            .unwrap_or_default(),
                        schedule
                            .targets
                            .iter()
                            .map(|target| target.arn.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                    this.schedules.insert(id.clone(), schedule);
                }
                _ => {}
            }
        }
        Ok(this)
    }

    /// The logical ids of the event-source mappings that run.
    pub fn mappings(&self) -> &[String] {
        &self.mappings
    }

    /// The logical ids of the schedules (rules and Scheduler schedules) that target functions,
    /// disabled ones included.
    pub fn schedules(&self) -> Vec<String> {
        self.schedules.keys().cloned().collect()
    }

    /// Fires a schedule now, as if its time had come: invokes each of its function targets with
    /// the event it would get, and returns their outcomes in target order. `schedule` is the
    /// logical id of the `AWS::Events::Rule` or `AWS::Scheduler::Schedule` (SAM names them
    /// `<Function><EventName>`), or its physical name/ARN.
    pub async fn fire_schedule(&self, schedule: &str) -> anyhow::Result<Vec<InvokeOutcome>> {
        let found = self
            .schedules
            .get(schedule)
            .or_else(|| {
                self.schedules.values().find(|candidate| {
                    candidate.arn == schedule || candidate.arn.ends_with(&format!("/{schedule}"))
                })
            })
            .ok_or_else(|| {
                anyhow!(
                    "no schedule {schedule} targets a function (known: {})",
                    self.schedules().join(", ")
                )
            })?;
        found.fire(&self.shared, Utc::now()).await
    }

    /// Stops every poller and timer (also done on drop). Invocations under way are abandoned;
    /// their messages return to their queues after the visibility timeout, as on AWS.
    pub fn stop(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }
}

impl Drop for Mappings {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---- Schedules ----------------------------------------------------------------------------

/// A function target of a schedule.
#[derive(Clone, Debug)]
struct Target {
    arn: String,
    /// `Input`: a constant JSON text sent instead of the event.
    input: Option<String>,
    /// `InputPath`: the part of the event sent (`$.detail`).
    input_path: Option<String>,
}

/// A rule or Scheduler schedule with its function targets.
struct Schedule {
    id: String,
    arn: String,
    scheduler: bool,
    targets: Vec<Target>,
}

impl Schedule {
    async fn run(&self, shared: &Shared, expression: Expression) {
        let started = Utc::now();
        let mut last = started;
        while let Some(next) = expression.next_after(last, started) {
            let wait = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            tokio::time::sleep(wait).await;
            last = next;
            if let Err(error) = self.fire(shared, next).await {
                eprintln!("[mapping {}] schedule failed: {error:#}", self.id);
            }
        }
    }

    async fn fire(
        &self,
        shared: &Shared,
        time: chrono::DateTime<Utc>,
    ) -> anyhow::Result<Vec<InvokeOutcome>> {
        let mut outcomes = Vec::new();
        for target in &self.targets {
            let payload = self.payload(target, shared, time)?;
            let outcome = shared
                .host
                .invoke(&target.arn, payload)
                .await
                .with_context(|| format!("schedule {} → {}", self.id, target.arn))?;
            if let InvokeOutcome::FunctionError(error) = &outcome {
                eprintln!(
                    "[mapping {}] scheduled invocation of {} failed: {}",
                    self.id,
                    target.arn,
                    String::from_utf8_lossy(error)
                );
            }
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    fn payload(
        &self,
        target: &Target,
        shared: &Shared,
        time: chrono::DateTime<Utc>,
    ) -> anyhow::Result<Bytes> {
        let id = uuid();
        if self.scheduler {
            // EventBridge Scheduler sends the target's Input (with its context attributes
            // filled in), or an empty object.
            let input = target.input.clone().unwrap_or_else(|| "{}".to_owned());
            let input = input
                .replace("<aws.scheduler.schedule-arn>", &self.arn)
                .replace(
                    "<aws.scheduler.scheduled-time>",
                    &schedule::event_time(time),
                )
                .replace("<aws.scheduler.execution-id>", &id)
                .replace("<aws.scheduler.attempt-number>", "1");
            return Ok(Bytes::from(input));
        }
        if let Some(input) = &target.input {
            return Ok(Bytes::from(input.clone()));
        }
        let event = json!({
            "version": "0",
            "id": id,
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": crate::ACCOUNT_ID,
            "time": schedule::event_time(time),
            "region": shared.region,
            "resources": [self.arn],
            "detail": {},
        });
        let event = match &target.input_path {
            Some(path) => json_path(&event, path)
                .with_context(|| format!("InputPath {path} of {}", self.id))?
                .clone(),
            None => event,
        };
        Ok(Bytes::from(event.to_string()))
    }
}

/// The function targets of a rule (`Targets`) or a Scheduler schedule (`Target`).
fn targets(resource: &ProvisionedResource) -> Vec<Target> {
    let props = &resource.properties;
    let list: Vec<&Value> = match props.get("Targets").and_then(Value::as_array) {
        Some(targets) => targets.iter().collect(),
        None => props.get("Target").into_iter().collect(),
    };
    list.into_iter()
        .filter_map(|target| {
            Some(Target {
                arn: target.get("Arn").and_then(scalar_string)?,
                input: target.get("Input").map(|input| match input {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                }),
                input_path: target.get("InputPath").and_then(scalar_string),
            })
        })
        .collect()
}

fn is_function(arn: &str) -> bool {
    arn.starts_with("arn:aws:lambda:")
}

/// The rule's or schedule's ARN: what `resources` of a scheduled event names.
fn schedule_arn(resource: &ProvisionedResource, region: &str) -> String {
    if let Some(arn) = resource.attributes.get("Arn").and_then(Value::as_str) {
        return arn.to_owned();
    }
    let group = resource
        .properties
        .get("GroupName")
        .and_then(Value::as_str)
        .unwrap_or("default");
    let name = resource
        .properties
        .get("Name")
        .and_then(Value::as_str)
        .unwrap_or(&resource.physical_id);
    format!(
        "arn:aws:scheduler:{region}:{}:schedule/{group}/{name}",
        crate::ACCOUNT_ID
    )
}

/// `$`, `$.a.b`: the part of `value` an EventBridge `InputPath` selects.
fn json_path<'a>(value: &'a Value, path: &str) -> anyhow::Result<&'a Value> {
    let rest = path
        .strip_prefix('$')
        .ok_or_else(|| anyhow!("a path starts with $"))?;
    rest.split('.')
        .filter(|part| !part.is_empty())
        .try_fold(value, |value, part| {
            value
                .get(part)
                .ok_or_else(|| anyhow!("the event has no {part}"))
        })
}

// ---- What SQS and stream pollers share ----------------------------------------------------

/// How a batch ended, per `FunctionResponseTypes`.
#[derive(Debug, PartialEq, Eq)]
enum BatchResult {
    /// Every record succeeded.
    Success,
    /// These item identifiers failed (a non-empty subset of the batch's).
    Partial(Vec<String>),
    /// The whole batch failed, for this reason.
    Failed(String),
}

/// Reads an invocation's outcome as Lambda does for a batch whose items are `ids`.
///
/// With `ReportBatchItemFailures`, `null`, `{}`, an object without `batchItemFailures` or an
/// empty/`null` list mean success; a response that is not JSON, an entry without a non-empty
/// string `itemIdentifier`, or an identifier not in the batch fail the whole batch.
fn classify(
    outcome: Result<InvokeOutcome, InvokeError>,
    report_failures: bool,
    ids: &HashSet<&str>,
) -> BatchResult {
    let body = match outcome {
        Err(error) => return BatchResult::Failed(format!("invoke failed: {error}")),
        Ok(InvokeOutcome::FunctionError(error)) => {
            return BatchResult::Failed(format!(
                "function error {}",
                String::from_utf8_lossy(&error)
            ));
        }
        Ok(InvokeOutcome::Success(body)) => body,
    };
    if !report_failures || body.iter().all(u8::is_ascii_whitespace) {
        return BatchResult::Success;
    }
    let Ok(response) = serde_json::from_slice::<Value>(&body) else {
        return BatchResult::Failed("the response is not JSON".to_owned());
    };
    let failures = match response.get("batchItemFailures") {
        None | Some(Value::Null) => return BatchResult::Success,
        Some(Value::Array(failures)) => failures,
        Some(other) => {
            return BatchResult::Failed(format!("batchItemFailures is not a list: {other}"));
        }
    };
    let mut failed = Vec::new();
    for failure in failures {
        match failure.get("itemIdentifier").and_then(Value::as_str) {
            Some(id) if !id.is_empty() && ids.contains(id) => failed.push(id.to_owned()),
            _ => {
                return BatchResult::Failed(format!(
                    "malformed batchItemFailures entry {failure} (not an item of the batch)"
                ));
            }
        }
    }
    if failed.is_empty() {
        BatchResult::Success
    } else {
        BatchResult::Partial(failed)
    }
}

/// The function's name or ARN of a mapping.
fn function_of(props: &Map<String, Value>) -> anyhow::Result<String> {
    string(props, "FunctionName")
}

fn string(props: &Map<String, Value>, key: &str) -> anyhow::Result<String> {
    props
        .get(key)
        .and_then(scalar_string)
        .ok_or_else(|| anyhow!("{key} is missing or not a string"))
}

fn truthy(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(value) => Some(*value),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

fn integer(props: &Map<String, Value>, key: &str) -> anyhow::Result<Option<i64>> {
    match props.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => number
            .as_i64()
            .map(Some)
            .ok_or_else(|| anyhow!("{key} must be an integer")),
        Some(Value::String(text)) => text
            .parse()
            .map(Some)
            .map_err(|_| anyhow!("{key} must be an integer, not {text:?}")),
        Some(other) => bail!("{key} must be an integer, not {other}"),
    }
}

/// Whether `FunctionResponseTypes` asks for partial batch responses.
fn reports_failures(props: &Map<String, Value>) -> bool {
    props
        .get("FunctionResponseTypes")
        .and_then(Value::as_array)
        .is_some_and(|types| types.iter().any(|t| t == "ReportBatchItemFailures"))
}

/// A random UUID (v4 layout), as AWS uses for event and request ids.
fn uuid() -> String {
    let hex = format!("{:032x}", ulid::Ulid::new().random() | (1u128 << 127));
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> HashSet<&'static str> {
        ["a", "b", "c"].into_iter().collect()
    }

    fn success(body: &str) -> Result<InvokeOutcome, InvokeError> {
        Ok(InvokeOutcome::Success(Bytes::from(body.to_owned())))
    }

    #[test]
    fn partial_batch_responses_are_read_like_lambda() {
        let ids = ids();
        for body in [
            "",
            "null",
            "{}",
            r#"{"batchItemFailures": []}"#,
            r#"{"batchItemFailures": null}"#,
        ] {
            assert_eq!(
                classify(success(body), true, &ids),
                BatchResult::Success,
                "{body}"
            );
        }
        assert_eq!(
            classify(
                success(r#"{"batchItemFailures": [{"itemIdentifier": "b"}]}"#),
                true,
                &ids
            ),
            BatchResult::Partial(vec!["b".to_owned()])
        );
        for body in [
            "not json",
            r#"{"batchItemFailures": [{"itemIdentifier": "zzz"}]}"#,
            r#"{"batchItemFailures": [{"id": "a"}]}"#,
            r#"{"batchItemFailures": [{"itemIdentifier": ""}]}"#,
            r#"{"batchItemFailures": "a"}"#,
        ] {
            assert!(
                matches!(classify(success(body), true, &ids), BatchResult::Failed(_)),
                "{body}"
            );
        }
        // Without ReportBatchItemFailures the response is not read.
        assert_eq!(
            classify(success("not json"), false, &ids),
            BatchResult::Success
        );
        assert!(matches!(
            classify(
                Ok(InvokeOutcome::FunctionError(Bytes::from_static(b"{}"))),
                true,
                &ids
            ),
            BatchResult::Failed(_)
        ));
    }

    #[test]
    fn input_paths_select_part_of_the_event() {
        let event = json!({"detail": {"a": 1}});
        assert_eq!(json_path(&event, "$").unwrap(), &event);
        assert_eq!(json_path(&event, "$.detail.a").unwrap(), &json!(1));
        assert!(json_path(&event, "$.nope").is_err());
    }

    #[test]
    fn uuids_look_like_uuids() {
        let id = uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
        assert_ne!(id, uuid());
    }
}
