//! Timestamps in one RFC 3339 form (`2026-11-02T10:00:00.123Z`, UTC, milliseconds), for
//! `#[serde(with = "shop_domain::timestamp")]`: producers in other languages and JSON Schema
//! `date-time` checks accept it, and string order is time order in DynamoDB and JSON alike.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// Writes `t` as `2026-11-02T10:00:00.123Z`.
pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// Reads any RFC 3339 timestamp, as UTC.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
    DateTime::parse_from_rfc3339(&s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(serde::de::Error::custom)
}
