//! `create-my-address`: POST /api/users/me/addresses (User).

users::serve!(users::addresses::create_my_address);
