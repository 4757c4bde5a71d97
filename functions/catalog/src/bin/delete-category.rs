//! `delete-category`: `DELETE /api/categories/{id}` (Admin).

catalog::serve!(catalog::categories::delete_category);
