//! [`DynamoProfiles`]: the [`ProfileStore`] on the users table.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | profile | `USER#<userId>` | `PROFILE` |
//! | address | `USER#<userId>` | `ADDRESS#<addressId>` |
//! | outbox | `OUTBOX#<eventId>` | `OUTBOX` |
//!
//! A user's profile and addresses share a partition: the address list is one Query. Every
//! address write is a transaction with the profile's next version (count and default live
//! there). The admin list is a Scan filtered in memory, fine for an admin screen over
//! thousands of users; a search index is the way past that (see the issue notes).

use crate::domain::{Address, AuthFacts, Preferences, Profile, ProfileStore, UserFilter};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};
use shop_adapters::aws::sdk_error;
use shop_adapters::dynamo::attr::{n, s, timestamp};
use shop_adapters::dynamo::{Item, from_item, to_item};
use shop_adapters::outbox::{outbox_put_event, transact_error};
use shop_domain::{AddressId, DomainError, OutgoingEvent, UserId};

/// The users table.
#[derive(Debug, Clone)]
pub struct DynamoProfiles {
    client: Client,
    table: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileItem {
    pk: String,
    sk: String,
    r#type: String,
    #[serde(flatten)]
    profile: Profile,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddressItem {
    pk: String,
    sk: String,
    r#type: String,
    #[serde(flatten)]
    address: Address,
}

fn user_pk(user_id: UserId) -> String {
    format!("USER#{user_id}")
}

fn address_sk(address_id: AddressId) -> String {
    format!("ADDRESS#{address_id}")
}

const PROFILE_SK: &str = "PROFILE";

fn conflict() -> DomainError {
    DomainError::Conflict("the profile changed meanwhile; retry".to_owned())
}

impl DynamoProfiles {
    /// The store on `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn profile_item(profile: &Profile) -> Result<Item, DomainError> {
        to_item(&ProfileItem {
            pk: user_pk(profile.user_id),
            sk: PROFILE_SK.to_owned(),
            r#type: "profile".to_owned(),
            profile: profile.clone(),
        })
    }

    /// The Put of `profile`, conditional on the stored one being its previous version.
    fn next_profile(&self, profile: &Profile) -> Result<TransactWriteItem, DomainError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(Self::profile_item(profile)?))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(profile.version - 1))
            .build()
            .map_err(|e| DomainError::Internal(format!("cannot build a Put: {e}")))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    async fn transact(&self, writes: Vec<TransactWriteItem>) -> Result<(), DomainError> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
            .map_err(|e| transact_error(e, conflict()))?;
        Ok(())
    }

    /// The item at (`pk`, `sk`), strongly consistent.
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        pk: String,
        sk: String,
    ) -> Result<Option<T>, DomainError> {
        shop_adapters::dynamo::get_item(&self.client, &self.table, pk, &sk, true).await
    }
}

#[async_trait::async_trait]
impl ProfileStore for DynamoProfiles {
    async fn profile(&self, user_id: UserId) -> Result<Option<Profile>, DomainError> {
        Ok(self
            .get::<ProfileItem>(user_pk(user_id), PROFILE_SK.to_owned())
            .await?
            .map(|i| i.profile))
    }

    async fn create_profile(&self, profile: &Profile) -> Result<Profile, DomainError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::profile_item(profile)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(profile.clone()),
            Err(err) if shop_adapters::dynamo::is_condition_failed(&err) => {
                self.profile(profile.user_id).await?.ok_or_else(|| {
                    DomainError::Unavailable("the profile vanished while being created".to_owned())
                })
            }
            Err(err) => Err(sdk_error("DynamoDB PutItem", err)),
        }
    }

    async fn apply_auth_facts(&self, facts: &AuthFacts) -> Result<(), DomainError> {
        let preferences = serde_dynamo::to_attribute_value(Preferences::default())
            .map_err(|e| DomainError::Internal(format!("cannot map preferences: {e}")))?;
        let roles = serde_dynamo::to_attribute_value(&facts.roles)
            .map_err(|e| DomainError::Internal(format!("cannot map roles: {e}")))?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(user_pk(facts.user_id)))
            .key("sk", s(PROFILE_SK))
            .update_expression(
                "SET #type = :type, userId = :uid, email = :email, \
                 fullName = if_not_exists(fullName, :name), #roles = :roles, rolesVersion = :rv, \
                 preferences = if_not_exists(preferences, :prefs), \
                 addressCount = if_not_exists(addressCount, :zero), \
                 createdAt = if_not_exists(createdAt, :at), updatedAt = :at, \
                 version = if_not_exists(version, :zero) + :one",
            )
            .condition_expression("attribute_not_exists(rolesVersion) OR rolesVersion < :rv")
            .expression_attribute_names("#type", "type")
            .expression_attribute_names("#roles", "roles")
            .expression_attribute_values(":type", s("profile"))
            .expression_attribute_values(":uid", s(facts.user_id.to_string()))
            .expression_attribute_values(":email", s(&facts.email))
            .expression_attribute_values(":name", s(&facts.full_name))
            .expression_attribute_values(":roles", roles)
            .expression_attribute_values(":rv", n(facts.version))
            .expression_attribute_values(":prefs", preferences)
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":at", timestamp(facts.at))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // The profile has seen this event or a newer one: nothing to do.
            Err(err) if shop_adapters::dynamo::is_condition_failed(&err) => Ok(()),
            Err(err) => Err(sdk_error("DynamoDB UpdateItem", err)),
        }
    }

    async fn update_profile(
        &self,
        profile: &Profile,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError> {
        let mut writes = vec![self.next_profile(profile)?];
        for event in &events {
            writes.push(outbox_put_event(&self.table, event)?);
        }
        self.transact(writes).await
    }

    async fn addresses(&self, user_id: UserId) -> Result<Vec<Address>, DomainError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(user_pk(user_id)))
            .expression_attribute_values(":prefix", s("ADDRESS#"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB Query", e))?;
        output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| from_item::<AddressItem>(item).map(|i| i.address))
            .collect()
    }

    async fn address(
        &self,
        user_id: UserId,
        address_id: AddressId,
    ) -> Result<Option<Address>, DomainError> {
        Ok(self
            .get::<AddressItem>(user_pk(user_id), address_sk(address_id))
            .await?
            .map(|i| i.address))
    }

    async fn put_address(
        &self,
        profile: &Profile,
        address: &Address,
        is_new: bool,
    ) -> Result<(), DomainError> {
        let item = to_item(&AddressItem {
            pk: user_pk(address.user_id),
            sk: address_sk(address.address_id),
            r#type: "address".to_owned(),
            address: address.clone(),
        })?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(if is_new {
                "attribute_not_exists(pk)"
            } else {
                "attribute_exists(pk)"
            })
            .build()
            .map_err(|e| DomainError::Internal(format!("cannot build a Put: {e}")))?;
        self.transact(vec![
            self.next_profile(profile)?,
            TransactWriteItem::builder().put(put).build(),
        ])
        .await
    }

    async fn delete_address(
        &self,
        profile: &Profile,
        address_id: AddressId,
    ) -> Result<(), DomainError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(user_pk(profile.user_id)))
            .key("sk", s(address_sk(address_id)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(|e| DomainError::Internal(format!("cannot build a Delete: {e}")))?;
        self.transact(vec![
            self.next_profile(profile)?,
            TransactWriteItem::builder().delete(delete).build(),
        ])
        .await
    }

    async fn list_profiles(
        &self,
        filter: &UserFilter,
        page_size: u32,
        after: Option<UserId>,
    ) -> Result<(Vec<Profile>, Option<UserId>), DomainError> {
        let mut start = after.map(|id| {
            [("pk", s(user_pk(id))), ("sk", s(PROFILE_SK))]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect::<Item>()
        });
        let mut page = Vec::new();
        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("#type = :profile")
                .expression_attribute_names("#type", "type")
                .expression_attribute_values(":profile", s("profile"))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("DynamoDB Scan", e))?;
            for item in output.items.unwrap_or_default() {
                let profile = from_item::<ProfileItem>(item)?.profile;
                if !filter.accepts(&profile) {
                    continue;
                }
                if page.len() == page_size as usize {
                    // One more exists: the page is full, and the last on it is the cursor.
                    let last = page.last().map(|p: &Profile| p.user_id);
                    return Ok((page, last));
                }
                page.push(profile);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok((page, None)),
            }
        }
    }
}
