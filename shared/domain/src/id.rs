//! Typed ids: one newtype per kind of thing, so an `OrderId` can never be passed where a
//! `ProductId` is expected.
//!
//! Every id is a [ULID](https://github.com/ulid/spec): 26 Crockford base-32 characters,
//! sortable by creation time, which keeps DynamoDB sort keys in insertion order for free.
//! On the wire (JSON, DynamoDB, paths) an id is just its ULID string.

/// Defines a ULID-backed id newtype with `new()`, `Display`, `FromStr`, `Serialize` and
/// `Deserialize` (as the ULID string).
///
/// The second argument is the field name used in validation errors when a string is not a
/// valid id, so a bad `/api/products/{id}` reports `{"field": "productId", …}`.
///
/// ```ignore
/// shop_domain::typed_id!(
///     /// Identifies a wish list.
///     WishListId, "wishListId"
/// );
/// ```
#[macro_export]
macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident, $field:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name($crate::__ulid::Ulid);

        impl $name {
            /// A fresh id; ULIDs sort by creation time.
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self($crate::__ulid::Ulid::new())
            }

            /// Wraps an existing ULID.
            pub const fn from_ulid(ulid: $crate::__ulid::Ulid) -> Self {
                Self(ulid)
            }

            /// The underlying ULID.
            pub const fn ulid(&self) -> $crate::__ulid::Ulid {
                self.0
            }

            /// The field name this id is reported under in validation errors.
            pub const FIELD: &'static str = $field;
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::DomainError;

            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                $crate::__ulid::Ulid::from_string(s).map(Self).map_err(|_| {
                    $crate::DomainError::validation(
                        $field,
                        "must be a 26-character ULID (Crockford base32)",
                    )
                })
            }
        }

        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.collect_str(&self.0)
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<Self, D::Error> {
                // Borrowing would fail for ids inside escaped JSON strings; a Cow copes with both.
                let s = <::std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                s.parse().map_err(|_| {
                    <D::Error as $crate::__serde::de::Error>::custom(format_args!(
                        "invalid {}: `{}` is not a ULID",
                        $field, s
                    ))
                })
            }
        }
    };
}

typed_id!(
    /// Identifies a product in the catalog.
    ProductId, "productId"
);
typed_id!(
    /// Identifies an order.
    OrderId, "orderId"
);
typed_id!(
    /// Identifies a user account.
    UserId, "userId"
);
typed_id!(
    /// Identifies one event; consumers dedupe on it.
    EventId, "eventId"
);
typed_id!(
    /// Ties together everything caused by one request: logs, state machine, events.
    CorrelationId, "correlationId"
);
typed_id!(
    /// Identifies a product category.
    CategoryId, "categoryId"
);
typed_id!(
    /// Identifies a brand.
    BrandId, "brandId"
);
typed_id!(
    /// Identifies a product review.
    ReviewId, "reviewId"
);
typed_id!(
    /// Identifies a payment attempt.
    PaymentId, "paymentId"
);
typed_id!(
    /// Identifies a shopping cart.
    CartId, "cartId"
);
typed_id!(
    /// Identifies a discount code or campaign.
    DiscountId, "discountId"
);
typed_id!(
    /// Identifies a stock reservation made during checkout.
    ReservationId, "reservationId"
);
typed_id!(
    /// Identifies a notification sent to a user.
    NotificationId, "notificationId"
);
typed_id!(
    /// Identifies one of a user's saved addresses.
    AddressId, "addressId"
);
typed_id!(
    /// Identifies a refresh-token family: one login and every token rotated from it.
    SessionId, "sessionId"
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DomainError;

    #[test]
    fn id_roundtrips_through_string_and_json() {
        let id = ProductId::new();
        let text = id.to_string();
        assert_eq!(text.len(), 26);
        assert_eq!(text.parse::<ProductId>().unwrap(), id);

        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<ProductId>(&json).unwrap(), id);
    }

    #[test]
    fn invalid_id_is_a_validation_error_naming_the_field() {
        let err = "not-a-ulid".parse::<OrderId>().unwrap_err();
        match err {
            DomainError::Validation(fields) => assert_eq!(fields[0].field, "orderId"),
            other => panic!("expected validation error, got {other:?}"),
        }
        assert!("".parse::<OrderId>().is_err());
        // 27 characters: one too many.
        assert!("01ARZ3NDEKTSV4RRFFQ69G5FAVX".parse::<OrderId>().is_err());
    }

    #[test]
    fn invalid_id_in_json_is_rejected() {
        let err = serde_json::from_str::<UserId>("\"nope\"").unwrap_err();
        assert!(err.to_string().contains("invalid userId"), "{err}");
        assert!(serde_json::from_str::<UserId>("42").is_err());
    }

    #[test]
    fn ids_created_later_sort_after_earlier_ones() {
        let a = "01ARZ3NDEKTSV4RRFFQ69G5FAV".parse::<EventId>().unwrap();
        let b = EventId::new();
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
    }
}
