//! `GET /api/products` parameters, and the reference semantics of the listing.
//!
//! [`ProductQuery::from_params`] turns the query string into a checked query, naming the
//! offending parameter in every error. [`filter_and_sort`] is the listing's meaning written
//! as plain code over a slice: the DynamoDB adapter may serve the query however it likes,
//! and its tests compare its pages, concatenated, with this function's answer.

use std::cmp::Ordering;
use std::collections::HashSet;

use super::product::{PRICE_MAX_MINOR, Product, ProductStatus};
use super::validate::Errors;
pub use shop_domain::paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, NEXT_TOKEN_MAX_CHARS};
use shop_domain::{BrandId, CategoryId, DomainError};

/// Longest `search` term, in characters.
pub const SEARCH_MAX_CHARS: usize = 100;

/// What to order the list by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortBy {
    /// Base price, in minor units (currencies are not converted).
    Price,
    /// Creation time.
    CreatedAt,
    /// Name, case-insensitively.
    Name,
}

impl SortBy {
    /// The wire form: `price`, `createdAt`, `name`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Price => "price",
            Self::CreatedAt => "createdAt",
            Self::Name => "name",
        }
    }
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortOrder {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

impl SortOrder {
    /// The wire form: `asc`, `desc`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Asc => "asc",
            Self::Desc => "desc",
        }
    }
}

/// A checked product-list query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductQuery {
    /// Only products in this category or below it.
    pub category: Option<CategoryId>,
    /// Only products of this brand.
    pub brand: Option<BrandId>,
    /// Only products whose base price (minor units) is at least this.
    pub min_price: Option<i64>,
    /// Only products whose base price (minor units) is at most this.
    pub max_price: Option<i64>,
    /// Only products whose name contains this, case-insensitively (trimmed, never empty).
    pub search: Option<String>,
    /// Sort key; default `createdAt`.
    pub sort_by: SortBy,
    /// Default `desc` for `createdAt` (newest first), `asc` for `name` and `price`.
    pub sort_order: SortOrder,
    /// Items per page, 1–100, default 20.
    pub page_size: u32,
    /// The opaque cursor from the previous page; its signature is the adapter's to check.
    pub next_token: Option<String>,
}

impl Default for ProductQuery {
    fn default() -> Self {
        Self {
            category: None,
            brand: None,
            min_price: None,
            max_price: None,
            search: None,
            sort_by: SortBy::CreatedAt,
            sort_order: SortOrder::Desc,
            page_size: DEFAULT_PAGE_SIZE,
            next_token: None,
        }
    }
}

const PARAMS: [&str; 9] = [
    "category",
    "brand",
    "minPrice",
    "maxPrice",
    "search",
    "sortBy",
    "sortOrder",
    "pageSize",
    "nextToken",
];

impl ProductQuery {
    /// Parses the query-string parameters (already URL-decoded), reporting every bad one at
    /// once under its own name.
    ///
    /// Unknown parameters are refused rather than ignored, so a typo (`sortby`) is a 400
    /// instead of a silently unsorted list; a parameter given twice is refused too, as
    /// there is no sensible way to pick one. Empty values count as absent (`?search=`).
    pub fn from_params<I, K, V>(params: I) -> Result<Self, DomainError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut e = Errors::default();
        let mut q = ProductQuery::default();
        let mut seen = HashSet::new();
        // A parameter repeated many times is reported once (the error's details are bounded).
        let mut reported = HashSet::new();
        let mut sort_order = None;
        for (key, value) in params {
            let (key, value) = (key.as_ref(), value.as_ref().trim());
            if !PARAMS.contains(&key) {
                if reported.insert(key.to_owned()) {
                    e.push(
                        key,
                        format!("is not a known parameter; use one of {}", PARAMS.join(", ")),
                    );
                }
                continue;
            }
            if !seen.insert(key.to_owned()) {
                if reported.insert(key.to_owned()) {
                    e.push(key, "must be given at most once");
                }
                continue;
            }
            if value.is_empty() {
                continue;
            }
            match key {
                "category" => q.category = parse_id(&mut e, key, value),
                "brand" => q.brand = parse_id(&mut e, key, value),
                "minPrice" => q.min_price = parse_price(&mut e, key, value),
                "maxPrice" => q.max_price = parse_price(&mut e, key, value),
                "search" => {
                    if value.chars().count() > SEARCH_MAX_CHARS {
                        e.push(
                            key,
                            format!("must be at most {SEARCH_MAX_CHARS} characters"),
                        );
                    } else {
                        q.search = Some(value.to_owned());
                    }
                }
                "sortBy" => match value {
                    "price" => q.sort_by = SortBy::Price,
                    "createdAt" => q.sort_by = SortBy::CreatedAt,
                    "name" => q.sort_by = SortBy::Name,
                    _ => e.push(key, "must be one of `price`, `createdAt`, `name`"),
                },
                "sortOrder" => match value {
                    "asc" => sort_order = Some(SortOrder::Asc),
                    "desc" => sort_order = Some(SortOrder::Desc),
                    _ => e.push(key, "must be `asc` or `desc`"),
                },
                "pageSize" => match value.parse::<u32>() {
                    Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => q.page_size = n,
                    _ => e.push(key, format!("must be an integer from 1 to {MAX_PAGE_SIZE}")),
                },
                "nextToken" => {
                    if value.len() > NEXT_TOKEN_MAX_CHARS {
                        e.push(key, "is not a token this API issued");
                    } else {
                        q.next_token = Some(value.to_owned());
                    }
                }
                _ => unreachable!("every name in PARAMS is matched"),
            }
        }
        q.sort_order = sort_order.unwrap_or(match q.sort_by {
            SortBy::CreatedAt => SortOrder::Desc,
            SortBy::Price | SortBy::Name => SortOrder::Asc,
        });
        if let (Some(min), Some(max)) = (q.min_price, q.max_price)
            && min > max
        {
            e.push("minPrice", "must not be greater than maxPrice");
        }
        e.finish(q)
    }

    /// The filters and order of this query, without its paging: what a `nextToken` is bound
    /// to, so a cursor of one query cannot be replayed on another. The category filter is its
    /// id, not its expansion, so a category added between two pages does not void the cursor.
    pub fn cursor_scope(&self) -> String {
        format!(
            "products|{:?}|{:?}|{:?}|{:?}|{:?}|{}|{}",
            self.category.map(|c| c.to_string()),
            self.brand.map(|b| b.to_string()),
            self.min_price,
            self.max_price,
            self.search.as_ref().map(|s| s.to_lowercase()),
            self.sort_by.as_str(),
            self.sort_order.as_str()
        )
    }

    /// Whether `product` passes every filter, given the category ids the `category` filter
    /// stands for (see [`filter_and_sort`]). The status is not checked here.
    pub fn matches(&self, product: &Product, categories: &[CategoryId]) -> bool {
        let in_category = self.category.is_none() || categories.contains(&product.category_id);
        let of_brand = self.brand.is_none_or(|b| product.brand_id == b);
        let price = product.price.amount_minor;
        let in_range = self.min_price.is_none_or(|min| price >= min)
            && self.max_price.is_none_or(|max| price <= max);
        let named = self
            .search
            .as_ref()
            .is_none_or(|term| product.name.to_lowercase().contains(&term.to_lowercase()));
        in_category && of_brand && in_range && named
    }

    /// The listing's total order: the sort key in the requested direction, ties broken by
    /// id in the same direction, so reversing `sortOrder` reverses the list exactly and a
    /// cursor can be the (key, id) of the last item.
    pub fn compare(&self, a: &Product, b: &Product) -> Ordering {
        let by_key = match self.sort_by {
            SortBy::Price => a.price.amount_minor.cmp(&b.price.amount_minor),
            SortBy::CreatedAt => a.created_at.cmp(&b.created_at),
            SortBy::Name => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
        };
        let ordering = by_key.then(a.id.cmp(&b.id));
        match self.sort_order {
            SortOrder::Asc => ordering,
            SortOrder::Desc => ordering.reverse(),
        }
    }
}

fn parse_id<T: std::str::FromStr>(e: &mut Errors, key: &str, value: &str) -> Option<T> {
    let parsed = value.parse().ok();
    if parsed.is_none() {
        e.push(key, "must be a 26-character ULID (Crockford base32)");
    }
    parsed
}

fn parse_price(e: &mut Errors, key: &str, value: &str) -> Option<i64> {
    match value.parse::<i64>() {
        Ok(n) if (0..=PRICE_MAX_MINOR).contains(&n) => Some(n),
        _ => {
            e.push(
                key,
                format!("must be an integer from 0 to {PRICE_MAX_MINOR}, in minor units (1999 for 19.99)"),
            );
            None
        }
    }
}

/// The public product list for `query`, as plain code: active products only, every filter
/// applied, in the query's order, not paged.
///
/// `categories` is what the `category` filter expands to — the category and its
/// descendants, from [`CategoryTree::descendants_of`](super::CategoryTree::descendants_of).
/// `None` with a `category` filter means that category alone.
pub fn filter_and_sort<'a>(
    products: &'a [Product],
    query: &ProductQuery,
    categories: Option<&[CategoryId]>,
) -> Vec<&'a Product> {
    let own: Vec<CategoryId> = query.category.into_iter().collect();
    let categories = categories.unwrap_or(&own);
    let mut out: Vec<&Product> = products
        .iter()
        .filter(|p| p.status == ProductStatus::Active && query.matches(p, categories))
        .collect();
    out.sort_by(|a, b| query.compare(a, b));
    out
}
