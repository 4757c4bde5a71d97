//! `list-my-addresses`: GET /api/users/me/addresses (User).

users::serve!(users::addresses::list_my_addresses);
