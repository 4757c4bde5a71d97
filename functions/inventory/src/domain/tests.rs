//! The domain's rules and the events against their schemas.

use chrono::{DateTime, Utc};
use shop_domain::testing::{assert_matches_its_schema, outgoing_at};
use shop_domain::{DomainError, ProductId, ReservationId};

use super::events::{
    BackInStock, LowStockDetected, OutOfStock, StockAdjusted, StockCommitted, StockReleased,
    StockReserved,
};
use super::*;

fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T10:00:00.123Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn unit(on_hand: u64, reserved: u64, threshold: u64) -> Unit {
    let key = UnitKey::new(ProductId::new(), "tee-m");
    Unit {
        on_hand,
        reserved,
        available: on_hand - reserved,
        low_stock_threshold: threshold,
        version: 3,
        ..Unit::new(&key, "seller-1", 1, at())
    }
}

fn line(product_id: ProductId, sku: &str, quantity: u64) -> ReserveLine {
    ReserveLine {
        product_id,
        sku: sku.into(),
        quantity,
    }
}

#[test]
fn lines_of_one_unit_are_summed_in_first_seen_order() {
    let (p, q) = (ProductId::new(), ProductId::new());
    let request = ReserveRequest::parse(ReserveInput {
        reservation_id: ReservationId::new(),
        items: vec![line(p, "a", 2), line(q, "a", 1), line(p, "a", 3)],
        hold_seconds: 900,
    })
    .unwrap();
    let summed: Vec<(ProductId, &str, u64)> = request
        .items
        .iter()
        .map(|i| (i.product_id, i.sku.as_str(), i.quantity))
        .collect();
    assert_eq!(summed, [(p, "a", 5), (q, "a", 1)]);
}

#[test]
fn a_bad_reservation_names_every_field() {
    let p = ProductId::new();
    let err = ReserveRequest::parse(ReserveInput {
        reservation_id: ReservationId::new(),
        items: vec![line(p, "a b", 1), line(p, "b", 0)],
        hold_seconds: 0,
    })
    .unwrap_err();
    let fields: Vec<&str> = err.details().iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["holdSeconds", "items[0].sku", "items[1].quantity"]);
    let empty = ReserveRequest::parse(ReserveInput {
        reservation_id: ReservationId::new(),
        items: vec![],
        hold_seconds: 1,
    });
    assert!(matches!(empty, Err(DomainError::Validation(_))));
    let wide = ReserveRequest::parse(ReserveInput {
        reservation_id: ReservationId::new(),
        items: (0..49).map(|_| line(ProductId::new(), "a", 1)).collect(),
        hold_seconds: 1,
    });
    assert!(matches!(wide, Err(DomainError::Validation(_))));
}

#[test]
fn on_hand_never_goes_below_reserved_or_zero() {
    let stock = unit(5, 3, 0);
    assert!(matches!(
        stock.with_stock(2, 0, at()),
        Err(DomainError::Unprocessable(_))
    ));
    let set = stock.with_stock(3, 1, at()).unwrap();
    assert_eq!((set.on_hand, set.available, set.version), (3, 0, 4));
    assert!(matches!(
        stock.adjusted(-3, at()),
        Err(DomainError::Unprocessable(_))
    ));
    assert!(matches!(
        unit(0, 0, 0).adjusted(-1, at()),
        Err(DomainError::Unprocessable(_))
    ));
    let added = stock.adjusted(4, at()).unwrap();
    assert_eq!((added.on_hand, added.reserved, added.available), (9, 3, 6));
}

#[test]
fn crossings_are_announced_once_each_way() {
    // In stock above the threshold, announced as such: nothing to announce.
    let mut stock = unit(10, 0, 3);
    stock.out_flag = false;
    assert!(!stock.crossings().changes(&stock));
    // Below the threshold: low once; after the flag flips, nothing more.
    let mut low = unit(10, 8, 3);
    low.out_flag = false;
    let c = low.crossings();
    assert!(c.low_detected && !c.out_of_stock && !c.back_in_stock);
    low.low_flag = c.low_flag;
    assert!(!low.crossings().changes(&low));
    assert!(!low.crossings().low_detected);
    // Out: out of stock (and still low, already announced).
    let mut out = unit(10, 10, 3);
    out.low_flag = true;
    out.out_flag = false;
    let c = out.crossings();
    assert!(c.out_of_stock && !c.low_detected);
    // Back above the threshold: back in stock, the low flag resets without an event.
    let mut back = unit(10, 0, 3);
    back.low_flag = true;
    back.out_flag = true;
    let c = back.crossings();
    assert!(c.back_in_stock && !c.low_flag && !c.low_detected);
    // A threshold of 0 never alerts.
    assert!(!unit(1, 1, 0).crossings().low_flag);
}

#[test]
fn adjustments_need_a_delta_and_a_reason() {
    let ok = AdjustmentInput {
        delta: -2,
        reason: "  damaged ".into(),
    };
    assert_eq!(ok.validate().unwrap(), "damaged");
    let err = AdjustmentInput {
        delta: 0,
        reason: " ".into(),
    }
    .validate()
    .unwrap_err();
    assert_eq!(err.details().len(), 2);
    let err = StockInput {
        on_hand: MAX_QUANTITY + 1,
        low_stock_threshold: 0,
    }
    .validate()
    .unwrap_err();
    assert_eq!(err.details()[0].field, "onHand");
}

#[test]
fn catalog_events_become_product_facts() {
    let id = ProductId::new();
    let product = serde_json::json!({
        "id": id, "sellerId": "seller-1", "status": "active", "name": "Tee",
        "variants": [{"sku": "tee-s", "name": "S", "attributes": {}}, {"sku": "tee-m", "name": "M", "attributes": {}}]
    });
    let created =
        catalog::product_facts("ProductCreated", serde_json::json!({"product": product}), 1)
            .unwrap()
            .unwrap();
    assert_eq!(created.skus, ["tee-s", "tee-m"]);
    let plain =
        serde_json::json!({"id": id, "sellerId": "seller-1", "status": "draft", "variants": []});
    let modified = catalog::product_facts(
        "ProductModified",
        serde_json::json!({"old": plain, "new": plain, "changedFields": ["status"]}),
        2,
    )
    .unwrap()
    .unwrap();
    assert_eq!(modified.skus, [id.to_string()]);
    assert_eq!((modified.status.as_str(), modified.version), ("draft", 2));
    let deleted = catalog::product_facts(
        "ProductDeleted",
        serde_json::json!({"productId": id, "sellerId": "seller-1"}),
        3,
    )
    .unwrap()
    .unwrap();
    assert!(deleted.is_deleted() && deleted.skus.is_empty());
    assert_eq!(
        catalog::product_facts("BrandCreated", serde_json::json!({}), 1).unwrap(),
        None
    );
    assert!(catalog::product_facts("ProductCreated", serde_json::json!({}), 1).is_err());
}

#[test]
fn every_event_matches_its_schema() {
    let stock = unit(10, 2, 3);
    let items = vec![ReservedItem {
        product_id: stock.product_id,
        sku: stock.sku.clone(),
        quantity: 2,
    }];
    let id = ReservationId::new();
    let events = [
        outgoing_at(
            at(),
            1,
            StockReserved {
                reservation_id: id,
                items: items.clone(),
                expires_at: "2026-12-01T10:15:00.123Z".into(),
            },
        ),
        outgoing_at(
            at(),
            2,
            StockReleased {
                reservation_id: id,
                items: items.clone(),
                reason: "expired".into(),
            },
        ),
        outgoing_at(
            at(),
            2,
            StockCommitted {
                reservation_id: id,
                items,
            },
        ),
        outgoing_at(
            at(),
            4,
            StockAdjusted::of(&stock, -2, "damaged", "seller-1"),
        ),
        outgoing_at(
            at(),
            4,
            LowStockDetected {
                product_id: stock.product_id,
                sku: stock.sku.clone(),
                seller_id: stock.seller_id.clone(),
                available: 2,
                low_stock_threshold: 3,
            },
        ),
        outgoing_at(
            at(),
            5,
            OutOfStock {
                product_id: stock.product_id,
                sku: stock.product_id.to_string(),
                seller_id: stock.seller_id.clone(),
            },
        ),
        outgoing_at(
            at(),
            6,
            BackInStock {
                product_id: stock.product_id,
                sku: stock.sku.clone(),
                seller_id: stock.seller_id.clone(),
                available: 1,
            },
        ),
    ];
    for event in &events {
        assert_eq!(event.source, "shop.inventory");
        assert_matches_its_schema(event);
    }
}

#[test]
fn an_events_id_is_named_by_the_change_it_announces() {
    let one = events::event_id("StockReserved/r1/1", at());
    assert_eq!(one, events::event_id("StockReserved/r1/1", at()));
    assert_ne!(one, events::event_id("StockReserved/r1/2", at()));
    assert_ne!(one, events::event_id("StockReleased/r1/1", at()));
    assert_eq!(
        one.ulid().timestamp_ms(),
        u64::try_from(at().timestamp_millis()).unwrap()
    );
}
