//! `list-categories`: `GET /api/categories` (public).

catalog::serve!(catalog::categories::list_categories);
