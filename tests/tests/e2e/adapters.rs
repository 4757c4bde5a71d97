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

        dynamo
            .create_table()
            .table_name(&table)
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
            .send()
            .await
            .unwrap();
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
