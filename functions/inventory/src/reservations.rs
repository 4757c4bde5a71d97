//! The internal functions the cart and the checkout invoke (no route; JSON in and out; a
//! business refusal is a Lambda error whose `errorType` names it, infrastructure trouble is
//! `Retryable`), and the sweeper.
//!
//! - `get-stock-levels` `{"units": [{productId, sku}]}` (≤ 100) → the same units, in order,
//!   with `available`, `inStock` and `known`.
//! - `reserve-stock` `{reservationId, items, holdSeconds}` → the reservation (`ACTIVE`, lines
//!   summed per unit); `InsufficientStock`, `UnknownUnit`.
//! - `commit-stock` `{reservationId}`: `ReservationNotFound` (unknown, or released by a
//!   release), `ReservationExpired` (released by expiry and the stock is gone meanwhile).
//! - `release-stock` `{reservationId}`: an unknown, released or committed reservation is a
//!   success that changes nothing.
//! - `release-expired-stock` (every minute): releases the ACTIVE reservations past expiry.
//!
//! Each is idempotent by reservation id: the reservation's status and version are the
//! condition of every transition, so a repeat or a race (a release against the sweeper, two
//! commits) changes the stock once. After a change, [`settle`] announces the threshold
//! crossings of the units it touched.

use lambda_runtime::LambdaEvent;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shop_adapters::lambda::TaskError;
use shop_domain::{
    CorrelationId, DomainError, DomainEvent, EventEnvelope, OutgoingEvent, ProductId, ReservationId,
};

use crate::Deps;
use crate::domain::events::{
    BackInStock, LowStockDetected, OutOfStock, StockCommitted, StockReleased, StockReserved,
    event_id,
};
use crate::domain::{
    Deltas, Finish, MAX_STOCK_LEVEL_UNITS, Movement, Reservation, ReservationStatus, ReserveInput,
    ReserveRequest, UnitKey, is_sku,
};

/// `errorType` of a reservation refused for want of stock.
pub const INSUFFICIENT_STOCK: &str = "InsufficientStock";
/// `errorType` of a reservation naming a unit the inventory does not sell.
pub const UNKNOWN_UNIT: &str = "UnknownUnit";
/// `errorType` of a commit of a reservation that does not exist (or was released).
pub const RESERVATION_NOT_FOUND: &str = "ReservationNotFound";
/// `errorType` of a commit after the sweeper released the reservation and the stock went.
pub const RESERVATION_EXPIRED: &str = "ReservationExpired";

/// How many reservations one sweep releases at most (the next run takes the rest).
pub const SWEEP_LIMIT: usize = 500;

/// The input as `T`; a wrong shape is a validation error naming the field.
fn input<T: DeserializeOwned>(value: Value) -> Result<T, DomainError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "input".to_owned()
        } else {
            path
        };
        DomainError::validation(field, e.inner().to_string())
    })
}

/// The outbox item of `data`, with the id that names `change` (see
/// [`event_id`](crate::domain::events::event_id)), stamped at `at`.
fn event<T: DomainEvent>(
    deps: &Deps,
    aggregate_version: u64,
    data: T,
    change: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<OutgoingEvent, DomainError> {
    let mut envelope = EventEnvelope::new(
        deps.clock.as_ref(),
        CorrelationId::new(),
        aggregate_version,
        data,
    );
    envelope.id = event_id(&format!("{}/{change}", T::TYPE), at);
    envelope.to_outgoing()
}

/// The JSON answer for a reservation.
fn answer(reservation: &Reservation) -> Value {
    json!({
        "reservationId": reservation.reservation_id,
        "status": reservation.status,
        "expiresAt": shop_timestamp(reservation.expires_at),
        "items": reservation.items,
    })
}

fn shop_timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StockLevelsInput {
    units: Vec<UnitInput>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UnitInput {
    product_id: ProductId,
    sku: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StockLevel {
    product_id: ProductId,
    sku: String,
    available: u64,
    in_stock: bool,
    known: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReservationRef {
    reservation_id: ReservationId,
}

/// `get-stock-levels`: what is available of each unit asked about, in the order asked;
/// `known: false` (and 0) for a unit the inventory does not sell.
pub async fn get_stock_levels(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, TaskError> {
    let request: StockLevelsInput = input(event.payload)?;
    if request.units.len() > MAX_STOCK_LEVEL_UNITS {
        return Err(DomainError::validation(
            "units",
            format!("must name at most {MAX_STOCK_LEVEL_UNITS} units"),
        )
        .into());
    }
    if let Some(i) = request.units.iter().position(|u| !is_sku(&u.sku)) {
        return Err(DomainError::validation(
            format!("units[{i}].sku"),
            "must be 1-64 letters, digits, '.', '_' or '-'",
        )
        .into());
    }
    let keys: Vec<UnitKey> = request
        .units
        .into_iter()
        .map(|u| UnitKey::new(u.product_id, u.sku))
        .collect();
    let found = deps.store.stock_levels(&keys).await?;
    let units: Vec<StockLevel> = keys
        .into_iter()
        .zip(found)
        .map(|(key, unit)| {
            let known = unit.as_ref().is_some_and(|u| u.sellable);
            let available = unit.as_ref().filter(|_| known).map_or(0, |u| u.available);
            StockLevel {
                product_id: key.product_id,
                sku: key.sku,
                available,
                in_stock: available > 0,
                known,
            }
        })
        .collect();
    Ok(json!({ "units": units }))
}

/// `reserve-stock`: holds every line (summed per unit) or none.
#[tracing::instrument(skip_all)]
pub async fn reserve_stock(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, TaskError> {
    let request: ReserveInput = input(event.payload)?;
    let reservation = reserve(deps, ReserveRequest::parse(request)?).await?;
    Ok(answer(&reservation))
}

/// Reserves `request`: the new reservation, or the stored one when its id was reserved
/// before (whatever it became since).
pub async fn reserve(deps: &Deps, request: ReserveRequest) -> Result<Reservation, TaskError> {
    // Reads that only refuse early (a repeat, a unit plainly short): the write below is
    // what decides, under its conditions, whatever happened since.
    if let Some(stored) = deps.store.reservation(request.reservation_id).await? {
        return Ok(stored);
    }
    let now = deps.clock.now();
    let reservation = Reservation::new(&request, now);
    if let Some(refused) = refusal(deps, &reservation, false).await? {
        return Err(refused);
    }
    let movements = Movement::of_reservation(&reservation, "reserved", Deltas::RESERVE, now);
    let reserved = event(
        deps,
        reservation.version,
        StockReserved {
            reservation_id: reservation.reservation_id,
            items: reservation.items.clone(),
            expires_at: shop_timestamp(reservation.expires_at),
        },
        &format!("{}/{}", reservation.reservation_id, reservation.version),
        // Two reservations of one id racing have no read in common; the id's own time is.
        chrono::DateTime::from_timestamp_millis(
            i64::try_from(reservation.reservation_id.ulid().timestamp_ms()).unwrap_or_default(),
        )
        .unwrap_or(reservation.created_at),
    )?;
    match deps
        .store
        .reserve(&reservation, movements, vec![reserved])
        .await
    {
        Ok(()) => {
            tracing::info!(reservation_id = %reservation.reservation_id, units = reservation.items.len(), "reserved");
            settle_all(deps, reservation.items.iter().map(|i| i.key())).await;
            Ok(reservation)
        }
        Err(DomainError::Conflict(_)) => deps
            .store
            .reservation(reservation.reservation_id)
            .await?
            .ok_or_else(|| {
                DomainError::Unavailable("the reservation vanished while being made".into()).into()
            }),
        Err(DomainError::Unprocessable(_)) => {
            Err(refusal(deps, &reservation, true).await?.unwrap_or_else(|| {
                TaskError::named(
                    INSUFFICIENT_STOCK,
                    "the stock changed meanwhile; not enough",
                )
            }))
        }
        Err(other) => Err(other.into()),
    }
}

/// Why `reservation` would be refused, naming the units: unknown ones first, else those
/// short; `None` when the units (as read now) have the stock. `refused`: the store refused it
/// already, so a reason is given even when the stock came back since.
async fn refusal(
    deps: &Deps,
    reservation: &Reservation,
    refused: bool,
) -> Result<Option<TaskError>, DomainError> {
    let keys: Vec<UnitKey> = reservation.items.iter().map(|i| i.key()).collect();
    let units = deps.store.stock_levels(&keys).await?;
    let unknown: Vec<String> = keys
        .iter()
        .zip(&units)
        .filter(|(_, u)| !u.as_ref().is_some_and(|u| u.sellable))
        .map(|(k, _)| k.to_string())
        .collect();
    if !unknown.is_empty() {
        return Ok(Some(TaskError::named(
            UNKNOWN_UNIT,
            format!("not sold here: {}", unknown.join(", ")),
        )));
    }
    let short: Vec<String> = reservation
        .items
        .iter()
        .zip(&units)
        .filter_map(|(item, unit)| {
            let available = unit.as_ref().map_or(0, |u| u.available);
            (available < item.quantity).then(|| {
                format!(
                    "{}: {} wanted, {available} available",
                    item.key(),
                    item.quantity
                )
            })
        })
        .collect();
    if short.is_empty() {
        return Ok(refused.then(|| {
            TaskError::named(
                INSUFFICIENT_STOCK,
                format!(
                    "not enough stock of {}",
                    keys.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        }));
    }
    Ok(Some(TaskError::named(INSUFFICIENT_STOCK, short.join("; "))))
}

/// `commit-stock`: sells a reservation's stock.
#[tracing::instrument(skip_all)]
pub async fn commit_stock(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, TaskError> {
    let request: ReservationRef = input(event.payload)?;
    commit(deps, request.reservation_id).await
}

/// How often a transition re-reads and tries again after losing a race to another one.
const ATTEMPTS: usize = 4;

/// Commits reservation `id`: `{reservationId, status: "COMMITTED", changed}`.
pub async fn commit(deps: &Deps, id: ReservationId) -> Result<Value, TaskError> {
    for _ in 0..ATTEMPTS {
        let Some(reservation) = deps.store.reservation(id).await? else {
            return Err(TaskError::named(
                RESERVATION_NOT_FOUND,
                format!("no reservation {id}"),
            ));
        };
        let now = deps.clock.now();
        let next = reservation.moved(ReservationStatus::Committed, reservation.expired, now);
        let committed = || {
            event(
                deps,
                next.version,
                StockCommitted {
                    reservation_id: id,
                    items: reservation.items.clone(),
                },
                &format!("{id}/{}", next.version),
                reservation.updated_at,
            )
        };
        let result = match (reservation.status, reservation.expired) {
            (ReservationStatus::Committed, _) => return Ok(transition(&reservation, false)),
            (ReservationStatus::Released, false) => {
                return Err(TaskError::named(
                    RESERVATION_NOT_FOUND,
                    format!("reservation {id} was released; reserve again"),
                ));
            }
            (ReservationStatus::Active, _) => {
                let movements =
                    Movement::of_reservation(&reservation, "committed", Deltas::COMMIT, now);
                deps.store
                    .finish(
                        &reservation,
                        &next,
                        Finish::Commit,
                        movements,
                        vec![committed()?],
                    )
                    .await
            }
            (ReservationStatus::Released, true) => {
                let movements =
                    Movement::of_reservation(&reservation, "committed", Deltas::RETAKE, now);
                match deps
                    .store
                    .commit_expired(&reservation, &next, movements, vec![committed()?])
                    .await
                {
                    Err(DomainError::Unprocessable(why)) => {
                        return Err(TaskError::named(
                            RESERVATION_EXPIRED,
                            format!("reservation {id} expired and {why}"),
                        ));
                    }
                    Ok(()) => {
                        settle_all(deps, reservation.items.iter().map(|i| i.key())).await;
                        Ok(())
                    }
                    other => other,
                }
            }
        };
        match result {
            Ok(()) => {
                tracing::info!(reservation_id = %id, "committed");
                return Ok(transition(&next, true));
            }
            Err(DomainError::Conflict(_)) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(DomainError::Unavailable(format!("reservation {id} kept changing; retry")).into())
}

fn transition(reservation: &Reservation, changed: bool) -> Value {
    json!({
        "reservationId": reservation.reservation_id,
        "status": reservation.status,
        "changed": changed,
    })
}

/// `release-stock`: gives a reservation's stock back; safe to repeat.
#[tracing::instrument(skip_all)]
pub async fn release_stock(deps: &Deps, event: LambdaEvent<Value>) -> Result<Value, TaskError> {
    let request: ReservationRef = input(event.payload)?;
    Ok(release(deps, request.reservation_id, Finish::Release).await?)
}

/// Releases reservation `id` (`how`: a release, or the sweeper's expiry, which only releases
/// one past its expiry): `{reservationId, status, changed}`, `status` `null` when unknown.
pub async fn release(deps: &Deps, id: ReservationId, how: Finish) -> Result<Value, DomainError> {
    for _ in 0..ATTEMPTS {
        let Some(reservation) = deps.store.reservation(id).await? else {
            return Ok(json!({"reservationId": id, "status": null, "changed": false}));
        };
        let now = deps.clock.now();
        if reservation.status != ReservationStatus::Active
            || (how == Finish::Expire && !reservation.is_past_expiry(now))
        {
            return Ok(transition(&reservation, false));
        }
        let expired = how == Finish::Expire;
        let next = reservation.moved(ReservationStatus::Released, expired, now);
        let reason = if expired { "expired" } else { "released" };
        let movements = Movement::of_reservation(&reservation, reason, Deltas::RELEASE, now);
        let released = event(
            deps,
            next.version,
            StockReleased {
                reservation_id: id,
                items: reservation.items.clone(),
                reason: reason.to_owned(),
            },
            &format!("{id}/{}", next.version),
            reservation.updated_at,
        )?;
        match deps
            .store
            .finish(&reservation, &next, how, movements, vec![released])
            .await
        {
            Ok(()) => {
                tracing::info!(reservation_id = %id, reason, "released");
                settle_all(deps, reservation.items.iter().map(|i| i.key())).await;
                return Ok(transition(&next, true));
            }
            Err(DomainError::Conflict(_)) => continue,
            Err(other) => return Err(other),
        }
    }
    Err(DomainError::Unavailable(format!(
        "reservation {id} kept changing; retry"
    )))
}

/// `release-expired-stock` (schedule): releases every ACTIVE reservation past its expiry
/// (up to [`SWEEP_LIMIT`] a run): `{"released": n}`. Takes any event (the schedule's, or `{}`
/// when invoked by hand).
pub async fn release_expired_stock(
    deps: &Deps,
    _event: LambdaEvent<Value>,
) -> Result<Value, TaskError> {
    let now = deps.clock.now();
    let ids = deps.store.expired_reservations(now, SWEEP_LIMIT).await?;
    let mut released = 0;
    for id in ids {
        let outcome = release(deps, id, Finish::Expire).await?;
        if outcome["changed"] == true {
            released += 1;
        }
    }
    if released > 0 {
        tracing::info!(released, "expired reservations released");
    }
    Ok(json!({ "released": released }))
}

/// [`settle`] for each of `keys`.
pub async fn settle_all(deps: &Deps, keys: impl Iterator<Item = UnitKey>) {
    for key in keys {
        if let Err(err) = settle(deps, &key).await {
            // The change itself is stored; the next change to the unit settles its flags.
            tracing::warn!(unit = %key, error = %err, "threshold flags not settled");
        }
    }
}

/// Announces `key`'s threshold crossings since the last announcement: reads the unit and, if
/// its flags are behind its stock, flips them with the events in one write conditional on
/// the version and flags read. Of two settles from one read one wins; a settle that loses to
/// a newer change leaves it to that change's own settle.
pub async fn settle(deps: &Deps, key: &UnitKey) -> Result<(), DomainError> {
    let Some(unit) = deps.store.unit(key).await? else {
        return Ok(());
    };
    let crossings = unit.crossings();
    if !crossings.changes(&unit) {
        return Ok(());
    }
    let change = format!("{key}/{}", unit.version);
    let at = unit.updated_at;
    let mut events = Vec::new();
    if crossings.low_detected {
        events.push(event(
            deps,
            unit.version,
            LowStockDetected {
                product_id: unit.product_id,
                sku: unit.sku.clone(),
                seller_id: unit.seller_id.clone(),
                available: unit.available,
                low_stock_threshold: unit.low_stock_threshold,
            },
            &change,
            at,
        )?);
    }
    if crossings.out_of_stock {
        events.push(event(
            deps,
            unit.version,
            OutOfStock {
                product_id: unit.product_id,
                sku: unit.sku.clone(),
                seller_id: unit.seller_id.clone(),
            },
            &change,
            at,
        )?);
    }
    if crossings.back_in_stock {
        events.push(event(
            deps,
            unit.version,
            BackInStock {
                product_id: unit.product_id,
                sku: unit.sku.clone(),
                seller_id: unit.seller_id.clone(),
                available: unit.available,
            },
            &change,
            at,
        )?);
    }
    match deps.store.settle_flags(&unit, crossings, events).await {
        Ok(()) | Err(DomainError::Conflict(_)) => Ok(()),
        Err(other) => Err(other),
    }
}
