//! [`Money`]: an amount in integer minor units (cents, pence, yen) plus its [`Currency`].
//!
//! Floating point cannot represent 0.10 exactly, so prices never touch `f64`: all arithmetic
//! is checked integer arithmetic that fails loudly on overflow or on mixing currencies.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// A validated ISO 4217 currency code: exactly three upper-case ASCII letters.
///
/// Only the shape is validated, not membership of the ISO list, so a new currency needs no
/// code change; [`Currency::exponent`] knows the minor units of those that are not 2.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Euro.
    pub const EUR: Currency = Currency(*b"EUR");
    /// US dollar.
    pub const USD: Currency = Currency(*b"USD");
    /// Pound sterling.
    pub const GBP: Currency = Currency(*b"GBP");
    /// Japanese yen (no minor unit).
    pub const JPY: Currency = Currency(*b"JPY");

    /// The code as a string slice, e.g. `"EUR"`.
    pub fn code(&self) -> &str {
        // Construction only admits ASCII upper-case letters, so this cannot fail.
        std::str::from_utf8(&self.0).expect("currency codes are ASCII")
    }

    /// How many decimal digits the minor unit has: 0 for JPY, 3 for KWD, 2 for most.
    ///
    /// Taken from the ISO 4217 table; codes not listed default to 2, which is right for the
    /// vast majority of currencies.
    pub fn exponent(&self) -> u32 {
        match &self.0 {
            b"BIF" | b"CLP" | b"DJF" | b"GNF" | b"ISK" | b"JPY" | b"KMF" | b"KRW" | b"PYG"
            | b"RWF" | b"UGX" | b"UYI" | b"VND" | b"VUV" | b"XAF" | b"XOF" | b"XPF" => 0,
            b"BHD" | b"IQD" | b"JOD" | b"KWD" | b"LYD" | b"OMR" | b"TND" => 3,
            b"CLF" | b"UYW" => 4,
            _ => 2,
        }
    }
}

impl FromStr for Currency {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.as_bytes() {
            &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Ok(Self([a, b, c])),
            _ => Err(DomainError::validation(
                "currency",
                "must be an ISO 4217 code of three upper-case letters, e.g. EUR",
            )),
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        s.parse().map_err(|_| {
            serde::de::Error::custom(format_args!(
                "invalid currency `{s}`: expected an ISO 4217 code of three upper-case letters"
            ))
        })
    }
}

/// An amount of money in integer minor units of a currency.
///
/// JSON form: `{"amount": 1999, "currency": "EUR"}` means EUR 19.99. `amount` is the integer
/// count of minor units (as Stripe and Adyen do), never a decimal, so no client can introduce
/// rounding; it may be negative (refunds, discounts). The field is `amount` rather than
/// `amountMinor` because the API documents once that all amounts are in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// The amount in minor units: cents for EUR, yen for JPY, fils for KWD.
    #[serde(rename = "amount")]
    pub amount_minor: i64,
    /// The currency the amount is in.
    pub currency: Currency,
}

impl Money {
    /// `amount_minor` minor units of `currency`.
    pub const fn new(amount_minor: i64, currency: Currency) -> Self {
        Self {
            amount_minor,
            currency,
        }
    }

    /// Zero in `currency`, the start of a sum.
    pub const fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.amount_minor == 0
    }

    /// Whether the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.amount_minor < 0
    }

    /// `self + other`; fails if the currencies differ or the sum overflows.
    pub fn checked_add(self, other: Money) -> Result<Money, DomainError> {
        self.same_currency(other)?;
        self.amount_minor
            .checked_add(other.amount_minor)
            .map(|amount| Money::new(amount, self.currency))
            .ok_or_else(overflow)
    }

    /// `self - other`; fails if the currencies differ or the difference overflows.
    pub fn checked_sub(self, other: Money) -> Result<Money, DomainError> {
        self.same_currency(other)?;
        self.amount_minor
            .checked_sub(other.amount_minor)
            .map(|amount| Money::new(amount, self.currency))
            .ok_or_else(overflow)
    }

    /// `self × factor` (a quantity); fails on overflow.
    pub fn checked_mul(self, factor: i64) -> Result<Money, DomainError> {
        self.amount_minor
            .checked_mul(factor)
            .map(|amount| Money::new(amount, self.currency))
            .ok_or_else(overflow)
    }

    /// Sums `items`, all of which must be in `currency`; an empty list sums to zero.
    pub fn sum(
        currency: Currency,
        items: impl IntoIterator<Item = Money>,
    ) -> Result<Money, DomainError> {
        items
            .into_iter()
            .try_fold(Money::zero(currency), Money::checked_add)
    }

    fn same_currency(self, other: Money) -> Result<(), DomainError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(DomainError::validation(
                "currency",
                format!(
                    "cannot combine {} with {}: amounts must share one currency",
                    self.currency, other.currency
                ),
            ))
        }
    }
}

fn overflow() -> DomainError {
    DomainError::validation("amount", "is too large")
}

/// Human form for logs and emails: `19.99 EUR`, `500 JPY`, `-0.05 USD`.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = self.currency.exponent();
        if exp == 0 {
            return write!(f, "{} {}", self.amount_minor, self.currency);
        }
        let scale = 10u64.pow(exp);
        let abs = self.amount_minor.unsigned_abs();
        let sign = if self.amount_minor < 0 { "-" } else { "" };
        write!(
            f,
            "{sign}{}.{:0width$} {}",
            abs / scale,
            abs % scale,
            self.currency,
            width = exp as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::EUR)
    }

    #[test]
    fn adds_and_subtracts_in_one_currency() {
        assert_eq!(eur(1999).checked_add(eur(1)).unwrap(), eur(2000));
        assert_eq!(eur(1000).checked_sub(eur(1999)).unwrap(), eur(-999));
        assert_eq!(eur(1999).checked_mul(3).unwrap(), eur(5997));
        assert_eq!(
            Money::sum(Currency::EUR, [eur(1), eur(2), eur(3)]).unwrap(),
            eur(6)
        );
        assert_eq!(Money::sum(Currency::EUR, []).unwrap(), eur(0));
    }

    #[test]
    fn refuses_to_mix_currencies() {
        let err = eur(1)
            .checked_add(Money::new(1, Currency::USD))
            .unwrap_err();
        assert_eq!(err.details()[0].field, "currency");
        assert!(eur(1).checked_sub(Money::new(1, Currency::USD)).is_err());
        assert!(Money::sum(Currency::EUR, [Money::new(1, Currency::GBP)]).is_err());
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert!(eur(i64::MAX).checked_add(eur(1)).is_err());
        assert!(eur(i64::MIN).checked_sub(eur(1)).is_err());
        assert!(eur(i64::MAX / 2 + 1).checked_mul(2).is_err());
    }

    #[test]
    fn serializes_as_amount_and_currency() {
        let value = serde_json::to_value(eur(1999)).unwrap();
        assert_eq!(value, json!({"amount": 1999, "currency": "EUR"}));
        let back: Money = serde_json::from_value(value).unwrap();
        assert_eq!(back, eur(1999));
    }

    #[test]
    fn rejects_invalid_currency_and_fractional_amounts() {
        for bad in ["eur", "EU", "EURO", "E1R", ""] {
            assert!(bad.parse::<Currency>().is_err(), "{bad}");
            let json = json!({"amount": 1, "currency": bad});
            assert!(serde_json::from_value::<Money>(json).is_err(), "{bad}");
        }
        let fractional = json!({"amount": 19.99, "currency": "EUR"});
        assert!(serde_json::from_value::<Money>(fractional).is_err());
    }

    #[test]
    fn knows_minor_units_of_common_currencies() {
        assert_eq!(Currency::JPY.exponent(), 0);
        assert_eq!(Currency::USD.exponent(), 2);
        assert_eq!(Currency::EUR.exponent(), 2);
        assert_eq!(Currency::GBP.exponent(), 2);
        assert_eq!("KWD".parse::<Currency>().unwrap().exponent(), 3);
        assert_eq!("BHD".parse::<Currency>().unwrap().exponent(), 3);
        assert_eq!("CHF".parse::<Currency>().unwrap().exponent(), 2);
    }

    #[test]
    fn displays_in_major_units() {
        assert_eq!(eur(1999).to_string(), "19.99 EUR");
        assert_eq!(eur(-5).to_string(), "-0.05 EUR");
        assert_eq!(Money::new(500, Currency::JPY).to_string(), "500 JPY");
        let kwd = "KWD".parse().unwrap();
        assert_eq!(Money::new(1234, kwd).to_string(), "1.234 KWD");
    }
}
