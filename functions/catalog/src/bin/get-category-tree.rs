//! `get-category-tree`: `GET /api/categories/tree` (public).

catalog::serve!(catalog::categories::get_category_tree);
