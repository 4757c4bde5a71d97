//! `get-my-address`: GET /api/users/me/addresses/{id} (User).

users::serve!(users::addresses::get_my_address);
