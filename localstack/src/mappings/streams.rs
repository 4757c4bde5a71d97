//! DynamoDB Streams → function, as Lambda's stream pollers do it.
//!
//! Each shard of the stream gets a task that reads it in order (`GetRecords` every
//! [`POLL_INTERVAL`] while idle), drops the records `FilterCriteria` rejects (filtered records do
//! not count towards a batch), and delivers batches of up to `BatchSize` (default 100), waiting up
//! to `MaximumBatchingWindowInSeconds` for a batch to fill. A shard goes on to its next batch only
//! when the current one is done, which keeps records in order:
//!
//! - a function error (or a malformed `batchItemFailures` response) retries the whole batch; with
//!   `BisectBatchOnFunctionError` the batch is split in two first, and each half is retried on its
//!   own (bisecting does not use up retries);
//! - with `ReportBatchItemFailures`, `batchItemFailures[].itemIdentifier` are sequence numbers:
//!   the records before the lowest one are done, the batch is retried from it;
//! - after `MaximumRetryAttempts` retries (default -1: until the record expires, capped here at
//!   [`super::MAX_STREAM_RETRIES`]) the batch is skipped and described to
//!   `DestinationConfig.OnFailure` (an SQS queue or SNS topic) with the invocation record Lambda
//!   sends (`DDBStreamBatchInfo`).
//!
//! Shards are listed when the mapping starts (moto has one shard per table, which never splits).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use aws_smithy_types::error::display::DisplayErrorContext;
use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::filter::Filters;
use super::{
    BatchResult, MAX_STREAM_RETRIES, Shared, classify, function_of, integer, reports_failures,
    string, truthy, uuid,
};
use crate::provision::Stack;

/// How often an idle shard is read.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Where a skipped batch is described.
enum Destination {
    Queue(String),
    Topic(String),
}

/// One DynamoDB stream mapping.
struct StreamMapping {
    id: String,
    function: String,
    function_arn: String,
    stream_arn: String,
    batch_size: usize,
    window: Duration,
    report_failures: bool,
    filters: Filters,
    max_retries: i64,
    bisect: bool,
    on_failure: Option<Destination>,
}

/// Checks the mapping, positions an iterator on every shard (so `LATEST` means "when the
/// mapping started"), and starts one reader per shard.
pub(super) async fn start(
    shared: &Arc<Shared>,
    id: &str,
    props: &Map<String, Value>,
    stack: &Stack,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let stream_arn = string(props, "EventSourceArn")?;
    let function = function_of(props)?;
    let Some(name) = shared.host.resolve(&function) else {
        bail!("function {function} is not in the template");
    };
    let position = match props.get("StartingPosition").and_then(Value::as_str) {
        Some("TRIM_HORIZON") => ShardIteratorType::TrimHorizon,
        Some("LATEST") => ShardIteratorType::Latest,
        Some(other) => bail!("StartingPosition {other} is not supported locally"),
        None => bail!("StartingPosition is required for a stream"),
    };
    let on_failure = match props
        .get("DestinationConfig")
        .and_then(|config| config.pointer("/OnFailure/Destination"))
        .and_then(Value::as_str)
    {
        None => None,
        Some(arn) if arn.starts_with("arn:aws:sqs:") => Some(Destination::Queue(
            super::sqs::queue_url(shared, stack, arn).await?,
        )),
        Some(arn) if arn.starts_with("arn:aws:sns:") => Some(Destination::Topic(arn.to_owned())),
        Some(arn) => bail!("OnFailure destination {arn} is not supported locally"),
    };
    let max_retries = match integer(props, "MaximumRetryAttempts")?.unwrap_or(-1) {
        -1 => MAX_STREAM_RETRIES,
        retries => retries.clamp(0, MAX_STREAM_RETRIES),
    };
    let mapping = Arc::new(StreamMapping {
        id: id.to_owned(),
        function_arn: shared.host.function_arn(&name),
        function,
        stream_arn: stream_arn.clone(),
        batch_size: usize::try_from(integer(props, "BatchSize")?.unwrap_or(100).clamp(1, 10_000))?,
        window: Duration::from_secs(u64::try_from(
            integer(props, "MaximumBatchingWindowInSeconds")?
                .unwrap_or(0)
                .clamp(0, 300),
        )?),
        report_failures: reports_failures(props),
        filters: Filters::parse(props.get("FilterCriteria")).context("FilterCriteria")?,
        max_retries,
        bisect: props
            .get("BisectBatchOnFunctionError")
            .and_then(truthy)
            .unwrap_or(false),
        on_failure,
    });

    let mut shards = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let described = shared
            .streams
            .describe_stream()
            .stream_arn(&stream_arn)
            .set_exclusive_start_shard_id(after.clone())
            .send()
            .await
            .map_err(|error| anyhow!("DescribeStream: {}", DisplayErrorContext(error)))?;
        let description = described
            .stream_description()
            .ok_or_else(|| anyhow!("DescribeStream returned no description"))?;
        shards.extend(
            description
                .shards()
                .iter()
                .filter_map(|shard| shard.shard_id().map(str::to_owned)),
        );
        after = description.last_evaluated_shard_id().map(str::to_owned);
        if after.is_none() {
            break;
        }
    }
    let mut tasks = Vec::new();
    for shard in shards {
        let iterator = mapping
            .iterator(shared, &shard, position.clone(), None)
            .await?;
        let (mapping, shared) = (mapping.clone(), shared.clone());
        let start = position.clone();
        tasks.push(tokio::spawn(async move {
            mapping.read(&shared, shard, start, iterator).await;
        }));
    }
    Ok(tasks)
}

impl StreamMapping {
    async fn iterator(
        &self,
        shared: &Shared,
        shard: &str,
        kind: ShardIteratorType,
        sequence_number: Option<String>,
    ) -> anyhow::Result<String> {
        shared
            .streams
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(shard)
            .shard_iterator_type(kind)
            .set_sequence_number(sequence_number)
            .send()
            .await
            .map_err(|error| anyhow!("GetShardIterator: {}", DisplayErrorContext(error)))?
            .shard_iterator()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("GetShardIterator returned no iterator"))
    }

    /// Where to resume reading after `last_read`: after it, or from the trim horizon when
    /// nothing was read yet and the mapping started there. `None` when nothing was read from a
    /// `LATEST` start: a fresh `LATEST` iterator could skip records written in between.
    fn resume_from(
        start: &ShardIteratorType,
        last_read: &Option<String>,
    ) -> Option<(ShardIteratorType, Option<String>)> {
        match last_read {
            Some(sequence) => Some((
                ShardIteratorType::AfterSequenceNumber,
                Some(sequence.clone()),
            )),
            None if *start == ShardIteratorType::TrimHorizon => {
                Some((ShardIteratorType::TrimHorizon, None))
            }
            None => None,
        }
    }

    /// Reads one shard until it closes, delivering batches in order.
    async fn read(&self, shared: &Shared, shard: String, start: ShardIteratorType, first: String) {
        let mut iterator = Some(first);
        let mut last_read: Option<String> = None;
        let mut buffer: VecDeque<(Value, Instant)> = VecDeque::new();
        loop {
            if buffer.len() < self.batch_size
                && let Some(current) = &iterator
            {
                match shared
                    .streams
                    .get_records()
                    .shard_iterator(current)
                    .limit(1000)
                    .send()
                    .await
                {
                    Ok(output) if output.records().is_empty() && iterator.is_some() => {
                        // Unpatched moto replaces a table's stream shard object when a
                        // TransactWriteItems is cancelled (it restores a deep copy), and an old
                        // iterator then never sees another record. `moto_server.py` keeps the
                        // shard; a fresh iterator stays as a guard (under LocalStack too), and
                        // costs only a call.
                        iterator = output.next_shard_iterator().map(str::to_owned);
                        if iterator.is_some()
                            && let Some((kind, after)) = Self::resume_from(&start, &last_read)
                            && let Ok(fresh) = self.iterator(shared, &shard, kind, after).await
                        {
                            iterator = Some(fresh);
                        }
                    }
                    Ok(output) => {
                        iterator = output.next_shard_iterator().map(str::to_owned);
                        for record in output.records() {
                            let record = record_json(record, &self.stream_arn);
                            last_read = record["dynamodb"]["SequenceNumber"]
                                .as_str()
                                .map(str::to_owned)
                                .or(last_read);
                            if self.filters.pass(&record) {
                                buffer.push_back((record, Instant::now()));
                            }
                        }
                    }
                    Err(error) => {
                        eprintln!(
                            "[mapping {}] GetRecords on {shard} failed: {}",
                            self.id,
                            DisplayErrorContext(error)
                        );
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        // The iterator may have expired: start again after the last record read.
                        let (kind, after) = Self::resume_from(&start, &last_read)
                            .unwrap_or((ShardIteratorType::Latest, None));
                        match self.iterator(shared, &shard, kind, after).await {
                            Ok(fresh) => iterator = Some(fresh),
                            Err(error) => eprintln!("[mapping {}] {error:#}", self.id),
                        }
                        continue;
                    }
                }
            }
            if buffer.is_empty() {
                if iterator.is_none() {
                    return; // the shard is closed and fully processed
                }
                tokio::time::sleep(POLL_INTERVAL).await;
                continue;
            }
            if buffer.len() < self.batch_size && iterator.is_some() {
                let waited = buffer
                    .front()
                    .map(|(_, at)| at.elapsed())
                    .unwrap_or_default();
                if waited < self.window {
                    tokio::time::sleep((self.window - waited).min(Duration::from_millis(250)))
                        .await;
                    continue;
                }
            }
            let count = buffer.len().min(self.batch_size);
            let batch: Vec<Value> = buffer.drain(..count).map(|(record, _)| record).collect();
            self.deliver(shared, &shard, batch).await;
        }
    }

    /// Delivers one batch with retries, bisection and the on-failure destination.
    async fn deliver(&self, shared: &Shared, shard: &str, batch: Vec<Value>) {
        let mut pending = VecDeque::from([batch]);
        'batches: while let Some(mut batch) = pending.pop_front() {
            let mut attempts: i64 = 0;
            loop {
                let sequences: Vec<&str> = batch.iter().map(sequence_of).collect();
                let ids: HashSet<&str> = sequences.iter().copied().collect();
                let payload = json!({ "Records": batch });
                let outcome = shared
                    .host
                    .invoke(&self.function, Bytes::from(payload.to_string()))
                    .await;
                attempts += 1;
                let (reason, function_error) = match classify(outcome, self.report_failures, &ids) {
                    BatchResult::Success => continue 'batches,
                    BatchResult::Partial(failed) => {
                        let failed: HashSet<&str> = failed.iter().map(String::as_str).collect();
                        let from = sequences
                            .iter()
                            .position(|sequence| failed.contains(sequence))
                            .unwrap_or(0);
                        let reason = format!(
                            "record {} failed (batchItemFailures); {from} records before it are done",
                            sequences[from]
                        );
                        drop(sequences);
                        batch.drain(..from);
                        (reason, false)
                    }
                    BatchResult::Failed(reason) => {
                        drop(sequences);
                        if self.bisect && batch.len() > 1 {
                            let second = batch.split_off(batch.len() / 2);
                            eprintln!(
                                "[mapping {}] batch of {} records failed: {reason}; bisecting",
                                self.id,
                                batch.len() + second.len()
                            );
                            pending.push_front(second);
                            pending.push_front(batch);
                            continue 'batches;
                        }
                        (reason, true)
                    }
                };
                if attempts > self.max_retries {
                    eprintln!(
                        "[mapping {}] batch of {} records from {} failed: {reason}; retries \
                         exhausted after {attempts} attempts, skipping it",
                        self.id,
                        batch.len(),
                        sequence_of(&batch[0])
                    );
                    self.report(shared, shard, &batch, attempts, function_error)
                        .await;
                    continue 'batches;
                }
                eprintln!(
                    "[mapping {}] batch of {} records from {} failed: {reason}; retry {attempts}",
                    self.id,
                    batch.len(),
                    sequence_of(&batch[0])
                );
                let backoff = Duration::from_millis(100 << attempts.clamp(0, 5));
                tokio::time::sleep(backoff).await;
            }
        }
    }

    /// Describes a skipped batch to `DestinationConfig.OnFailure`.
    async fn report(
        &self,
        shared: &Shared,
        shard: &str,
        batch: &[Value],
        attempts: i64,
        function_error: bool,
    ) {
        let Some(destination) = &self.on_failure else {
            return;
        };
        let arrival = |record: Option<&Value>| {
            record
                .and_then(|record| record["dynamodb"]["ApproximateCreationDateTime"].as_i64())
                .and_then(|seconds| DateTime::<Utc>::from_timestamp(seconds, 0))
                .map(|time| time.to_rfc3339_opts(SecondsFormat::Secs, true))
        };
        let mut response = json!({"statusCode": 200, "executedVersion": "$LATEST"});
        if function_error {
            response["functionError"] = Value::from("Unhandled");
        }
        let document = json!({
            "requestContext": {
                "requestId": uuid(),
                "functionArn": self.function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": response,
            "version": "1.0",
            "timestamp": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": batch.first().map(sequence_of),
                "endSequenceNumber": batch.last().map(sequence_of),
                "approximateArrivalOfFirstRecord": arrival(batch.first()),
                "approximateArrivalOfLastRecord": arrival(batch.last()),
                "batchSize": batch.len(),
                "streamArn": self.stream_arn,
            },
        })
        .to_string();
        let sent = match destination {
            Destination::Queue(url) => shared
                .sqs
                .send_message()
                .queue_url(url)
                .message_body(document)
                .send()
                .await
                .map(drop)
                .map_err(|error| DisplayErrorContext(error).to_string()),
            Destination::Topic(arn) => shared
                .sns
                .publish()
                .topic_arn(arn)
                .message(document)
                .send()
                .await
                .map(drop)
                .map_err(|error| DisplayErrorContext(error).to_string()),
        };
        if let Err(error) = sent {
            eprintln!(
                "[mapping {}] the on-failure destination refused the record: {error}",
                self.id
            );
        }
    }
}

fn sequence_of(record: &Value) -> &str {
    record["dynamodb"]["SequenceNumber"]
        .as_str()
        .unwrap_or_default()
}

/// The record Lambda puts in a DynamoDB stream event.
fn record_json(record: &Record, stream_arn: &str) -> Value {
    let mut dynamodb = Map::new();
    if let Some(stream) = record.dynamodb() {
        if let Some(time) = stream.approximate_creation_date_time() {
            dynamodb.insert("ApproximateCreationDateTime".into(), json!(time.secs()));
        }
        for (key, image) in [
            ("Keys", stream.keys()),
            ("NewImage", stream.new_image()),
            ("OldImage", stream.old_image()),
        ] {
            if let Some(image) = image {
                dynamodb.insert(key.into(), item(image));
            }
        }
        if let Some(sequence) = stream.sequence_number() {
            dynamodb.insert("SequenceNumber".into(), json!(sequence));
        }
        if let Some(size) = stream.size_bytes() {
            dynamodb.insert("SizeBytes".into(), json!(size));
        }
        if let Some(view) = stream.stream_view_type() {
            dynamodb.insert("StreamViewType".into(), json!(view.as_str()));
        }
    }
    let mut json = json!({
        "eventID": record.event_id(),
        "eventName": record.event_name().map(|name| name.as_str()),
        "eventVersion": record.event_version(),
        "eventSource": record.event_source().unwrap_or("aws:dynamodb"),
        "awsRegion": record.aws_region(),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    });
    if let Some(identity) = record.user_identity() {
        json["userIdentity"] = json!({
            "type": identity.r#type(),
            "principalId": identity.principal_id(),
        });
    }
    json
}

fn item(item: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        item.iter()
            .map(|(name, value)| (name.clone(), attribute(value)))
            .collect(),
    )
}

/// An attribute value in DynamoDB's JSON (`{"S": "x"}`, `{"N": "1"}`, ...).
fn attribute(value: &AttributeValue) -> Value {
    let base64 = |blob: &aws_smithy_types::Blob| {
        Value::from(base64::engine::general_purpose::STANDARD.encode(blob.as_ref()))
    };
    match value {
        AttributeValue::S(text) => json!({ "S": text }),
        AttributeValue::N(number) => json!({ "N": number }),
        AttributeValue::B(blob) => json!({ "B": base64(blob) }),
        AttributeValue::Ss(texts) => json!({ "SS": texts }),
        AttributeValue::Ns(numbers) => json!({ "NS": numbers }),
        AttributeValue::Bs(blobs) => json!({ "BS": blobs.iter().map(base64).collect::<Vec<_>>() }),
        AttributeValue::M(map) => json!({ "M": item(map) }),
        AttributeValue::L(list) => json!({ "L": list.iter().map(attribute).collect::<Vec<_>>() }),
        AttributeValue::Null(is_null) => json!({ "NULL": is_null }),
        AttributeValue::Bool(boolean) => json!({ "BOOL": boolean }),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_values_become_dynamodb_json() {
        let value = AttributeValue::M(HashMap::from([
            ("s".to_owned(), AttributeValue::S("x".to_owned())),
            (
                "l".to_owned(),
                AttributeValue::L(vec![
                    AttributeValue::N("1".to_owned()),
                    AttributeValue::Bool(true),
                    AttributeValue::Null(true),
                ]),
            ),
            (
                "b".to_owned(),
                AttributeValue::B(aws_smithy_types::Blob::new(b"hi".to_vec())),
            ),
        ]));
        assert_eq!(
            attribute(&value),
            json!({"M": {
                "s": {"S": "x"},
                "l": {"L": [{"N": "1"}, {"BOOL": true}, {"NULL": true}]},
                "b": {"B": "aGk="}
            }})
        );
    }
}
