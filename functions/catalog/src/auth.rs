//! Who is calling: the one extractor every handler uses.
//!
//! The gateway's JWT authorizer has already checked the token (401) and the route's scope
//! (403) before a function runs, and hands the claims over as strings in
//! `requestContext.authorizer.jwt` (an array claim such as `roles` arrives as `"[Admin]"`).
//! So roles are read from the scopes — `scopes` when the route lists some, else the `scope`
//! claim (space-separated) — never from `roles`. Public routes get no authorizer at all and
//! so no [`Caller`]. Ownership (a Seller may change only their own products) and the
//! Admin-only rule for categories and brands are decided here too, so each handler asks one
//! question.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use shop_adapters::tokens::{SCOPE_ADMIN, SCOPE_SELLER};
use shop_domain::DomainError;

/// An authenticated caller, from the gateway's JWT claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's subject: the user id, and a seller's `sellerId`.
    pub sub: String,
    /// The token's scopes (`shop/user`, `shop/seller`, `shop/admin`).
    pub scopes: Vec<String>,
    /// Holds `shop/admin`: may change anything.
    pub is_admin: bool,
    /// Holds `shop/seller`: may create products and change their own.
    pub is_seller: bool,
}

impl Caller {
    /// The caller of `req`, or `None` when the request carries no JWT claims (a public
    /// route, or a claim set without a `sub`).
    pub fn from_request(req: &Request) -> Option<Caller> {
        let context = req.request_context_ref()?;
        // Only the HTTP API (v2) context is compiled in today; other variants carry no JWT.
        #[allow(irrefutable_let_patterns)]
        let RequestContext::ApiGatewayV2(context) = context else {
            return None;
        };
        let jwt = context.authorizer.as_ref()?.jwt.as_ref()?;
        let sub = jwt.claims.get("sub").filter(|s| !s.is_empty())?.clone();
        let scopes: Vec<String> = match &jwt.scopes {
            Some(scopes) if !scopes.is_empty() => scopes.clone(),
            _ => jwt
                .claims
                .get("scope")
                .map(|s| s.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default(),
        };
        let has = |scope: &str| scopes.iter().any(|s| s == scope);
        Some(Caller {
            is_admin: has(SCOPE_ADMIN),
            is_seller: has(SCOPE_SELLER),
            sub,
            scopes,
        })
    }

    /// The caller of a route that needs a token: 401 when there is none. Behind the
    /// gateway this cannot happen; it guards a misconfigured route or a direct invoke.
    pub fn required(req: &Request) -> Result<Caller, DomainError> {
        Self::from_request(req)
            .ok_or_else(|| DomainError::Unauthorized("this route needs a bearer token".to_owned()))
    }

    /// Whether the caller may write products at all: Sellers and Admins (403 otherwise).
    pub fn ensure_seller(&self) -> Result<(), DomainError> {
        if self.is_seller || self.is_admin {
            Ok(())
        } else {
            Err(DomainError::Forbidden(
                "product changes need the Seller or Admin role".to_owned(),
            ))
        }
    }

    /// Whether the caller may change categories and brands: Admins only (403 otherwise).
    /// They shape every seller's listings, so no single seller may edit them.
    pub fn ensure_admin(&self) -> Result<(), DomainError> {
        if self.is_admin {
            Ok(())
        } else {
            Err(DomainError::Forbidden(
                "changing categories and brands needs the Admin role".to_owned(),
            ))
        }
    }

    /// Whether the caller may see or change what `owner` owns: the owner or an Admin.
    pub fn may_manage(&self, owner: &str) -> bool {
        self.is_admin || self.sub == owner
    }

    /// [`Self::ensure_seller`] plus ownership: 403 when a Seller touches another's product.
    pub fn ensure_manages(&self, owner: &str) -> Result<(), DomainError> {
        self.ensure_seller()?;
        if self.may_manage(owner) {
            Ok(())
        } else {
            Err(DomainError::Forbidden(
                "a seller may change only their own products".to_owned(),
            ))
        }
    }
}
