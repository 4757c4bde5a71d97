//! `forgot-password`: POST /api/auth/forgot-password (public).

auth::serve!(auth::passwords::forgot_password);
