//! [`DynamoAccounts`]: the [`AccountStore`] on the auth table.
//!
//! | item | pk | sk | what |
//! |---|---|---|---|
//! | account | `ACCOUNT#<email>` | `ACCOUNT` | the [`Account`]; `expiresAt` (TTL) while unverified |
//! | user | `USER#<userId>` | `USER` | `email`: the way from a token's `sub` to the account |
//! | session | `SESSION#<sessionId>` | `SESSION` | the [`Session`]; TTL at its end |
//! | attempts | `ATTEMPTS#<email>` | `ATTEMPTS` | [`LoginAttempts`], `windowEndsMs`; TTL at the window's end |
//! | emails | `EMAILS#<email>` | `COOLDOWN`, `DAY` | account emails sent, in the attempts' shape (`failures` counts emails) |
//! | outbox | `OUTBOX#<eventId>` | `OUTBOX` | an event, written in the account's transaction |
//!
//! Keying accounts by email makes the email unique without a guard item and makes login one
//! read. Every read is strongly consistent: a login right after verification, or a refresh
//! right after a rotation, must see it. TTL deletion lags (up to 48 h on AWS, never in
//! moto), so lapsed accounts and ended sessions are judged by their data, not their absence.

use crate::domain::{
    Account, AccountStore, Attempt, EmailPolicy, LockoutPolicy, LoginAttempts, Session,
};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shop_adapters::aws::sdk_error;
use shop_adapters::dynamo::attr::{n, s};
use shop_adapters::dynamo::{Item, to_item};
use shop_adapters::outbox::{outbox_put_event, transact_error};
use shop_domain::{DomainError, OutgoingEvent, SessionId, UserId};

/// The auth table.
#[derive(Debug, Clone)]
pub struct DynamoAccounts {
    client: Client,
    table: String,
}

impl DynamoAccounts {
    /// The store on `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The item at (`pk`, `sk`), strongly consistent.
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
    ) -> Result<Option<T>, DomainError> {
        shop_adapters::dynamo::get_item(&self.client, &self.table, pk, sk, true).await
    }

    fn put(
        &self,
        item: Item,
        condition: Option<(&str, Vec<(&str, AttributeValue)>)>,
    ) -> Result<TransactWriteItem, DomainError> {
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        if let Some((expression, values)) = condition {
            put = put.condition_expression(expression);
            for (name, value) in values {
                put = put.expression_attribute_values(name, value);
            }
        }
        let put = put
            .build()
            .map_err(|e| DomainError::Internal(format!("cannot build a Put: {e}")))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The account's item and its user pointer, plus the outbox items of `events`.
    fn account_writes(
        &self,
        account: &Account,
        condition: (&str, Vec<(&str, AttributeValue)>),
        user_condition: Option<(&str, Vec<(&str, AttributeValue)>)>,
        events: &[OutgoingEvent],
    ) -> Result<Vec<TransactWriteItem>, DomainError> {
        let expires_at = account.unverified_until().map(|t| t.timestamp());
        let mut writes = vec![
            self.put(
                to_item(&AccountItem {
                    pk: account_pk(&account.email),
                    sk: "ACCOUNT".to_owned(),
                    r#type: "account".to_owned(),
                    account: account.clone(),
                    expires_at,
                })?,
                Some(condition),
            )?,
            self.put(
                to_item(&UserItem {
                    pk: user_pk(account.user_id),
                    sk: "USER".to_owned(),
                    r#type: "user".to_owned(),
                    email: account.email.clone(),
                    expires_at,
                })?,
                user_condition,
            )?,
        ];
        for event in events {
            writes.push(outbox_put_event(&self.table, event)?);
        }
        Ok(writes)
    }

    async fn transact(
        &self,
        writes: Vec<TransactWriteItem>,
        on_condition: DomainError,
    ) -> Result<(), DomainError> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
            .map_err(|e| transact_error(e, on_condition))?;
        Ok(())
    }

    async fn put_session(
        &self,
        session: &Session,
        condition: (&str, Vec<(&str, AttributeValue)>),
        on_condition: DomainError,
    ) -> Result<(), DomainError> {
        let item = session_item(session)?;
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition.0);
        for (name, value) in condition.1 {
            put = put.expression_attribute_values(name, value);
        }
        match put.send().await {
            Ok(_) => Ok(()),
            Err(err) if shop_adapters::dynamo::is_condition_failed(&err) => Err(on_condition),
            Err(err) => Err(sdk_error("DynamoDB PutItem", err)),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountItem {
    pk: String,
    sk: String,
    r#type: String,
    #[serde(flatten)]
    account: Account,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserItem {
    pk: String,
    sk: String,
    r#type: String,
    email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionItem {
    pk: String,
    sk: String,
    r#type: String,
    #[serde(flatten)]
    session: Session,
    expires_at: i64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AttemptsItem {
    pk: String,
    sk: String,
    r#type: String,
    #[serde(flatten)]
    attempts: LoginAttempts,
    /// When the window closes, in epoch milliseconds: what the conditions compare.
    #[serde(default)]
    window_ends_ms: i64,
    /// The TTL: the window's end in epoch seconds.
    expires_at: i64,
}

fn session_item(session: &Session) -> Result<Item, DomainError> {
    to_item(&SessionItem {
        pk: session_pk(session.session_id),
        sk: "SESSION".to_owned(),
        r#type: "session".to_owned(),
        session: session.clone(),
        expires_at: session.ends_at.timestamp(),
    })
}

fn account_pk(email: &str) -> String {
    format!("ACCOUNT#{email}")
}

fn user_pk(user_id: UserId) -> String {
    format!("USER#{user_id}")
}

fn session_pk(id: SessionId) -> String {
    format!("SESSION#{id}")
}

fn attempts_pk(email: &str) -> String {
    format!("ATTEMPTS#{email}")
}

/// Rounds of [`AccountStore::count_attempt`] before contention is answered `Locked`.
const COUNT_ROUNDS: usize = 4;

impl DynamoAccounts {
    /// Counts one event in the fixed window stored at `(pk, sk)` (the lockout's shape; see
    /// [`AccountStore::count_attempt`] for the guarantees).
    async fn count_in_window(
        &self,
        pk: String,
        sk: &str,
        kind: &str,
        now: DateTime<Utc>,
        policy: &LockoutPolicy,
    ) -> Result<Attempt, DomainError> {
        // No read-then-write decides: an attempt inside the current window is one atomic
        // `ADD`, conditional on the window being open and not yet full. When it fails, a
        // consistent read tells why: a full window is `Locked`; none (or one that has passed)
        // is replaced by a new window holding this attempt, with a conditional put. Two
        // attempts racing to start a window: one put wins, the other counts itself in the
        // winner's window on its next round. Every round that fails lost to a write that
        // counted or reset, so contention past the last round is answered `Locked` (refused,
        // never counted-and-dropped, never a 5xx).
        let now_ms = now.timestamp_millis();
        let window_end = now + policy.window;
        for _ in 0..COUNT_ROUNDS {
            let counted = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(pk.clone()))
                .key("sk", s(sk.to_owned()))
                .update_expression("ADD failures :one")
                .condition_expression("windowEndsMs > :now AND failures < :max")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(now_ms))
                .expression_attribute_values(":max", n(u64::from(policy.max_failures)))
                .send()
                .await;
            match counted {
                Ok(_) => return Ok(Attempt::Allowed),
                Err(err) if shop_adapters::dynamo::is_condition_failed(&err) => {}
                Err(err) => return Err(sdk_error("DynamoDB UpdateItem", err)),
            }
            let stored = self.get::<AttemptsItem>(pk.clone(), sk).await?;
            if let Some(stored) = stored.filter(|s| s.window_ends_ms > now_ms) {
                match stored.attempts.retry_after(now, policy) {
                    Some(retry_after_secs) => return Ok(Attempt::Locked { retry_after_secs }),
                    // Not full after all: it was reset between the two calls; count again.
                    None => continue,
                }
            }
            let started = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(to_item(&AttemptsItem {
                    pk: pk.clone(),
                    sk: sk.to_owned(),
                    r#type: kind.to_owned(),
                    attempts: LoginAttempts {
                        failures: 1,
                        window_start: now,
                    },
                    window_ends_ms: window_end.timestamp_millis(),
                    expires_at: window_end.timestamp(),
                })?))
                .condition_expression("attribute_not_exists(windowEndsMs) OR windowEndsMs <= :now")
                .expression_attribute_values(":now", n(now_ms))
                .send()
                .await;
            match started {
                Ok(_) => return Ok(Attempt::Allowed),
                Err(err) if shop_adapters::dynamo::is_condition_failed(&err) => {}
                Err(err) => return Err(sdk_error("DynamoDB PutItem", err)),
            }
        }
        tracing::warn!(kind, "refused: the count kept changing");
        Ok(Attempt::Locked {
            retry_after_secs: 1,
        })
    }
}

#[async_trait::async_trait]
impl AccountStore for DynamoAccounts {
    async fn account_by_email(&self, email: &str) -> Result<Option<Account>, DomainError> {
        Ok(self
            .get::<AccountItem>(account_pk(email), "ACCOUNT")
            .await?
            .map(|i| i.account))
    }

    async fn account(&self, user_id: UserId) -> Result<Option<Account>, DomainError> {
        let Some(pointer) = self.get::<UserItem>(user_pk(user_id), "USER").await? else {
            return Ok(None);
        };
        // The email may since belong to a newer account (this one lapsed and was replaced).
        Ok(self
            .account_by_email(&pointer.email)
            .await?
            .filter(|a| a.user_id == user_id))
    }

    async fn create_account(
        &self,
        account: &Account,
        replaced: Option<&Account>,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError> {
        let condition = match replaced {
            None => ("attribute_not_exists(pk)", Vec::new()),
            // The replaced account exactly as read: its id and version (a newer account at the
            // same version must not be replaced in its place).
            Some(old) => (
                "userId = :uid AND version = :v",
                vec![(":uid", s(old.user_id.to_string())), (":v", n(old.version))],
            ),
        };
        let writes = self.account_writes(
            account,
            condition,
            Some(("attribute_not_exists(pk)", Vec::new())),
            &events,
        )?;
        self.transact(
            writes,
            DomainError::Conflict("the email is taken".to_owned()),
        )
        .await
    }

    async fn update_account(
        &self,
        account: &Account,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError> {
        let condition = ("version = :v", vec![(":v", n(account.version - 1))]);
        let writes = self.account_writes(account, condition, None, &events)?;
        self.transact(
            writes,
            DomainError::Conflict("the account changed meanwhile; retry".to_owned()),
        )
        .await
    }

    async fn session(&self, id: SessionId) -> Result<Option<Session>, DomainError> {
        Ok(self
            .get::<SessionItem>(session_pk(id), "SESSION")
            .await?
            .map(|i| i.session))
    }

    async fn create_session(&self, session: &Session) -> Result<(), DomainError> {
        self.put_session(
            session,
            ("attribute_not_exists(pk)", Vec::new()),
            DomainError::Conflict("the session exists".to_owned()),
        )
        .await
    }

    async fn rotate_session(
        &self,
        session: &Session,
        account: &Account,
    ) -> Result<(), DomainError> {
        // With the account's epoch as a second guard: a refresh racing a password change or
        // reset (which moves the epoch) cannot mint one more token after it.
        let rotation = self.put(
            session_item(session)?,
            Some((
                "generation = :g AND revoked = :no",
                vec![
                    (":g", n(session.generation - 1)),
                    (":no", AttributeValue::Bool(false)),
                ],
            )),
        )?;
        let epoch = ConditionCheck::builder()
            .table_name(&self.table)
            .key("pk", s(account_pk(&account.email)))
            .key("sk", s("ACCOUNT".to_owned()))
            .condition_expression("sessionEpoch = :e")
            .expression_attribute_values(":e", n(session.epoch))
            .build()
            .map_err(|e| DomainError::Internal(format!("cannot build a ConditionCheck: {e}")))?;
        let writes = vec![
            rotation,
            TransactWriteItem::builder().condition_check(epoch).build(),
        ];
        self.transact(
            writes,
            DomainError::Conflict("another refresh rotated the session".to_owned()),
        )
        .await
    }

    async fn revoke_session(&self, id: SessionId) -> Result<(), DomainError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(session_pk(id)))
            .key("sk", s("SESSION".to_owned()))
            .update_expression("SET revoked = :yes")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if shop_adapters::dynamo::is_condition_failed(&err) => Ok(()),
            Err(err) => Err(sdk_error("DynamoDB UpdateItem", err)),
        }
    }

    async fn login_attempts(&self, email: &str) -> Result<Option<LoginAttempts>, DomainError> {
        Ok(self
            .get::<AttemptsItem>(attempts_pk(email), "ATTEMPTS")
            .await?
            .map(|i| i.attempts))
    }

    async fn count_attempt(
        &self,
        email: &str,
        now: DateTime<Utc>,
        policy: &LockoutPolicy,
    ) -> Result<Attempt, DomainError> {
        self.count_in_window(attempts_pk(email), "ATTEMPTS", "attempts", now, policy)
            .await
    }

    async fn clear_failed_logins(&self, email: &str) -> Result<(), DomainError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(attempts_pk(email)))
            .key("sk", s("ATTEMPTS".to_owned()))
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB DeleteItem", e))?;
        Ok(())
    }

    async fn count_email(
        &self,
        email: &str,
        now: DateTime<Utc>,
        policy: &EmailPolicy,
    ) -> Result<Attempt, DomainError> {
        for (window, limit) in policy.windows() {
            let pk = format!("EMAILS#{email}");
            let counted = self
                .count_in_window(pk, window.name(), "emails", now, &limit)
                .await?;
            if counted != Attempt::Allowed {
                return Ok(counted);
            }
        }
        Ok(Attempt::Allowed)
    }
}
