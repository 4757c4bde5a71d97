//! The paging every list of the API shares: `?pageSize=20&nextToken=…` →
//! `{"items": [...], "pageSize": 20, "nextToken": "…" | null}`.

/// Default `pageSize`.
pub const DEFAULT_PAGE_SIZE: u32 = 20;
/// Largest `pageSize`.
pub const MAX_PAGE_SIZE: u32 = 100;
/// Longest `nextToken` accepted before even checking it.
pub const NEXT_TOKEN_MAX_CHARS: usize = 2_048;
