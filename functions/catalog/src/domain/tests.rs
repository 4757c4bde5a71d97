//! Behaviour tests for the catalog, one module per part, written against the public API.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

use super::*;
use shop_domain::{BrandId, CategoryId, Currency, DomainError, Money, ProductId};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap()
}

fn fields(err: &DomainError) -> Vec<&str> {
    err.details().iter().map(|f| f.field.as_str()).collect()
}

const CAT: &str = "01JBQ00000000000000000CAT1";
const BRAND: &str = "01JBQ00000000000000000BRD1";

fn input_json() -> Value {
    json!({
        "name": "  Trail Shoe ",
        "description": "Grippy.\nLight.",
        "price": 8999,
        "currency": "EUR",
        "categoryId": CAT,
        "brandId": BRAND,
        "attributes": {"material": "mesh"},
        "variants": [
            {"sku": "TS-42", "name": "42", "attributes": {"size": "42"}},
            {"sku": "TS-43", "name": "43", "attributes": {"size": "43"}, "price": 9499}
        ],
        "images": ["https://cdn.example.com/ts.png"]
    })
}

fn input() -> ProductInput {
    ProductInput::from_json(&input_json()).unwrap()
}

fn product() -> Product {
    Product::create(input(), "seller-1", t0(), ProductId::new()).unwrap()
}

mod product {
    use super::*;

    #[test]
    fn a_valid_input_creates_a_draft_at_version_one_with_trimmed_name() {
        let p = product();
        assert_eq!(p.name, "Trail Shoe");
        assert_eq!(p.status, ProductStatus::Draft);
        assert_eq!(p.version, 1);
        assert_eq!(p.price, Money::new(8999, Currency::EUR));
        assert_eq!(p.variants[1].price, Some(Money::new(9499, Currency::EUR)));
        assert_eq!(p.variants[0].effective_price(p.price), p.price);
        assert_eq!(p.seller_id, "seller-1");
        assert_eq!((p.created_at, p.updated_at), (t0(), t0()));
    }

    #[test]
    fn the_json_form_has_price_and_currency_as_top_level_fields() {
        let p = product();
        let value = serde_json::to_value(&p).unwrap();
        assert_eq!(value["price"], 8999);
        assert_eq!(value["currency"], "EUR");
        assert_eq!(value["categoryId"], CAT);
        assert_eq!(value["status"], "draft");
        assert_eq!(value["createdAt"], "2026-11-02T10:00:00.000Z");
        assert_eq!(value["variants"][1]["price"], 9499);
        assert!(value["variants"][0].get("price").is_none());
        let back: Product = serde_json::from_value(value).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn every_invalid_field_is_reported_at_once_with_its_path() {
        let bad = json!({
            "name": "   ",
            "description": "x".repeat(5001),
            "price": 0,
            "currency": "eur",
            "categoryId": "nope",
            "status": "deleted",
            "attributes": {" padded": "v"},
            "variants": [
                {"sku": "A-1", "name": "one"},
                {"sku": "a-1", "name": "", "price": -5},
                {"sku": "has space", "name": "three"}
            ],
            "images": ["javascript:alert(1)"]
        });
        let err = Product::create(
            ProductInput::from_json(&bad).unwrap(),
            "s",
            t0(),
            ProductId::new(),
        )
        .unwrap_err();
        assert_eq!(err.status(), 400);
        let got = fields(&err);
        for expected in [
            "name",
            "description",
            "price",
            "currency",
            "categoryId",
            "brandId",
            "status",
            "attributes. padded",
            "variants[1].sku",
            "variants[1].name",
            "variants[1].price",
            "variants[2].sku",
            "images[0]",
        ] {
            assert!(got.contains(&expected), "missing {expected} in {got:?}");
        }
        let dup = err
            .details()
            .iter()
            .find(|f| f.field == "variants[1].sku")
            .unwrap();
        assert_eq!(dup.message, "duplicates variants[0].sku");
    }

    #[test]
    fn missing_required_fields_are_each_named() {
        let err = Product::create(
            ProductInput::from_json(&json!({})).unwrap(),
            "s",
            t0(),
            ProductId::new(),
        )
        .unwrap_err();
        assert_eq!(
            fields(&err),
            ["name", "currency", "price", "categoryId", "brandId"]
        );
    }

    #[test]
    fn counts_and_price_have_upper_limits() {
        let mut i = input();
        i.price = Some(crate::domain::product::PRICE_MAX_MINOR + 1);
        i.images = vec!["https://x.io/a.png".into(); crate::domain::product::MAX_IMAGES + 1];
        i.attributes = (0..=crate::domain::product::MAX_ATTRIBUTES)
            .map(|n| (format!("k{n}"), "v".into()))
            .collect();
        i.variants = (0..=crate::domain::product::MAX_VARIANTS)
            .map(|n| VariantInput {
                sku: format!("S{n}"),
                name: "v".into(),
                ..Default::default()
            })
            .collect();
        let err = Product::create(i, "s", t0(), ProductId::new()).unwrap_err();
        assert_eq!(fields(&err), ["price", "attributes", "variants", "images"]);
    }

    #[test]
    fn unknown_and_read_only_keys_are_refused_by_name() {
        let mut body = input_json();
        body["id"] = json!("01JBQ0000000000000000000EE");
        body["version"] = json!(3);
        body["prise"] = json!(1);
        let err = ProductInput::from_json(&body).unwrap_err();
        assert_eq!(fields(&err), ["id", "prise", "version"]);
        assert!(err.details()[0].message.contains("read-only"));
    }

    #[test]
    fn a_wrong_type_is_reported_under_its_path() {
        let mut body = input_json();
        body["variants"][1]["price"] = json!(19.99);
        let err = ProductInput::from_json(&body).unwrap_err();
        assert_eq!(fields(&err), ["variants[1].price"]);
    }

    #[test]
    fn a_new_product_cannot_be_archived_but_may_start_active() {
        let mut i = input();
        i.status = Some("archived".into());
        let err = Product::create(i.clone(), "s", t0(), ProductId::new()).unwrap_err();
        assert_eq!(fields(&err), ["status"]);
        i.status = Some("active".into());
        assert!(
            Product::create(i, "s", t0(), ProductId::new())
                .unwrap()
                .is_public()
        );
    }

    #[test]
    fn status_moves_forward_and_archived_products_can_be_relisted_but_never_return_to_draft() {
        use ProductStatus::*;
        let allowed = [
            (Draft, Active),
            (Draft, Archived),
            (Active, Archived),
            (Archived, Active),
        ];
        for from in [Draft, Active, Archived] {
            for to in [Draft, Active, Archived] {
                let expected = from == to || allowed.contains(&(from, to));
                assert_eq!(from.can_become(to), expected, "{from} -> {to}");
            }
        }
        let mut active = product();
        active.status = Active;
        let err = active.patch(&json!({"status": "draft"}), t0()).unwrap_err();
        assert!(
            err.details()[0].message.contains("archive it instead"),
            "{err}"
        );
    }

    #[test]
    fn replace_bumps_the_version_and_names_the_changed_fields() {
        let p = product();
        let mut i = p.to_input();
        i.price = Some(7999);
        i.status = Some("active".into());
        let later = t0() + Duration::minutes(5);
        let (next, changed) = p.replace(i, later).unwrap();
        assert_eq!(changed, ["price", "status"]);
        assert_eq!(next.version, 2);
        assert_eq!(next.updated_at, later);
        assert_eq!((next.id, next.created_at), (p.id, p.created_at));
    }

    #[test]
    fn replacing_with_the_same_content_changes_nothing_not_even_the_version() {
        let p = product();
        let (same, changed) = p.replace(p.to_input(), t0() + Duration::hours(1)).unwrap();
        assert!(changed.is_empty());
        assert_eq!(same, p);
    }

    #[test]
    fn replace_keeps_the_status_when_it_is_omitted_and_refuses_a_new_seller() {
        let p = product();
        let mut i = p.to_input();
        i.status = None;
        i.seller_id = Some("someone-else".into());
        let err = p.replace(i.clone(), t0()).unwrap_err();
        assert_eq!(fields(&err), ["sellerId"]);
        i.seller_id = Some("seller-1".into());
        let (same, _) = p.replace(i, t0()).unwrap();
        assert_eq!(same.status, ProductStatus::Draft);
    }

    #[test]
    fn a_merge_patch_changes_only_what_it_names() {
        let p = product();
        let patch = json!({"price": 7999, "attributes": {"material": null, "color": "red"}});
        let (next, changed) = p.patch(&patch, t0()).unwrap();
        assert_eq!(changed, ["price", "attributes"]);
        assert_eq!(next.price.amount_minor, 7999);
        assert_eq!(
            next.attributes.get("color").map(String::as_str),
            Some("red")
        );
        assert!(!next.attributes.contains_key("material"));
        assert_eq!(next.variants, p.variants);
        assert_eq!(next.version, 2);
    }

    #[test]
    fn null_in_a_patch_empties_the_description_and_makes_a_variant_inherit_the_price() {
        let p = product();
        let mut variants = serde_json::to_value(&p.to_input().variants).unwrap();
        variants[1]["price"] = Value::Null;
        let (next, changed) = p
            .patch(
                &json!({"description": null, "variants": variants, "status": null}),
                t0(),
            )
            .unwrap();
        assert_eq!(changed, ["description", "variants"]);
        assert_eq!(next.description, "");
        assert_eq!(next.variants[1].price, None);
        assert_eq!(next.status, p.status);
    }

    #[test]
    fn a_patch_that_removes_a_required_field_or_touches_identity_is_refused() {
        let p = product();
        let err = p
            .patch(&json!({"price": null, "name": null}), t0())
            .unwrap_err();
        assert_eq!(fields(&err), ["name", "price"]);
        let err = p
            .patch(
                &json!({"id": "x", "sellerId": "me", "version": 9, "createdAt": "now"}),
                t0(),
            )
            .unwrap_err();
        assert_eq!(fields(&err), ["createdAt", "id", "sellerId", "version"]);
        assert!(
            err.details()
                .iter()
                .all(|f| f.message == "cannot be patched")
        );
        assert_eq!(p.patch(&json!([1]), t0()).unwrap_err().status(), 400);
        assert_eq!(
            fields(&p.patch(&json!({"colour": "red"}), t0()).unwrap_err()),
            ["colour"]
        );
    }

    #[test]
    fn a_seller_owns_what_they_create_and_only_an_admin_may_name_another_seller() {
        let mut i = input();
        assert_eq!(i.owner("me", false).unwrap(), "me");
        i.seller_id = Some("other".into());
        assert_eq!(i.owner("me", false).unwrap_err().status(), 403);
        assert_eq!(i.owner("admin", true).unwrap(), "other");
    }

    #[test]
    fn a_product_over_the_size_cap_is_refused_even_if_every_field_is_within_limits() {
        let mut i = input();
        let long = "𝄞".repeat(crate::domain::product::ATTRIBUTE_VALUE_MAX_CHARS);
        i.variants = (0..crate::domain::product::MAX_VARIANTS)
            .map(|n| VariantInput {
                sku: format!("SKU-{n}"),
                name: "𝄞".repeat(crate::domain::product::VARIANT_NAME_MAX_CHARS),
                attributes: (0..crate::domain::product::MAX_VARIANT_ATTRIBUTES)
                    .map(|k| (format!("k{k}"), long.clone()))
                    .collect(),
                price: None,
            })
            .collect();
        let err = Product::create(i, "s", t0(), ProductId::new()).unwrap_err();
        assert_eq!(fields(&err), ["body"]);
        assert!(err.details()[0].message.contains("bytes as JSON"));
    }

    #[test]
    fn the_etag_is_the_strong_quoted_version_and_if_match_checks_it() {
        let p = product();
        assert_eq!(p.etag(), "\"1\"");
        assert!(if_match(Some("\"1\""), &p).is_ok());
        assert_eq!(
            if_match(Some("\"0\", \"2\""), &p).unwrap_err().status(),
            412
        );
        assert!(not_modified(Some("W/\"1\""), &p));
    }
}

mod category {
    use super::*;

    fn cat(name: &str, parent: Option<&Category>) -> Category {
        let input = CategoryInput {
            name: name.into(),
            parent_id: parent.map(|p| p.id.to_string()),
            ..Default::default()
        };
        Category::create(input, t0(), CategoryId::new()).unwrap()
    }

    /// root ─ a ─ b ─ c ─ d (five levels) and root ─ z.
    fn chain() -> (Vec<Category>, CategoryTree) {
        let root = cat("Root", None);
        let a = cat("A", Some(&root));
        let b = cat("B", Some(&a));
        let c = cat("C", Some(&b));
        let d = cat("D", Some(&c));
        let z = cat("z", Some(&root));
        let all = vec![root, a, b, c, d, z];
        let tree = CategoryTree::new(all.clone());
        (all, tree)
    }

    #[test]
    fn the_slug_is_derived_from_the_name_unless_given() {
        assert_eq!(cat("Men's Shoes", None).slug, "men-s-shoes");
        let input = CategoryInput {
            name: "Shoes".into(),
            slug: Some("Bad Slug".into()),
            ..Default::default()
        };
        let err = Category::create(input, t0(), CategoryId::new()).unwrap_err();
        assert_eq!(fields(&err), ["slug"]);
        let input = CategoryInput {
            name: "電子".into(),
            ..Default::default()
        };
        assert_eq!(
            fields(&Category::create(input, t0(), CategoryId::new()).unwrap_err()),
            ["slug"]
        );
    }

    #[test]
    fn invalid_fields_are_reported_together() {
        let input = CategoryInput::from_json(
            &json!({"name": "", "parentId": "x", "description": "d".repeat(2001)}),
        )
        .unwrap();
        let err = Category::create(input, t0(), CategoryId::new()).unwrap_err();
        assert_eq!(fields(&err), ["name", "parentId", "description"]);
        assert_eq!(
            fields(&CategoryInput::from_json(&json!({"id": "x"})).unwrap_err()),
            ["id"]
        );
    }

    #[test]
    fn replace_names_changed_fields_and_bumps_the_version() {
        let c = cat("Shoes", None);
        let input = CategoryInput {
            name: "Shoes".into(),
            slug: Some("footwear".into()),
            ..Default::default()
        };
        let (next, changed) = c.replace(input, t0()).unwrap();
        assert_eq!(changed, ["slug"]);
        assert_eq!(next.version, 2);
        let same = CategoryInput {
            name: "Shoes".into(),
            ..Default::default()
        };
        assert!(c.replace(same, t0()).unwrap().1.is_empty());
    }

    #[test]
    fn descendants_include_the_category_itself_and_everything_below() {
        let (all, tree) = chain();
        let below_b = tree.descendants_of(all[2].id);
        assert_eq!(below_b, vec![all[2].id, all[3].id, all[4].id]);
        assert_eq!(tree.descendants_of(all[0].id).len(), 6);
        assert!(tree.descendants_of(CategoryId::new()).is_empty());
        assert!(tree.has_children(all[0].id));
        assert!(!tree.has_children(all[4].id));
    }

    #[test]
    fn depth_counts_the_root_as_level_one() {
        let (all, tree) = chain();
        assert_eq!(tree.depth_of(all[0].id), Some(1));
        assert_eq!(tree.depth_of(all[4].id), Some(5));
        assert_eq!(tree.depth_of(CategoryId::new()), None);
    }

    #[test]
    fn a_parent_below_the_category_itself_would_make_a_cycle() {
        let (all, tree) = chain();
        let err = tree.check_parent(all[1].id, Some(all[3].id)).unwrap_err();
        assert_eq!(fields(&err), ["parentId"]);
        assert!(err.details()[0].message.contains("cycle"));
        assert!(tree.check_parent(all[1].id, Some(all[1].id)).is_err());
    }

    #[test]
    fn the_tree_may_not_grow_beyond_five_levels() {
        let (all, tree) = chain();
        let new_child = CategoryId::new();
        assert!(tree.check_parent(new_child, Some(all[3].id)).is_ok());
        let err = tree.check_parent(new_child, Some(all[4].id)).unwrap_err();
        assert!(err.details()[0].message.contains("6 levels"), "{err}");
        // Moving `b` (three levels tall) under `z` (level 2) would reach level 5: fine;
        // moving `a` (four tall) under `z` would reach 6.
        assert!(tree.check_parent(all[2].id, Some(all[5].id)).is_ok());
        assert!(tree.check_parent(all[1].id, Some(all[5].id)).is_err());
        assert!(tree.check_parent(all[1].id, None).is_ok());
    }

    #[test]
    fn an_unknown_parent_is_unprocessable() {
        let (all, tree) = chain();
        let err = tree
            .check_parent(all[1].id, Some(CategoryId::new()))
            .unwrap_err();
        assert_eq!(err.status(), 422);
    }

    #[test]
    fn the_nested_tree_sorts_siblings_by_name() {
        let (_, tree) = chain();
        let nodes = tree.tree();
        assert_eq!(nodes.len(), 1);
        let names: Vec<_> = nodes[0].children.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["A", "z"]);
        let json = serde_json::to_value(&nodes).unwrap();
        assert_eq!(json[0]["children"][0]["children"][0]["name"], "B");
    }

    #[test]
    fn categories_in_a_stored_cycle_do_not_hang_the_tree() {
        let (mut all, _) = chain();
        // Corrupt the data: root's parent becomes its own grandchild.
        all[0].parent_id = Some(all[2].id);
        let tree = CategoryTree::new(all.clone());
        assert_eq!(tree.descendants_of(all[0].id).len(), 6);
        assert!(tree.depth_of(all[0].id).is_some());
        assert!(tree.tree().is_empty());
    }
}

mod brand {
    use super::*;

    #[test]
    fn a_brand_needs_a_name_and_an_http_logo() {
        let input =
            BrandInput::from_json(&json!({"name": "Acme", "logoUrl": "https://cdn.x.io/acme.svg"}))
                .unwrap();
        let b = Brand::create(input, t0(), BrandId::new()).unwrap();
        assert_eq!((b.slug.as_str(), b.version), ("acme", 1));
        let bad =
            BrandInput::from_json(&json!({"name": "", "logoUrl": "data:image/png;base64,AA"}))
                .unwrap();
        let err = Brand::create(bad, t0(), BrandId::new()).unwrap_err();
        assert_eq!(fields(&err), ["name", "logoUrl"]);
    }

    #[test]
    fn an_empty_logo_means_none_and_replace_reports_it() {
        let input = BrandInput {
            name: "Acme".into(),
            logo_url: Some("https://x.io/l.png".into()),
            ..Default::default()
        };
        let b = Brand::create(input, t0(), BrandId::new()).unwrap();
        let cleared = BrandInput {
            name: "Acme".into(),
            logo_url: Some("".into()),
            ..Default::default()
        };
        let (next, changed) = b.replace(cleared, t0()).unwrap();
        assert_eq!(next.logo_url, None);
        assert_eq!(changed, ["logoUrl"]);
        assert_eq!(next.version, 2);
        assert_eq!(serde_json::to_value(&next).unwrap()["logoUrl"], Value::Null);
    }
}

mod events {
    use super::*;
    use shop_domain::testing::At;
    use shop_domain::{DomainEvent, EventEnvelope};

    #[test]
    fn catalog_events_come_from_shop_catalog_with_their_resource_names() {
        assert_eq!(ProductModified::SOURCE, "shop.catalog");
        assert_eq!(ProductModified::TYPE, "ProductModified");
        assert_eq!(BrandDeleted::TYPE, "BrandDeleted");
        assert_eq!(CategoryCreated::VERSION, 1);
    }

    #[test]
    fn a_modified_event_carries_old_new_and_changed_fields_in_camel_case() {
        let old = product();
        let (new, changed) = old.patch(&json!({"price": 100}), t0()).unwrap();
        let event = ProductModified::new(old, new, &changed);
        let env = EventEnvelope::new(&At(t0()), shop_domain::CorrelationId::new(), 2, event);
        let out = env.to_outgoing().unwrap();
        assert_eq!(out.detail["data"]["changedFields"], json!(["price"]));
        assert_eq!(out.detail["data"]["new"]["price"], 100);
        assert_eq!(out.detail["data"]["old"]["price"], 8999);
        assert!(fits_in_eventbridge(&out));
        let deleted = serde_json::to_value(ProductDeleted {
            product_id: ProductId::new(),
            seller_id: "s".into(),
        })
        .unwrap();
        assert!(deleted.get("productId").is_some() && deleted.get("sellerId").is_some());
    }

    #[test]
    fn the_largest_possible_modified_event_still_fits_in_eventbridge() {
        // Worst case: old and new both exactly at the product size cap, every field changed.
        let mut p = product();
        p.description.clear();
        let base = serde_json::to_vec(&p).unwrap().len();
        p.description = "x".repeat(crate::domain::product::MAX_PRODUCT_JSON_BYTES - base);
        assert_eq!(
            serde_json::to_vec(&p).unwrap().len(),
            crate::domain::product::MAX_PRODUCT_JSON_BYTES
        );
        let event = ProductModified::new(p.clone(), p, &crate::domain::product::PRODUCT_FIELDS);
        let env = EventEnvelope::new(
            &At(t0()),
            shop_domain::CorrelationId::new(),
            u64::MAX,
            event,
        );
        let out = env.to_outgoing().unwrap();
        let size = crate::domain::events::eventbridge_entry_size(&out);
        assert!(fits_in_eventbridge(&out), "{size} bytes");
        assert!(
            size < 2 * crate::domain::product::MAX_PRODUCT_JSON_BYTES + 1024,
            "{size} bytes"
        );
    }

    #[test]
    fn events_roundtrip_through_json() {
        let event = ProductCreated { product: product() };
        let back: ProductCreated =
            serde_json::from_value(serde_json::to_value(&event).unwrap()).unwrap();
        assert_eq!(back, event);
    }
}

/// The produced events against `schemas/events/shop.catalog/*.json`: every one of the nine
/// events, built as the handlers build them, must match the schema of its detail-type.
mod event_schemas {

    use super::*;
    use shop_domain::DomainEvent;
    use shop_domain::ports::OutgoingEvent;
    use shop_domain::testing::{assert_matches_its_schema, outgoing_at};

    fn later(minutes: i64) -> DateTime<Utc> {
        t0() + Duration::minutes(minutes) + Duration::milliseconds(437)
    }

    /// What a handler does with its change: the envelope as the outbox item.
    fn outgoing<T: DomainEvent>(aggregate_version: u64, data: T) -> OutgoingEvent {
        outgoing_at(later(5), aggregate_version, data)
    }

    /// An active yen product with no variants, attributes or images.
    fn plain_product() -> Product {
        let input = ProductInput::from_json(&json!({
            "name": "Tenugui",
            "price": 1200,
            "currency": "JPY",
            "categoryId": CAT,
            "brandId": BRAND,
            "status": "active"
        }))
        .unwrap();
        Product::create(input, "seller-2", later(0), ProductId::new()).unwrap()
    }

    fn product_events() -> Vec<OutgoingEvent> {
        // `product()` has attributes, an image and two variants, one with its own price.
        let created = product();
        assert!(created.variants.iter().any(|v| v.price.is_some()));
        assert!(created.variants.iter().any(|v| v.price.is_none()));
        let plain = plain_product();
        let (patched, changed) = created
            .patch(
                &json!({"price": 7999, "status": "active", "variants": [
                    {"sku": "TS-44", "name": "44", "attributes": {"size": "44"}, "price": 10999}
                ]}),
                later(1),
            )
            .unwrap();
        let (replaced, replaced_fields) = plain
            .replace(
                ProductInput {
                    status: Some("archived".into()),
                    images: vec!["https://cdn.example.com/tenugui.jpg".into()],
                    ..plain.to_input()
                },
                later(2),
            )
            .unwrap();
        vec![
            outgoing(
                created.version,
                ProductCreated {
                    product: created.clone(),
                },
            ),
            outgoing(
                plain.version,
                ProductCreated {
                    product: plain.clone(),
                },
            ),
            outgoing(
                patched.version,
                ProductModified::new(created, patched.clone(), &changed),
            ),
            outgoing(
                replaced.version,
                ProductModified::new(plain, replaced.clone(), &replaced_fields),
            ),
            outgoing(
                patched.version + 1,
                ProductDeleted {
                    product_id: patched.id,
                    seller_id: patched.seller_id.clone(),
                },
            ),
        ]
    }

    fn category_events() -> Vec<OutgoingEvent> {
        let root = Category::create(
            CategoryInput {
                name: "Shoes".into(),
                description: "Everything for your feet.".into(),
                ..Default::default()
            },
            later(0),
            CategoryId::new(),
        )
        .unwrap();
        let child = Category::create(
            CategoryInput::from_json(&json!({
                "name": "Trail Running",
                "slug": "trail-running",
                "parentId": root.id.to_string()
            }))
            .unwrap(),
            later(1),
            CategoryId::new(),
        )
        .unwrap();
        let (moved, changed) = child
            .replace(
                CategoryInput {
                    name: "Trail".into(),
                    ..Default::default()
                },
                later(2),
            )
            .unwrap();
        assert_eq!(changed, ["name", "slug", "parentId"]);
        vec![
            outgoing(
                root.version,
                CategoryCreated {
                    category: root.clone(),
                },
            ),
            outgoing(
                child.version,
                CategoryCreated {
                    category: child.clone(),
                },
            ),
            outgoing(
                moved.version,
                CategoryModified::new(child, moved.clone(), &changed),
            ),
            outgoing(
                moved.version + 1,
                CategoryDeleted {
                    category_id: moved.id,
                },
            ),
        ]
    }

    fn brand_events() -> Vec<OutgoingEvent> {
        let with_logo = Brand::create(
            BrandInput {
                name: "Acme Outdoor".into(),
                description: "Since 1921.".into(),
                logo_url: Some("https://cdn.example.com/acme.svg".into()),
                ..Default::default()
            },
            later(0),
            BrandId::new(),
        )
        .unwrap();
        let without_logo = Brand::create(
            BrandInput {
                name: "Nameless".into(),
                ..Default::default()
            },
            later(1),
            BrandId::new(),
        )
        .unwrap();
        let (cleared, changed) = with_logo
            .replace(
                BrandInput {
                    name: "Acme Outdoor".into(),
                    slug: Some("acme".into()),
                    description: "Since 1921.".into(),
                    logo_url: Some(String::new()),
                },
                later(2),
            )
            .unwrap();
        assert_eq!(changed, ["slug", "logoUrl"]);
        vec![
            outgoing(
                with_logo.version,
                BrandCreated {
                    brand: with_logo.clone(),
                },
            ),
            outgoing(
                without_logo.version,
                BrandCreated {
                    brand: without_logo,
                },
            ),
            outgoing(
                cleared.version,
                BrandModified::new(with_logo, cleared.clone(), &changed),
            ),
            outgoing(
                cleared.version + 1,
                BrandDeleted {
                    brand_id: cleared.id,
                },
            ),
        ]
    }

    #[test]
    fn every_product_event_matches_its_schema() {
        for event in product_events() {
            assert_matches_its_schema(&event);
        }
    }

    #[test]
    fn every_category_event_matches_its_schema() {
        for event in category_events() {
            assert_matches_its_schema(&event);
        }
    }

    #[test]
    fn every_brand_event_matches_its_schema() {
        for event in brand_events() {
            assert_matches_its_schema(&event);
        }
    }

    #[test]
    fn there_is_one_schema_per_catalog_event_and_the_tests_emit_each_of_them() {
        let mut files: Vec<String> =
            std::fs::read_dir(shop_schemas::schemas_dir().join(crate::domain::events::SOURCE))
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".json") && name != "defs.json")
                .collect();
        files.sort();
        let mut types = [
            ProductCreated::TYPE,
            ProductModified::TYPE,
            ProductDeleted::TYPE,
            CategoryCreated::TYPE,
            CategoryModified::TYPE,
            CategoryDeleted::TYPE,
            BrandCreated::TYPE,
            BrandModified::TYPE,
            BrandDeleted::TYPE,
        ]
        .map(|t| format!("{t}.json"));
        types.sort();
        assert_eq!(files, types);

        let mut emitted: Vec<String> = [product_events(), category_events(), brand_events()]
            .concat()
            .into_iter()
            .map(|e| format!("{}.json", e.detail_type))
            .collect();
        emitted.sort();
        emitted.dedup();
        assert_eq!(emitted, types);
    }

    #[test]
    fn a_schema_rejects_a_broken_event_and_names_the_place() {
        let valid = product_events().remove(0);
        assert_matches_its_schema(&valid);
        let broken = |edit: &dyn Fn(&mut Value)| {
            let mut event = valid.clone();
            edit(&mut event.detail);
            shop_schemas::errors(&event.source, &event.detail_type, &event.detail).join("\n")
        };

        let errors = broken(&|d| d["data"]["product"]["price"] = json!("8999"));
        assert!(errors.contains("/data/product/price"), "{errors}");
        let errors = broken(&|d| {
            d.as_object_mut().unwrap().remove("id");
        });
        assert!(errors.contains("\"id\" is a required property"), "{errors}");
        let errors = broken(&|d| d["data"]["product"]["variants"][1]["price"] = json!(94.99));
        assert!(
            errors.contains("/data/product/variants/1/price"),
            "{errors}"
        );
        let errors = broken(&|d| d["occurredAt"] = json!("2026-11-02 10:00"));
        assert!(errors.contains("/occurredAt"), "{errors}");
        // Right shape, impossible date: only the asserted `date-time` format catches it.
        let errors =
            broken(&|d| d["data"]["product"]["updatedAt"] = json!("2026-13-02T10:00:00.000Z"));
        assert!(errors.contains("date-time"), "{errors}");
        let errors = broken(&|d| d["data"]["product"]["categoryId"] = json!("cat-1"));
        assert!(errors.contains("/data/product/categoryId"), "{errors}");
        let errors = broken(&|d| d["data"]["product"]["stock"] = json!(3));
        assert!(errors.contains("stock"), "{errors}");
        let errors = broken(&|d| d["type"] = json!("ProductModified"));
        assert!(errors.contains("/type"), "{errors}");
        let errors = broken(&|d| d["version"] = json!(2));
        assert!(errors.contains("/version"), "{errors}");
    }
}

mod query {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Result<ProductQuery, DomainError> {
        ProductQuery::from_params(pairs.iter().copied())
    }

    #[test]
    fn defaults_are_newest_first_twenty_per_page() {
        let query = q(&[]).unwrap();
        assert_eq!(
            (query.sort_by, query.sort_order, query.page_size),
            (SortBy::CreatedAt, SortOrder::Desc, 20)
        );
        let by_name = q(&[("sortBy", "name")]).unwrap();
        assert_eq!(by_name.sort_order, SortOrder::Asc);
    }

    #[test]
    fn every_bad_parameter_is_named() {
        let err = q(&[
            ("category", "x"),
            ("minPrice", "-1"),
            ("maxPrice", "1.5"),
            ("sortBy", "rating"),
            ("sortOrder", "up"),
            ("pageSize", "101"),
            ("sortby", "name"),
        ])
        .unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "category",
                "minPrice",
                "maxPrice",
                "sortBy",
                "sortOrder",
                "pageSize",
                "sortby"
            ]
        );
        assert_eq!(fields(&q(&[("pageSize", "0")]).unwrap_err()), ["pageSize"]);
        assert_eq!(
            fields(&q(&[("minPrice", "500"), ("maxPrice", "100")]).unwrap_err()),
            ["minPrice"]
        );
        assert_eq!(
            fields(&q(&[("brand", BRAND), ("brand", BRAND)]).unwrap_err()),
            ["brand"]
        );
    }

    #[test]
    fn empty_values_count_as_absent() {
        let query = q(&[("search", "  "), ("pageSize", "")]).unwrap();
        assert_eq!(query, ProductQuery::default());
    }

    fn catalog() -> (Vec<Product>, CategoryId, CategoryId) {
        let parent: CategoryId = CAT.parse().unwrap();
        let child = CategoryId::new();
        let mut items = Vec::new();
        for (n, (name, price, status, category)) in [
            ("Red Mug", 500, ProductStatus::Active, parent),
            ("blue mug", 500, ProductStatus::Active, child),
            ("Mug Draft", 100, ProductStatus::Draft, parent),
            ("Plate", 900, ProductStatus::Active, CategoryId::new()),
            ("Big MUG", 1500, ProductStatus::Active, child),
        ]
        .into_iter()
        .enumerate()
        {
            let mut p = product();
            p.name = name.into();
            p.price = Money::new(price, Currency::EUR);
            p.status = status;
            p.category_id = category;
            p.created_at = t0() + Duration::minutes(n as i64);
            items.push(p);
        }
        (items, parent, child)
    }

    fn names<'a>(list: &[&'a Product]) -> Vec<&'a str> {
        list.iter().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn lists_only_active_products_matching_a_case_insensitive_search() {
        let (items, ..) = catalog();
        let query = q(&[("search", "mug"), ("sortBy", "name")]).unwrap();
        assert_eq!(
            names(&filter_and_sort(&items, &query, None)),
            ["Big MUG", "blue mug", "Red Mug"]
        );
    }

    #[test]
    fn the_category_filter_includes_descendants_and_prices_are_inclusive() {
        let (items, parent, child) = catalog();
        let query = q(&[
            ("category", CAT),
            ("minPrice", "500"),
            ("maxPrice", "1500"),
            ("sortBy", "price"),
        ])
        .unwrap();
        let descendants = [parent, child];
        let all = filter_and_sort(&items, &query, Some(&descendants));
        assert_eq!(all.len(), 3);
        assert_eq!(all[2].name, "Big MUG");
        assert_eq!(filter_and_sort(&items, &query, None).len(), 1);
    }

    #[test]
    fn equal_sort_keys_are_ordered_by_id_and_desc_is_the_exact_reverse() {
        let (items, ..) = catalog();
        let asc = q(&[("sortBy", "price"), ("sortOrder", "asc")]).unwrap();
        let desc = q(&[("sortBy", "price"), ("sortOrder", "desc")]).unwrap();
        let up = filter_and_sort(&items, &asc, None);
        let mut down = filter_and_sort(&items, &desc, None);
        down.reverse();
        assert_eq!(up, down);
        let tied: Vec<_> = up.iter().filter(|p| p.price.amount_minor == 500).collect();
        assert!(tied[0].id < tied[1].id);
    }

    #[test]
    fn the_default_order_is_newest_first() {
        let (items, ..) = catalog();
        assert_eq!(
            names(&filter_and_sort(&items, &q(&[]).unwrap(), None)),
            ["Big MUG", "Plate", "blue mug", "Red Mug"]
        );
    }
}

mod bounded_errors {
    //! A 400 stays small whatever the request holds: a list over its limit is one error, and
    //! `details` lists at most 50 errors and counts the rest in one last `body` entry.
    use super::*;
    use crate::domain::product::MAX_VARIANTS;
    use crate::domain::validate::{FIELD_MAX_CHARS, MAX_DETAILS, MESSAGE_MAX_CHARS};

    /// A valid product body whose `variants` are `n` empty objects.
    fn with_empty_variants(n: usize) -> Value {
        let mut body = input_json();
        body["variants"] = Value::Array(vec![json!({}); n]);
        body
    }

    /// Asserts `err` lists exactly `MAX_DETAILS` errors and then counts the other `more`.
    #[track_caller]
    fn assert_capped(err: &DomainError, more: usize) {
        let details = err.details();
        assert_eq!(details.len(), MAX_DETAILS + 1, "{:?}", fields(err));
        let last = &details[MAX_DETAILS];
        assert_eq!(last.field, "body");
        assert!(
            last.message.starts_with(&format!("and {more} more errors")),
            "{}",
            last.message
        );
    }

    #[test]
    fn three_hundred_thousand_empty_variants_are_one_error() {
        let body = with_empty_variants(300_000);
        assert!(body.to_string().len() > 900_000);
        let input = ProductInput::from_json(&body).unwrap();
        let err = Product::create(input, "s", t0(), ProductId::new()).unwrap_err();
        assert_eq!(fields(&err), ["variants"]);
        assert_eq!(
            err.details()[0].message,
            "must have at most 100 entries (got 300000)"
        );
        // The message repeats every detail, so it is as small.
        assert!(err.to_string().len() < 200, "{err}");
    }

    #[test]
    fn a_patch_with_three_hundred_thousand_empty_variants_is_one_error() {
        let patch = json!({"variants": vec![json!({}); 300_000]});
        let err = product().patch(&patch, t0()).unwrap_err();
        assert_eq!(fields(&err), ["variants"]);
    }

    #[test]
    fn the_elements_of_a_list_over_its_limit_are_not_checked() {
        let mut body = with_empty_variants(MAX_VARIANTS + 1);
        body["images"] = json!(vec!["javascript:alert(1)"; 21]);
        body["attributes"] = (0..51)
            .map(|n| (format!(" key {n}"), json!("\u{7}")))
            .collect::<serde_json::Map<_, _>>()
            .into();
        body["variants"][0] = json!({
            "sku": "ok", "name": "ok",
            "attributes": (0..11).map(|n| (format!(" k{n}"), json!("v")))
                .collect::<serde_json::Map<_, _>>(),
        });
        let err = Product::create(
            ProductInput::from_json(&body).unwrap(),
            "s",
            t0(),
            ProductId::new(),
        )
        .unwrap_err();
        assert_eq!(fields(&err), ["attributes", "variants", "images"]);

        // Within the variant limit, a variant's own attributes over theirs are one error too.
        body["variants"] = json!([body["variants"][0].clone()]);
        body["images"] = json!([]);
        body["attributes"] = json!({});
        let err = Product::create(
            ProductInput::from_json(&body).unwrap(),
            "s",
            t0(),
            ProductId::new(),
        )
        .unwrap_err();
        assert_eq!(fields(&err), ["variants[0].attributes"]);
    }

    #[test]
    fn two_hundred_field_errors_are_fifty_details_and_a_count_of_the_rest() {
        // 100 variants (the limit), each with a bad SKU and a blank name: 200 distinct errors.
        let mut body = input_json();
        body["variants"] = (0..MAX_VARIANTS)
            .map(|_| json!({"sku": "not a sku", "name": " "}))
            .collect::<Vec<_>>()
            .into();
        let err = Product::create(
            ProductInput::from_json(&body).unwrap(),
            "s",
            t0(),
            ProductId::new(),
        )
        .unwrap_err();
        assert_capped(&err, 150);
        assert_eq!(
            fields(&err)[..4],
            [
                "variants[0].sku",
                "variants[0].name",
                "variants[1].sku",
                "variants[1].name"
            ]
        );
        let listed: std::collections::HashSet<&str> = fields(&err).into_iter().collect();
        assert_eq!(
            listed.len(),
            MAX_DETAILS + 1,
            "the listed fields are distinct"
        );
    }

    #[test]
    fn every_validator_caps_its_details() {
        let unknown: serde_json::Map<String, Value> = (0..200)
            .map(|n| (format!("unknown{n}"), json!(1)))
            .collect();
        let unknown = Value::Object(unknown);
        assert_capped(&ProductInput::from_json(&unknown).unwrap_err(), 150);
        assert_capped(&CategoryInput::from_json(&unknown).unwrap_err(), 150);
        assert_capped(&BrandInput::from_json(&unknown).unwrap_err(), 150);
        let params: Vec<(String, String)> = (0..200)
            .map(|n| (format!("unknown{n}"), "1".to_owned()))
            .collect();
        assert_capped(&ProductQuery::from_params(params).unwrap_err(), 150);
        // A merge patch ends in the product's validation, so it is capped there too.
        let patch = json!({"variants": (0..MAX_VARIANTS)
            .map(|_| json!({"sku": "", "name": ""}))
            .collect::<Vec<_>>()});
        assert_capped(&product().patch(&patch, t0()).unwrap_err(), 150);
    }

    #[test]
    fn a_huge_unknown_key_or_value_is_cut_in_the_error() {
        let key = "k".repeat(500_000);
        let err = ProductInput::from_json(&json!({ key: 1 })).unwrap_err();
        let field = &err.details()[0].field;
        assert_eq!(field.chars().count(), FIELD_MAX_CHARS + 1);
        assert!(field.ends_with('…'));

        // serde quotes the value of a wrong type in its message.
        let mut body = input_json();
        body["price"] = json!("9".repeat(500_000));
        let err = ProductInput::from_json(&body).unwrap_err();
        assert_eq!(fields(&err), ["price"]);
        let message = &err.details()[0].message;
        assert_eq!(message.chars().count(), MESSAGE_MAX_CHARS + 1, "{message}");
    }
}
