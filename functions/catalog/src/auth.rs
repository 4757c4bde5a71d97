//! Who is calling: [`Caller`], shared by every service (`shop_adapters::api`). The
//! catalog's rules on it: a Seller changes only their own products (`ensure_manages`), an
//! Admin anything; categories and brands are Admin-only (`ensure_admin`), since they shape
//! every seller's listings.

pub use shop_adapters::api::Caller;
