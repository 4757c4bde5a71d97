//! A client of the shop's API for the end-to-end tests: a bearer token or none, JSON in and
//! out, and the answer's status, headers and body.

use chrono::TimeDelta;
use localcloud::LocalCloud;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shop_e2e::http;

/// A caller with a local-only token.
pub(crate) struct Client<'a> {
    pub(crate) cloud: &'a LocalCloud,
    pub(crate) token: Option<String>,
}

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

pub(crate) async fn as_user<'a>(cloud: &'a LocalCloud, role: &str, subject: &str) -> Client<'a> {
    let token = localcloud::token::mint_for(
        &cloud.sdk_config(),
        &cloud.stack().outputs,
        role,
        subject,
        TimeDelta::minutes(10),
    )
    .await
    .unwrap();
    Client {
        cloud,
        token: Some(token),
    }
}

pub(crate) fn anonymous(cloud: &LocalCloud) -> Client<'_> {
    Client { cloud, token: None }
}

/// A caller holding `token` (from a login).
pub(crate) fn bearer<'a>(cloud: &'a LocalCloud, token: &str) -> Client<'a> {
    Client {
        cloud,
        token: Some(token.to_owned()),
    }
}

pub(crate) fn suffix() -> String {
    shop_domain::EventId::new().to_string().to_lowercase()
}

impl Client<'_> {
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = http().request(method, format!("{}{path}", self.cloud.api_url()));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None, &[]).await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(Method::POST, path, Some(body), &[]).await
    }

    pub(crate) async fn put(&self, path: &str, body: Value) -> Answer {
        self.send(Method::PUT, path, Some(body), &[]).await
    }

    pub(crate) async fn patch(&self, path: &str, body: Value) -> Answer {
        self.send(Method::PATCH, path, Some(body), &[]).await
    }

    pub(crate) async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, path, None, &[]).await
    }

    /// POSTs and insists on 201; the created resource.
    pub(crate) async fn create(&self, path: &str, body: Value) -> Value {
        let answer = self.post(path, body).await;
        assert_eq!(answer.status, 201, "POST {path}: {}", answer.body);
        answer.body
    }
}

/// A rule of the test's own on the shop's bus, delivering one source's events to a queue of
/// its own, so a test reads what was published without disturbing the shop's consumers.
pub(crate) struct BusTap {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl BusTap {
    /// Taps the events of `source` from now on.
    pub(crate) async fn new(cloud: &LocalCloud, source: &str) -> Self {
        let sdk = cloud.sdk_config();
        let bus = cloud.stack().outputs["EventBusName"].as_str().unwrap();
        let name = format!("e2e-{}-{}", source.replace('.', "-"), suffix());
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let queue_url = sqs
            .create_queue()
            .queue_name(&name)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let arn = aws_sdk_sqs::types::QueueAttributeName::QueueArn;
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(arn.clone())
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&arn]
            .clone();
        let events = aws_sdk_eventbridge::Client::new(&sdk);
        events
            .put_rule()
            .name(&name)
            .event_bus_name(bus)
            .event_pattern(serde_json::json!({ "source": [source] }).to_string())
            .send()
            .await
            .unwrap();
        let target = aws_sdk_eventbridge::types::Target::builder()
            .id("queue")
            .arn(queue_arn)
            .build()
            .unwrap();
        events
            .put_targets()
            .rule(&name)
            .event_bus_name(bus)
            .targets(target)
            .send()
            .await
            .unwrap();
        Self { sqs, queue_url }
    }

    /// The bus events received until `enough` holds for them, or 60 s have passed.
    pub(crate) async fn collect(&self, enough: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let mut received: Vec<Value> = Vec::new();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        while !enough(&received) && tokio::time::Instant::now() < deadline {
            let output = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            for message in output.messages() {
                received.push(serde_json::from_str(message.body().unwrap()).unwrap());
            }
        }
        received
    }
}

/// What an internal function answered through the edge's Lambda `Invoke`: its `errorType` when
/// it failed, and its payload.
pub struct Invoked {
    pub error: Option<String>,
    pub payload: Value,
}

/// Invokes the function `logical_id` of the cloud's stack with `payload`.
pub async fn invoke(cloud: &LocalCloud, logical_id: &str, payload: Value) -> Invoked {
    let name = &cloud.stack().resources[logical_id].physical_id;
    let url = format!(
        "{}/2015-03-31/functions/{name}/invocations",
        cloud.edge_url()
    );
    let response = http()
        .post(&url)
        .body(payload.to_string())
        .send()
        .await
        .expect("Invoke through the edge");
    assert_eq!(response.status(), 200, "{logical_id}");
    let failed = response.headers().contains_key("x-amz-function-error");
    let payload: Value = response.json().await.expect("a JSON invoke result");
    Invoked {
        error: failed.then(|| payload["errorType"].as_str().unwrap_or("?").to_owned()),
        payload,
    }
}

/// Insists the invocation succeeded; its payload.
pub async fn ok(cloud: &LocalCloud, logical_id: &str, payload: Value) -> Value {
    let answer = invoke(cloud, logical_id, payload).await;
    assert_eq!(answer.error, None, "{logical_id}: {}", answer.payload);
    answer.payload
}

/// An active product of `seller` priced `price` EUR cents with variants `skus` (none: a
/// product sold as itself), in a new brand and category the admin makes; its id.
pub async fn new_product(
    admin: &Client<'_>,
    seller: &Client<'_>,
    price: i64,
    skus: &[&str],
) -> String {
    let s = suffix();
    let brand = admin
        .create("/api/brands", json!({"name": format!("Brand {s}")}))
        .await;
    let category = admin
        .create("/api/categories", json!({"name": format!("Category {s}")}))
        .await;
    let variants: Vec<Value> = skus
        .iter()
        .map(|sku| json!({"sku": sku, "name": sku, "attributes": {}}))
        .collect();
    let created = seller
        .create(
            "/api/products",
            json!({
                "name": format!("Product {s}"),
                "description": "Made for an end-to-end test.",
                "price": price,
                "currency": "EUR",
                "categoryId": category["id"],
                "brandId": brand["id"],
                "status": "active",
                "attributes": {},
                "variants": variants,
                "images": ["https://img.example.com/product.jpg"]
            }),
        )
        .await;
    created["id"].as_str().expect("a product id").to_owned()
}
