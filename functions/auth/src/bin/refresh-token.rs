//! `refresh-token`: POST /api/auth/refresh (public: the refresh token is the credential).

auth::serve!(auth::sessions::refresh);
