//! `set-user-roles`: PUT /api/admin/users/{id}/roles (Admin).

auth::serve!(auth::accounts::set_roles);
