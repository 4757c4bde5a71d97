//! Reading configuration from the environment, in one place.
//!
//! Binaries call these once at start-up and fail fast: a function that starts without its
//! table name should say so in its first log line, not on the first request.

use std::str::FromStr;

/// A missing or unusable environment variable.
///
/// `Debug` prints the same sentence as `Display`: a binary's `main` returning this error is
/// reported by Rust with `{:?}`, and that line should tell the user how to fix it.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The variable is not set (or set to an empty string).
    #[error(
        "`{name}` is not set: run through `make dev` (the local cloud sets it from template.yaml) or export it"
    )]
    Missing {
        /// The variable's name.
        name: String,
    },
    /// The variable is set but its value cannot be used.
    #[error(
        "`{name}` is set to `{value}`, which is not valid: {reason}; fix it in template.yaml or in your environment"
    )]
    Invalid {
        /// The variable's name.
        name: String,
        /// The offending value.
        value: String,
        /// Why it was rejected.
        reason: String,
    },
}

impl std::fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// The value of `name`, or an error saying how to set it.
///
/// An empty value counts as missing: SAM renders an unset parameter as `""`, which is never a
/// usable table or bus name.
pub fn required(name: &str) -> Result<String, ConfigError> {
    optional(name).ok_or_else(|| ConfigError::Missing {
        name: name.to_owned(),
    })
}

/// The value of `name` if it is set to something non-empty.
pub fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The value of `name` parsed as `T`; missing or unparsable values are errors.
pub fn parse<T>(name: &str) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    parse_value(name, &required(name)?)
}

/// The value of `name` parsed as `T`, or `default` when it is not set.
pub fn parse_or<T>(name: &str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match optional(name) {
        Some(value) => parse_value(name, &value),
        None => Ok(default),
    }
}

fn parse_value<T>(name: &str, value: &str) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    value
        .trim()
        .parse()
        .map_err(|e: T::Err| ConfigError::Invalid {
            name: name.to_owned(),
            value: value.to_owned(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Each test uses its own variable names: tests run in parallel threads sharing one
    // environment. Setting variables is `unsafe` in edition 2024 for exactly that reason.

    #[test]
    fn missing_variable_error_says_how_to_fix_it() {
        let err = required("SHOP_TEST_SURELY_UNSET").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`SHOP_TEST_SURELY_UNSET` is not set: run through `make dev` (the local cloud sets it from template.yaml) or export it"
        );
    }

    #[test]
    fn empty_variable_counts_as_missing() {
        unsafe { std::env::set_var("SHOP_TEST_EMPTY", "") };
        assert!(optional("SHOP_TEST_EMPTY").is_none());
        assert!(required("SHOP_TEST_EMPTY").is_err());
    }

    #[test]
    fn parses_typed_values_and_reports_bad_ones() {
        unsafe {
            std::env::set_var("SHOP_TEST_NUM", "42");
            std::env::set_var("SHOP_TEST_BAD_NUM", "forty-two");
        }
        assert_eq!(parse::<u32>("SHOP_TEST_NUM").unwrap(), 42);
        assert_eq!(parse_or::<u32>("SHOP_TEST_NUM_UNSET", 7).unwrap(), 7);
        let err = parse::<u32>("SHOP_TEST_BAD_NUM").unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { .. }));
        assert!(err.to_string().contains("`forty-two`"), "{err}");
    }
}
