//! `replace-my-address`: PUT /api/users/me/addresses/{id} (User).

users::serve!(users::addresses::replace_my_address);
