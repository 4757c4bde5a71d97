//! `list-seller-products`: `GET /api/seller/products` (Seller).

catalog::serve!(catalog::products::list_seller_products);
