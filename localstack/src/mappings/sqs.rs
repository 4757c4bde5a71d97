//! SQS → function, as Lambda's SQS pollers do it.
//!
//! One receiver per mapping long-polls the queue through the edge and gathers a batch (up to
//! `BatchSize`, default 10; for at most `MaximumBatchingWindowInSeconds` once the first message
//! arrived). Each batch runs on a worker; at most `ScalingConfig.MaximumConcurrency` (default
//! [`DEFAULT_CONCURRENCY`]) batches are in flight, and the receiver takes no messages it has no
//! worker for, so none burn their visibility timeout waiting.
//!
//! Why one receiver and not several: moto decides which FIFO message groups are "in flight" when
//! a `ReceiveMessage` *starts*, so two concurrent long polls can both take messages of one group.
//! Receiving one call at a time keeps moto's group lock exact: a group whose batch is in flight
//! (not yet deleted, or failed and still invisible) gets no second batch, and order within a
//! group holds.
//!
//! After the invocation: success deletes the batch; with `ReportBatchItemFailures` the listed
//! `itemIdentifier`s stay and the rest are deleted; a function error or a malformed response
//! leaves the whole batch. What stays comes back after the queue's visibility timeout (as on
//! AWS, nothing makes it visible sooner), and moto moves it to the DLQ once its receive count
//! reaches `maxReceiveCount`. Messages `FilterCriteria` rejects are deleted, as Lambda does.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use aws_smithy_types::error::display::DisplayErrorContext;
use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Map, Value, json};
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use super::filter::{self, Filters};
use super::{BatchResult, Shared, classify, function_of, integer, reports_failures, string};
use crate::provision::Stack;

/// Batches in flight per mapping when `ScalingConfig.MaximumConcurrency` is not set.
pub const DEFAULT_CONCURRENCY: usize = 5;

/// How long one `ReceiveMessage` waits for a first message.
const LONG_POLL_SECONDS: i32 = 10;

/// The same for FIFO queues: moto fixes the set of busy message groups when a long poll starts,
/// so a long poll would ignore a group whose batch finished meanwhile until it returns.
const FIFO_LONG_POLL_SECONDS: i32 = 1;

/// One SQS mapping.
struct SqsMapping {
    id: String,
    function: String,
    queue_arn: String,
    queue_url: String,
    batch_size: usize,
    window: Duration,
    report_failures: bool,
    filters: Filters,
    concurrency: usize,
    fifo: bool,
}

/// Checks the mapping's queue and function, then starts its receiver.
pub(super) async fn start(
    shared: &Arc<Shared>,
    id: &str,
    props: &Map<String, Value>,
    stack: &Stack,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let queue_arn = string(props, "EventSourceArn")?;
    let function = function_of(props)?;
    if shared.host.resolve(&function).is_none() {
        anyhow::bail!("function {function} is not in the template");
    }
    let queue_url = queue_url(shared, stack, &queue_arn).await?;
    let batch_size = integer(props, "BatchSize")?.unwrap_or(10).clamp(1, 10_000);
    let window = integer(props, "MaximumBatchingWindowInSeconds")?
        .unwrap_or(0)
        .clamp(0, 300);
    let concurrency = match props
        .get("ScalingConfig")
        .and_then(Value::as_object)
        .map(|scaling| integer(scaling, "MaximumConcurrency"))
        .transpose()?
        .flatten()
    {
        Some(limit) => usize::try_from(limit.max(1))?,
        None => DEFAULT_CONCURRENCY,
    };
    let fifo = queue_arn.ends_with(".fifo");
    let mapping = Arc::new(SqsMapping {
        id: id.to_owned(),
        function,
        queue_arn,
        queue_url,
        batch_size: usize::try_from(batch_size)?,
        window: Duration::from_secs(u64::try_from(window)?),
        report_failures: reports_failures(props),
        filters: Filters::parse(props.get("FilterCriteria")).context("FilterCriteria")?,
        concurrency,
        fifo,
    });
    let shared = shared.clone();
    Ok(vec![tokio::spawn(mapping.run(shared))])
}

/// The URL of the queue `arn` names: from the stack when it created the queue, else asked.
pub(super) async fn queue_url(shared: &Shared, stack: &Stack, arn: &str) -> anyhow::Result<String> {
    let known = stack.resources.values().find_map(|resource| {
        (resource.attributes.get("Arn").and_then(Value::as_str) == Some(arn))
            .then(|| resource.attributes.get("QueueUrl").and_then(Value::as_str))
            .flatten()
    });
    if let Some(url) = known {
        return Ok(url.to_owned());
    }
    let name = arn
        .rsplit(':')
        .next()
        .ok_or_else(|| anyhow!("{arn} is not a queue ARN"))?;
    let found = shared
        .sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .map_err(|error| anyhow!("queue {name} not found: {}", DisplayErrorContext(error)))?;
    found
        .queue_url()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("GetQueueUrl returned no URL for {name}"))
}

impl SqsMapping {
    async fn run(self: Arc<Self>, shared: Arc<Shared>) {
        let permits = Arc::new(Semaphore::new(self.concurrency));
        // Dropped (and so aborted) with this task: stopping the mapping stops its workers.
        let mut workers = JoinSet::new();
        loop {
            while workers.try_join_next().is_some() {}
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            match self.collect(&shared).await {
                Ok(batch) if batch.is_empty() => {}
                Ok(batch) => {
                    let this = self.clone();
                    let shared = shared.clone();
                    workers.spawn(async move {
                        this.deliver(&shared, batch).await;
                        drop(permit);
                    });
                }
                Err(error) => {
                    eprintln!(
                        "[mapping {}] ReceiveMessage on {} failed: {error:#}",
                        self.id, self.queue_url
                    );
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Gathers one batch: waits for a first message, then for more until the batch is full or
    /// the batching window closes. Empty when the long poll found nothing.
    async fn collect(&self, shared: &Shared) -> anyhow::Result<Vec<Message>> {
        let mut batch: Vec<Message> = Vec::new();
        let mut window_ends: Option<Instant> = None;
        loop {
            let wait = match window_ends {
                None if self.fifo => FIFO_LONG_POLL_SECONDS,
                None => LONG_POLL_SECONDS,
                Some(end) => {
                    let left = end.saturating_duration_since(Instant::now());
                    i32::try_from(left.as_secs() + u64::from(left.subsec_nanos() > 0))?.min(20)
                }
            };
            let wanted = (self.batch_size - batch.len()).min(10);
            let received = shared
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(i32::try_from(wanted)?)
                .wait_time_seconds(wait)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await
                .map_err(|error| anyhow!("{}", DisplayErrorContext(error)))?;
            for message in received.messages.unwrap_or_default() {
                // A visibility timeout shorter than the batching window hands a message out
                // again while its batch is still gathering: keep one copy, with the newest
                // receipt handle (the one that can still delete it).
                match batch.iter_mut().find(|held| {
                    held.message_id().is_some() && held.message_id() == message.message_id()
                }) {
                    Some(held) => *held = message,
                    None => batch.push(message),
                }
            }
            if batch.is_empty() || batch.len() >= self.batch_size || self.window.is_zero() {
                return Ok(batch);
            }
            let end = *window_ends.get_or_insert_with(|| Instant::now() + self.window);
            if Instant::now() >= end {
                return Ok(batch);
            }
        }
    }

    /// Invokes the function with `batch` and deletes what succeeded.
    async fn deliver(&self, shared: &Shared, batch: Vec<Message>) {
        let mut records = Vec::new();
        let mut filtered_out = Vec::new();
        for message in batch {
            let record = self.record(shared, &message);
            if self.filters.pass(&filter::sqs_view(&record)) {
                records.push((record, message));
            } else {
                filtered_out.push(message);
            }
        }
        self.delete(shared, filtered_out.iter()).await;
        if records.is_empty() {
            return;
        }
        let ids: HashSet<&str> = records
            .iter()
            .filter_map(|(_, message)| message.message_id())
            .collect();
        let payload = json!({
            "Records": records.iter().map(|(record, _)| record).collect::<Vec<_>>()
        });
        let outcome = shared
            .host
            .invoke(&self.function, Bytes::from(payload.to_string()))
            .await;
        let failed: HashSet<String> = match classify(outcome, self.report_failures, &ids) {
            BatchResult::Success => HashSet::new(),
            BatchResult::Partial(failed) => {
                eprintln!(
                    "[mapping {}] {} of {} messages failed (batchItemFailures); they return after \
                     the visibility timeout",
                    self.id,
                    failed.len(),
                    records.len()
                );
                failed.into_iter().collect()
            }
            BatchResult::Failed(reason) => {
                eprintln!(
                    "[mapping {}] batch of {} messages failed: {reason}; they return after the \
                     visibility timeout",
                    self.id,
                    records.len()
                );
                ids.iter().map(|id| (*id).to_owned()).collect()
            }
        };
        let done = records
            .iter()
            .map(|(_, message)| message)
            .filter(|message| !message.message_id().is_some_and(|id| failed.contains(id)));
        self.delete(shared, done).await;
    }

    async fn delete<'a>(&self, shared: &Shared, messages: impl Iterator<Item = &'a Message>) {
        let entries: Vec<DeleteMessageBatchRequestEntry> = messages
            .enumerate()
            .filter_map(|(index, message)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .set_receipt_handle(message.receipt_handle().map(str::to_owned))
                    .build()
                    .ok()
            })
            .collect();
        for chunk in entries.chunks(10) {
            let result = shared
                .sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(chunk.to_vec()))
                .send()
                .await;
            match result {
                Ok(output) if output.failed().is_empty() => {}
                Ok(output) => eprintln!(
                    "[mapping {}] {} messages could not be deleted: {:?}",
                    self.id,
                    output.failed().len(),
                    output.failed()
                ),
                Err(error) => eprintln!(
                    "[mapping {}] DeleteMessageBatch failed: {}",
                    self.id,
                    DisplayErrorContext(error)
                ),
            }
        }
    }

    /// The record Lambda puts in an SQS event for `message`.
    fn record(&self, shared: &Shared, message: &Message) -> Value {
        let attributes: Map<String, Value> = message
            .attributes()
            .into_iter()
            .flatten()
            .map(|(name, value)| (name.as_str().to_owned(), Value::from(value.as_str())))
            .collect();
        let base64 = |blob: &aws_smithy_types::Blob| {
            base64::engine::general_purpose::STANDARD.encode(blob.as_ref())
        };
        let message_attributes: Map<String, Value> = message
            .message_attributes()
            .into_iter()
            .flatten()
            .map(|(name, value)| {
                let mut attribute = json!({
                    "stringListValues": value.string_list_values(),
                    "binaryListValues": value
                        .binary_list_values()
                        .iter()
                        .map(base64)
                        .collect::<Vec<_>>(),
                    "dataType": value.data_type(),
                });
                if let Some(text) = value.string_value() {
                    attribute["stringValue"] = Value::from(text);
                }
                if let Some(binary) = value.binary_value() {
                    attribute["binaryValue"] = Value::from(base64(binary));
                }
                (name.clone(), attribute)
            })
            .collect();
        let mut record = json!({
            "messageId": message.message_id(),
            "receiptHandle": message.receipt_handle(),
            "body": message.body().unwrap_or_default(),
            "attributes": attributes,
            "messageAttributes": message_attributes,
            "md5OfBody": message.md5_of_body(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": shared.region,
        });
        if let Some(md5) = message.md5_of_message_attributes() {
            record["md5OfMessageAttributes"] = Value::from(md5);
        }
        record
    }
}
