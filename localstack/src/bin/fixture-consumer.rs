//! `fixture-consumer`: the function behind the runner's event-source-mapping tests
//! (localstack/tests/fixture/mappings.rs). It records what it was given in the DynamoDB table
//! `RECORD_TABLE`, so the tests can see what was delivered, in which order and how often, and
//! it fails on demand:
//!
//! - SQS batches: each record adds one to `deliveries` of item `sqs#<messageId>` (and appends its
//!   body to `bodies` of `group#<MessageGroupId>` on FIFO queues); a body containing `fail` is
//!   reported in `batchItemFailures`; `malformed` answers a failure list naming an unknown id;
//!   `crash` makes the whole invocation fail.
//! - DynamoDB stream batches: each record adds one to `stream#<Keys.pk>`; a record whose
//!   `NewImage` has `fail: true` is reported in `batchItemFailures` by its sequence number.
//! - anything else (scheduled and EventBridge events, schedules' `Input`): item
//!   `scheduled#<resources[0]>` for scheduled events, `marker#<marker>` for an event with a
//!   `marker`, `event#<id>` otherwise.

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::{Value, json};

/// Where deliveries are recorded.
struct Recorder {
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
}

/// Why an invocation failed, with the `errorType` Lambda reports.
#[derive(Debug)]
struct ConsumerError {
    error_type: &'static str,
    message: String,
}

impl From<ConsumerError> for Diagnostic {
    fn from(error: ConsumerError) -> Self {
        Diagnostic {
            error_type: error.error_type.to_owned(),
            error_message: error.message,
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let table = std::env::var("RECORD_TABLE")
        .map_err(|_| "RECORD_TABLE is not set: run through the fixture template")?;
    let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let recorder = Recorder {
        dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
        table,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        handle(&recorder, event.payload)
    }))
    .await
}

async fn handle(recorder: &Recorder, event: Value) -> Result<Value, ConsumerError> {
    let Some(records) = event["Records"].as_array() else {
        let key = if event["detail-type"] == "Scheduled Event" {
            format!(
                "scheduled#{}",
                event["resources"][0].as_str().unwrap_or("?")
            )
        } else if let Some(marker) = event["marker"].as_str() {
            format!("marker#{marker}")
        } else {
            format!("event#{}", event["id"].as_str().unwrap_or("?"))
        };
        recorder.record(&key, &event).await?;
        return Ok(json!({}));
    };
    let mut failures = Vec::new();
    let mut crash = false;
    let mut malformed = false;
    for record in records {
        match record["eventSource"].as_str() {
            Some("aws:sqs") => {
                let id = record["messageId"].as_str().unwrap_or("?");
                recorder.record(&format!("sqs#{id}"), record).await?;
                if let Some(group) = record["attributes"]["MessageGroupId"].as_str() {
                    recorder
                        .append(&format!("group#{group}"), &record["body"])
                        .await?;
                }
                let body = record["body"].as_str().unwrap_or_default();
                crash |= body.contains("crash");
                malformed |= body.contains("malformed");
                if body.contains("fail") {
                    failures.push(json!({"itemIdentifier": id}));
                }
            }
            Some("aws:dynamodb") => {
                let key = record["dynamodb"]["Keys"]["pk"]["S"]
                    .as_str()
                    .unwrap_or("?");
                recorder.record(&format!("stream#{key}"), record).await?;
                if record["dynamodb"]["NewImage"]["fail"]["BOOL"] == true {
                    failures.push(json!({
                        "itemIdentifier": record["dynamodb"]["SequenceNumber"]
                    }));
                }
            }
            _ => recorder.record("unknown", record).await?,
        }
    }
    if crash {
        return Err(ConsumerError {
            error_type: "ConsumerCrash",
            message: "a record asked to crash".to_owned(),
        });
    }
    if malformed {
        return Ok(json!({"batchItemFailures": [{"itemIdentifier": "no-such-message"}]}));
    }
    Ok(json!({ "batchItemFailures": failures }))
}

impl Recorder {
    /// Counts one delivery of `key` and keeps the last event it came with.
    async fn record(&self, key: &str, event: &Value) -> Result<(), ConsumerError> {
        self.dynamodb
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.to_owned()))
            .update_expression("ADD deliveries :one SET lastEvent = :event")
            .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
            .expression_attribute_values(":event", AttributeValue::S(event.to_string()))
            .send()
            .await
            .map(drop)
            .map_err(record_failed)
    }

    /// Appends `body` to the `bodies` list of `key` (delivery order within a FIFO group).
    async fn append(&self, key: &str, body: &Value) -> Result<(), ConsumerError> {
        let body = AttributeValue::S(body.as_str().unwrap_or_default().to_owned());
        self.dynamodb
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.to_owned()))
            .update_expression("SET bodies = list_append(if_not_exists(bodies, :empty), :body)")
            .expression_attribute_values(":empty", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":body", AttributeValue::L(vec![body]))
            .send()
            .await
            .map(drop)
            .map_err(record_failed)
    }
}

fn record_failed(error: impl std::error::Error) -> ConsumerError {
    ConsumerError {
        error_type: "RecordFailed",
        message: aws_smithy_types::error::display::DisplayErrorContext(error).to_string(),
    }
}
