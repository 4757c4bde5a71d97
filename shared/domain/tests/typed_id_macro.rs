//! `typed_id!` used from outside the crate, as a service crate would.

shop_domain::typed_id!(
    /// A service-local id.
    WishListId, "wishListId"
);

#[test]
fn a_service_can_define_its_own_typed_id() {
    let id = WishListId::new();
    let json = serde_json::to_string(&id).unwrap();
    assert_eq!(serde_json::from_str::<WishListId>(&json).unwrap(), id);
    let err = "x".parse::<WishListId>().unwrap_err();
    assert_eq!(err.details()[0].field, WishListId::FIELD);
}
