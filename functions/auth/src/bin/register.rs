//! `register`: POST /api/auth/register (public).

auth::serve!(auth::accounts::register);
