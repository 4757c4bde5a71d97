//! `replace-category`: `PUT /api/categories/{id}` (Admin).

catalog::serve!(catalog::categories::replace_category);
