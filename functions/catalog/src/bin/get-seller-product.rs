//! `get-seller-product`: `GET /api/seller/products/{id}` (Seller, own products in any status).

catalog::serve!(catalog::products::get_seller_product);
