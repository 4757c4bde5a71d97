//! Users: profiles and addresses, with no storage and no HTTP in sight.
//!
//! - [`Profile`]: what a user shows and prefers (name, phone, avatar, notification channels),
//!   plus the roles the auth service last announced and the id of the default address.
//!   [`ProfileInput`] is the editable part: the body of `PUT /api/users/me` and the target of
//!   a JSON merge patch for `PATCH`.
//! - [`Address`] and [`AddressInput`]: at most [`MAX_ADDRESSES`] per user, exactly one of
//!   them the default. The default is not a flag on each address but one id on the profile,
//!   so "exactly one" holds by construction; `isDefault` is derived when an address is shown.
//! - [`UserProfileUpdated`]: the `shop.users` event.
//! - [`ProfileStore`]: the store port; [`UserFilter`]: the admin list's filter.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use shop_domain::{AddressId, DomainError, DomainEvent, FieldError, OutgoingEvent, UserId};

/// The bus source of every users event.
pub const SOURCE: &str = "shop.users";
/// The most addresses one user may keep.
pub const MAX_ADDRESSES: u32 = 20;

/// A way the shop may reach the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Email to the account's address.
    Email,
    /// Text messages to `phone`.
    Sms,
    /// Push notifications to the user's devices.
    Push,
}

/// What the user prefers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Preferences {
    /// Channels notifications may use; email by default.
    #[serde(default = "default_channels")]
    pub notification_channels: Vec<Channel>,
    /// Whether the user wants marketing messages; no by default.
    #[serde(default)]
    pub marketing_opt_in: bool,
}

fn default_channels() -> Vec<Channel> {
    vec![Channel::Email]
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            notification_channels: default_channels(),
            marketing_opt_in: false,
        }
    }
}

/// The editable part of a profile (`PUT /api/users/me`, and the merge-patch target).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileInput {
    /// Shown on orders and reviews.
    pub full_name: String,
    /// E.164, e.g. `+353861234567`.
    #[serde(default)]
    pub phone: Option<String>,
    /// An `https://` image URL.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// Notification channels and the marketing opt-in.
    #[serde(default)]
    pub preferences: Preferences,
}

/// A user's profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// The user.
    pub user_id: UserId,
    /// The account's email (changed only by the auth service).
    pub email: String,
    /// Empty until known (a profile made by a first read, before `UserVerified` arrives).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub full_name: String,
    /// E.164.
    #[serde(default)]
    pub phone: Option<String>,
    /// An `https://` image URL.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// Notification channels and the marketing opt-in.
    #[serde(default)]
    pub preferences: Preferences,
    /// As last announced by the auth service (`UserVerified`, `UserRolesChanged`).
    #[serde(default)]
    pub roles: Vec<Role>,
    /// The aggregate version of the auth event `roles` came from; older ones are ignored.
    #[serde(default)]
    pub roles_version: u64,
    /// The default address, when the user has any.
    #[serde(default)]
    pub default_address_id: Option<AddressId>,
    /// How many addresses the user has.
    #[serde(default)]
    pub address_count: u32,
    /// Bumped on every change to the profile or its addresses.
    pub version: u64,
    /// When the profile was created.
    #[serde(with = "shop_domain::timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "shop_domain::timestamp")]
    pub updated_at: DateTime<Utc>,
}

/// The JSON a user sees of their profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView<'a> {
    /// The user.
    pub user_id: UserId,
    /// The account's email.
    pub email: &'a str,
    /// Shown on orders and reviews.
    pub full_name: &'a str,
    /// E.164 or null.
    pub phone: Option<&'a str>,
    /// URL or null.
    pub avatar_url: Option<&'a str>,
    /// Notification channels and the marketing opt-in.
    pub preferences: &'a Preferences,
    /// The user's roles.
    pub roles: &'a [Role],
    /// The default address or null.
    pub default_address_id: Option<AddressId>,
    /// The profile's version (also its ETag).
    pub version: u64,
    /// RFC 3339.
    #[serde(with = "shop_domain::timestamp")]
    pub created_at: DateTime<Utc>,
    /// RFC 3339.
    #[serde(with = "shop_domain::timestamp")]
    pub updated_at: DateTime<Utc>,
}

impl Profile {
    /// A new profile for `user_id`, created at `now`.
    pub fn new(user_id: UserId, email: String, full_name: String, now: DateTime<Utc>) -> Self {
        Self {
            user_id,
            email,
            full_name,
            phone: None,
            avatar_url: None,
            preferences: Preferences::default(),
            roles: vec![Role::User],
            roles_version: 0,
            default_address_id: None,
            address_count: 0,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    /// The JSON a user sees.
    pub fn view(&self) -> ProfileView<'_> {
        ProfileView {
            user_id: self.user_id,
            email: &self.email,
            full_name: &self.full_name,
            phone: self.phone.as_deref(),
            avatar_url: self.avatar_url.as_deref(),
            preferences: &self.preferences,
            roles: &self.roles,
            default_address_id: self.default_address_id,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    /// The editable part, as a merge patch's target.
    pub fn input(&self) -> ProfileInput {
        ProfileInput {
            full_name: self.full_name.clone(),
            phone: self.phone.clone(),
            avatar_url: self.avatar_url.clone(),
            preferences: self.preferences.clone(),
        }
    }

    /// The profile with `input` applied at `now`, and the names of the fields that changed;
    /// `input` must be valid ([`ProfileInput::validate`]).
    pub fn edited(&self, input: ProfileInput, now: DateTime<Utc>) -> (Self, Vec<&'static str>) {
        let mut changed = Vec::new();
        if input.full_name != self.full_name {
            changed.push("fullName");
        }
        if input.phone != self.phone {
            changed.push("phone");
        }
        if input.avatar_url != self.avatar_url {
            changed.push("avatarUrl");
        }
        if input.preferences != self.preferences {
            changed.push("preferences");
        }
        let next = Self {
            full_name: input.full_name,
            phone: input.phone,
            avatar_url: input.avatar_url,
            preferences: input.preferences,
            ..self.touched(now)
        };
        (next, changed)
    }

    /// The next version of this profile, changed at `now`.
    pub fn touched(&self, now: DateTime<Utc>) -> Self {
        Self {
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        }
    }
}

impl ProfileInput {
    /// Trims the strings and checks every field at once.
    pub fn validate(mut self) -> Result<Self, DomainError> {
        let mut errors = Vec::new();
        self.full_name = self.full_name.trim().to_owned();
        check_text(&mut errors, "fullName", &self.full_name, 1, 100);
        self.phone = trimmed(self.phone);
        if let Some(phone) = &self.phone {
            check_phone(&mut errors, "phone", phone);
        }
        self.avatar_url = trimmed(self.avatar_url);
        if let Some(url) = &self.avatar_url {
            let host = url.strip_prefix("https://").unwrap_or("");
            if host.is_empty() || url.len() > 2048 || url.chars().any(char::is_whitespace) {
                errors.push(FieldError::new(
                    "avatarUrl",
                    "must be an https:// URL of at most 2048 characters",
                ));
            }
        }
        let channels = &mut self.preferences.notification_channels;
        channels.sort();
        channels.dedup();
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(DomainError::Validation(errors))
        }
    }
}

/// A saved address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// The address.
    pub address_id: AddressId,
    /// Whose it is.
    pub user_id: UserId,
    /// The fields as given.
    #[serde(flatten)]
    pub fields: AddressFields,
    /// When saved.
    #[serde(with = "shop_domain::timestamp")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "shop_domain::timestamp")]
    pub updated_at: DateTime<Utc>,
}

/// The fields of an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressFields {
    /// The recipient.
    pub full_name: String,
    /// E.164, for the courier.
    #[serde(default)]
    pub phone: Option<String>,
    /// Street and number.
    pub line1: String,
    /// Flat, floor, building.
    #[serde(default)]
    pub line2: Option<String>,
    /// City or town.
    pub city: String,
    /// State, province, county.
    #[serde(default)]
    pub region: Option<String>,
    /// Postal or ZIP code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
}

/// The body of `POST /api/users/me/addresses` and `PUT …/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddressInput {
    /// The address fields.
    #[serde(flatten)]
    pub fields: AddressFields,
    /// Make this the default address (the first address always is).
    #[serde(default)]
    pub is_default: bool,
}

/// The JSON of an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressView<'a> {
    /// The address.
    pub address_id: AddressId,
    /// The fields.
    #[serde(flatten)]
    pub fields: &'a AddressFields,
    /// Whether it is the user's default.
    pub is_default: bool,
    /// RFC 3339.
    #[serde(with = "shop_domain::timestamp")]
    pub created_at: DateTime<Utc>,
    /// RFC 3339.
    #[serde(with = "shop_domain::timestamp")]
    pub updated_at: DateTime<Utc>,
}

impl Address {
    /// The JSON of this address for a user whose profile is `profile`.
    pub fn view(&self, profile: &Profile) -> AddressView<'_> {
        AddressView {
            address_id: self.address_id,
            fields: &self.fields,
            is_default: profile.default_address_id == Some(self.address_id),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

impl AddressFields {
    /// Trims, upper-cases the country and checks every field at once.
    pub fn validate(mut self) -> Result<Self, DomainError> {
        let mut errors = Vec::new();
        for (field, value, max) in [
            ("fullName", &mut self.full_name, 100),
            ("line1", &mut self.line1, 200),
            ("city", &mut self.city, 100),
            ("postalCode", &mut self.postal_code, 20),
        ] {
            *value = value.trim().to_owned();
            check_text(&mut errors, field, value, 1, max);
        }
        for (field, value, max) in [
            ("line2", &mut self.line2, 200),
            ("region", &mut self.region, 100),
        ] {
            *value = trimmed(value.take());
            if let Some(text) = value {
                check_text(&mut errors, field, text, 1, max);
            }
        }
        self.phone = trimmed(self.phone);
        if let Some(phone) = &self.phone {
            check_phone(&mut errors, "phone", phone);
        }
        self.country = self.country.trim().to_ascii_uppercase();
        if !is_country_code(&self.country) {
            errors.push(FieldError::new(
                "country",
                "must be an ISO 3166-1 alpha-2 country code such as IE or US",
            ));
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(DomainError::Validation(errors))
        }
    }
}

/// A profile changed (`PUT` or `PATCH /api/users/me`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserProfileUpdated {
    /// The user.
    pub user_id: UserId,
    /// Which editable fields changed (`fullName`, `phone`, `avatarUrl`, `preferences`).
    pub changed_fields: Vec<String>,
    /// The editable part after the change.
    pub profile: ProfileInput,
}

impl DomainEvent for UserProfileUpdated {
    const TYPE: &'static str = "UserProfileUpdated";
    const SOURCE: &'static str = SOURCE;
    const VERSION: u32 = 1;
}

/// What the auth service announced about a user (`UserVerified`, `UserRolesChanged`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthFacts {
    /// The user.
    pub user_id: UserId,
    /// The account's email.
    pub email: String,
    /// As registered.
    pub full_name: String,
    /// The roles now.
    pub roles: Vec<Role>,
    /// The event's aggregate version: an older announcement never overwrites a newer one.
    pub version: u64,
    /// When it happened.
    pub at: DateTime<Utc>,
}

/// The admin list's filter: `search` (in the email or name, case-insensitive) and `role`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Lower-cased text to find in the email or the full name.
    pub search: Option<String>,
    /// A role the user must hold.
    pub role: Option<Role>,
}

impl UserFilter {
    /// Whether `profile` passes.
    pub fn accepts(&self, profile: &Profile) -> bool {
        let text_ok = self.search.as_ref().is_none_or(|needle| {
            profile.email.to_lowercase().contains(needle)
                || profile.full_name.to_lowercase().contains(needle)
        });
        let role_ok = self.role.is_none_or(|role| profile.roles.contains(&role));
        text_ok && role_ok
    }
}

/// Profiles and addresses; every profile or address write is conditional on the profile's
/// version, so concurrent address changes cannot break "at most 20" or "exactly one default".
#[async_trait]
pub trait ProfileStore: Send + Sync {
    /// The profile of `user_id`.
    async fn profile(&self, user_id: UserId) -> Result<Option<Profile>, DomainError>;

    /// Stores `profile` unless the user has one already; the stored profile either way.
    async fn create_profile(&self, profile: &Profile) -> Result<Profile, DomainError>;

    /// Creates or completes the profile from what the auth service announced: email and roles
    /// are set when `facts.version` is newer than what the profile has seen, the full name only
    /// when the profile has none. Idempotent: the same event twice changes nothing.
    async fn apply_auth_facts(&self, facts: &AuthFacts) -> Result<(), DomainError>;

    /// Replaces the profile stored at `profile.version - 1`, with its events;
    /// [`DomainError::Conflict`] when it changed meanwhile.
    async fn update_profile(
        &self,
        profile: &Profile,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError>;

    /// The user's addresses, oldest first.
    async fn addresses(&self, user_id: UserId) -> Result<Vec<Address>, DomainError>;

    /// One address of the user.
    async fn address(
        &self,
        user_id: UserId,
        address_id: AddressId,
    ) -> Result<Option<Address>, DomainError>;

    /// Writes `address` (new when `is_new`) together with `profile`, which must be the next
    /// version of the stored one; [`DomainError::Conflict`] when it is not.
    async fn put_address(
        &self,
        profile: &Profile,
        address: &Address,
        is_new: bool,
    ) -> Result<(), DomainError>;

    /// Deletes address `address_id` together with writing `profile` (the next version).
    async fn delete_address(
        &self,
        profile: &Profile,
        address_id: AddressId,
    ) -> Result<(), DomainError>;

    /// One page of profiles passing `filter`, at most `page_size`, after `after` (the last
    /// user of the previous page); the page and, when more may follow, its last user.
    async fn list_profiles(
        &self,
        filter: &UserFilter,
        page_size: u32,
        after: Option<UserId>,
    ) -> Result<(Vec<Profile>, Option<UserId>), DomainError>;
}

fn trimmed(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn check_text(errors: &mut Vec<FieldError>, field: &str, value: &str, min: usize, max: usize) {
    let chars = value.chars().count();
    if chars < min {
        errors.push(FieldError::new(field, "is required"));
    } else if chars > max {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    } else if value.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
}

/// E.164: `+`, then 8 to 15 digits, the first not 0.
fn check_phone(errors: &mut Vec<FieldError>, field: &str, phone: &str) {
    let digits = phone.strip_prefix('+').unwrap_or("");
    let ok = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if !ok {
        errors.push(FieldError::new(
            field,
            "must be an E.164 number such as +353861234567",
        ));
    }
}

/// The ISO 3166-1 alpha-2 codes in use.
const COUNTRY_CODES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI \
BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE \
DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS \
GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW \
KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW \
MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO \
RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM \
TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

fn is_country_code(code: &str) -> bool {
    code.len() == 2 && COUNTRY_CODES.split(' ').any(|c| c == code)
}

/// A role as the auth service announces it (`roles` of `UserVerified` and `UserRolesChanged`,
/// the `roles` claim of its tokens). The users service keeps its own copy of what it reads of
/// another service's events (docs/service-structure.md); `schemas/events/shop.auth/defs.json`
/// checks both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Every registered user.
    User,
    /// Sells products.
    Seller,
    /// Runs the shop.
    Admin,
}

impl Role {
    /// The role named `name` (exact spelling, as in tokens and the API).
    pub fn parse(name: &str) -> Option<Role> {
        [Role::User, Role::Seller, Role::Admin]
            .into_iter()
            .find(|role| format!("{role:?}") == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn address(value: serde_json::Value) -> Result<AddressFields, DomainError> {
        serde_json::from_value::<AddressInput>(value)
            .unwrap()
            .fields
            .validate()
    }

    #[test]
    fn addresses_are_trimmed_and_countries_upper_cased() {
        let fields = address(
            json!({"fullName": " Ann ", "line1": "1 Main St", "line2": "  ",
            "city": "Cork", "postalCode": "T12", "country": "ie"}),
        )
        .unwrap();
        assert_eq!(fields.full_name, "Ann");
        assert_eq!(fields.line2, None);
        assert_eq!(fields.country, "IE");
    }

    #[test]
    fn bad_addresses_name_every_field() {
        let Err(DomainError::Validation(errors)) = address(json!({"fullName": "", "line1": "x",
            "city": "", "postalCode": "1", "country": "XX", "phone": "12345"}))
        else {
            panic!("accepted")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["fullName", "city", "phone", "country"]);
    }

    #[test]
    fn profiles_check_phone_and_avatar_and_report_what_changed() {
        let now = Utc::now();
        let profile = Profile::new(UserId::new(), "a@b.co".into(), "Ann".into(), now);
        let input: ProfileInput = serde_json::from_value(json!({"fullName": "Ann",
            "phone": "+353861234567", "avatarUrl": "http://x"}))
        .unwrap();
        let Err(DomainError::Validation(errors)) = input.validate() else {
            panic!("accepted an http avatar")
        };
        assert_eq!(errors[0].field, "avatarUrl");
        let input: ProfileInput = serde_json::from_value(json!({"fullName": " Ann ",
            "phone": "+353861234567", "preferences": {"notificationChannels": ["sms", "email", "sms"]}}))
        .unwrap();
        let (next, changed) = profile.edited(input.validate().unwrap(), now);
        assert_eq!(changed, ["phone", "preferences"]);
        assert_eq!(
            next.preferences.notification_channels,
            [Channel::Email, Channel::Sms]
        );
        assert_eq!(next.version, 2);
    }

    #[test]
    fn unknown_profile_fields_are_refused() {
        assert!(
            serde_json::from_value::<ProfileInput>(json!({"fullName": "A", "roles": []})).is_err()
        );
    }

    /// `UserProfileUpdated` as the users service's `save` builds it, as the outbox item.
    fn profile_updated(profile: &Profile, input: ProfileInput) -> OutgoingEvent {
        use chrono::Duration;

        let at = profile.updated_at + Duration::minutes(5) + Duration::milliseconds(437);
        let (next, changed) = profile.edited(input.validate().unwrap(), at);
        assert!(!changed.is_empty());
        let event = UserProfileUpdated {
            user_id: next.user_id,
            changed_fields: changed.iter().map(|f| (*f).to_owned()).collect(),
            profile: next.input(),
        };
        shop_domain::testing::outgoing_at(at, next.version, event)
    }

    fn new_profile() -> Profile {
        use chrono::TimeZone;

        let created = Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap();
        Profile::new(
            UserId::new(),
            "ann@example.com".into(),
            "Ann".into(),
            created,
        )
    }

    #[test]
    fn a_profile_update_matches_its_schema() {
        let profile = new_profile();
        // Only the name: phone and avatar stay null, preferences the defaults.
        let renamed = profile_updated(
            &profile,
            serde_json::from_value(json!({"fullName": " Ann Lee "})).unwrap(),
        );
        assert_eq!(renamed.source, "shop.users");
        assert_eq!(renamed.detail_type, "UserProfileUpdated");
        assert_eq!(renamed.detail["data"]["changedFields"], json!(["fullName"]));
        assert_eq!(renamed.detail["data"]["profile"]["phone"], json!(null));
        shop_schemas::assert_valid(&renamed.source, &renamed.detail_type, &renamed.detail);
        // Everything at once, channels deduplicated and sorted.
        let everything = profile_updated(
            &profile,
            serde_json::from_value(json!({"fullName": "Ann Lee", "phone": "+353861234567",
                "avatarUrl": "https://cdn.example.com/ann.png",
                "preferences": {"notificationChannels": ["push", "sms", "email", "sms"],
                    "marketingOptIn": true}}))
            .unwrap(),
        );
        assert_eq!(
            everything.detail["data"]["changedFields"],
            json!(["fullName", "phone", "avatarUrl", "preferences"])
        );
        shop_schemas::assert_valid(
            &everything.source,
            &everything.detail_type,
            &everything.detail,
        );
        // No channel at all is a preference too.
        let silent = profile_updated(
            &profile,
            serde_json::from_value(json!({"fullName": "Ann",
                "preferences": {"notificationChannels": []}}))
            .unwrap(),
        );
        shop_schemas::assert_valid(&silent.source, &silent.detail_type, &silent.detail);
    }

    #[test]
    fn there_is_one_schema_per_users_event() {
        let mut files: Vec<String> = std::fs::read_dir(shop_schemas::schemas_dir().join(SOURCE))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".json") && name != "defs.json")
            .collect();
        files.sort();
        assert_eq!(files, [format!("{}.json", UserProfileUpdated::TYPE)]);
    }

    #[test]
    fn a_broken_profile_update_is_refused() {
        let valid = profile_updated(
            &new_profile(),
            serde_json::from_value(json!({"fullName": "Ann", "phone": "+353861234567"})).unwrap(),
        );
        shop_schemas::assert_valid(&valid.source, &valid.detail_type, &valid.detail);
        let broken = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut event = valid.clone();
            edit(&mut event.detail);
            shop_schemas::errors(&event.source, &event.detail_type, &event.detail).join("\n")
        };
        let errors = broken(&|d| d["data"]["changedFields"] = json!([]));
        assert!(errors.contains("/data/changedFields"), "{errors}");
        let errors = broken(&|d| d["data"]["changedFields"] = json!(["roles"]));
        assert!(errors.contains("/data/changedFields/0"), "{errors}");
        let errors = broken(&|d| {
            d["data"]["profile"]["preferences"]["notificationChannels"] = json!(["fax"]);
        });
        assert!(
            errors.contains("/data/profile/preferences/notificationChannels/0"),
            "{errors}"
        );
        let errors = broken(&|d| d["data"]["profile"]["phone"] = json!("0861234567"));
        assert!(errors.contains("/data/profile/phone"), "{errors}");
        let errors = broken(&|d| d["data"]["profile"]["avatarUrl"] = json!("http://x.example"));
        assert!(errors.contains("/data/profile/avatarUrl"), "{errors}");
        let errors = broken(&|d| {
            d["data"]["profile"]
                .as_object_mut()
                .unwrap()
                .remove("avatarUrl");
        });
        assert!(
            errors.contains("\"avatarUrl\" is a required property"),
            "{errors}"
        );
        let errors = broken(&|d| d["data"]["profile"]["roles"] = json!(["Admin"]));
        assert!(errors.contains("roles"), "{errors}");
        let errors = broken(&|d| d["aggregateVersion"] = json!(1));
        assert!(errors.contains("/aggregateVersion"), "{errors}");
    }
}
