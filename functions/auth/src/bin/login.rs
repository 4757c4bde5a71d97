//! `login`: POST /api/auth/login (public).

auth::serve!(auth::sessions::login);
