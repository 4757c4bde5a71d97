//! Category handlers: `/api/categories`, `/api/categories/tree` and `/api/categories/{id}`.
//!
//! Reads are public; writes need the Admin role. The shape is the products' (see
//! [`crate::products`]): a named handler per route, an inner function, [`respond`].
//!
//! Rules worth knowing:
//! - The hierarchy's rules (parent exists, no cycle, at most five levels) are
//!   [`CategoryTree::check_parent`]'s, checked on create and whenever a PUT moves a category.
//!   A missing parent is 422; a cycle or too deep a tree is 400 on `parentId`.
//! - Slugs are unique; the store refuses a taken one with 409.
//! - `If-Match` is optional on PUT and DELETE; a stale one is 412, a race lost without it
//!   409. A PUT that changes nothing writes nothing and emits no event.
//! - A category with sub-categories or with products (in any status) cannot be deleted: 409.

use crate::domain::{
    Category, CategoryCreated, CategoryDeleted, CategoryInput, CategoryModified, CategoryTree,
};
use lambda_http::http::{Response, StatusCode};
use lambda_http::{Body, Error, Request};
use serde::Serialize;
use shop_adapters::http::{ApiError, json_response, no_content, parse_json, path_id};
use shop_adapters::idempotency::idempotent;
use shop_domain::{CategoryId, DomainError};

use crate::Deps;
use crate::auth::Caller;
use crate::common::{
    Handled, admin_target, created, ensure_no_params, envelope, fresh_or_not_modified,
    json_with_etag, lost_race, respond, update_refused,
};

/// `GET /api/categories` (public): every category, sorted by name case-insensitively, then
/// by id, as `{"items": [...]}`.
///
/// Not paged: a shop has hundreds of categories, not millions, so the whole list is one
/// small response (and the store reads it whole anyway, for the tree). Query parameters are
/// refused (400 naming each), so a client expecting paging or a filter learns it at once.
pub async fn list_categories(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(list(deps, &req).await)
}

/// `GET /api/categories/tree` (public): the hierarchy as nested nodes,
/// `{"items": [CategoryNode...]}`, siblings sorted by name. Takes no query parameters.
pub async fn get_category_tree(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(tree(deps, &req).await)
}

/// `GET /api/categories/{id}` (public): the category with its `ETag`; 304 when
/// `If-None-Match` names the current version; 404 when there is none.
pub async fn get_category(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(get(deps, &req).await)
}

/// `POST /api/categories` (Admin): 201 with `Location` and `ETag`, and a `CategoryCreated`
/// event.
/// With an `Idempotency-Key`, a retry answers the first response instead of creating again.
pub async fn create_category(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    let (requests, clock) = (deps.requests.as_ref(), deps.clock.as_ref());
    idempotent(requests, clock, req, |req| async move {
        respond(create(deps, &req).await)
    })
    .await
}

/// `PUT /api/categories/{id}` (Admin): replaces every writable field; 200 with the category
/// and its `ETag`, and a `CategoryModified` event when anything changed.
pub async fn replace_category(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(replace(deps, &req).await)
}

/// `DELETE /api/categories/{id}` (Admin): 204 and a `CategoryDeleted` event; 409 while it
/// has sub-categories or products.
pub async fn delete_category(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    respond(delete(deps, &req).await)
}

/// The body of the two unpaged category lists.
#[derive(Serialize)]
struct Items<T> {
    items: Vec<T>,
}

async fn list(deps: &Deps, req: &Request) -> Handled {
    ensure_no_params(req)?;
    let mut items = deps.categories.all().await?;
    items.sort_by_cached_key(|c| (c.name.to_lowercase(), c.id));
    Ok(json_response(StatusCode::OK, &Items { items }))
}

async fn tree(deps: &Deps, req: &Request) -> Handled {
    ensure_no_params(req)?;
    let items = CategoryTree::new(deps.categories.all().await?).tree();
    Ok(json_response(StatusCode::OK, &Items { items }))
}

async fn get(deps: &Deps, req: &Request) -> Handled {
    let id: CategoryId = path_id(req, "id")?;
    let category = load(deps, id).await?;
    Ok(fresh_or_not_modified(req, &category, &category))
}

async fn create(deps: &Deps, req: &Request) -> Handled {
    let caller = Caller::required(req)?;
    caller.ensure_admin()?;
    let body: serde_json::Value = parse_json(req)?;
    let input = CategoryInput::from_json(&body)?;
    let category = Category::create(input, deps.clock.now(), CategoryId::new())?;
    if category.parent_id.is_some() {
        let tree = CategoryTree::new(deps.categories.all().await?);
        tree.check_parent(category.id, category.parent_id)?;
    }
    let event = envelope(
        deps,
        req,
        category.version,
        CategoryCreated {
            category: category.clone(),
        },
    )?;
    deps.categories.create(&category, event).await?;
    tracing::info!(category_id = %category.id, slug = %category.slug, "category created");
    let location = format!("/api/categories/{}", category.id);
    Ok(created(&location, &category, &category))
}

async fn replace(deps: &Deps, req: &Request) -> Handled {
    let current = load_for_change(deps, req).await?;
    let body: serde_json::Value = parse_json(req)?;
    let input = CategoryInput::from_json(&body)?;
    let (next, changed) = current.replace(input, deps.clock.now())?;
    if changed.is_empty() {
        return Ok(json_with_etag(StatusCode::OK, &current, &current));
    }
    if changed.contains(&"parentId") {
        let tree = CategoryTree::new(deps.categories.all().await?);
        tree.check_parent(next.id, next.parent_id)?;
    }
    let event = envelope(
        deps,
        req,
        next.version,
        CategoryModified::new(current.clone(), next.clone(), &changed),
    )?;
    if let Err(err) = deps.categories.update(&current, &next, event).await {
        let reread = deps.categories.get(current.id);
        return Err(update_refused(err, req, &current, reread).await);
    }
    tracing::info!(category_id = %next.id, changed = ?changed, "category modified");
    Ok(json_with_etag(StatusCode::OK, &next, &next))
}

async fn delete(deps: &Deps, req: &Request) -> Handled {
    let current = load_for_change(deps, req).await?;
    let tree = CategoryTree::new(deps.categories.all().await?);
    if tree.has_children(current.id) {
        return Err(DomainError::Conflict(format!(
            "category `{}` has sub-categories; delete or move them first",
            current.id
        ))
        .into());
    }
    if deps.products.any_in_category(current.id).await? {
        return Err(DomainError::Conflict(format!(
            "category `{}` still has products; move them to another category first",
            current.id
        ))
        .into());
    }
    // Deletion is the aggregate's last change: one past its last version, so consumers
    // ordering by version see it after every modification.
    let event = envelope(
        deps,
        req,
        current.version + 1,
        CategoryDeleted {
            category_id: current.id,
        },
    )?;
    deps.categories
        .delete(&current, event)
        .await
        .map_err(|e| lost_race(e, req))?;
    tracing::info!(category_id = %current.id, "category deleted");
    Ok(no_content())
}

/// The category for a PUT or DELETE; see [`admin_target`].
async fn load_for_change(deps: &Deps, req: &Request) -> Result<Category, ApiError> {
    admin_target(req, "category", |id: CategoryId| deps.categories.get(id)).await
}

async fn load(deps: &Deps, id: CategoryId) -> Result<Category, ApiError> {
    deps.categories
        .get(id)
        .await?
        .ok_or_else(|| DomainError::not_found("category", id).into())
}
