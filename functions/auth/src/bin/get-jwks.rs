//! `get-jwks`: GET /.well-known/jwks.json (public).

auth::serve!(auth::sessions::jwks);
