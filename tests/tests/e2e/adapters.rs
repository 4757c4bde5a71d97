//! The AWS adapters against a real endpoint (the local cloud's moto, or LocalStack).
//!
//! They run against the shared local cloud's edge (moto behind it). Each run creates its own
//! uniquely named table and bus.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use shop_adapters::dynamo::{TableProbe, put_if_absent};
use shop_adapters::eventbridge::{BusProbe, EventBridgePublisher};
use shop_domain::{DomainError, EventPublisher, HealthProbe, OutgoingEvent};
use shop_e2e::shop;

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        shop_domain::EventId::new().to_string().to_lowercase()
    )
}

/// Creates the on-demand table `name` keyed by `pk`, with `stream` if given.
async fn create_table(
    dynamo: &aws_sdk_dynamodb::Client,
    name: &str,
    stream: Option<aws_sdk_dynamodb::types::StreamSpecification>,
) -> aws_sdk_dynamodb::types::TableDescription {
    dynamo
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .set_stream_specification(stream)
        .send()
        .await
        .unwrap()
        .table_description
        .expect("the new table")
}

#[test]
fn adapters_work_against_the_endpoint() {
    shop().run(|cloud| async move {
        let sdk = cloud.sdk_config();
        let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
        let events = aws_sdk_eventbridge::Client::new(&sdk);
        let table = unique("it-table");
        let bus = unique("it-bus");

        // A missing table or bus is reported as such, not as a generic failure.
        let missing = TableProbe::new(dynamo.clone(), &table).check().await;
        assert!(
            matches!(missing, Err(DomainError::NotFound { .. })),
            "{missing:?}"
        );
        let missing = BusProbe::new(events.clone(), &bus).check().await;
        assert!(
            matches!(missing, Err(DomainError::NotFound { .. })),
            "{missing:?}"
        );

        create_table(&dynamo, &table, None).await;
        events.create_event_bus().name(&bus).send().await.unwrap();

        TableProbe::new(dynamo.clone(), &table)
            .check()
            .await
            .unwrap();
        BusProbe::new(events.clone(), &bus).check().await.unwrap();

        let marker = || {
            [("pk".to_owned(), AttributeValue::S("EVENT#1".into()))]
                .into_iter()
                .collect()
        };
        assert!(
            put_if_absent(&dynamo, &table, "pk", marker())
                .await
                .unwrap()
        );
        assert!(
            !put_if_absent(&dynamo, &table, "pk", marker())
                .await
                .unwrap()
        );

        let publisher = EventBridgePublisher::new(events.clone(), &bus);
        let batch: Vec<_> = (0..13)
            .map(|i| OutgoingEvent {
                source: "shop.test".into(),
                detail_type: "ThingHappened".into(),
                detail: serde_json::json!({ "i": i }),
            })
            .collect();
        publisher.publish(batch).await.unwrap();

        dynamo
            .delete_table()
            .table_name(&table)
            .send()
            .await
            .unwrap();
        events.delete_event_bus().name(&bus).send().await.unwrap();
    });
}

/// What the outbox relies on: a cancelled `TransactWriteItems` writes no stream record (so no
/// event of a refused change is relayed), and an iterator taken before it sees every later
/// record (moto 5.2 needs `localstack/src/moto_server.py` for both).
#[test]
fn a_cancelled_transaction_leaves_no_stream_record() {
    use aws_sdk_dynamodb::types::{Put, StreamSpecification, StreamViewType, TransactWriteItem};
    use aws_sdk_dynamodbstreams::types::ShardIteratorType;

    shop().run(|cloud| async move {
        let sdk = cloud.sdk_config();
        let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
        let streams = aws_sdk_dynamodbstreams::Client::new(&sdk);
        let table = unique("it-stream");
        let created = create_table(
            &dynamo,
            &table,
            Some(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewImage)
                    .build()
                    .unwrap(),
            ),
        )
        .await;
        let stream = created.latest_stream_arn().expect("a stream").to_owned();
        let shard = streams
            .describe_stream()
            .stream_arn(&stream)
            .send()
            .await
            .unwrap()
            .stream_description()
            .and_then(|d| d.shards().first())
            .and_then(|s| s.shard_id())
            .expect("a shard")
            .to_owned();
        let iterator = streams
            .get_shard_iterator()
            .stream_arn(&stream)
            .shard_id(&shard)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator()
            .expect("an iterator")
            .to_owned();
        let put = |pk: &str, condition: Option<&str>| {
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&table)
                        .item("pk", AttributeValue::S(pk.to_owned()))
                        .set_condition_expression(condition.map(str::to_owned))
                        .build()
                        .unwrap(),
                )
                .build()
        };
        let write = |items: Vec<TransactWriteItem>| {
            dynamo
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
        };
        write(vec![put("x", None)]).await.unwrap();
        let refused = write(vec![
            put("outbox", None),
            put("x", Some("attribute_not_exists(pk)")),
        ])
        .await;
        assert!(refused.is_err(), "the second put is refused");
        write(vec![put("y", None), put("z", None)]).await.unwrap();

        let records = streams
            .get_records()
            .shard_iterator(iterator)
            .send()
            .await
            .unwrap();
        let keys: Vec<&str> = records
            .records()
            .iter()
            .filter_map(|r| r.dynamodb()?.keys()?.get("pk")?.as_s().ok())
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["x", "y", "z"]);
        dynamo
            .delete_table()
            .table_name(&table)
            .send()
            .await
            .unwrap();
    });
}
