//! The payment's status machine, the callback's parsing, and the events against their schemas.

use chrono::{DateTime, Utc};
use shop_domain::testing::{assert_matches_its_schema, outgoing_at};
use shop_domain::{Currency, OrderId};

use super::events::{PaymentFailed, PaymentRefunded, PaymentSucceeded};
use super::*;

fn now() -> DateTime<Utc> {
    "2026-12-01T12:00:00.000Z".parse().unwrap()
}

fn pending() -> Payment {
    Payment::new(OrderId::new(), 4497, Currency::EUR, now())
}

#[test]
fn a_payment_has_its_orders_id() {
    let payment = pending();
    assert_eq!(payment.payment_id.ulid(), payment.order_id.ulid());
    assert_eq!(payment.status, PaymentStatus::Pending);
    assert_eq!(payment.version, 1);
}

#[test]
fn the_gateway_settles_a_pending_payment_once_with_its_event() {
    let paid = pending().settled(Outcome::Success, "evt-1", now());
    assert_eq!(paid.status, PaymentStatus::Succeeded);
    assert_eq!(paid.event_id.as_deref(), Some("evt-1"));
    assert_eq!(paid.version, 2);
    let declined = pending().settled(Outcome::Decline, "evt-2", now());
    assert_eq!(declined.status, PaymentStatus::Failed);
    assert_eq!(declined.reason.as_deref(), Some("declined"));
}

#[test]
fn giving_up_voids_the_unpaid_refunds_the_captured_and_leaves_the_rest() {
    let voided = pending().given_up("payment timed out", now()).unwrap();
    assert_eq!(voided.status, PaymentStatus::Voided);
    assert_eq!(voided.reason.as_deref(), Some("payment timed out"));
    let paid = pending().settled(Outcome::Success, "e", now());
    let refunded = paid.given_up("checkout failed: X", now()).unwrap();
    assert_eq!(refunded.status, PaymentStatus::Refunded);
    assert_eq!(refunded.version, 3);
    for done in [
        refunded,
        voided,
        pending().settled(Outcome::Decline, "e", now()),
    ] {
        assert_eq!(done.given_up("again", now()), None);
    }
}

#[test]
fn give_up_reasons_name_the_failed_step() {
    assert_eq!(give_up_reason(Some("States.Timeout")), "payment timed out");
    assert_eq!(give_up_reason(Some("PaymentDeclined")), "payment declined");
    assert_eq!(
        give_up_reason(Some("IllegalTransition")),
        "checkout failed: IllegalTransition"
    );
    assert_eq!(give_up_reason(None), "voided");
}

#[test]
fn a_callback_body_parses_or_names_its_field() {
    let id = OrderId::new();
    let body = format!(
        r#"{{"eventId":"01JBQ00000000000000000EV01","paymentId":"{id}","outcome":"success","amount":4497,"currency":"EUR"}}"#
    );
    let event = CallbackEvent::parse(body.as_bytes()).unwrap();
    assert_eq!(event.outcome, Outcome::Success);
    assert_eq!(event.amount, 4497);
    for (bad, field) in [
        (body.replace("success", "maybe"), "outcome"),
        (body.replace("4497", "44.97"), "amount"),
        (body.replace("4497", "-1"), "amount"),
        (body.replace("EUR", "eur"), "currency"),
        (body.replace("01JBQ00000000000000000EV01", ""), "eventId"),
        (
            body.replace("01JBQ00000000000000000EV01", "has space"),
            "eventId",
        ),
        (format!("{id}"), "body"),
    ] {
        match CallbackEvent::parse(bad.as_bytes()) {
            Err(DomainError::Validation(errors)) => assert_eq!(errors[0].field, field, "{bad}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn task_tokens_are_never_printed() {
    let token = TaskToken::parse("AAAA-secret-token".to_owned()).unwrap();
    assert!(!format!("{token:?}").contains("secret"));
    assert!(TaskToken::parse(String::new()).is_err());
    assert!(TaskToken::parse("x".repeat(1025)).is_err());
}

#[test]
fn the_events_match_their_schemas() {
    let paid = pending().settled(Outcome::Success, "e", now());
    assert_matches_its_schema(&outgoing_at(
        now(),
        paid.version,
        PaymentSucceeded::of(&paid),
    ));
    let declined = pending().settled(Outcome::Decline, "e", now());
    assert_matches_its_schema(&outgoing_at(now(), 2, PaymentFailed::of(&declined)));
    let voided = pending().given_up("payment timed out", now()).unwrap();
    assert_matches_its_schema(&outgoing_at(now(), 2, PaymentFailed::of(&voided)));
    let refunded = paid.given_up("checkout failed: X", now()).unwrap();
    assert_matches_its_schema(&outgoing_at(now(), 3, PaymentRefunded::of(&refunded)));
}
