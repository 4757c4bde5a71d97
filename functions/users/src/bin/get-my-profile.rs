//! `get-my-profile`: GET /api/users/me (User).

users::serve!(users::profiles::get_my_profile);
