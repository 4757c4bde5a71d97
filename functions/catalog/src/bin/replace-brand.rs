//! `replace-brand`: `PUT /api/brands/{id}` (Admin).

catalog::serve!(catalog::brands::replace_brand);
