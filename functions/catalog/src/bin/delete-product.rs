//! `delete-product`: `DELETE /api/products/{id}` (Seller, own products).

catalog::serve!(catalog::products::delete_product);
