//! [`MemoryProfiles`]: the [`ProfileStore`] in memory, recording the outbox events of every
//! write, for the handler tests. Same conditions as the DynamoDB store.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use crate::domain::{Address, AuthFacts, Profile, ProfileStore, UserFilter};
use async_trait::async_trait;
use shop_domain::{AddressId, DomainError, OutgoingEvent, UserId};

/// Profiles and addresses by id, and the events written.
#[derive(Default)]
pub struct MemoryProfiles {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    profiles: BTreeMap<UserId, Profile>,
    addresses: BTreeMap<(UserId, AddressId), Address>,
    events: Vec<OutgoingEvent>,
}

impl MemoryProfiles {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every event written so far, oldest first.
    pub fn events(&self) -> Vec<OutgoingEvent> {
        self.lock().events.clone()
    }
}

impl State {
    fn check_next(&self, profile: &Profile) -> Result<(), DomainError> {
        match self.profiles.get(&profile.user_id) {
            Some(stored) if stored.version + 1 == profile.version => Ok(()),
            _ => Err(DomainError::Conflict(
                "the profile changed meanwhile; retry".to_owned(),
            )),
        }
    }
}

#[async_trait]
impl ProfileStore for MemoryProfiles {
    async fn profile(&self, user_id: UserId) -> Result<Option<Profile>, DomainError> {
        Ok(self.lock().profiles.get(&user_id).cloned())
    }

    async fn create_profile(&self, profile: &Profile) -> Result<Profile, DomainError> {
        let mut state = self.lock();
        Ok(state
            .profiles
            .entry(profile.user_id)
            .or_insert_with(|| profile.clone())
            .clone())
    }

    async fn apply_auth_facts(&self, facts: &AuthFacts) -> Result<(), DomainError> {
        let mut state = self.lock();
        let profile = state.profiles.entry(facts.user_id).or_insert_with(|| {
            let mut fresh =
                Profile::new(facts.user_id, facts.email.clone(), String::new(), facts.at);
            fresh.version = 0;
            fresh
        });
        if profile.roles_version >= facts.version {
            return Ok(());
        }
        if profile.full_name.is_empty() {
            profile.full_name = facts.full_name.clone();
        }
        profile.email = facts.email.clone();
        profile.roles = facts.roles.clone();
        profile.roles_version = facts.version;
        profile.version += 1;
        profile.updated_at = facts.at;
        Ok(())
    }

    async fn update_profile(
        &self,
        profile: &Profile,
        events: Vec<OutgoingEvent>,
    ) -> Result<(), DomainError> {
        let mut state = self.lock();
        state.check_next(profile)?;
        state.profiles.insert(profile.user_id, profile.clone());
        state.events.extend(events);
        Ok(())
    }

    async fn addresses(&self, user_id: UserId) -> Result<Vec<Address>, DomainError> {
        let state = self.lock();
        Ok(state
            .addresses
            .range((user_id, AddressId::from_ulid(Default::default()))..)
            .take_while(|((owner, _), _)| *owner == user_id)
            .map(|(_, a)| a.clone())
            .collect())
    }

    async fn address(
        &self,
        user_id: UserId,
        address_id: AddressId,
    ) -> Result<Option<Address>, DomainError> {
        Ok(self.lock().addresses.get(&(user_id, address_id)).cloned())
    }

    async fn put_address(
        &self,
        profile: &Profile,
        address: &Address,
        is_new: bool,
    ) -> Result<(), DomainError> {
        let mut state = self.lock();
        state.check_next(profile)?;
        let key = (address.user_id, address.address_id);
        if state.addresses.contains_key(&key) == is_new {
            return Err(DomainError::Conflict(
                "the address changed meanwhile".to_owned(),
            ));
        }
        state.profiles.insert(profile.user_id, profile.clone());
        state.addresses.insert(key, address.clone());
        Ok(())
    }

    async fn delete_address(
        &self,
        profile: &Profile,
        address_id: AddressId,
    ) -> Result<(), DomainError> {
        let mut state = self.lock();
        state.check_next(profile)?;
        if state
            .addresses
            .remove(&(profile.user_id, address_id))
            .is_none()
        {
            return Err(DomainError::Conflict("the address is gone".to_owned()));
        }
        state.profiles.insert(profile.user_id, profile.clone());
        Ok(())
    }

    async fn list_profiles(
        &self,
        filter: &UserFilter,
        page_size: u32,
        after: Option<UserId>,
    ) -> Result<(Vec<Profile>, Option<UserId>), DomainError> {
        let state = self.lock();
        let mut matching = state
            .profiles
            .values()
            .filter(|p| after.is_none_or(|a| p.user_id > a))
            .filter(|p| filter.accepts(p));
        let page: Vec<Profile> = matching
            .by_ref()
            .take(page_size as usize)
            .cloned()
            .collect();
        let more = matching.next().is_some();
        let last = page.last().map(|p| p.user_id).filter(|_| more);
        Ok((page, last))
    }
}
