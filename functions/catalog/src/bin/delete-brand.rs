//! `delete-brand`: `DELETE /api/brands/{id}` (Admin).

catalog::serve!(catalog::brands::delete_brand);
