//! `replace-product`: `PUT /api/products/{id}` (Seller, own products).

catalog::serve!(catalog::products::replace_product);
