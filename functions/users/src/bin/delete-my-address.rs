//! `delete-my-address`: DELETE /api/users/me/addresses/{id} (User).

users::serve!(users::addresses::delete_my_address);
