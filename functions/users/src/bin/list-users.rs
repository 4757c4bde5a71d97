//! `list-users`: GET /api/admin/users (Admin).

users::serve!(users::profiles::list_users);
