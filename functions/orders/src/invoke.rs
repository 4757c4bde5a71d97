//! The adapters of the ports that are not the store: the cart's `price-cart` and the users'
//! `get-address` (Lambda `Invoke`, [`Function`]), the checkout state machine (Step Functions
//! `StartExecution`) and the ops topic (SNS `Publish`).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shop_adapters::aws::sdk_error;
use shop_adapters::invoke::Function;
use shop_domain::{AddressId, DomainError, OrderId};

use crate::domain::{
    AddressBook, AddressLookup, CartPricing, OpsAlerts, PricedCart, Saga, SagaStart,
    ShippingAddress,
};

/// The cart's `price-cart`.
pub struct InvokedCart {
    function: Function,
}

impl InvokedCart {
    /// The port over `function`.
    pub fn new(function: Function) -> Self {
        Self { function }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PriceInput<'a> {
    user_id: &'a str,
    discount_code: Option<&'a str>,
}

#[async_trait]
impl CartPricing for InvokedCart {
    async fn price(&self, user: &str, code: Option<&str>) -> Result<PricedCart, DomainError> {
        let input = PriceInput {
            user_id: user,
            discount_code: code,
        };
        self.function.call(&input).await?.map_err(|e| {
            DomainError::Unavailable(format!(
                "price-cart refused: {}: {}",
                e.error_type, e.message
            ))
        })
    }
}

/// The users' `get-address`.
pub struct InvokedUsers {
    function: Function,
}

impl InvokedUsers {
    /// The port over `function`.
    pub fn new(function: Function) -> Self {
        Self { function }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AddressInput<'a> {
    user_id: &'a str,
    address_id: AddressId,
}

/// `get-address`'s answer: the address fields beside its id.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddressOutput {
    full_name: String,
    #[serde(default)]
    phone: Option<String>,
    line1: String,
    #[serde(default)]
    line2: Option<String>,
    city: String,
    #[serde(default)]
    region: Option<String>,
    postal_code: String,
    country: String,
}

#[async_trait]
impl AddressBook for InvokedUsers {
    async fn address(&self, user: &str, id: AddressId) -> Result<AddressLookup, DomainError> {
        let input = AddressInput {
            user_id: user,
            address_id: id,
        };
        match self.function.call::<_, AddressOutput>(&input).await? {
            Ok(a) => Ok(AddressLookup::Found(ShippingAddress {
                full_name: a.full_name,
                phone: a.phone,
                line1: a.line1,
                line2: a.line2,
                city: a.city,
                region: a.region,
                postal_code: a.postal_code,
                country: a.country,
            })),
            Err(e) if e.error_type == "AddressNotFound" => Ok(AddressLookup::NotFound),
            Err(e) => Err(DomainError::Unavailable(format!(
                "get-address refused: {}: {}",
                e.error_type, e.message
            ))),
        }
    }
}

/// The checkout state machine on Step Functions.
pub struct SfnSaga {
    client: aws_sdk_sfn::Client,
    state_machine_arn: String,
}

impl SfnSaga {
    /// Executions of `state_machine_arn`.
    pub fn new(client: aws_sdk_sfn::Client, state_machine_arn: impl Into<String>) -> Self {
        Self {
            client,
            state_machine_arn: state_machine_arn.into(),
        }
    }
}

#[async_trait]
impl Saga for SfnSaga {
    async fn start(
        &self,
        order: OrderId,
        input: &serde_json::Value,
    ) -> Result<SagaStart, DomainError> {
        let result = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(order.to_string())
            .input(input.to_string())
            .send()
            .await;
        match result {
            Ok(_) => Ok(SagaStart::Started),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_execution_already_exists()) =>
            {
                Ok(SagaStart::AlreadyStarted)
            }
            Err(err) => Err(sdk_error("Step Functions StartExecution", err)),
        }
    }
}

/// The ops topic on SNS.
pub struct SnsOps {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsOps {
    /// Messages to `topic_arn`.
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

#[async_trait]
impl OpsAlerts for SnsOps {
    async fn alert(&self, subject: &str, message: &str) -> Result<(), DomainError> {
        let subject: String = subject.chars().take(100).collect();
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map_err(|err| sdk_error("SNS Publish", err))?;
        Ok(())
    }
}
