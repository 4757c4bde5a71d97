//! The runner's own tests: the fixture template (tests/fixture/template.yaml) and its tiny
//! function (`src/bin/fixture-fn.rs`) run through the whole local cloud against real moto.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use localcloud::CloudConfig;
use localcloud::host::InvokeOutcome;
use localcloud::testing::{SharedCloud, http};
use serde_json::{Value, json};

fn fixture() -> &'static SharedCloud {
    static CLOUD: OnceLock<SharedCloud> = OnceLock::new();
    CLOUD.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = manifest.parent().expect("the repository root");
        let mut config = CloudConfig::new(root);
        config.template = manifest.join("tests/fixture/template.yaml");
        config.bin_dir = Path::new(env!("CARGO_BIN_EXE_fixture-fn"))
            .parent()
            .expect("the binaries' folder")
            .to_path_buf();
        config.build = false;
        config.edge_port = 0;
        config.stack_name = "fixture".to_owned();
        SharedCloud::start(config)
    })
}

async fn invoke(cloud: &localcloud::LocalCloud, event: Value) -> Value {
    let outcome = cloud
        .host()
        .invoke(
            "fixture-FixtureFunction",
            bytes::Bytes::from(event.to_string()),
        )
        .await
        .unwrap();
    let InvokeOutcome::Success(body) = outcome else {
        panic!("{event} failed: {outcome:?}");
    };
    serde_json::from_slice(&body).unwrap()
}

/// Every resource type is created or, where not emulated, reported as skipped.
#[test]
fn every_resource_of_the_fixture_is_provisioned_or_reported_skipped() {
    fixture().run(|cloud| async move {
        let mut skipped: Vec<&str> = cloud
            .stack()
            .skipped
            .iter()
            .map(|(id, _)| id.as_str())
            .collect();
        skipped.sort_unstable();
        assert_eq!(
            skipped,
            [
                "DoublerRole",
                "FixtureFunctionLogGroup",
                "FixtureFunctionRole"
            ]
        );
        for id in [
            "PlatformTable",
            "WorkDeadLetterQueue",
            "WorkQueue",
            "OrdersFifoQueue",
            "NotificationsTopic",
            "EmailNotificationsQueue",
            "EmailNotificationsSubscription",
            "EventBus",
            "FixtureEventsQueue",
            "FixtureEventsRule",
            "DeliveryQueuePolicy",
            "ApiCredentials",
            "UploadsBucket",
            "UploadsBucketPolicy",
            "MailConfigurationSet",
            "SenderIdentity",
            "FixtureFunction",
            "Greeting",
            "GreetingSecret",
            "Doubler",
        ] {
            assert!(
                cloud.stack().resources.contains_key(id),
                "{id} was not provisioned"
            );
        }
    });
}

/// A custom resource backed by the project's function: its `Data` feeds `!GetAtt`.
#[test]
fn a_custom_resource_data_resolves_in_outputs_and_other_resources() {
    fixture().run(|cloud| async move {
        let stack = cloud.stack();
        let sdk = cloud.sdk_config();
        assert_eq!(stack.output("GreetingText"), Some("hello world"));
        let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
        let greeting = secrets
            .get_secret_value()
            .secret_id(stack.output("GreetingSecretArn").unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(
            greeting.secret_string(),
            Some(r#"{"greeting": "hello world"}"#)
        );
        let generated = secrets
            .get_secret_value()
            .secret_id(stack.output("SecretArn").unwrap())
            .send()
            .await
            .unwrap();
        let generated: Value = serde_json::from_str(generated.secret_string().unwrap()).unwrap();
        assert_eq!(generated["username"], "fixture");
        assert_eq!(generated["password"].as_str().unwrap().len(), 24);
    });
}

/// DynamoDB: keys, GSI, stream and TTL from the template.
#[test]
fn tables_get_their_gsi_stream_and_ttl() {
    fixture().run(|cloud| async move {
        let stack = cloud.stack();
        let sdk = cloud.sdk_config();
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        let table = dynamodb
            .describe_table()
            .table_name("fixture-PlatformTable")
            .send()
            .await
            .unwrap();
        let table = table.table().unwrap();
        let stream_arn = table.latest_stream_arn().unwrap();
        assert_eq!(stack.output("TableStreamArn"), Some(stream_arn));
        assert_eq!(table.global_secondary_indexes().len(), 1);
        let ttl = dynamodb
            .describe_time_to_live()
            .table_name("fixture-PlatformTable")
            .send()
            .await
            .unwrap();
        let ttl = ttl.time_to_live_description().unwrap();
        assert_eq!(ttl.attribute_name(), Some("expiresAt"));
    });
}

/// SQS: redrive to the DLQ and FIFO queues.
#[test]
fn queues_get_their_redrive_policy_and_fifo_names() {
    fixture().run(|cloud| async move {
        let stack = cloud.stack();
        let sdk = cloud.sdk_config();
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let work = sqs
            .get_queue_attributes()
            .queue_url(stack.output("WorkQueueUrl").unwrap())
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        let redrive =
            &work.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy];
        assert!(redrive.contains("fixture-WorkDeadLetterQueue"), "{redrive}");
        assert!(
            stack
                .output("OrdersFifoQueueUrl")
                .unwrap()
                .ends_with("fixture-orders.fifo")
        );
    });
}

/// SNS → SQS with a filter policy and raw delivery.
#[test]
fn an_sns_subscription_with_a_filter_delivers_only_matching_messages() {
    fixture().run(|cloud| async move {
        let stack = cloud.stack();
        let sdk = cloud.sdk_config();
        let sns = aws_sdk_sns::Client::new(&sdk);
        for channel in ["sms", "email"] {
            sns.publish()
                .topic_arn(stack.output("TopicArn").unwrap())
                .message(format!("to {channel}"))
                .message_attributes(
                    "channel",
                    aws_sdk_sns::types::MessageAttributeValue::builder()
                        .data_type("String")
                        .string_value(channel)
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
        }
        let bodies = receive(
            &sqs_client(&sdk),
            stack.output("EmailNotificationsQueueUrl").unwrap(),
        )
        .await;
        assert_eq!(bodies, ["to email"]);
    });
}

/// EventBridge rule → SQS target.
#[test]
fn an_eventbridge_rule_delivers_matching_events_to_its_sqs_target() {
    fixture().run(|cloud| async move {
        let stack = cloud.stack();
        let sdk = cloud.sdk_config();
        let events = aws_sdk_eventbridge::Client::new(&sdk);
        for source in ["other.source", "fixture.test"] {
            let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .event_bus_name(stack.output("EventBusName").unwrap())
                .source(source)
                .detail_type("FixtureHappened")
                .detail(r#"{"n": 1}"#)
                .build();
            events.put_events().entries(entry).send().await.unwrap();
        }
        let bodies = receive(
            &sqs_client(&sdk),
            stack.output("FixtureEventsQueueUrl").unwrap(),
        )
        .await;
        assert_eq!(bodies.len(), 1, "{bodies:?}");
        let event: Value = serde_json::from_str(&bodies[0]).unwrap();
        assert_eq!(event["source"], "fixture.test");
        assert_eq!(event["detail"]["n"], 1);
    });
}

/// Globals + own Environment, resolved.
#[test]
fn a_function_sees_exactly_the_environment_its_template_gives_it() {
    fixture().run(|cloud| async move {
        let stack = cloud.stack();
        let sdk = cloud.sdk_config();
        let stream_arn = aws_sdk_dynamodb::Client::new(&sdk)
            .describe_table()
            .table_name("fixture-PlatformTable")
            .send()
            .await
            .unwrap()
            .table()
            .and_then(|t| t.latest_stream_arn().map(str::to_owned))
            .unwrap();
        let echo = json!({"action": "echo", "envNames": [
            "TABLE_NAME", "TABLE_STREAM_ARN", "WORK_QUEUE_URL", "MODE", "STAGE", "LOG_LEVEL",
            "GREETING_PREFIX", "EVENT_BUS_NAME", "SENDER"
        ]});
        let outcome = cloud
            .host()
            .invoke(
                "fixture-FixtureFunction",
                bytes::Bytes::from(echo.to_string()),
            )
            .await
            .unwrap();
        let InvokeOutcome::Success(body) = outcome else {
            panic!("echo failed: {outcome:?}");
        };
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body["env"],
            json!({
                "TABLE_NAME": "fixture-PlatformTable",
                "TABLE_STREAM_ARN": stream_arn,
                "WORK_QUEUE_URL": stack.output("WorkQueueUrl").unwrap(),
                "MODE": "local-mode",
                "STAGE": "local",
                "LOG_LEVEL": "debug",
                "GREETING_PREFIX": "hello from fixture in us-east-1",
                "EVENT_BUS_NAME": "fixture-bus",
                "SENDER": "sender@example.com"
            })
        );
    });
}

/// moto's interpreter calls the function through the edge.
#[test]
fn a_state_machine_task_runs_through_the_edge_to_success_and_into_its_catch() {
    fixture().run(|cloud| async move {
        let stack = cloud.stack();
        let sdk = cloud.sdk_config();
        let sfn = aws_sdk_sfn::Client::new(&sdk);
        let machine = stack.output("StateMachineArn").unwrap();
        for (name, input, expected) in [
            (
                "double",
                json!({"action": "double", "value": 21}),
                json!({"value": 42}),
            ),
            (
                "fail",
                json!({"action": "fail", "value": 0}),
                json!({"caught": true, "error": "FixtureFailure"}),
            ),
        ] {
            let started = sfn
                .start_execution()
                .state_machine_arn(machine)
                .name(name)
                .input(input.to_string())
                .send()
                .await
                .unwrap();
            let mut described;
            loop {
                described = sfn
                    .describe_execution()
                    .execution_arn(started.execution_arn())
                    .send()
                    .await
                    .unwrap();
                if described.status() != &aws_sdk_sfn::types::ExecutionStatus::Running {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            assert_eq!(
                described.status(),
                &aws_sdk_sfn::types::ExecutionStatus::Succeeded,
                "{name}: {described:?}"
            );
            let output: Value = serde_json::from_str(described.output().unwrap()).unwrap();
            assert_eq!(output, expected, "{name}");
        }
    });
}

/// SES identity and S3 bucket.
#[test]
fn ses_identities_and_buckets_exist() {
    fixture().run(|cloud| async move {
        let stack = cloud.stack();
        let sdk = cloud.sdk_config();
        let ses = aws_sdk_ses::Client::new(&sdk);
        let identities = ses.list_identities().send().await.unwrap();
        assert!(
            identities
                .identities()
                .iter()
                .any(|i| i == "sender@example.com")
        );
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        );
        s3.head_bucket()
            .bucket(stack.output("BucketName").unwrap())
            .send()
            .await
            .unwrap();
    });
}

/// Every email a function sends, through SES or SESv2, lands in the edge's mailbox.
#[test]
fn the_mailbox_records_mail_sent_through_ses_and_sesv2() {
    fixture().run(|cloud| async move {
        for api in ["ses", "sesv2"] {
            let to = format!("{api}-reader@example.com");
            let sent = invoke(
                cloud,
                json!({"action": "send-email", "api": api,
                "from": "sender@example.com", "to": to, "subject": format!("hi via {api}"),
                "body": "line one\nline two"}),
            )
            .await;
            assert!(sent["messageId"].is_string(), "{sent}");
            let url = format!("{}/_localcloud/mailbox?to={to}", cloud.edge_url());
            let mail: Value = http().get(url).send().await.unwrap().json().await.unwrap();
            assert_eq!(mail.as_array().map(Vec::len), Some(1), "{mail}");
            assert_eq!(mail[0]["subject"], format!("hi via {api}"));
            assert_eq!(mail[0]["from"], "sender@example.com");
            assert!(mail[0]["body"].as_str().unwrap().contains("line two"));
            assert!(mail[0]["sentAt"].is_string());
        }
    });
}

/// moto refuses mail from a sender whose identity the template does not verify; so does SES.
#[test]
fn mail_from_an_unverified_sender_is_refused_and_not_recorded() {
    fixture().run(|cloud| async move {
        let outcome = cloud
            .host()
            .invoke(
                "fixture-FixtureFunction",
                bytes::Bytes::from(
                    json!({"action": "send-email",
                "api": "sesv2", "from": "stranger@example.org", "to": "victim@example.com",
                "subject": "spam", "body": "spam"})
                    .to_string(),
                ),
            )
            .await
            .unwrap();
        assert!(
            matches!(outcome, InvokeOutcome::FunctionError(_)),
            "{outcome:?}"
        );
        let url = format!(
            "{}/_localcloud/mailbox?to=victim@example.com",
            cloud.edge_url()
        );
        let mail: Value = http().get(url).send().await.unwrap().json().await.unwrap();
        assert_eq!(mail, json!([]));
    });
}

/// The AWS edge serves the Lambda Invoke API the SDKs and the AWS CLI use.
#[test]
fn the_edge_invoke_api_answers_like_lambda() {
    fixture().run(|cloud| async move {
        let base = format!("{}/2015-03-31/functions", cloud.edge_url());
        let ok = http()
            .post(format!("{base}/fixture-FixtureFunction/invocations"))
            .body(json!({"action": "double", "value": 4}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.json::<Value>().await.unwrap(), json!({"value": 8}));
        let failed = http()
            .post(format!("{base}/fixture-FixtureFunction/invocations"))
            .body(json!({"action": "fail"}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(failed.status(), 200);
        assert_eq!(failed.headers()["x-amz-function-error"], "Unhandled");
        assert_eq!(
            failed.json::<Value>().await.unwrap()["errorType"],
            "FixtureFailure"
        );
    });
}

fn sqs_client(sdk: &aws_config::SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(sdk)
}

async fn receive(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let received = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        bodies.extend(
            received
                .messages()
                .iter()
                .filter_map(|m| m.body().map(str::to_owned)),
        );
    }
    bodies
}
