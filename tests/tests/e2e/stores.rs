//! Every service's store contract (`<service>::contract`) against its DynamoDB adapter on
//! moto: the same checks the handler tests run against the in-memory adapters, so the two
//! cannot drift apart.
//!
//! Each check gets a fresh table with the key schema and indexes of the stack's table, so
//! lists see only that check's items (the end-to-end tests write to the stack's tables at
//! the same time). The outbox counts are read back with a Scan.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    BillingMode, GlobalSecondaryIndex, KeySchemaElement, Projection, ProjectionType,
};
use catalog::cursor::{CursorKey, Signer};
use catalog::dynamo::DynamoCatalog;
use localcloud::LocalCloud as Cloud;
use shop_e2e::shop;

/// A fresh table with the key schema and indexes of the stack's table `logical_id`.
async fn copy_of(cloud: &Cloud, logical_id: &str) -> String {
    let client = Client::new(&cloud.sdk_config());
    let source = &cloud.stack().resources[logical_id].physical_id;
    let described = client
        .describe_table()
        .table_name(source)
        .send()
        .await
        .unwrap();
    let table = described.table().unwrap();
    let name = format!(
        "it-{}-{}",
        logical_id.to_lowercase(),
        shop_domain::EventId::new().to_string().to_lowercase()
    );
    let indexes: Vec<GlobalSecondaryIndex> = table
        .global_secondary_indexes()
        .iter()
        .map(|index| {
            let projection = index.projection().unwrap();
            GlobalSecondaryIndex::builder()
                .index_name(index.index_name().unwrap())
                .set_key_schema(Some(index.key_schema().to_vec()))
                .projection(
                    Projection::builder()
                        .projection_type(
                            projection
                                .projection_type()
                                .cloned()
                                .unwrap_or(ProjectionType::All),
                        )
                        .set_non_key_attributes(
                            projection
                                .non_key_attributes
                                .clone()
                                .filter(|a| !a.is_empty()),
                        )
                        .build(),
                )
                .build()
                .unwrap()
        })
        .collect();
    let keys: Vec<KeySchemaElement> = table.key_schema().to_vec();
    client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(table.attribute_definitions().to_vec()))
        .set_key_schema(Some(keys))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .send()
        .await
        .unwrap();
    name
}

async fn catalog(cloud: &Cloud) -> (DynamoCatalog, String) {
    let table = copy_of(cloud, "CatalogTable").await;
    let key = CursorKey::Fixed(Signer::new("adapter-test-key"));
    let client = Client::new(&cloud.sdk_config());
    (DynamoCatalog::new(client, &table, key), table)
}

async fn accounts(cloud: &Cloud) -> (auth::dynamo::DynamoAccounts, String) {
    let table = copy_of(cloud, "AuthTable").await;
    let client = Client::new(&cloud.sdk_config());
    (auth::dynamo::DynamoAccounts::new(client, &table), table)
}

async fn profiles(cloud: &Cloud) -> (users::dynamo::DynamoProfiles, String) {
    let table = copy_of(cloud, "UsersTable").await;
    let client = Client::new(&cloud.sdk_config());
    (users::dynamo::DynamoProfiles::new(client, &table), table)
}

#[test]
fn in_dynamodb_a_marked_event_is_sent_and_marking_is_idempotent() {
    shop().run(|cloud| async move {
        let table = copy_of(cloud, "NotificationsTable").await;
        let client = Client::new(&cloud.sdk_config());
        let log = notifications::mail::DynamoSentLog::new(client, &table);
        notifications::contract::a_marked_event_is_sent_and_marking_is_idempotent(&log).await;
    });
}

#[test]
fn the_dynamodb_catalog_lists_exactly_what_the_reference_lists() {
    shop().run(|cloud| async move {
        let (store, _) = catalog(cloud).await;
        catalog::contract::lists_exactly_what_the_reference_lists(&store).await;
    });
}

#[test]
fn dynamodb_catalog_writes_are_conditional_and_slugs_unique() {
    shop().run(|cloud| async move {
        let (store, table) = catalog(cloud).await;
        let succeeded = catalog::contract::writes_are_conditional_and_slugs_unique(&store).await;
        assert_eq!(outbox_items(cloud, &table).await, succeeded);
    });
}

#[test]
fn in_the_dynamodb_catalog_an_insert_and_the_delete_of_its_target_never_both_win() {
    shop().run(|cloud| async move {
        let (store, _) = catalog(cloud).await;
        catalog::contract::an_insert_and_the_delete_of_what_it_points_at_never_both_win(&store)
            .await;
    });
}

#[test]
fn dynamodb_accounts_are_unique_per_email_and_written_conditionally() {
    shop().run(|cloud| async move {
        let (store, table) = accounts(cloud).await;
        let succeeded =
            auth::contract::accounts_are_unique_per_email_and_written_conditionally(&store).await;
        assert_eq!(outbox_items(cloud, &table).await, succeeded);
    });
}

#[test]
fn dynamodb_sessions_rotate_once_per_generation() {
    shop().run(|cloud| async move {
        let (store, _) = accounts(cloud).await;
        auth::contract::sessions_rotate_once_per_generation(&store).await;
    });
}

#[test]
fn dynamodb_password_attempts_are_counted_per_window() {
    shop().run(|cloud| async move {
        let (store, _) = accounts(cloud).await;
        auth::contract::password_attempts_are_counted_per_window(&store).await;
    });
}

#[test]
fn dynamodb_idempotency_claims_are_exclusive_and_completed_once() {
    shop().run(|cloud| async move {
        let table = copy_of(cloud, "CatalogTable").await;
        let store = shop_adapters::idempotency::DynamoIdempotency::new(
            Client::new(&cloud.sdk_config()),
            table,
        );
        shop_adapters::idempotency::contract::claims_are_exclusive_and_completed_once(&store).await;
    });
}

#[test]
fn dynamodb_emails_are_limited_per_cooldown_and_day() {
    shop().run(|cloud| async move {
        let (store, _) = accounts(cloud).await;
        auth::contract::emails_are_limited_per_cooldown_and_day(&store).await;
    });
}

#[test]
fn dynamodb_profiles_are_created_once_and_updated_conditionally() {
    shop().run(|cloud| async move {
        let (store, table) = profiles(cloud).await;
        let succeeded =
            users::contract::profiles_are_created_once_and_updated_conditionally(&store).await;
        assert_eq!(outbox_items(cloud, &table).await, succeeded);
    });
}

#[test]
fn dynamodb_auth_facts_apply_once_and_in_order() {
    shop().run(|cloud| async move {
        let (store, _) = profiles(cloud).await;
        users::contract::auth_facts_apply_once_and_in_order(&store).await;
    });
}

#[test]
fn dynamodb_addresses_are_written_with_the_profiles_next_version() {
    shop().run(|cloud| async move {
        let (store, _) = profiles(cloud).await;
        users::contract::addresses_are_written_with_the_profiles_next_version(&store).await;
    });
}

#[test]
fn dynamodb_profile_pages_cover_every_match_once() {
    shop().run(|cloud| async move {
        let (store, _) = profiles(cloud).await;
        users::contract::profile_pages_cover_every_match_once(&store).await;
    });
}

async fn inventory(cloud: &Cloud) -> (inventory::dynamo::DynamoInventory, String) {
    let table = copy_of(cloud, "InventoryTable").await;
    let client = Client::new(&cloud.sdk_config());
    (
        inventory::dynamo::DynamoInventory::new(client, &table),
        table,
    )
}

#[test]
fn dynamodb_reservations_never_oversell() {
    shop().run(|cloud| async move {
        let (store, table) = inventory(cloud).await;
        let succeeded = inventory::contract::reservations_never_oversell(&store).await;
        assert_eq!(outbox_items(cloud, &table).await, succeeded);
    });
}

#[test]
fn dynamodb_reservation_transitions_happen_once() {
    shop().run(|cloud| async move {
        let (store, _) = inventory(cloud).await;
        inventory::contract::transitions_happen_once(&store).await;
    });
}

#[test]
fn dynamodb_stock_writes_from_a_stale_read_are_refused() {
    shop().run(|cloud| async move {
        let (store, _) = inventory(cloud).await;
        inventory::contract::writes_from_a_stale_read_are_refused(&store).await;
    });
}

#[test]
fn dynamodb_product_facts_apply_once_and_in_order() {
    shop().run(|cloud| async move {
        let (store, _) = inventory(cloud).await;
        inventory::contract::product_facts_apply_once_and_in_order(&store).await;
    });
}

#[test]
fn dynamodb_expiries_are_found_and_movements_paged() {
    shop().run(|cloud| async move {
        let (store, _) = inventory(cloud).await;
        inventory::contract::expiries_are_found_and_movements_paged(&store).await;
    });
}

/// How many outbox items `table` holds.
async fn outbox_items(cloud: &Cloud, table: &str) -> usize {
    let count = Client::new(&cloud.sdk_config())
        .scan()
        .table_name(table)
        .filter_expression("#t = :outbox")
        .expression_attribute_names("#t", "type")
        .expression_attribute_values(
            ":outbox",
            aws_sdk_dynamodb::types::AttributeValue::S("outbox".into()),
        )
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await
        .unwrap()
        .count;
    usize::try_from(count).unwrap()
}

async fn carts(cloud: &Cloud) -> cart::dynamo::DynamoCarts {
    let table = copy_of(cloud, "CartTable").await;
    cart::dynamo::DynamoCarts::new(Client::new(&cloud.sdk_config()), &table)
}

#[test]
fn dynamodb_carts_start_once_and_expire() {
    shop().run(|cloud| async move {
        cart::contract::carts_start_once_and_expire(&carts(cloud).await).await;
    });
}

#[test]
fn dynamodb_one_units_adds_sum_and_never_pass_99() {
    shop().run(|cloud| async move {
        cart::contract::one_units_adds_sum_and_never_pass_99(&carts(cloud).await).await;
    });
}

#[test]
fn dynamodb_a_cart_holds_50_lines_in_one_currency() {
    shop().run(|cloud| async move {
        cart::contract::a_cart_holds_50_lines_in_one_currency(&carts(cloud).await).await;
    });
}

#[test]
fn dynamodb_a_cart_merge_happens_once() {
    shop().run(|cloud| async move {
        cart::contract::a_merge_happens_once(&carts(cloud).await).await;
    });
}

#[test]
fn dynamodb_an_orders_lines_are_cleared_once() {
    shop().run(|cloud| async move {
        cart::contract::an_orders_lines_are_cleared_once(&carts(cloud).await).await;
    });
}

#[test]
fn dynamodb_cart_products_apply_in_version_order() {
    shop().run(|cloud| async move {
        cart::contract::products_apply_in_version_order(&carts(cloud).await).await;
    });
}

async fn discounts(cloud: &Cloud) -> discounts::dynamo::DynamoDiscounts {
    let table = copy_of(cloud, "DiscountsTable").await;
    discounts::dynamo::DynamoDiscounts::new(Client::new(&cloud.sdk_config()), &table)
}

#[test]
fn dynamodb_discount_codes_are_unique_ignoring_case_and_writes_conditional() {
    shop().run(|cloud| async move {
        let store = discounts(cloud).await;
        discounts::contract::codes_are_unique_ignoring_case_and_writes_conditional(&store).await;
    });
}

#[test]
fn dynamodb_a_discount_write_from_a_stale_read_changes_nothing() {
    shop().run(|cloud| async move {
        let store = discounts(cloud).await;
        discounts::contract::a_write_from_a_stale_read_changes_nothing(&store).await;
    });
}

#[test]
fn dynamodb_discount_reservations_hold_both_limits_at_once() {
    shop().run(|cloud| async move {
        let store = discounts(cloud).await;
        discounts::contract::reservations_hold_both_limits_at_once(&store).await;
    });
}

#[test]
fn dynamodb_concurrent_discount_reservations_never_pass_the_limit() {
    shop().run(|cloud| async move {
        let store = discounts(cloud).await;
        discounts::contract::concurrent_reservations_never_pass_the_limit(&store).await;
    });
}

#[test]
fn dynamodb_discount_redemptions_move_once_per_order() {
    shop().run(|cloud| async move {
        let store = discounts(cloud).await;
        discounts::contract::redemptions_move_once_per_order(&store).await;
    });
}

#[test]
fn dynamodb_discount_lists_cover_everything_once() {
    shop().run(|cloud| async move {
        let store = discounts(cloud).await;
        discounts::contract::lists_cover_everything_once(&store).await;
    });
}

#[test]
fn dynamodb_the_discounts_projection_keeps_the_newest_version() {
    shop().run(|cloud| async move {
        let store = discounts(cloud).await;
        discounts::contract::the_projection_keeps_the_newest_version(&store).await;
    });
}

async fn payments(cloud: &Cloud) -> (payments::dynamo::DynamoPayments, String) {
    let table = copy_of(cloud, "PaymentsTable").await;
    let store = payments::dynamo::DynamoPayments::new(Client::new(&cloud.sdk_config()), &table);
    (store, table)
}

#[test]
fn dynamodb_a_payment_is_created_once() {
    shop().run(|cloud| async move {
        let (store, table) = payments(cloud).await;
        let written = payments::contract::a_payment_is_created_once(&store).await;
        assert_eq!(outbox_items(cloud, &table).await, written);
    });
}

#[test]
fn dynamodb_the_payment_callbacks_transition_has_one_winner() {
    shop().run(|cloud| async move {
        let (store, table) = payments(cloud).await;
        let written = payments::contract::the_callbacks_transition_has_one_winner(&store).await;
        assert_eq!(outbox_items(cloud, &table).await, written);
    });
}

#[test]
fn dynamodb_a_payment_event_id_is_processed_once() {
    shop().run(|cloud| async move {
        let (store, table) = payments(cloud).await;
        let written = payments::contract::an_event_id_is_processed_once(&store).await;
        assert_eq!(outbox_items(cloud, &table).await, written);
    });
}

#[test]
fn dynamodb_the_token_store_and_the_payment_callback_leave_one_sender() {
    shop().run(|cloud| async move {
        let (store, table) = payments(cloud).await;
        let written =
            payments::contract::the_token_store_and_the_callback_leave_one_sender(&store).await;
        assert_eq!(outbox_items(cloud, &table).await, written);
    });
}

#[test]
fn dynamodb_a_payment_void_or_refund_happens_once() {
    shop().run(|cloud| async move {
        let (store, table) = payments(cloud).await;
        let written = payments::contract::a_void_or_refund_happens_once(&store).await;
        assert_eq!(outbox_items(cloud, &table).await, written);
    });
}

async fn orders(cloud: &Cloud) -> (orders::dynamo::DynamoOrders, String) {
    let table = copy_of(cloud, "OrdersTable").await;
    let store = orders::dynamo::DynamoOrders::new(Client::new(&cloud.sdk_config()), &table);
    (store, table)
}

#[test]
fn dynamodb_one_checkout_lock_per_user_under_concurrency() {
    shop().run(|cloud| async move {
        let (store, _) = orders(cloud).await;
        orders::contract::one_checkout_lock_per_user_under_concurrency(&store).await;
    });
}

#[test]
fn dynamodb_order_status_transitions_have_one_winner() {
    shop().run(|cloud| async move {
        let (store, table) = orders(cloud).await;
        let written = orders::contract::status_transitions_have_one_winner(&store).await;
        assert_eq!(outbox_items(cloud, &table).await, written);
    });
}

#[test]
fn dynamodb_order_numbers_are_unique() {
    shop().run(|cloud| async move {
        let (store, _) = orders(cloud).await;
        orders::contract::order_numbers_are_unique(&store).await;
    });
}

#[test]
fn dynamodb_order_lists_cover_everything_once() {
    shop().run(|cloud| async move {
        let (store, _) = orders(cloud).await;
        orders::contract::lists_cover_everything_once(&store).await;
    });
}
