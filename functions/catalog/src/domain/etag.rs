//! Entity tags and conditional requests (RFC 9110 §8.8.3, §13.1).
//!
//! A catalog resource's ETag is its version as a **strong** tag: `"7"`. Strong, because
//! `If-Match` must use strong comparison (RFC 9110 §13.1.1) — a weak `W/"7"` could never
//! satisfy it, and `If-Match` is exactly what PUT, PATCH and DELETE need to refuse lost
//! updates. The version is bumped on every change and the JSON form is a pure function of the
//! stored resource, so one version really does name one byte sequence. (Tags are only unique
//! per URL, which is all HTTP asks: product A and product B may both be `"1"`.)

use shop_domain::DomainError;

/// A resource with an optimistic-concurrency version, and so an ETag.
pub trait Versioned {
    /// The version, starting at 1 and bumped by every change.
    fn version(&self) -> u64;

    /// The strong ETag for the current version: `"7"` (quotes included).
    fn etag(&self) -> String {
        etag(self.version())
    }
}

/// The strong ETag for `version`: `"7"`, quotes included, ready for the `ETag` header.
pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

/// Checks an `If-Match` header against the resource's current version.
///
/// `None` (no header) passes: conditional writes are opt-in for clients. `*` passes because
/// the resource exists (the handler has loaded it). Otherwise one strong tag in the list must
/// equal the current ETag; weak tags never match (strong comparison), and a header that is
/// not a list of entity tags matches nothing. Failure is
/// [`DomainError::PreconditionFailed`] (412), whose message gives the current ETag so the
/// client knows to re-read.
pub fn if_match(header: Option<&str>, current: &impl Versioned) -> Result<(), DomainError> {
    let Some(header) = header else {
        return Ok(());
    };
    let current_tag = current.version().to_string();
    let matched = match parse(header) {
        Some(Tags::Any) => true,
        Some(Tags::List(tags)) => tags
            .iter()
            .any(|tag| !tag.weak && tag.opaque == current_tag),
        None => false,
    };
    if matched {
        Ok(())
    } else {
        Err(DomainError::PreconditionFailed(format!(
            "If-Match `{header}` does not match the current ETag {}; fetch the resource again and retry",
            current.etag()
        )))
    }
}

/// Whether an `If-None-Match` header says the client already holds the current version, so
/// a GET may answer 304 Not Modified.
///
/// Uses weak comparison as RFC 9110 §13.1.2 requires (`W/"7"` matches `"7"`), since caches
/// may weaken tags; a missing or malformed header is `false` (send the full response).
pub fn not_modified(header: Option<&str>, current: &impl Versioned) -> bool {
    let current_tag = current.version().to_string();
    match header.and_then(parse) {
        Some(Tags::Any) => true,
        Some(Tags::List(tags)) => tags.iter().any(|tag| tag.opaque == current_tag),
        None => false,
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Tag<'a> {
    weak: bool,
    opaque: &'a str,
}

#[derive(Debug, PartialEq, Eq)]
enum Tags<'a> {
    Any,
    List(Vec<Tag<'a>>),
}

/// Parses `*` or a comma-separated list of entity tags (`"1", W/"2"`).
///
/// A real tokenizer rather than `split(',')`: RFC 9110 allows commas inside the quotes.
fn parse(header: &str) -> Option<Tags<'_>> {
    let header = header.trim();
    if header == "*" {
        return Some(Tags::Any);
    }
    let mut tags = Vec::new();
    let mut rest = header;
    loop {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        if rest.is_empty() {
            break;
        }
        let (weak, quoted) = match rest.strip_prefix("W/") {
            Some(after) => (true, after),
            None => (false, rest),
        };
        let body = quoted.strip_prefix('"')?;
        let end = body.find('"')?;
        tags.push(Tag {
            weak,
            opaque: &body[..end],
        });
        rest = &body[end + 1..];
        // After a tag only a separator or the end may follow.
        if !(rest.is_empty() || rest.starts_with([',', ' ', '\t'])) {
            return None;
        }
    }
    if tags.is_empty() {
        None
    } else {
        Some(Tags::List(tags))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct At(u64);
    impl Versioned for At {
        fn version(&self) -> u64 {
            self.0
        }
    }

    #[test]
    fn the_etag_is_the_quoted_version() {
        assert_eq!(At(7).etag(), "\"7\"");
    }

    #[test]
    fn if_match_passes_without_header_with_star_and_with_the_current_tag_in_a_list() {
        assert!(if_match(None, &At(3)).is_ok());
        assert!(if_match(Some("*"), &At(3)).is_ok());
        assert!(if_match(Some("\"3\""), &At(3)).is_ok());
        assert!(if_match(Some("\"1\", \"3\""), &At(3)).is_ok());
        assert!(if_match(Some("\"1\",\"3\""), &At(3)).is_ok());
    }

    #[test]
    fn if_match_fails_with_412_on_a_stale_weak_or_malformed_tag() {
        for header in ["\"2\"", "W/\"3\"", "3", "\"3", "\"3\"x", "", "\"1\", \"2\""] {
            let err = if_match(Some(header), &At(3)).unwrap_err();
            assert_eq!(err.status(), 412, "{header}");
        }
        let err = if_match(Some("\"2\""), &At(3)).unwrap_err();
        assert!(err.to_string().contains("\"3\""), "{err}");
    }

    #[test]
    fn if_none_match_uses_weak_comparison() {
        assert!(not_modified(Some("\"4\""), &At(4)));
        assert!(not_modified(Some("W/\"4\""), &At(4)));
        assert!(not_modified(Some("\"1\", W/\"4\""), &At(4)));
        assert!(not_modified(Some("*"), &At(4)));
        assert!(!not_modified(Some("\"3\""), &At(4)));
        assert!(!not_modified(None, &At(4)));
        assert!(!not_modified(Some("garbage"), &At(4)));
    }

    #[test]
    fn commas_inside_a_quoted_tag_do_not_split_it() {
        assert_eq!(
            parse("\"a,b\", W/\"c\""),
            Some(Tags::List(vec![
                Tag {
                    weak: false,
                    opaque: "a,b"
                },
                Tag {
                    weak: true,
                    opaque: "c"
                },
            ]))
        );
    }
}
