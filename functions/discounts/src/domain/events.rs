//! The discounts service's events, source `shop.discounts`, schema version 1, each committed
//! with its change through the outbox: `DiscountCreated` and `DiscountModified` carry the
//! discount as the admin API shows it, `DiscountDeleted` its id and code. Aggregate version:
//! the discount's version (a deletion one past its last).

use serde::{Deserialize, Serialize};
use shop_domain::{DiscountId, DomainEvent};

use super::discount::Discount;

/// The bus source of every discounts event.
pub const SOURCE: &str = "shop.discounts";

/// A discount was created (aggregate version 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscountCreated {
    /// The new discount.
    pub discount: Discount,
}

/// A discount was replaced; `discount` is how it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscountModified {
    /// The discount after the change.
    pub discount: Discount,
}

/// A discount was deleted; its code is free again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscountDeleted {
    /// The deleted discount.
    pub discount_id: DiscountId,
    /// The code it held, if any.
    pub code: Option<String>,
}

macro_rules! discounts_event {
    ($name:ident) => {
        impl DomainEvent for $name {
            const TYPE: &'static str = stringify!($name);
            const SOURCE: &'static str = SOURCE;
            const VERSION: u32 = 1;
        }
    };
}

discounts_event!(DiscountCreated);
discounts_event!(DiscountModified);
discounts_event!(DiscountDeleted);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DiscountInput;
    use chrono::{DateTime, Utc};
    use serde_json::json;
    use shop_domain::testing::{assert_matches_its_schema, outgoing_at};

    fn at() -> DateTime<Utc> {
        "2026-12-03T10:00:00.123Z".parse().unwrap()
    }

    fn discount(body: serde_json::Value) -> Discount {
        Discount::create(
            DiscountInput::from_json(&body).unwrap(),
            DiscountId::new(),
            at(),
        )
    }

    #[test]
    fn every_event_matches_its_schema() {
        let coupon = discount(
            json!({"code": "WELCOME10", "name": "Welcome", "type": "percentage",
            "value": 10, "perUserLimit": 1}),
        );
        let campaign = discount(json!({"name": "Winter", "type": "fixed", "value": 500,
            "currency": "EUR", "minSubtotal": 2000, "maxDiscount": 500, "automatic": true,
            "stackable": true, "startsAt": "2026-12-01T00:00:00Z", "endsAt": "2027-01-01T00:00:00Z",
            "usageLimit": 100, "appliesTo": {"productIds": ["01JBQ00000000000000000PR01"],
            "categoryIds": ["01JBQ00000000000000000CA01"], "brandIds": ["01JBQ00000000000000000BR01"]}}));
        for d in [&coupon, &campaign] {
            assert_matches_its_schema(&outgoing_at(
                at(),
                1,
                DiscountCreated {
                    discount: d.clone(),
                },
            ));
            let next = d.replaced(
                DiscountInput::from_json(
                    &json!({"name": "Renamed", "type": "percentage", "value": 5,
                    "automatic": true}),
                )
                .unwrap(),
                at(),
            );
            let next = next.unwrap();
            assert_matches_its_schema(&outgoing_at(
                at(),
                next.version,
                DiscountModified {
                    discount: next.clone(),
                },
            ));
            assert_matches_its_schema(&outgoing_at(
                at(),
                next.version + 1,
                DiscountDeleted {
                    discount_id: d.id,
                    code: d.code.clone(),
                },
            ));
        }
        let mut broken = outgoing_at(
            at(),
            1,
            DiscountCreated {
                discount: coupon.clone(),
            },
        );
        broken.detail["data"]["discount"]["type"] = json!("bogus");
        let errors = shop_schemas::errors(&broken.source, &broken.detail_type, &broken.detail);
        assert!(!errors.is_empty());
    }

    #[test]
    fn there_is_one_schema_per_discounts_event() {
        let mut files: Vec<String> = std::fs::read_dir(shop_schemas::schemas_dir().join(SOURCE))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".json") && name != "defs.json")
            .collect();
        files.sort();
        assert_eq!(
            files,
            [
                "DiscountCreated.json",
                "DiscountDeleted.json",
                "DiscountModified.json"
            ]
        );
    }
}
