//! The local mailbox: every email the functions send through the edge.
//!
//! moto accepts SES `SendEmail`/`SendRawEmail` and SESv2 `SendEmail` but keeps the mail only in its
//! internals, so a developer (or an end-to-end test checking a password-reset mail) could not read
//! it. The edge sees every send on its way to moto; when moto accepts one, the edge parses the
//! request with [`from_ses_query`] or [`from_sesv2_json`] and [`Mailbox::record`]s one [`Mail`]
//! per recipient, readable at `GET /_localcloud/mailbox?to=<address>`.

use std::sync::{Mutex, MutexGuard};

use base64::Engine;
use chrono::{DateTime, Utc};
use mailparse::{MailAddr, MailHeaderMap, ParsedMail};
use serde::Serialize;
use serde_json::Value;

/// One email as one recipient received it.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Mail {
    /// The recipient (To, Cc or Bcc), as the sender wrote it.
    pub to: String,
    /// The sender.
    pub from: String,
    /// The decoded subject.
    pub subject: String,
    /// The text body (or the HTML body when the mail has no text part).
    pub body: String,
    /// When the edge recorded it.
    pub sent_at: DateTime<Utc>,
}

/// Every mail sent through the edge since it started (or was last cleared); thread-safe.
#[derive(Default, Debug)]
pub struct Mailbox {
    mails: Mutex<Vec<Mail>>,
}

impl Mailbox {
    /// Keeps a mail.
    pub fn record(&self, mail: Mail) {
        self.lock().push(mail);
    }

    /// The mail sent to `to` (case-insensitive, display names ignored), newest first.
    pub fn for_recipient(&self, to: &str) -> Vec<Mail> {
        let wanted = bare_address(to);
        self.lock()
            .iter()
            .rev()
            .filter(|mail| bare_address(&mail.to).eq_ignore_ascii_case(wanted))
            .cloned()
            .collect()
    }

    /// Every mail, newest first.
    pub fn all(&self) -> Vec<Mail> {
        self.lock().iter().rev().cloned().collect()
    }

    /// Forgets every mail (tests start from an empty mailbox this way).
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Mail>> {
        self.mails
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `a@b.c` from `Name <a@b.c>`; the input itself when it has no angle brackets.
fn bare_address(address: &str) -> &str {
    let address = address.trim();
    match (address.rfind('<'), address.rfind('>')) {
        (Some(start), Some(end)) if start < end => address[start + 1..end].trim(),
        _ => address,
    }
}

/// The mails of an SES v1 (query protocol) `SendEmail` or `SendRawEmail` request body; empty for
/// any other action or a body that cannot be read.
pub fn from_ses_query(form: &[u8]) -> Vec<Mail> {
    let fields: Vec<(String, String)> = form_urlencoded::parse(form).into_owned().collect();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    // `prefix.member.N`, in N order.
    let members = |prefix: &str| {
        let mut found: Vec<(u32, String)> = fields
            .iter()
            .filter_map(|(key, value)| {
                let n = key.strip_prefix(prefix)?.strip_prefix(".member.")?;
                Some((n.parse().ok()?, value.clone()))
            })
            .collect();
        found.sort_by_key(|(n, _)| *n);
        found
            .into_iter()
            .map(|(_, value)| value)
            .collect::<Vec<_>>()
    };
    match field("Action").as_deref() {
        Some("SendEmail") => {
            let mut recipients = members("Destination.ToAddresses");
            recipients.extend(members("Destination.CcAddresses"));
            recipients.extend(members("Destination.BccAddresses"));
            let body = field("Message.Body.Text.Data")
                .or_else(|| field("Message.Body.Html.Data"))
                .unwrap_or_default();
            one_per_recipient(
                recipients,
                field("Source").unwrap_or_default(),
                field("Message.Subject.Data").unwrap_or_default(),
                body,
            )
        }
        Some("SendRawEmail") => {
            let Some(raw) = field("RawMessage.Data").and_then(|data| decode_base64(&data)) else {
                return Vec::new();
            };
            from_mime(&raw, members("Destinations"), field("Source"))
        }
        _ => Vec::new(),
    }
}

/// The mails of an SESv2 `SendEmail` request body (`POST /v2/email/outbound-emails`), simple or
/// raw content; empty for a body that cannot be read.
pub fn from_sesv2_json(body: &[u8]) -> Vec<Mail> {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let text = |value: &Value| value.as_str().map(str::to_owned);
    let addresses = |key: &str| {
        request["Destination"][key]
            .as_array()
            .map(|list| list.iter().filter_map(text).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let mut recipients = addresses("ToAddresses");
    recipients.extend(addresses("CcAddresses"));
    recipients.extend(addresses("BccAddresses"));
    let from = text(&request["FromEmailAddress"]);
    let content = &request["Content"];
    if let Some(simple) = content.get("Simple") {
        let body = text(&simple["Body"]["Text"]["Data"])
            .or_else(|| text(&simple["Body"]["Html"]["Data"]))
            .unwrap_or_default();
        one_per_recipient(
            recipients,
            from.unwrap_or_default(),
            text(&simple["Subject"]["Data"]).unwrap_or_default(),
            body,
        )
    } else if let Some(raw) = content["Raw"]["Data"].as_str().and_then(decode_base64) {
        from_mime(&raw, recipients, from)
    } else {
        Vec::new()
    }
}

fn decode_base64(data: &str) -> Option<Vec<u8>> {
    let data: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(data.as_bytes())
        .ok()
}

/// Mails from a raw MIME message; `recipients` (the API's destinations) win over the headers.
fn from_mime(raw: &[u8], recipients: Vec<String>, from: Option<String>) -> Vec<Mail> {
    let Ok(message) = mailparse::parse_mail(raw) else {
        return Vec::new();
    };
    let recipients = if recipients.is_empty() {
        ["To", "Cc", "Bcc"]
            .iter()
            .flat_map(|name| header_addresses(&message, name))
            .collect()
    } else {
        recipients
    };
    let from = from
        .or_else(|| message.headers.get_first_value("From"))
        .unwrap_or_default();
    let subject = message
        .headers
        .get_first_value("Subject")
        .unwrap_or_default();
    let body = find_part(&message, "text/plain")
        .or_else(|| find_part(&message, "text/html"))
        .unwrap_or_default();
    one_per_recipient(recipients, from, subject, body)
}

fn header_addresses(message: &ParsedMail<'_>, name: &str) -> Vec<String> {
    let Some(header) = message.headers.get_first_header(name) else {
        return Vec::new();
    };
    let Ok(list) = mailparse::addrparse_header(header) else {
        return Vec::new();
    };
    list.iter()
        .flat_map(|addr| match addr {
            MailAddr::Single(info) => vec![info.addr.clone()],
            MailAddr::Group(group) => group.addrs.iter().map(|info| info.addr.clone()).collect(),
        })
        .collect()
}

/// The decoded body of the first part of type `mimetype`, searching depth first.
fn find_part(part: &ParsedMail<'_>, mimetype: &str) -> Option<String> {
    if part.subparts.is_empty() {
        if part.ctype.mimetype.eq_ignore_ascii_case(mimetype) {
            return part.get_body().ok();
        }
        return None;
    }
    part.subparts
        .iter()
        .find_map(|sub| find_part(sub, mimetype))
}

fn one_per_recipient(
    recipients: Vec<String>,
    from: String,
    subject: String,
    body: String,
) -> Vec<Mail> {
    let sent_at = Utc::now();
    recipients
        .into_iter()
        .map(|to| Mail {
            to,
            from: from.clone(),
            subject: subject.clone(),
            body: body.clone(),
            sent_at,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
            .into_bytes()
    }

    fn b64(data: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(data)
    }

    const RAW: &str = "From: Shop <noreply@shop.test>\r\n\
        To: Ann <ann@example.com>, bob@example.com\r\n\
        Cc: carol@example.com\r\n\
        Subject: =?UTF-8?Q?R=C3=A9initialisation?=\r\n\
        MIME-Version: 1.0\r\n\
        Content-Type: multipart/alternative; boundary=\"b1\"\r\n\
        \r\n\
        --b1\r\n\
        Content-Type: text/html; charset=UTF-8\r\n\
        \r\n\
        <p>Your code is 123456</p>\r\n\
        --b1\r\n\
        Content-Type: text/plain; charset=UTF-8\r\n\
        Content-Transfer-Encoding: quoted-printable\r\n\
        \r\n\
        Your code is =3D 123456\r\n\
        --b1--\r\n";

    #[test]
    fn ses_send_email_gives_one_mail_per_recipient_with_the_text_body() {
        // As aws-sdk-ses serializes SendEmail (query protocol, Version 2010-12-01).
        let body = form(&[
            ("Action", "SendEmail"),
            ("Version", "2010-12-01"),
            ("Source", "noreply@shop.test"),
            ("Destination.ToAddresses.member.1", "ann@example.com"),
            ("Destination.ToAddresses.member.2", "bob@example.com"),
            ("Destination.CcAddresses.member.1", "carol@example.com"),
            ("Destination.BccAddresses.member.1", "dave@example.com"),
            ("Message.Subject.Data", "Welcome & hello"),
            ("Message.Subject.Charset", "UTF-8"),
            ("Message.Body.Text.Data", "Hi there = you"),
            ("Message.Body.Html.Data", "<p>Hi</p>"),
        ]);
        let mails = from_ses_query(&body);
        let to: Vec<_> = mails.iter().map(|mail| mail.to.as_str()).collect();
        assert_eq!(
            to,
            [
                "ann@example.com",
                "bob@example.com",
                "carol@example.com",
                "dave@example.com"
            ]
        );
        assert_eq!(mails[0].from, "noreply@shop.test");
        assert_eq!(mails[0].subject, "Welcome & hello");
        assert_eq!(mails[0].body, "Hi there = you");
    }

    #[test]
    fn ses_send_email_falls_back_to_the_html_body() {
        let body = form(&[
            ("Action", "SendEmail"),
            ("Source", "a@shop.test"),
            ("Destination.ToAddresses.member.1", "b@example.com"),
            ("Message.Subject.Data", "S"),
            ("Message.Body.Html.Data", "<b>x</b>"),
        ]);
        assert_eq!(from_ses_query(&body)[0].body, "<b>x</b>");
    }

    #[test]
    fn ses_send_raw_email_reads_recipients_from_the_headers_and_prefers_text() {
        let body = form(&[
            ("Action", "SendRawEmail"),
            ("Version", "2010-12-01"),
            ("RawMessage.Data", &b64(RAW)),
        ]);
        let mails = from_ses_query(&body);
        let to: Vec<_> = mails.iter().map(|mail| mail.to.as_str()).collect();
        assert_eq!(
            to,
            ["ann@example.com", "bob@example.com", "carol@example.com"]
        );
        assert_eq!(mails[0].from, "Shop <noreply@shop.test>");
        assert_eq!(mails[0].subject, "Réinitialisation");
        assert_eq!(mails[0].body.trim_end(), "Your code is = 123456");
    }

    #[test]
    fn ses_send_raw_email_destinations_win_over_headers() {
        let body = form(&[
            ("Action", "SendRawEmail"),
            ("Source", "noreply@shop.test"),
            ("Destinations.member.1", "only@example.com"),
            ("RawMessage.Data", &b64(RAW)),
        ]);
        let mails = from_ses_query(&body);
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].to, "only@example.com");
        assert_eq!(mails[0].from, "noreply@shop.test");
    }

    #[test]
    fn other_query_actions_are_not_mail() {
        let body = form(&[("Action", "SendMessage"), ("MessageBody", "x")]);
        assert!(from_ses_query(&body).is_empty());
        assert!(from_ses_query(b"\xff\xfe").is_empty());
    }

    #[test]
    fn sesv2_simple_content_gives_one_mail_per_recipient() {
        // As aws-sdk-sesv2 serializes SendEmail (restJson1).
        let body = br#"{"Content":{"Simple":{"Body":{"Html":{"Data":"<p>hi</p>"},"Text":{"Data":"hi","Charset":"UTF-8"}},"Subject":{"Data":"Order confirmed"}}},"Destination":{"BccAddresses":["audit@shop.test"],"ToAddresses":["Ann@Example.com"]},"FromEmailAddress":"noreply@shop.test"}"#;
        let mails = from_sesv2_json(body);
        assert_eq!(mails.len(), 2);
        assert_eq!(mails[0].to, "Ann@Example.com");
        assert_eq!(mails[1].to, "audit@shop.test");
        assert_eq!(mails[0].subject, "Order confirmed");
        assert_eq!(mails[0].body, "hi");
        assert_eq!(mails[0].from, "noreply@shop.test");
    }

    #[test]
    fn sesv2_raw_content_is_parsed_as_mime() {
        let body = serde_json::json!({
            "Content": {"Raw": {"Data": b64(RAW)}},
            "Destination": {"ToAddresses": ["ann@example.com"]},
        });
        let mails = from_sesv2_json(body.to_string().as_bytes());
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].from, "Shop <noreply@shop.test>");
        assert_eq!(mails[0].subject, "Réinitialisation");
        assert!(mails[0].body.starts_with("Your code is = 123456"));
        assert!(from_sesv2_json(b"not json").is_empty());
    }

    #[test]
    fn mailbox_matches_recipients_case_insensitively_newest_first() {
        let mailbox = Mailbox::default();
        let mail = |to: &str, subject: &str| Mail {
            to: to.to_owned(),
            from: "noreply@shop.test".to_owned(),
            subject: subject.to_owned(),
            body: String::new(),
            sent_at: Utc::now(),
        };
        mailbox.record(mail("ann@example.com", "first"));
        mailbox.record(mail("bob@example.com", "other"));
        mailbox.record(mail("Ann <ANN@example.com>", "second"));
        let subjects: Vec<_> = mailbox
            .for_recipient("Ann@Example.com")
            .into_iter()
            .map(|mail| mail.subject)
            .collect();
        assert_eq!(subjects, ["second", "first"]);
        assert_eq!(mailbox.all().len(), 3);
        assert_eq!(mailbox.all()[0].subject, "second");
        mailbox.clear();
        assert!(mailbox.all().is_empty());
    }

    #[test]
    fn mail_serializes_in_camel_case() {
        let mail = Mail {
            to: "a@b.c".into(),
            from: "f@b.c".into(),
            subject: "s".into(),
            body: "b".into(),
            sent_at: Utc::now(),
        };
        let json = serde_json::to_value(&mail).unwrap_or_default();
        assert!(json.get("sentAt").is_some());
    }
}
