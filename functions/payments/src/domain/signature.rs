//! The two signatures of the payments service, both HMAC-SHA256 keyed with the webhook
//! secret's string value (UTF-8 bytes, as is) and written in lower-case hex:
//!
//! - the payment page's request, `sig` = HMAC(`"<paymentId>.<amount>.<currency>"`), so the
//!   stateless gateway can trust the amount and currency of the URL it is sent to;
//! - the gateway's callback, header `X-Signature: t=<unix seconds>,v1=<hex>` with the HMAC
//!   of `"<t>.<raw body>"`; checked in constant time (`Mac::verify_slice`), and refused when
//!   `t` is more than [`TOLERANCE_SECONDS`] from now either way.
//!
//! A header may carry several `v1` values (a provider rotating its secret signs with both);
//! one matching is enough.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How far the callback's `t` may be from now, either way.
pub const TOLERANCE_SECONDS: i64 = 300;

/// The callback's signature header.
pub const SIGNATURE_HEADER: &str = "x-signature";

fn mac(secret: &str) -> HmacSha256 {
    HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any size")
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// The bytes of hex `text` (either case), `None` when it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    text.as_bytes()
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// The hex HMAC-SHA256 of `message` under `secret`.
pub fn sign(secret: &str, message: &[u8]) -> String {
    let mut mac = mac(secret);
    mac.update(message);
    hex(&mac.finalize().into_bytes())
}

/// The `sig` of a payment page URL.
pub fn page_signature(secret: &str, payment_id: &str, amount: u64, currency: &str) -> String {
    sign(
        secret,
        format!("{payment_id}.{amount}.{currency}").as_bytes(),
    )
}

/// The `X-Signature` value a gateway sends for `body` at unix time `t`.
pub fn callback_header(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = mac(secret);
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex(&mac.finalize().into_bytes()))
}

/// Why a callback's signature was refused (each a 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No header.
    #[error("the X-Signature header is missing")]
    Missing,
    /// Not `t=<digits>,v1=<64 hex>`.
    #[error("the X-Signature header is not `t=<unix seconds>,v1=<hex HMAC-SHA256>`")]
    Malformed,
    /// No `v1` matches.
    #[error("the X-Signature does not match the body")]
    Mismatch,
    /// `t` is too far from now.
    #[error("the X-Signature timestamp is more than {TOLERANCE_SECONDS} seconds from now")]
    Stale,
}

/// Checks `header` (`None`: absent) against `body` at `now`: the signature first (in
/// constant time), then the timestamp, so an unsigned probe learns nothing about the clock.
pub fn verify_callback(
    secret: &str,
    header: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut t: Option<&str> = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match key {
            "t" if t.is_none() => t = Some(value),
            "t" => return Err(SignatureError::Malformed),
            "v1" => {
                let bytes = unhex(value)
                    .filter(|b| b.len() == 32)
                    .ok_or(SignatureError::Malformed)?;
                candidates.push(bytes);
            }
            // Other schemes (v0, a provider's future v2) are not ours to check.
            _ => {}
        }
    }
    let t = t
        .filter(|t| !t.is_empty() && t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit()))
        .ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let mut signed = mac(secret);
    signed.update(t.as_bytes());
    signed.update(b".");
    signed.update(body);
    // Every candidate is checked, matching or not, so timing says nothing about which.
    let matched = candidates
        .iter()
        .fold(false, |ok, c| signed.clone().verify_slice(c).is_ok() | ok);
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    let t: i64 = t.parse().map_err(|_| SignatureError::Malformed)?;
    if (now.timestamp() - t).abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// Whether `sig` (hex) is the page signature of the rest, compared in constant time.
pub fn verify_page(secret: &str, payment_id: &str, amount: u64, currency: &str, sig: &str) -> bool {
    let Some(sig) = unhex(sig) else {
        return false;
    };
    let mut mac = mac(secret);
    mac.update(format!("{payment_id}.{amount}.{currency}").as_bytes());
    mac.verify_slice(&sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t";

    fn at(t: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(t, 0).unwrap()
    }

    #[test]
    fn a_correctly_signed_callback_passes_within_five_minutes_either_way() {
        let body = br#"{"eventId":"e1"}"#;
        let header = callback_header(SECRET, 1_000_000, body);
        for now in [1_000_000 - 300, 1_000_000, 1_000_000 + 300] {
            assert_eq!(
                verify_callback(SECRET, Some(&header), body, at(now)),
                Ok(())
            );
        }
        assert_eq!(
            verify_callback(SECRET, Some(&header), body, at(1_000_301)),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_callback(SECRET, Some(&header), body, at(999_699)),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn the_signature_covers_the_body_the_time_and_the_key() {
        let body = br#"{"amount":100}"#;
        let header = callback_header(SECRET, 1_000, body);
        let now = at(1_000);
        let refused = |secret: &str, header: &str, body: &[u8]| {
            verify_callback(secret, Some(header), body, now)
        };
        assert_eq!(
            refused(SECRET, &header, br#"{"amount":101}"#),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            refused("other", &header, body),
            Err(SignatureError::Mismatch)
        );
        let moved = header.replace("t=1000", "t=1001");
        assert_eq!(refused(SECRET, &moved, body), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_header_of_another_shape_is_malformed_and_none_is_missing() {
        let body = b"{}";
        let good = callback_header(SECRET, 1_000, body);
        let v1 = good.split("v1=").nth(1).unwrap().to_owned();
        for header in [
            "".to_owned(),
            "garbage".to_owned(),
            format!("v1={v1}"),
            "t=1000".to_owned(),
            format!("t=abc,v1={v1}"),
            format!("t=1000,v1={}", &v1[..10]),
            format!("t=1000,v1={}zz", &v1[..62]),
            format!("t=1000,t=1000,v1={v1}"),
        ] {
            assert_eq!(
                verify_callback(SECRET, Some(&header), body, at(1_000)),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
        assert_eq!(
            verify_callback(SECRET, None, body, at(1_000)),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn one_matching_v1_of_several_is_enough() {
        let body = b"{}";
        let good = callback_header(SECRET, 1_000, body);
        let rotated = format!("{},v1={}", good, "0".repeat(64));
        assert_eq!(
            verify_callback(SECRET, Some(&rotated), body, at(1_000)),
            Ok(())
        );
    }

    #[test]
    fn page_signatures_bind_id_amount_and_currency() {
        let sig = page_signature(SECRET, "P1", 4497, "EUR");
        assert_eq!(sig.len(), 64);
        assert!(verify_page(SECRET, "P1", 4497, "EUR", &sig));
        assert!(!verify_page(SECRET, "P1", 4496, "EUR", &sig));
        assert!(!verify_page(SECRET, "P1", 4497, "USD", &sig));
        assert!(!verify_page(SECRET, "P2", 4497, "EUR", &sig));
        assert!(!verify_page(SECRET, "P1", 4497, "EUR", "nothex"));
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex(&[0, 15, 16, 255]), "000f10ff");
        assert_eq!(unhex("000F10ff"), Some(vec![0, 15, 16, 255]));
        assert_eq!(unhex("abc"), None);
    }
}
