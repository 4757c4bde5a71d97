//! `get-brand`: `GET /api/brands/{id}` (public).

catalog::serve!(catalog::brands::get_brand);
