//! `patch-my-profile`: PATCH /api/users/me (User; JSON merge patch).

users::serve!(users::profiles::patch_my_profile);
