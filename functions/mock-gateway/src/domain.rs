//! What the mock gateway knows, as a real hosted payment page would: how to check the shop's
//! signed page request (`sig` over `"<paymentId>.<amount>.<currency>"`), how to sign its own
//! callback (`X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 over "<t>.<raw body>">`),
//! the callback's body, the pages, and the one port: [`Shop`], the shop's public callback
//! over HTTP. Written apart from the payments service on purpose: the two agree only on the
//! wire format, as a shop and its provider do.

use async_trait::async_trait;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use shop_domain::{Currency, DomainError};

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str) -> HmacSha256 {
    HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any size")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// The `sig` the shop puts on a payment page URL (tests and the shop's side compute it the
/// same way).
pub fn page_signature(secret: &str, payment_id: &str, amount: u64, currency: &str) -> String {
    let mut mac = mac(secret);
    mac.update(format!("{payment_id}.{amount}.{currency}").as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// The `X-Signature` header of `body` sent at unix time `t`.
pub fn sign_callback(secret: &str, t: i64, body: &str) -> String {
    let mut mac = mac(secret);
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex(&mac.finalize().into_bytes()))
}

/// A payment page's request, `/mock-gateway/payments/{paymentId}?amount&currency&sig`, once
/// its signature is checked: the gateway trusts amount and currency because the shop signed
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// The shop's payment id (a ULID).
    pub payment_id: String,
    /// Minor units of `currency`.
    pub amount: u64,
    /// What to charge in.
    pub currency: Currency,
    /// The shop's signature, kept for the page's own links.
    pub sig: String,
}

impl PageRequest {
    /// The request of `payment_id` and the query's `amount`, `currency` and `sig`, when
    /// well formed and signed with `secret` (compared in constant time); `None` otherwise —
    /// the gateway shows no page it cannot trust.
    pub fn verify(
        secret: &str,
        payment_id: &str,
        amount: Option<&str>,
        currency: Option<&str>,
        sig: Option<&str>,
    ) -> Option<Self> {
        let payment_id = payment_id
            .parse::<shop_domain::PaymentId>()
            .ok()?
            .to_string();
        let amount_text = amount?;
        if amount_text.is_empty() || !amount_text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let amount: u64 = amount_text.parse().ok()?;
        let currency: Currency = currency?.parse().ok()?;
        let sig = sig?;
        let bytes = unhex(sig)?;
        let mut mac = mac(secret);
        mac.update(format!("{payment_id}.{amount}.{currency}").as_bytes());
        mac.verify_slice(&bytes).ok()?;
        Some(Self {
            payment_id,
            amount,
            currency,
            sig: sig.to_owned(),
        })
    }

    /// The page's own path and query (the form posts back to it).
    pub fn path(&self) -> String {
        format!(
            "/mock-gateway/payments/{}?amount={}&currency={}&sig={}",
            self.payment_id, self.amount, self.currency, self.sig
        )
    }

    /// The amount for a person: `44.97 EUR`, `500 JPY`.
    pub fn display_amount(&self) -> String {
        let exponent = self.currency.exponent();
        if exponent == 0 {
            return format!("{} {}", self.amount, self.currency);
        }
        let unit = 10u64.pow(exponent);
        format!(
            "{}.{:0width$} {}",
            self.amount / unit,
            self.amount % unit,
            self.currency,
            width = exponent as usize
        )
    }
}

/// What the person (or test) chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Pay.
    Success,
    /// Decline.
    Decline,
}

impl Outcome {
    /// `success` or `decline`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "success" => Some(Self::Success),
            "decline" => Some(Self::Decline),
            _ => None,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Decline => "decline",
        }
    }
}

/// The callback the gateway sends the shop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Callback {
    /// A new ULID per outcome: the shop processes each once.
    pub event_id: String,
    /// The shop's payment.
    pub payment_id: String,
    /// Paid or declined.
    pub outcome: Outcome,
    /// Minor units, an integer.
    pub amount: u64,
    /// The currency.
    pub currency: Currency,
}

/// The shop's public callback, `POST <PUBLIC_API_URL>/api/payments/callback`.
#[async_trait]
pub trait Shop: Send + Sync {
    /// Posts `body` (JSON) with `signature` as `X-Signature`: the shop's HTTP status, or an
    /// error when no answer came (connection refused, timeout).
    async fn post_callback(&self, body: &str, signature: &str) -> Result<u16, DomainError>;
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, content: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>\nbody {{ font-family: system-ui, sans-serif; \
         max-width: 28rem; margin: 4rem auto; padding: 0 1rem; }}\n.amount {{ font-size: 2rem; \
         font-weight: bold; }}\nbutton {{ font-size: 1.1rem; padding: .5rem 1.5rem; \
         margin-right: .5rem; }}\n.note {{ color: #666; font-size: .9rem; }}\n</style>\n</head>\n\
         <body>\n<main>\n{content}\n<p class=\"note\">A stand-in for a payment provider: \
         nothing is charged.</p>\n</main>\n</body>\n</html>\n",
        title = escape(title),
    )
}

/// The payment page: amount, currency and the two buttons, posting `outcome` back to the
/// page's own URL (query kept).
pub fn payment_page(request: &PageRequest) -> String {
    let amount = escape(&request.display_amount());
    page(
        &format!("Pay {amount}"),
        &format!(
            "<h1>Mock payment gateway</h1>\n<p>Payment <code>{id}</code></p>\n\
             <p class=\"amount\">{amount}</p>\n\
             <form method=\"post\" action=\"{action}\">\n\
             <button type=\"submit\" name=\"outcome\" value=\"success\">Pay</button>\n\
             <button type=\"submit\" name=\"outcome\" value=\"decline\">Decline</button>\n\
             </form>",
            id = escape(&request.payment_id),
            action = escape(&request.path()),
        ),
    )
}

/// The page after a form post: paid or declined, and whether the shop took it.
pub fn outcome_page(
    request: &PageRequest,
    outcome: Outcome,
    callback_status: Option<u16>,
) -> String {
    let amount = escape(&request.display_amount());
    let said = match outcome {
        Outcome::Success => format!("Paid {amount}."),
        Outcome::Decline => format!("Declined {amount}."),
    };
    let shop = match callback_status {
        Some(status) if (200..300).contains(&status) => "The shop has been told.".to_owned(),
        Some(status) => format!("The shop refused the callback (HTTP {status})."),
        None => "The shop could not be reached.".to_owned(),
    };
    page(
        &said,
        &format!(
            "<h1>{said}</h1>\n<p>{shop}</p>\n<p><a href=\"{back}\">Back to the payment page</a></p>",
            back = escape(&request.path()),
        ),
    )
}

/// The page shown for a URL the gateway cannot trust.
pub fn not_found_page() -> String {
    page(
        "No such payment",
        "<h1>No such payment</h1>\n<p>This payment link is not valid: ask the shop for a new one.</p>",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "k";
    const ID: &str = "01JBQ00000000000000000RD01";

    fn verified(amount: &str, currency: &str, sig: &str) -> Option<PageRequest> {
        PageRequest::verify(SECRET, ID, Some(amount), Some(currency), Some(sig))
    }

    #[test]
    fn a_page_request_is_trusted_only_with_the_shops_signature() {
        let sig = page_signature(SECRET, ID, 4497, "EUR");
        let request = verified("4497", "EUR", &sig).unwrap();
        assert_eq!(request.amount, 4497);
        assert_eq!(request.display_amount(), "44.97 EUR");
        assert_eq!(verified("4498", "EUR", &sig), None);
        assert_eq!(verified("4497", "USD", &sig), None);
        assert_eq!(verified("+4497", "EUR", &sig), None);
        assert_eq!(verified("4497", "EUR", "zz"), None);
        assert_eq!(
            PageRequest::verify(SECRET, ID, None, Some("EUR"), Some(&sig)),
            None
        );
        assert_eq!(
            PageRequest::verify(SECRET, "nope", Some("4497"), Some("EUR"), Some(&sig)),
            None
        );
        let yen = page_signature(SECRET, ID, 500, "JPY");
        assert_eq!(
            verified("500", "JPY", &yen).unwrap().display_amount(),
            "500 JPY"
        );
        let cents = page_signature(SECRET, ID, 5, "EUR");
        assert_eq!(
            verified("5", "EUR", &cents).unwrap().display_amount(),
            "0.05 EUR"
        );
    }

    #[test]
    fn the_page_posts_both_outcomes_back_to_its_own_url() {
        let sig = page_signature(SECRET, ID, 4497, "EUR");
        let html = payment_page(&verified("4497", "EUR", &sig).unwrap());
        assert!(html.contains("44.97 EUR"));
        assert!(html.contains(&format!(
            "action=\"/mock-gateway/payments/{ID}?amount=4497&amp;currency=EUR&amp;sig={sig}\""
        )));
        assert!(html.contains("name=\"outcome\" value=\"success\""));
        assert!(html.contains("name=\"outcome\" value=\"decline\""));
    }

    #[test]
    fn the_callback_signature_is_over_the_time_and_the_raw_body() {
        let header = sign_callback(SECRET, 1_000, "{}");
        let mut mac = mac(SECRET);
        mac.update(b"1000.{}");
        assert_eq!(
            header,
            format!("t=1000,v1={}", hex(&mac.finalize().into_bytes()))
        );
    }
}
