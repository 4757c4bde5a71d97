//! Validation helpers shared by products, categories and brands.
//!
//! Every check pushes into one [`Errors`] collector instead of returning early, so a client
//! sees every problem with its request in one 400 rather than fixing them one round trip at a
//! time.
//!
//! "Every problem" is bounded, because the 400 must stay small whatever the request holds (a
//! Lambda response may not exceed 6 MB, and a 900 KB body of 300,000 empty variants would
//! otherwise answer 600,000 field errors — a 500):
//! - A list over its count limit gets the one count error, and its elements are not checked
//!   (the validators do this at each limit: variants, images, attributes).
//! - The collector keeps the first [`MAX_DETAILS`] errors and counts the rest: the 400's
//!   `details` then end with one more entry, `{"field": "body", "message": "and 150 more
//!   errors …"}`, so the list never exceeds `MAX_DETAILS + 1` entries. (The shared error body
//!   has no field for the count, so it travels as a last detail in the API's usual shape.)
//! - A field path or message longer than [`FIELD_MAX_CHARS`] or [`MESSAGE_MAX_CHARS`] (an
//!   unknown key of a megabyte, a serde message quoting a huge value) is cut with `…`.

use serde::{Deserialize, Deserializer};

use shop_domain::{DomainError, FieldError};

/// Most field errors a 400 lists; the rest are counted in one last entry.
pub(crate) const MAX_DETAILS: usize = 50;
/// Longest field path a 400 repeats, in characters (paths can hold a client's keys).
pub(crate) const FIELD_MAX_CHARS: usize = 128;
/// Longest message a 400 carries, in characters (serde's can quote a client's value).
pub(crate) const MESSAGE_MAX_CHARS: usize = 512;

/// Collects field errors, the first [`MAX_DETAILS`] of them and a count of the rest;
/// [`Errors::finish`] turns them into a [`DomainError::Validation`].
#[derive(Debug, Default)]
pub(crate) struct Errors {
    /// The errors a 400 lists, at most [`MAX_DETAILS`].
    listed: Vec<FieldError>,
    /// How many more were pushed.
    unlisted: usize,
}

/// Whether a text field may span lines: names may not, descriptions may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lines {
    Single,
    Multi,
}

impl Errors {
    /// Records that `field` is wrong as `message` says; past [`MAX_DETAILS`] it is only
    /// counted.
    pub(crate) fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        if self.listed.len() < MAX_DETAILS {
            self.listed.push(bounded(field.into(), message.into()));
        } else {
            self.unlisted += 1;
        }
    }

    /// Takes over the field errors of `err`; any other error is kept as a `body` error so
    /// nothing is lost (in practice only validation errors reach here).
    pub(crate) fn absorb(&mut self, err: DomainError) {
        match err {
            DomainError::Validation(fields) => {
                for FieldError { field, message } in fields {
                    self.push(field, message);
                }
            }
            other => self.push("body", other.to_string()),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }

    /// `Ok(value)` when nothing was pushed, the validation error otherwise: the listed errors,
    /// and when there were more, one last `body` entry counting them.
    pub(crate) fn finish<T>(self, value: T) -> Result<T, DomainError> {
        let Self {
            mut listed,
            unlisted,
        } = self;
        if listed.is_empty() {
            return Ok(value);
        }
        if unlisted > 0 {
            let errors = if unlisted == 1 { "error" } else { "errors" };
            listed.push(FieldError::new(
                "body",
                format!(
                    "and {unlisted} more {errors}, not listed: a response lists the first \
                     {MAX_DETAILS}; fix these and send the request again"
                ),
            ));
        }
        Err(DomainError::Validation(listed))
    }

    /// Checks a free-text field and returns it trimmed: stray whitespace around a name is
    /// never meant, and trimming first makes `"   "` count as empty.
    ///
    /// Control characters are refused (tabs and line breaks are allowed in multi-line text)
    /// because they break logs, CSV exports and e-mails, and because they are the only
    /// characters JSON escapes to six bytes, which keeps the worst-case event size at four
    /// bytes per character.
    pub(crate) fn text(
        &mut self,
        field: &str,
        value: &str,
        min_chars: usize,
        max_chars: usize,
        lines: Lines,
    ) -> String {
        let trimmed = value.trim();
        let chars = trimmed.chars().count();
        if chars < min_chars {
            if min_chars == 1 {
                self.push(field, "is required and must not be blank");
            } else {
                self.push(field, format!("must be at least {min_chars} characters"));
            }
        } else if chars > max_chars {
            self.push(
                field,
                format!("must be at most {max_chars} characters (got {chars})"),
            );
        }
        let allowed = |c: char| lines == Lines::Multi && matches!(c, '\n' | '\r' | '\t');
        if trimmed.chars().any(|c| c.is_control() && !allowed(c)) {
            let what = match lines {
                Lines::Single => "must not contain control characters or line breaks",
                Lines::Multi => {
                    "must not contain control characters other than tabs and line breaks"
                }
            };
            self.push(field, what);
        }
        trimmed.to_owned()
    }

    /// Checks a URL-safe slug: 1–`max` lower-case ASCII letters and digits in groups joined
    /// by single hyphens (`mens-shoes`), so it can appear in a path without escaping.
    pub(crate) fn slug(&mut self, field: &str, value: &str, max_chars: usize) {
        let well_formed = !value.is_empty()
            && value.len() <= max_chars
            && value.split('-').all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        if !well_formed {
            self.push(
                field,
                format!(
                    "must be 1–{max_chars} lower-case letters and digits joined by single hyphens, e.g. `mens-shoes`"
                ),
            );
        }
    }

    /// Checks an absolute `http` or `https` URL of at most `max_chars` characters.
    ///
    /// Deliberately a shape check, not a full RFC 3986 parser: the URL is only ever handed to
    /// browsers, so what matters is the scheme (no `javascript:` or `data:`), a host, and no
    /// whitespace or control characters that would break the HTML it lands in.
    pub(crate) fn http_url(&mut self, field: &str, value: &str, max_chars: usize) {
        let lower = value.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"));
        let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
        let ok = match host {
            Some(host) => {
                !host.is_empty()
                    && !host.starts_with(':')
                    && !value.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if !ok {
            self.push(
                field,
                "must be an absolute http:// or https:// URL with a host",
            );
        } else if value.chars().count() > max_chars {
            self.push(field, format!("must be at most {max_chars} characters"));
        }
    }
}

/// A field error with its path and message cut to [`FIELD_MAX_CHARS`] and
/// [`MESSAGE_MAX_CHARS`].
fn bounded(field: String, message: String) -> FieldError {
    FieldError::new(
        clip(field, FIELD_MAX_CHARS),
        clip(message, MESSAGE_MAX_CHARS),
    )
}

/// `text` cut to `max_chars` characters, with `…` where it was cut.
fn clip(mut text: String, max_chars: usize) -> String {
    if let Some((end, _)) = text.char_indices().nth(max_chars) {
        text.truncate(end);
        text.push('…');
    }
    text
}

/// Turns `Café au lait!` into `caf-au-lait`: ASCII letters and digits kept (lower-cased),
/// every other run of characters collapsed into one hyphen.
///
/// Non-ASCII letters are dropped rather than transliterated: a transliteration table is
/// language-specific, and a client that cares sends its own slug.
pub(crate) fn slugify(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    slug
}

/// Parses a typed id given as a string, reporting a bad one under `field`.
pub(crate) fn parse_id<T: std::str::FromStr>(
    errors: &mut Errors,
    field: &str,
    value: Option<&str>,
) -> Option<T> {
    match value {
        None => {
            errors.push(field, "is required");
            None
        }
        Some(raw) => match raw.parse() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push(field, "must be a 26-character ULID (Crockford base32)");
                None
            }
        },
    }
}

/// Deserializes `null` as the type's default, so `"description": null` means "empty"
/// rather than a type error; merge patches and hand-written clients both send it.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// Checks that `value` is a JSON object whose keys are all in `known`; read-only keys get
/// their own message so a client copying a GET response into a POST knows what to drop.
pub(crate) fn check_keys(
    errors: &mut Errors,
    value: &serde_json::Value,
    known: &[&str],
    read_only: &[&str],
) -> bool {
    let Some(object) = value.as_object() else {
        errors.push("body", "must be a JSON object");
        return false;
    };
    for key in object.keys() {
        if read_only.contains(&key.as_str()) {
            errors.push(key.as_str(), "is read-only and cannot be set");
        } else if !known.contains(&key.as_str()) {
            errors.push(key.as_str(), "is not a known field");
        }
    }
    true
}

/// Deserializes `value` into `T`, reporting a wrong type under the field's path
/// (`variants[1].price`) the way the HTTP layer does.
pub(crate) fn from_value<T: serde::de::DeserializeOwned>(
    value: &serde_json::Value,
) -> Result<T, DomainError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let message = err.inner().to_string();
        let field = match message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            Some(name) if path == "." => name.to_owned(),
            Some(name) => format!("{path}.{name}"),
            None if path == "." => "body".to_owned(),
            None => path,
        };
        DomainError::Validation(vec![bounded(field, message)])
    })
}

/// Timestamps in the envelope's RFC 3339 form, so string order is time order.
pub(crate) use shop_domain::timestamp;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_blank_counts_as_missing() {
        let mut errors = Errors::default();
        assert_eq!(errors.text("name", "  Mug ", 1, 10, Lines::Single), "Mug");
        assert!(errors.is_empty());
        errors.text("name", "   ", 1, 10, Lines::Single);
        errors.text("title", "a\nb", 1, 10, Lines::Single);
        errors.text("description", "a\nb\u{7}", 0, 10, Lines::Multi);
        let err = errors.finish(()).unwrap_err();
        let fields: Vec<_> = err.details().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["name", "title", "description"]);
    }

    #[test]
    fn past_fifty_errors_are_counted_not_listed() {
        let mut errors = Errors::default();
        for n in 0..200 {
            errors.push(format!("field{n}"), "is wrong");
        }
        let err = errors.finish(()).unwrap_err();
        let details = err.details();
        assert_eq!(details.len(), MAX_DETAILS + 1);
        assert_eq!(details[MAX_DETAILS - 1].field, "field49");
        assert_eq!(details[MAX_DETAILS].field, "body");
        assert!(
            details[MAX_DETAILS]
                .message
                .starts_with("and 150 more errors, not listed"),
            "{}",
            details[MAX_DETAILS].message
        );

        // Fifty exactly are all listed, with no count; one more is counted in the singular.
        let mut errors = Errors::default();
        for n in 0..MAX_DETAILS {
            errors.push(format!("field{n}"), "is wrong");
        }
        assert_eq!(errors.finish(()).unwrap_err().details().len(), MAX_DETAILS);
        let mut errors = Errors::default();
        for n in 0..=MAX_DETAILS {
            errors.push(format!("field{n}"), "is wrong");
        }
        let err = errors.finish(()).unwrap_err();
        assert!(
            err.details()[MAX_DETAILS]
                .message
                .starts_with("and 1 more error,")
        );
    }

    #[test]
    fn long_fields_and_messages_are_cut_on_a_character_boundary() {
        let mut errors = Errors::default();
        errors.push("é".repeat(1000), "ü".repeat(1000));
        let err = errors.finish(()).unwrap_err();
        let only = &err.details()[0];
        assert_eq!(only.field, format!("{}…", "é".repeat(FIELD_MAX_CHARS)));
        assert_eq!(only.message, format!("{}…", "ü".repeat(MESSAGE_MAX_CHARS)));
        assert_eq!(clip("short".into(), 5), "short");
    }

    #[test]
    fn slugs_are_lower_case_words_joined_by_single_hyphens() {
        for good in ["shoes", "mens-shoes", "a1-b2"] {
            let mut errors = Errors::default();
            errors.slug("slug", good, 100);
            assert!(errors.is_empty(), "{good}");
        }
        for bad in ["", "Shoes", "mens--shoes", "-shoes", "shoes-", "men's"] {
            let mut errors = Errors::default();
            errors.slug("slug", bad, 100);
            assert!(!errors.is_empty(), "{bad}");
        }
        assert_eq!(slugify("  Café au lait! "), "caf-au-lait");
        assert_eq!(slugify("電子"), "");
    }

    #[test]
    fn only_http_and_https_urls_with_a_host_pass() {
        for good in [
            "https://cdn.example.com/a.png",
            "HTTP://x.io",
            "https://x.io:8443/p?q=1",
        ] {
            let mut errors = Errors::default();
            errors.http_url("url", good, 2048);
            assert!(errors.is_empty(), "{good}");
        }
        for bad in [
            "javascript:alert(1)",
            "https://",
            "ftp://x.io/a",
            "https://x.io/a b",
            "//x.io",
            "https://:80/",
        ] {
            let mut errors = Errors::default();
            errors.http_url("url", bad, 2048);
            assert!(!errors.is_empty(), "{bad}");
        }
    }
}
