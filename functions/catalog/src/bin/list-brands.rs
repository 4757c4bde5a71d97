//! `list-brands`: `GET /api/brands` (public).

catalog::serve!(catalog::brands::list_brands);
