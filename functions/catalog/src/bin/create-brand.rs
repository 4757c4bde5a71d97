//! `create-brand`: `POST /api/brands` (Admin).

catalog::serve!(catalog::brands::create_brand);
