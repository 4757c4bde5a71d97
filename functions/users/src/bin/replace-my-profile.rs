//! `replace-my-profile`: PUT /api/users/me (User).

users::serve!(users::profiles::replace_my_profile);
