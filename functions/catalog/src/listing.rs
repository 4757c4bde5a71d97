//! The public product list's own projection: what [`DynamoCatalog`](crate::dynamo::DynamoCatalog)
//! stores to serve `GET /api/products`, and how a page is cut from it. Pure: no I/O here.
//!
//! Every active product has one [`Entry`] — the few fields the list filters and sorts on, about
//! 150 bytes — kept in one of [`BUCKETS`] bucket items (chosen by the random bits of its id, so
//! buckets fill evenly) and rewritten in the same transaction as the product. A list request
//! reads the buckets (≈ 256 items, ≈ 1.5 MB for 10,000 products), filters, sorts and cuts the
//! page in memory ([`page`]), then fetches only the page's products.
//!
//! Why buckets rather than one index entry per product: reading 256 large items costs the same
//! read units as 10,000 small ones on AWS, but far fewer round trips and far less per-item
//! work (moto, the local cloud, spends about a millisecond per item returned), and the entries
//! are written transactionally with the product, so the list reads its own writes. The cost:
//! writes of products in the same bucket contend (optimistic, retried), and a bucket item
//! (400 KB at most) holds ≈ 1,300 entries at the longest names, so the layout serves up to
//! roughly 300,000 active products. docs/decisions.md has the numbers and the path beyond.

use std::collections::BTreeMap;

use crate::domain::{Product, ProductQuery, ProductStatus, SortOrder};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shop_domain::{BrandId, CategoryId, ProductId};

use crate::cursor::{ListCursor, SortKey};

/// How many bucket items hold the entries.
pub const BUCKETS: u128 = 256;

/// The sort key of the bucket holding `id`'s entry: `BUCKET#000` … `BUCKET#255`.
pub fn bucket_of(id: ProductId) -> String {
    format!("BUCKET#{:03}", id.ulid().random() % BUCKETS)
}

/// What the list needs of an active product. Short field names: there are thousands per item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Lower-cased name: the `search` filter and the `name` sort.
    #[serde(rename = "n")]
    pub name_lower: String,
    /// Base price in minor units.
    #[serde(rename = "p")]
    pub price: i64,
    /// Category.
    #[serde(rename = "c")]
    pub category_id: CategoryId,
    /// Brand.
    #[serde(rename = "b")]
    pub brand_id: BrandId,
    /// Creation time.
    #[serde(rename = "t")]
    pub created_at: DateTime<Utc>,
}

impl Entry {
    /// The entry of `product`, or `None` when it is not listed (not active).
    pub fn of(product: &Product) -> Option<Entry> {
        (product.status == ProductStatus::Active).then(|| Entry {
            name_lower: product.name.to_lowercase(),
            price: product.price.amount_minor,
            category_id: product.category_id,
            brand_id: product.brand_id,
            created_at: product.created_at,
        })
    }

    /// Whether this entry passes `query`'s filters; `categories` is the `category` filter
    /// expanded to its subtree (as [`ProductQuery::matches`] takes it).
    fn matches(&self, query: &ProductQuery, categories: &[CategoryId]) -> bool {
        query
            .category
            .is_none_or(|_| categories.contains(&self.category_id))
            && query.brand.is_none_or(|b| b == self.brand_id)
            && query.min_price.is_none_or(|min| self.price >= min)
            && query.max_price.is_none_or(|max| self.price <= max)
            && query
                .search
                .as_ref()
                .is_none_or(|term| self.name_lower.contains(&term.to_lowercase()))
    }
}

/// One bucket's entries by product id; stored as a JSON object.
pub type Bucket = BTreeMap<ProductId, Entry>;

/// The page of `query` from every listed entry: the ids to show, in order, and the cursor of
/// the next page (`None` on the last). `after` is the decoded `nextToken`.
pub fn page(
    entries: impl IntoIterator<Item = (ProductId, Entry)>,
    query: &ProductQuery,
    categories: Option<&[CategoryId]>,
    after: Option<&ListCursor>,
) -> (Vec<ProductId>, Option<ListCursor>) {
    let own: Vec<CategoryId> = query.category.into_iter().collect();
    let categories = categories.unwrap_or(&own);
    let mut keyed: Vec<(SortKey, ProductId)> = entries
        .into_iter()
        .filter(|(_, e)| e.matches(query, categories))
        .map(|(id, e)| {
            let key = SortKey::of(query.sort_by, e.price, e.created_at, &e.name_lower);
            (key, id)
        })
        .collect();
    let ordered = |a: &(SortKey, ProductId), b: &(SortKey, ProductId)| match query.sort_order {
        SortOrder::Asc => a.cmp(b),
        SortOrder::Desc => b.cmp(a),
    };
    keyed.sort_by(ordered);
    let start = after.map_or(0, |cursor| {
        let last = (cursor.key.clone(), cursor.id);
        keyed.partition_point(|e| ordered(e, &last).is_le())
    });
    let size = query.page_size as usize;
    let rest = &keyed[start.min(keyed.len())..];
    let ids = rest.iter().take(size).map(|(_, id)| *id).collect();
    let next = match rest.get(size.saturating_sub(1)) {
        Some((key, id)) if rest.len() > size => Some(ListCursor {
            key: key.clone(),
            id: *id,
        }),
        _ => None,
    };
    (ids, next)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use crate::domain::{ProductInput, filter_and_sort};
    use serde_json::json;

    use super::*;

    fn products(n: usize) -> Vec<Product> {
        let (shoes, bags) = (CategoryId::new(), CategoryId::new());
        let brand = BrandId::new();
        (0..n)
            .map(|i| {
                let name = ["Trail Runner", "road runner", "Bag"][i % 3];
                let input = ProductInput::from_json(&json!({
                    "name": name,
                    "price": 1000 + (i % 4) * 100,
                    "currency": "EUR",
                    "categoryId": if i % 2 == 0 { shoes } else { bags }.to_string(),
                    "brandId": brand.to_string(),
                    "status": if i % 5 == 0 { "draft" } else { "active" },
                }))
                .unwrap();
                let at = Utc::now() - chrono::TimeDelta::seconds((i / 2) as i64);
                Product::create(input, "s", at, ProductId::new()).unwrap()
            })
            .collect()
    }

    #[test]
    fn walking_the_pages_equals_the_reference_for_every_order() {
        let all = products(57);
        let entries: Vec<(ProductId, Entry)> = all
            .iter()
            .filter_map(|p| Entry::of(p).map(|e| (p.id, e)))
            .collect();
        for params in [
            vec![("pageSize", "4")],
            vec![("sortBy", "price"), ("pageSize", "5")],
            vec![("sortBy", "name"), ("sortOrder", "desc"), ("pageSize", "3")],
            vec![
                ("search", "RUNNER"),
                ("minPrice", "1100"),
                ("pageSize", "2"),
            ],
        ] {
            let query = ProductQuery::from_params(params.clone()).unwrap();
            let expected: Vec<ProductId> = filter_and_sort(&all, &query, None)
                .into_iter()
                .map(|p| p.id)
                .collect();
            let (mut got, mut after) = (Vec::new(), None);
            loop {
                let (ids, next) = page(entries.clone(), &query, None, after.as_ref());
                got.extend(ids);
                match next {
                    Some(cursor) => after = Some(cursor),
                    None => break,
                }
            }
            assert_eq!(got, expected, "{params:?}");
        }
    }

    #[test]
    fn only_active_products_have_an_entry_and_buckets_fill_evenly() {
        let all = products(10);
        assert!(Entry::of(&all[0]).is_none(), "a draft is not listed");
        assert_eq!(Entry::of(&all[1]).unwrap().name_lower, "road runner");
        let buckets: HashSet<String> = (0..5_000).map(|_| bucket_of(ProductId::new())).collect();
        assert_eq!(buckets.len(), BUCKETS as usize);
    }

    #[test]
    fn a_bucket_is_a_json_object_of_short_entries() {
        let p = &products(2)[1];
        let bucket = Bucket::from([(p.id, Entry::of(p).unwrap())]);
        let json = serde_json::to_string(&bucket).unwrap();
        assert!(
            json.starts_with(&format!("{{\"{}\":{{\"n\":", p.id)),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Bucket>(&json).unwrap(), bucket);
    }
}
