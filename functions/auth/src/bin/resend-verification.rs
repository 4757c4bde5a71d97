//! `resend-verification`: POST /api/auth/resend-verification (public).

auth::serve!(auth::accounts::resend_verification);
