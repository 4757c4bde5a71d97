//! `reset-password`: POST /api/auth/reset-password (public).

auth::serve!(auth::passwords::reset_password);
