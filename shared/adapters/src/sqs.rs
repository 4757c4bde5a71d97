//! SQS consumers with partial batch failures.
//!
//! Every consumer queue is wired with `FunctionResponseTypes: ReportBatchItemFailures`, so a
//! function returns the ids of the messages it could not process and SQS redelivers only
//! those, instead of the whole batch.

use std::future::Future;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::StreamExt;
use serde::de::DeserializeOwned;
use shop_domain::{DomainError, EventEnvelope};

/// How many records of one batch are processed at the same time.
///
/// Bounded so a batch of hundreds (with a batching window) cannot exhaust the table's
/// capacity or the function's memory; 10 matches SQS's default batch size.
pub const MAX_CONCURRENCY: usize = 10;

/// Runs `handler` on every record (at most [`MAX_CONCURRENCY`] at once) and reports the
/// records that failed as `batchItemFailures` (their `messageId`s).
///
/// Every error counts as a failure, including non-retryable ones: the message then returns to
/// the queue, fails again, and after the queue's `maxReceiveCount` lands in the DLQ, where an
/// alarm makes someone look at it. Acknowledging a message we could not process would lose it
/// silently. Errors are logged with the message id and whether they are retryable.
///
/// A record without a `messageId` (never sent by SQS) is reported with an empty identifier,
/// which makes Lambda treat the whole batch as failed: the safe outcome.
pub async fn process_batch<F, Fut>(event: SqsEvent, handler: F) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), DomainError>>,
{
    let total = event.records.len();
    let mut failures: Vec<(usize, String)> =
        futures::stream::iter(event.records.into_iter().enumerate())
            .map(|(index, record)| {
                let message_id = record.message_id.clone().unwrap_or_default();
                let work = handler(record);
                async move { (index, message_id, work.await) }
            })
            .buffer_unordered(MAX_CONCURRENCY)
            .filter_map(|(index, message_id, result)| async move {
                let err = result.err()?;
                tracing::error!(
                    message_id = %message_id,
                    retryable = err.is_retryable(),
                    error = %err,
                    "message failed; SQS will redeliver it"
                );
                Some((index, message_id))
            })
            .collect()
            .await;
    // Report in batch order so logs and tests are deterministic.
    failures.sort_by_key(|(index, _)| *index);
    if !failures.is_empty() {
        tracing::warn!(failed = failures.len(), total, "batch partially failed");
    }
    let mut response = SqsBatchResponse::default();
    response.set_failures(failures.into_iter().map(|(_, id)| id));
    response
}

/// The [`EventEnvelope`] inside a message delivered by an EventBridge rule → SQS target.
///
/// The SQS body is the whole EventBridge event (`{"detail-type": …, "detail": {…}}`); the
/// envelope is its `detail`. A body that does not parse is a `Validation` error, which is not
/// retryable: the message will end in the DLQ.
pub fn envelope_from_message<T: DeserializeOwned>(
    message: &SqsMessage,
) -> Result<EventEnvelope<T>, DomainError> {
    #[derive(serde::Deserialize)]
    struct BusEvent<D> {
        detail: D,
    }
    let body = message.body.as_deref().unwrap_or_default();
    serde_json::from_str::<BusEvent<EventEnvelope<T>>>(body)
        .map(|event| event.detail)
        .map_err(|e| DomainError::validation("body", format!("not an event envelope: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three records as Lambda delivers them from an EventBridge → SQS subscription.
    const EVENT: &str = r#"{
      "Records": [
        {
          "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
          "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
          "body": "{\"version\":\"0\",\"id\":\"6a7e8feb-b491-4cf7-a9f1-bf3703467718\",\"detail-type\":\"OrderConfirmed\",\"source\":\"shop.orders\",\"account\":\"123456789012\",\"time\":\"2026-11-02T10:00:00Z\",\"region\":\"eu-west-1\",\"resources\":[],\"detail\":{\"id\":\"01JBQ0000000000000000000E1\",\"type\":\"OrderConfirmed\",\"version\":1,\"aggregateVersion\":3,\"occurredAt\":\"2026-11-02T10:00:00.000Z\",\"correlationId\":\"01JBQ0000000000000000000C1\",\"data\":{\"orderId\":\"o-1\"}}}",
          "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1793613600000",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1793613600001"
          },
          "messageAttributes": {},
          "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
          "eventSource": "aws:sqs",
          "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:shop-notifications-on-order-confirmed",
          "awsRegion": "eu-west-1"
        },
        {
          "messageId": "2e1424d4-f796-459a-8184-9c92662be6da",
          "receiptHandle": "AQEBzWwaftRI0KuVm4tP+/7q1rGgNqicHq...",
          "body": "not json at all",
          "attributes": {
            "ApproximateReceiveCount": "4",
            "SentTimestamp": "1793613600002",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1793613600003"
          },
          "messageAttributes": {},
          "md5OfBody": "f8a0e0a5bb4b3b7b1b5d2d0d0c7f1e0b",
          "eventSource": "aws:sqs",
          "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:shop-notifications-on-order-confirmed",
          "awsRegion": "eu-west-1"
        },
        {
          "messageId": "c80e8021-a70a-42c7-a470-796e1186f753",
          "receiptHandle": "AQEBqKw3gbcVTkqCVGsqYOsYbNXAwrGgQl...",
          "body": "{\"version\":\"0\",\"id\":\"7b8f9fec-c5a2-4d08-b0a2-c04814578829\",\"detail-type\":\"OrderConfirmed\",\"source\":\"shop.orders\",\"account\":\"123456789012\",\"time\":\"2026-11-02T10:00:01Z\",\"region\":\"eu-west-1\",\"resources\":[],\"detail\":{\"id\":\"01JBQ0000000000000000000E2\",\"type\":\"OrderConfirmed\",\"version\":1,\"aggregateVersion\":1,\"occurredAt\":\"2026-11-02T10:00:01.000Z\",\"correlationId\":\"01JBQ0000000000000000000C2\",\"data\":{\"orderId\":\"o-2\"}}}",
          "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1793613601000",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1793613601001"
          },
          "messageAttributes": {},
          "md5OfBody": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
          "eventSource": "aws:sqs",
          "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:shop-notifications-on-order-confirmed",
          "awsRegion": "eu-west-1"
        }
      ]
    }"#;

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct OrderConfirmed {
        order_id: String,
    }

    #[tokio::test]
    async fn reports_only_the_record_that_failed() {
        let event: SqsEvent = serde_json::from_str(EVENT).unwrap();
        let seen = std::sync::Mutex::new(Vec::new());
        let response = process_batch(event, |message| {
            let seen = &seen;
            async move {
                let envelope = envelope_from_message::<OrderConfirmed>(&message)?;
                seen.lock().unwrap().push(envelope.data.order_id);
                Ok(())
            }
        })
        .await;

        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["2e1424d4-f796-459a-8184-9c92662be6da"]);
        let mut seen = seen.into_inner().unwrap();
        seen.sort();
        assert_eq!(seen, ["o-1", "o-2"]);

        let json = serde_json::to_value(&response).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "2e1424d4-f796-459a-8184-9c92662be6da"}]})
        );
    }

    #[tokio::test]
    async fn retryable_and_non_retryable_errors_are_both_reported() {
        let event: SqsEvent = serde_json::from_str(EVENT).unwrap();
        let response = process_batch(event, |message| async move {
            match message.message_id.as_deref() {
                Some("059f36b4-87a3-44ab-83d2-661975830a7d") => {
                    Err(DomainError::Unavailable("throttled".into()))
                }
                Some("c80e8021-a70a-42c7-a470-796e1186f753") => {
                    Err(DomainError::Internal("bug".into()))
                }
                _ => Ok(()),
            }
        })
        .await;
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(
            failed,
            [
                "059f36b4-87a3-44ab-83d2-661975830a7d",
                "c80e8021-a70a-42c7-a470-796e1186f753"
            ]
        );
    }

    #[tokio::test]
    async fn empty_batch_has_no_failures() {
        let event: SqsEvent = serde_json::from_str(r#"{"Records": []}"#).unwrap();
        let response = process_batch(event, |_| async { Ok(()) }).await;
        assert!(response.batch_item_failures.is_empty());
    }
}
