//! `get-user`: GET /api/admin/users/{id} (Admin).

users::serve!(users::profiles::get_user);
