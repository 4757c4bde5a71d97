//! `list-products`: `GET /api/products` (public).

catalog::serve!(catalog::products::list_products);
