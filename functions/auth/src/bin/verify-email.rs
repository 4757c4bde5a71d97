//! `verify-email`: POST /api/auth/verify-email (public).

auth::serve!(auth::accounts::verify_email);
