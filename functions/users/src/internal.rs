//! The internal functions (no route; invoked with Lambda `Invoke`, JSON in and out). Named
//! business failures are Lambda errors whose `errorType` is the name
//! ([`TaskError::Named`]); infrastructure failures are `Retryable`.
//!
//! - `get_address` (the checkout): `{userId, addressId}` → `{addressId, fullName, phone,
//!   line1, line2, city, region, postalCode, country}`; `AddressNotFound` when the user has
//!   no such address (unknown, or another user's: the two are not told apart).

use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shop_adapters::lambda::TaskError;
use shop_domain::{AddressId, DomainError, UserId};

use crate::Deps;
use crate::domain::AddressFields;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetAddressInput {
    user_id: UserId,
    address_id: AddressId,
}

/// What `get-address` answers: the address's fields, ready to copy into an order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AddressAnswer<'a> {
    address_id: AddressId,
    #[serde(flatten)]
    fields: &'a AddressFields,
}

/// `get-address`.
#[tracing::instrument(skip_all)]
pub async fn get_address(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, TaskError> {
    let input: GetAddressInput = serde_json::from_value(event.payload)
        .map_err(|e| TaskError::Domain(DomainError::validation("input", e.to_string())))?;
    let Some(address) = deps
        .profiles
        .address(input.user_id, input.address_id)
        .await?
        .filter(|a| a.user_id == input.user_id)
    else {
        return Err(TaskError::named(
            "AddressNotFound",
            format!("user {} has no address {}", input.user_id, input.address_id),
        ));
    };
    serde_json::to_value(AddressAnswer {
        address_id: address.address_id,
        fields: &address.fields,
    })
    .map_err(|e| DomainError::Internal(format!("address answer: {e}")).into())
}
