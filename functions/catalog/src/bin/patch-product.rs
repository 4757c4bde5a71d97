//! `patch-product`: `PATCH /api/products/{id}` (Seller, own products).

catalog::serve!(catalog::products::patch_product);
