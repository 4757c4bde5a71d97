//! `change-password`: POST /api/auth/change-password (User).

auth::serve!(auth::passwords::change_password);
