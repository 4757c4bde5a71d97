//! `create-category`: `POST /api/categories` (Admin).

catalog::serve!(catalog::categories::create_category);
