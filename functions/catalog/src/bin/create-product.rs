//! `create-product`: `POST /api/products` (Seller).

catalog::serve!(catalog::products::create_product);
