//! `get-product`: `GET /api/products/{id}` (public).

catalog::serve!(catalog::products::get_product);
