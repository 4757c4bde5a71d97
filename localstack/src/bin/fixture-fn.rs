//! `fixture-fn`: a tiny Lambda the runner's own tests run, so the host, the edge and the
//! provisioner are tested against a real `lambda_runtime` process rather than a mock.
//!
//! Events (JSON):
//! - a CloudFormation custom-resource event (`RequestType` + `ResponseURL`): answers `SUCCESS`
//!   with `Data.Greeting = "hello <ResourceProperties.Name>"` by `PUT`ting to `ResponseURL`;
//! - `{"action":"echo","envNames":[...]}` → `{"event", "env"}` (`"envNames":"*"`: every variable);
//! - `{"action":"double","value":n}` → `{"value":2n}`;
//! - `{"action":"fail"}` → a function error of type `FixtureFailure`;
//! - `{"action":"sleep","ms":n}` → `{"slept":n}` after n ms;
//! - `{"action":"send-email","api":"ses"|"sesv2","from","to","subject","body"}` → `{"messageId"}`;
//! - `{"action":"exit","code":n}` → the process exits with code n (a crash mid-invocation);
//! - `{"action":"big","bytes":n}` → a response of about n bytes.
//!
//! With `FIXTURE_FAIL_INIT` set the process fails before polling for work (an init failure).

use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::{Value, json};

/// A failure this fixture reports, with the `errorType` Lambda shows for it.
#[derive(Debug)]
struct FixtureError {
    error_type: &'static str,
    message: String,
}

impl FixtureError {
    fn new(error_type: &'static str, message: impl std::fmt::Display) -> Self {
        Self {
            error_type,
            message: message.to_string(),
        }
    }
}

impl From<FixtureError> for Diagnostic {
    fn from(error: FixtureError) -> Self {
        Diagnostic {
            error_type: error.error_type.to_owned(),
            error_message: error.message,
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    if std::env::var_os("FIXTURE_FAIL_INIT").is_some() {
        return Err("FIXTURE_FAIL_INIT is set: failing init on purpose".into());
    }
    let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let http = reqwest::Client::builder().no_proxy().build()?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        handle(&sdk, &http, event.payload)
    }))
    .await
}

async fn handle(
    sdk: &SdkConfig,
    http: &reqwest::Client,
    event: Value,
) -> Result<Value, FixtureError> {
    if event.get("RequestType").is_some() && event.get("ResponseURL").is_some() {
        return custom_resource(http, &event).await;
    }
    let number = |key: &str| event[key].as_u64().unwrap_or(0);
    match event["action"].as_str().unwrap_or_default() {
        "echo" => Ok(json!({"event": event, "env": env_of(&event["envNames"])})),
        "double" => {
            let value = event["value"].as_i64().ok_or_else(|| {
                FixtureError::new("FixtureBadEvent", "`value` must be an integer")
            })?;
            Ok(json!({"value": value * 2}))
        }
        "fail" => Err(FixtureError::new("FixtureFailure", "failing on purpose")),
        "sleep" => {
            tokio::time::sleep(Duration::from_millis(number("ms"))).await;
            Ok(json!({"slept": number("ms")}))
        }
        "send-email" => send_email(sdk, &event).await,
        "exit" => std::process::exit(i32::try_from(number("code")).unwrap_or(1)),
        "big" => Ok(json!({"data": "x".repeat(usize::try_from(number("bytes")).unwrap_or(0))})),
        other => Err(FixtureError::new(
            "FixtureBadEvent",
            format!("unknown action {other:?}"),
        )),
    }
}

fn env_of(names: &Value) -> Value {
    if names.as_str() == Some("*") {
        return json!(std::env::vars().collect::<std::collections::BTreeMap<_, _>>());
    }
    let env: serde_json::Map<String, Value> = names
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|name| Some((name.to_owned(), Value::String(std::env::var(name).ok()?))))
        .collect();
    Value::Object(env)
}

async fn custom_resource(http: &reqwest::Client, event: &Value) -> Result<Value, FixtureError> {
    let logical_id = event["LogicalResourceId"].as_str().unwrap_or_default();
    let name = event["ResourceProperties"]["Name"]
        .as_str()
        .unwrap_or_default();
    let response = json!({
        "Status": "SUCCESS",
        "PhysicalResourceId": format!("greeting-{logical_id}"),
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": logical_id,
        "Data": {"Greeting": format!("hello {name}")},
    });
    let url = event["ResponseURL"].as_str().unwrap_or_default();
    http.put(url)
        .json(&response)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|error| FixtureError::new("FixtureResponseFailed", error))?;
    Ok(json!({}))
}

async fn send_email(sdk: &SdkConfig, event: &Value) -> Result<Value, FixtureError> {
    let field = |key: &str| event[key].as_str().unwrap_or_default().to_owned();
    let bad = |error: aws_smithy_types::error::operation::BuildError| {
        FixtureError::new("FixtureBadEvent", error)
    };
    let failed = |error: String| FixtureError::new("FixtureSendFailed", error);
    let message_id = if event["api"].as_str() == Some("sesv2") {
        use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
        let content = |data: String| Content::builder().data(data).build().map_err(bad);
        let message = Message::builder()
            .subject(content(field("subject"))?)
            .body(Body::builder().text(content(field("body"))?).build())
            .build();
        aws_sdk_sesv2::Client::new(sdk)
            .send_email()
            .from_email_address(field("from"))
            .destination(Destination::builder().to_addresses(field("to")).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|error| match error.as_service_error() {
                // "MessageRejected: Email address not verified ...", not the raw response.
                Some(service) => failed(service.to_string()),
                None => failed(aws_sdk_sesv2::error::DisplayErrorContext(&error).to_string()),
            })?
            .message_id
            .unwrap_or_default()
    } else {
        use aws_sdk_ses::types::{Body, Content, Destination, Message};
        let content = |data: String| Content::builder().data(data).build().map_err(bad);
        let message = Message::builder()
            .subject(content(field("subject"))?)
            .body(Body::builder().text(content(field("body"))?).build())
            .build();
        aws_sdk_ses::Client::new(sdk)
            .send_email()
            .source(field("from"))
            .destination(Destination::builder().to_addresses(field("to")).build())
            .message(message)
            .send()
            .await
            .map_err(|error| match error.as_service_error() {
                // "MessageRejected: Email address not verified ...", not the raw response.
                Some(service) => failed(service.to_string()),
                None => failed(aws_sdk_ses::error::DisplayErrorContext(&error).to_string()),
            })?
            .message_id
    };
    Ok(json!({"messageId": message_id}))
}
