//! Categories and their tree.
//!
//! A [`Category`] names its parent; the hierarchy as a whole lives in a [`CategoryTree`],
//! built from all categories at once. That is cheap because a shop has hundreds of
//! categories, not millions, and it keeps the rules that span several categories (no cycles,
//! at most [`MAX_CATEGORY_DEPTH`] levels, "this category and everything below it") pure and
//! testable.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::etag::Versioned;
use super::validate::{self, Errors, Lines, null_as_default, timestamp};
use shop_domain::{CategoryId, DomainError};

/// Longest category name, in characters after trimming.
pub const CATEGORY_NAME_MAX_CHARS: usize = 100;
/// Longest slug, in characters.
pub const SLUG_MAX_CHARS: usize = 100;
/// Longest category description, in characters.
pub const CATEGORY_DESCRIPTION_MAX_CHARS: usize = 2_000;
/// Most levels in the tree: a root is level 1, so at most four ancestors.
pub const MAX_CATEGORY_DEPTH: usize = 5;

const FIELDS: [&str; 4] = ["name", "slug", "parentId", "description"];
const READ_ONLY: [&str; 4] = ["id", "version", "createdAt", "updatedAt"];

/// A product category, possibly below a parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Category {
    /// Its id.
    pub id: CategoryId,
    /// Display name.
    pub name: String,
    /// URL-safe unique name (`mens-shoes`); uniqueness is the store's check (409).
    pub slug: String,
    /// The parent; `None` (JSON `null`) for a root.
    pub parent_id: Option<CategoryId>,
    /// Free text, possibly empty.
    pub description: String,
    /// Optimistic-concurrency version, also the ETag.
    pub version: u64,
    /// Creation time.
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "timestamp")]
    pub updated_at: DateTime<Utc>,
}

/// The body of `POST /api/categories` and `PUT /api/categories/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct CategoryInput {
    /// Display name, 1–100 characters.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// Omitted: derived from the name (`Men's Shoes` → `men-s-shoes`).
    pub slug: Option<String>,
    /// Parent id (ULID); omitted or `null` makes a root.
    pub parent_id: Option<String>,
    /// Up to 2,000 characters.
    #[serde(deserialize_with = "null_as_default")]
    pub description: String,
}

impl CategoryInput {
    /// Reads an input from JSON, reporting unknown and read-only keys all at once.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, DomainError> {
        let mut errors = Errors::default();
        if validate::check_keys(&mut errors, value, &FIELDS, &READ_ONLY) && errors.is_empty() {
            return validate::from_value(value);
        }
        errors.finish(Self::default())
    }
}

impl Category {
    /// A new category at version 1.
    ///
    /// Checks the fields only; the handler must also run [`CategoryTree::check_parent`]
    /// (parent exists, no cycle, depth) and rely on the store for slug uniqueness.
    pub fn create(
        input: CategoryInput,
        now: DateTime<Utc>,
        id: CategoryId,
    ) -> Result<Category, DomainError> {
        let (name, slug, parent_id, description) = validate_input(&input, Some(id))?;
        Ok(Category {
            id,
            name,
            slug,
            parent_id,
            description,
            version: 1,
            created_at: now,
            updated_at: now,
        })
    }

    /// This category with its fields replaced (PUT) and the names of those that changed;
    /// unchanged, it comes back as it is with an empty list (write nothing, emit nothing).
    pub fn replace(
        &self,
        input: CategoryInput,
        now: DateTime<Utc>,
    ) -> Result<(Category, Vec<&'static str>), DomainError> {
        let (name, slug, parent_id, description) = validate_input(&input, Some(self.id))?;
        let changed: Vec<&'static str> = [
            ("name", name != self.name),
            ("slug", slug != self.slug),
            ("parentId", parent_id != self.parent_id),
            ("description", description != self.description),
        ]
        .into_iter()
        .filter_map(|(field, differs)| differs.then_some(field))
        .collect();
        if changed.is_empty() {
            return Ok((self.clone(), changed));
        }
        let next = Category {
            name,
            slug,
            parent_id,
            description,
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        };
        Ok((next, changed))
    }
}

impl Versioned for Category {
    fn version(&self) -> u64 {
        self.version
    }
}

type Validated = (String, String, Option<CategoryId>, String);

fn validate_input(input: &CategoryInput, id: Option<CategoryId>) -> Result<Validated, DomainError> {
    let mut e = Errors::default();
    let name = e.text(
        "name",
        &input.name,
        1,
        CATEGORY_NAME_MAX_CHARS,
        Lines::Single,
    );
    let slug = slug_for(&mut e, input.slug.as_deref(), &name);
    let parent_id = match input.parent_id.as_deref() {
        None => None,
        Some(raw) => validate::parse_id::<CategoryId>(&mut e, "parentId", Some(raw)),
    };
    if parent_id.is_some() && parent_id == id {
        e.push("parentId", "cannot be the category itself");
    }
    let description = e.text(
        "description",
        &input.description,
        0,
        CATEGORY_DESCRIPTION_MAX_CHARS,
        Lines::Multi,
    );
    e.finish((name, slug, parent_id, description))
}

/// The slug given, checked, or one derived from the (already checked) name.
pub(crate) fn slug_for(e: &mut Errors, given: Option<&str>, name: &str) -> String {
    match given {
        Some(slug) => {
            e.slug("slug", slug, SLUG_MAX_CHARS);
            slug.to_owned()
        }
        None => {
            let derived: String = validate::slugify(name)
                .chars()
                .take(SLUG_MAX_CHARS)
                .collect();
            let derived = derived.trim_end_matches('-').to_owned();
            if derived.is_empty() && !name.is_empty() {
                e.push(
                    "slug",
                    "is required when the name has no ASCII letters or digits to derive it from",
                );
            }
            derived
        }
    }
}

/// All categories as a tree, for the rules that look beyond one category.
#[derive(Debug, Clone)]
pub struct CategoryTree {
    by_id: HashMap<CategoryId, Category>,
    children: HashMap<CategoryId, Vec<CategoryId>>,
}

/// One category in the nested form of `GET /api/categories/tree`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CategoryNode {
    /// Category id.
    pub id: CategoryId,
    /// Display name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// Description, possibly empty.
    pub description: String,
    /// Sub-categories, sorted by name.
    pub children: Vec<CategoryNode>,
}

impl CategoryTree {
    /// Builds the tree from every category there is.
    pub fn new(categories: Vec<Category>) -> Self {
        let mut children: HashMap<CategoryId, Vec<CategoryId>> = HashMap::new();
        for c in &categories {
            if let Some(parent) = c.parent_id {
                children.entry(parent).or_default().push(c.id);
            }
        }
        let by_id = categories.into_iter().map(|c| (c.id, c)).collect();
        Self { by_id, children }
    }

    /// The category with `id`, if it exists.
    pub fn get(&self, id: CategoryId) -> Option<&Category> {
        self.by_id.get(&id)
    }

    /// Whether a category with `id` exists.
    pub fn contains(&self, id: CategoryId) -> bool {
        self.by_id.contains_key(&id)
    }

    /// Whether `id` has sub-categories (deleting it is then a 409).
    pub fn has_children(&self, id: CategoryId) -> bool {
        self.children.get(&id).is_some_and(|c| !c.is_empty())
    }

    /// `id` and every category below it, parents before children: what the product list's
    /// `category` filter matches. Empty when `id` does not exist.
    pub fn descendants_of(&self, id: CategoryId) -> Vec<CategoryId> {
        if !self.contains(id) {
            return Vec::new();
        }
        let mut out = vec![id];
        // `seen` guards against a cycle in stored data, which the write path forbids but a
        // hand-edited table could still contain; a loop here would hang the list endpoint.
        let mut seen: HashSet<CategoryId> = HashSet::from([id]);
        let mut i = 0;
        while i < out.len() {
            if let Some(kids) = self.children.get(&out[i]) {
                for &kid in kids {
                    if seen.insert(kid) {
                        out.push(kid);
                    }
                }
            }
            i += 1;
        }
        out
    }

    /// The level of `id`: 1 for a root, 2 for its children, …; `None` when it does not exist.
    /// A parent missing from the tree counts as the end of the chain.
    pub fn depth_of(&self, id: CategoryId) -> Option<usize> {
        let mut current = self.by_id.get(&id)?;
        let mut depth = 1;
        let mut seen = HashSet::from([id]);
        while let Some(parent) = current.parent_id.and_then(|p| self.by_id.get(&p)) {
            if !seen.insert(parent.id) {
                break;
            }
            depth += 1;
            current = parent;
        }
        Some(depth)
    }

    /// How many levels the subtree under `id` spans, `id` included (1 for a leaf or an id not
    /// yet in the tree).
    fn height_of(&self, id: CategoryId) -> usize {
        let descendants = self.descendants_of(id);
        let base = self.depth_of(id).unwrap_or(1);
        descendants
            .iter()
            .filter_map(|d| self.depth_of(*d))
            .map(|d| d + 1 - base)
            .max()
            .unwrap_or(1)
    }

    /// Checks that `child` (existing or about to be created) may hang below `new_parent`.
    ///
    /// - `None` (a root) is always fine.
    /// - A parent that does not exist is [`DomainError::Unprocessable`] (422), like a
    ///   product's unknown `categoryId`: the request is well-formed, the reference is not.
    /// - The category itself, or one of its own descendants, would make a cycle; and the
    ///   parent's depth plus the height of `child`'s subtree must stay within
    ///   [`MAX_CATEGORY_DEPTH`]. Both are validation errors on `parentId` (400).
    pub fn check_parent(
        &self,
        child: CategoryId,
        new_parent: Option<CategoryId>,
    ) -> Result<(), DomainError> {
        let Some(parent) = new_parent else {
            return Ok(());
        };
        if parent == child {
            return Err(DomainError::validation(
                "parentId",
                "cannot be the category itself",
            ));
        }
        let Some(parent_depth) = self.depth_of(parent) else {
            return Err(DomainError::Unprocessable(format!(
                "parent category `{parent}` does not exist"
            )));
        };
        if self.descendants_of(child).contains(&parent) {
            return Err(DomainError::validation(
                "parentId",
                "would create a cycle: the new parent is below this category",
            ));
        }
        let levels = parent_depth + self.height_of(child);
        if levels > MAX_CATEGORY_DEPTH {
            return Err(DomainError::validation(
                "parentId",
                format!(
                    "would make the category tree {levels} levels deep; at most {MAX_CATEGORY_DEPTH} are allowed"
                ),
            ));
        }
        Ok(())
    }

    /// The whole hierarchy, nested, siblings sorted by name (then id, so equal names keep a
    /// stable order). A category whose parent is missing is shown as a root rather than
    /// hidden; categories caught in a (forbidden) cycle are left out.
    pub fn tree(&self) -> Vec<CategoryNode> {
        let roots: Vec<CategoryId> = self
            .by_id
            .values()
            .filter(|c| c.parent_id.is_none_or(|p| !self.by_id.contains_key(&p)))
            .map(|c| c.id)
            .collect();
        let mut seen = HashSet::new();
        self.nodes(roots, &mut seen)
    }

    fn nodes(&self, ids: Vec<CategoryId>, seen: &mut HashSet<CategoryId>) -> Vec<CategoryNode> {
        let mut sorted: BTreeMap<(String, CategoryId), &Category> = BTreeMap::new();
        for id in ids {
            if let Some(c) = self.by_id.get(&id) {
                sorted.insert((c.name.to_lowercase(), c.id), c);
            }
        }
        let mut out = Vec::with_capacity(sorted.len());
        for c in sorted.into_values() {
            if !seen.insert(c.id) {
                continue;
            }
            let kids = self.children.get(&c.id).cloned().unwrap_or_default();
            out.push(CategoryNode {
                id: c.id,
                name: c.name.clone(),
                slug: c.slug.clone(),
                description: c.description.clone(),
                children: self.nodes(kids, seen),
            });
        }
        out
    }
}
