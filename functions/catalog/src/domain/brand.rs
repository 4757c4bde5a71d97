//! Brands: a name, a slug, a description and an optional logo.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::category::slug_for;
use super::etag::Versioned;
use super::product::URL_MAX_CHARS;
use super::validate::{self, Errors, Lines, null_as_default, timestamp};
use shop_domain::{BrandId, DomainError};

/// Longest brand name, in characters after trimming.
pub const BRAND_NAME_MAX_CHARS: usize = 100;
/// Longest brand description, in characters.
pub const BRAND_DESCRIPTION_MAX_CHARS: usize = 2_000;

const FIELDS: [&str; 4] = ["name", "slug", "description", "logoUrl"];
const READ_ONLY: [&str; 4] = ["id", "version", "createdAt", "updatedAt"];

/// A brand products can belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Brand {
    /// Its id.
    pub id: BrandId,
    /// Display name.
    pub name: String,
    /// URL-safe unique name; uniqueness is the store's check (409).
    pub slug: String,
    /// Free text, possibly empty.
    pub description: String,
    /// An http(s) URL of the logo; `null` when there is none.
    pub logo_url: Option<String>,
    /// Optimistic-concurrency version, also the ETag.
    pub version: u64,
    /// Creation time.
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "timestamp")]
    pub updated_at: DateTime<Utc>,
}

/// The body of `POST /api/brands` and `PUT /api/brands/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct BrandInput {
    /// Display name, 1–100 characters.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// Omitted: derived from the name.
    pub slug: Option<String>,
    /// Up to 2,000 characters.
    #[serde(deserialize_with = "null_as_default")]
    pub description: String,
    /// An http(s) URL, up to 2,048 characters.
    pub logo_url: Option<String>,
}

impl BrandInput {
    /// Reads an input from JSON, reporting unknown and read-only keys all at once.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, DomainError> {
        let mut errors = Errors::default();
        if validate::check_keys(&mut errors, value, &FIELDS, &READ_ONLY) && errors.is_empty() {
            return validate::from_value(value);
        }
        errors.finish(Self::default())
    }
}

impl Brand {
    /// A new brand at version 1; slug uniqueness is left to the store.
    pub fn create(
        input: BrandInput,
        now: DateTime<Utc>,
        id: BrandId,
    ) -> Result<Brand, DomainError> {
        let (name, slug, description, logo_url) = validate_input(&input)?;
        Ok(Brand {
            id,
            name,
            slug,
            description,
            logo_url,
            version: 1,
            created_at: now,
            updated_at: now,
        })
    }

    /// This brand with its fields replaced (PUT) and the names of those that changed;
    /// unchanged, it comes back as it is with an empty list (write nothing, emit nothing).
    pub fn replace(
        &self,
        input: BrandInput,
        now: DateTime<Utc>,
    ) -> Result<(Brand, Vec<&'static str>), DomainError> {
        let (name, slug, description, logo_url) = validate_input(&input)?;
        let changed: Vec<&'static str> = [
            ("name", name != self.name),
            ("slug", slug != self.slug),
            ("description", description != self.description),
            ("logoUrl", logo_url != self.logo_url),
        ]
        .into_iter()
        .filter_map(|(field, differs)| differs.then_some(field))
        .collect();
        if changed.is_empty() {
            return Ok((self.clone(), changed));
        }
        let next = Brand {
            name,
            slug,
            description,
            logo_url,
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        };
        Ok((next, changed))
    }
}

impl Versioned for Brand {
    fn version(&self) -> u64 {
        self.version
    }
}

type Validated = (String, String, String, Option<String>);

fn validate_input(input: &BrandInput) -> Result<Validated, DomainError> {
    let mut e = Errors::default();
    let name = e.text("name", &input.name, 1, BRAND_NAME_MAX_CHARS, Lines::Single);
    let slug = slug_for(&mut e, input.slug.as_deref(), &name);
    let description = e.text(
        "description",
        &input.description,
        0,
        BRAND_DESCRIPTION_MAX_CHARS,
        Lines::Multi,
    );
    // An empty string means "no logo", as clients clearing a form field send it.
    let logo_url = input
        .logo_url
        .as_deref()
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(|url| {
            e.http_url("logoUrl", url, URL_MAX_CHARS);
            url.to_owned()
        });
    e.finish((name, slug, description, logo_url))
}
