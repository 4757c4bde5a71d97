//! `logout`: POST /api/auth/logout (public: the refresh token is the credential).

auth::serve!(auth::sessions::logout);
