//! The payments store contract: what every [`PaymentStore`] adapter must do, written once and
//! run against [`MemoryPayments`](crate::memory) (the handler tests' `store` module) and the
//! DynamoDB adapter on moto (the end-to-end `stores` module). Each check takes a fresh, empty
//! store, panics on the first broken rule, and returns how many outbox events its winning
//! writes committed, for each side to count its outbox its own way.

use chrono::{DateTime, Utc};
use futures::future::join_all;
use shop_domain::testing::contract_event;
use shop_domain::{Clock, Currency, DomainError, OrderId, SystemClock};

use crate::domain::{
    Outcome, Payment, PaymentStatus, PaymentStore, SettleRefusal, TaskToken, TokenStored,
};

fn event() -> shop_domain::OutgoingEvent {
    contract_event("shop.payments", 0)
}

/// Whole milliseconds, as the table stores timestamps.
fn now() -> DateTime<Utc> {
    let now = SystemClock.now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

async fn created(store: &impl PaymentStore) -> Payment {
    let payment = Payment::new(OrderId::new(), 4497, Currency::EUR, now());
    assert_eq!(store.create(&payment).await.unwrap(), payment);
    payment
}

fn token(n: usize) -> TaskToken {
    TaskToken::parse(format!("token-{n}-{}", OrderId::new())).unwrap()
}

/// A payment is created once: a repeat (even with other values) answers the stored one and
/// changes nothing; reads are consistent.
pub async fn a_payment_is_created_once(store: &impl PaymentStore) -> usize {
    let payment = created(store).await;
    let other = Payment {
        amount: 1,
        ..Payment::new(payment.order_id, 1, Currency::USD, now())
    };
    assert_eq!(store.create(&other).await.unwrap(), payment);
    let racing = join_all((0..12).map(|_| store.create(&payment))).await;
    assert!(
        racing.iter().all(|r| r.as_ref().ok() == Some(&payment)),
        "{racing:?}"
    );
    assert_eq!(
        store.payment(payment.payment_id).await.unwrap(),
        Some(payment)
    );
    assert_eq!(
        store
            .payment(crate::domain::payment_id_of(OrderId::new()))
            .await
            .unwrap(),
        None
    );
    0
}

/// Of 12 concurrent settlements of one payment with distinct event ids exactly one wins (its
/// event and status stored); the others are refused as not pending; the losers' event ids
/// stay unprocessed.
pub async fn the_callbacks_transition_has_one_winner(store: &impl PaymentStore) -> usize {
    let payment = created(store).await;
    let attempts: Vec<Payment> = (0..12)
        .map(|i| {
            let outcome = if i % 2 == 0 {
                Outcome::Success
            } else {
                Outcome::Decline
            };
            payment.settled(outcome, &format!("evt-{i}-{}", OrderId::new()), now())
        })
        .collect();
    let results = join_all(
        attempts
            .iter()
            .map(|after| store.settle(&payment, after, event())),
    )
    .await;
    let winners: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_ok())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(()) | Err(SettleRefusal::NotPending))),
        "{results:?}"
    );
    let winner = &attempts[winners[0]];
    let stored = store.payment(payment.payment_id).await.unwrap().unwrap();
    assert_eq!(stored.status, winner.status);
    assert_eq!(stored.event_id, winner.event_id);
    assert_eq!(stored.version, 2);
    for (i, attempt) in attempts.iter().enumerate() {
        let seen = store
            .event_seen(attempt.event_id.as_deref().unwrap())
            .await
            .unwrap();
        assert_eq!(seen, i == winners[0], "event {i}");
    }
    1
}

/// A gateway event id is processed once, whichever payment it names: a second settlement
/// with it (of another, pending payment) is refused and changes nothing.
pub async fn an_event_id_is_processed_once(store: &impl PaymentStore) -> usize {
    let first = created(store).await;
    let second = created(store).await;
    let id = format!("evt-{}", OrderId::new());
    assert!(!store.event_seen(&id).await.unwrap());
    store
        .settle(
            &first,
            &first.settled(Outcome::Success, &id, now()),
            event(),
        )
        .await
        .unwrap();
    assert!(store.event_seen(&id).await.unwrap());
    let again = store
        .settle(
            &second,
            &second.settled(Outcome::Success, &id, now()),
            event(),
        )
        .await;
    assert_eq!(again, Err(SettleRefusal::EventSeen));
    assert_eq!(
        store.payment(second.payment_id).await.unwrap(),
        Some(second)
    );
    1
}

/// A token is stored only on a PENDING payment, and a settlement from a read taken before
/// the token was stored keeps it (the settlement never writes the token). Racing a token
/// store against a settlement leaves exactly one sender: the callback when its read after
/// the write sees the token, await-payment when its write was refused.
pub async fn the_token_store_and_the_callback_leave_one_sender(store: &impl PaymentStore) -> usize {
    // Unknown payment.
    let unknown = crate::domain::payment_id_of(OrderId::new());
    assert_eq!(
        store.store_token(unknown, &token(0), now()).await.unwrap(),
        TokenStored::Unknown
    );

    // Stale read: the token survives the settlement.
    let payment = created(store).await;
    let waiting = token(1);
    assert_eq!(
        store
            .store_token(payment.payment_id, &waiting, now())
            .await
            .unwrap(),
        TokenStored::Stored
    );
    let paid = payment.settled(Outcome::Success, &format!("evt-{}", OrderId::new()), now());
    store.settle(&payment, &paid, event()).await.unwrap();
    let stored = store.payment(payment.payment_id).await.unwrap().unwrap();
    assert_eq!(stored.task_token.as_ref(), Some(&waiting));
    assert_eq!(stored.status, PaymentStatus::Succeeded);
    // Answered: recorded, and kept by a later transition.
    assert!(!stored.answered);
    store.mark_answered(payment.payment_id).await.unwrap();
    let refunded = stored.given_up("checkout failed: X", now()).unwrap();
    store.finish(&stored, &refunded, event()).await.unwrap();
    let stored = store.payment(payment.payment_id).await.unwrap().unwrap();
    assert!(stored.answered);
    assert_eq!(stored.status, PaymentStatus::Refunded);
    // Too late: refused, with the payment as it is.
    match store
        .store_token(payment.payment_id, &token(2), now())
        .await
        .unwrap()
    {
        TokenStored::NotPending(now) => assert_eq!(now.task_token.as_ref(), Some(&waiting)),
        other => panic!("{other:?}"),
    }

    // Races.
    let mut settled = 0;
    for round in 0..10 {
        let payment = created(store).await;
        let tok = token(100 + round);
        let after = payment.settled(Outcome::Success, &format!("evt-{}", OrderId::new()), now());
        let (stored, settle) = futures::join!(
            store.store_token(payment.payment_id, &tok, now()),
            store.settle(&payment, &after, event())
        );
        settle.unwrap();
        settled += 1;
        let read_after = store.payment(payment.payment_id).await.unwrap().unwrap();
        let callback_sends = read_after.task_token.as_ref() == Some(&tok);
        let await_sends = match stored.unwrap() {
            TokenStored::Stored => false,
            TokenStored::NotPending(p) => p.task_token.as_ref() != Some(&tok),
            TokenStored::Unknown => panic!("the payment exists"),
        };
        assert!(
            callback_sends != await_sends,
            "round {round}: callback {callback_sends}, await {await_sends}"
        );
    }
    2 + settled
}

/// A void or refund happens once: of 12 concurrent transitions from one read one wins and
/// the rest are conflicts; a transition from a stale status is a conflict.
pub async fn a_void_or_refund_happens_once(store: &impl PaymentStore) -> usize {
    let payment = created(store).await;
    let voided = payment.given_up("payment timed out", now()).unwrap();
    let results = join_all((0..12).map(|_| store.finish(&payment, &voided, event()))).await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(()) | Err(DomainError::Conflict(_))))
    );
    let stored = store.payment(payment.payment_id).await.unwrap().unwrap();
    assert_eq!(stored.status, PaymentStatus::Voided);
    assert_eq!(stored.reason.as_deref(), Some("payment timed out"));
    // A late callback cannot settle a voided payment.
    let late = payment.settled(Outcome::Success, &format!("evt-{}", OrderId::new()), now());
    assert_eq!(
        store.settle(&payment, &late, event()).await,
        Err(SettleRefusal::NotPending)
    );

    // Captured, then refunded once.
    let payment = created(store).await;
    let paid = payment.settled(Outcome::Success, &format!("evt-{}", OrderId::new()), now());
    store.settle(&payment, &paid, event()).await.unwrap();
    let refunded = paid.given_up("checkout failed: X", now()).unwrap();
    let results = join_all((0..12).map(|_| store.finish(&paid, &refunded, event()))).await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    let stored = store.payment(payment.payment_id).await.unwrap().unwrap();
    assert_eq!(stored.status, PaymentStatus::Refunded);
    assert_eq!(stored.version, 3);
    assert_eq!(stored.event_id, paid.event_id);
    // From a stale read (PENDING, now REFUNDED): refused.
    let stale = payment.given_up("again", now()).unwrap();
    assert!(matches!(
        store.finish(&payment, &stale, event()).await,
        Err(DomainError::Conflict(_))
    ));
    3
}
