//! `get-category`: `GET /api/categories/{id}` (public).

catalog::serve!(catalog::categories::get_category);
