//! Ports: the repository traits the domain needs from storage. The store's transaction type is
//! the only production implementer; each method runs inside the caller's transaction, so a
//! change and its audit event commit together.
//!
//! List and search methods take the viewer's scope (from the authorisation policy) and apply
//! it inside the query, so a row the viewer may not open is never fetched.

use crate::error::Result;
use crate::person::Person;
use std::future::Future;
use time::OffsetDateTime;
use uuid::Uuid;

/// Instance-wide key/value settings (schema facts, demo marker). No personal data.
pub trait MetaRepo: Send {
    fn get_meta(&mut self, key: &str) -> impl Future<Output = Result<Option<String>>> + Send;
    fn set_meta(
        &mut self,
        key: &str,
        value: &str,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<()>> + Send;
}

pub trait PersonRepo: Send {
    fn insert_person(&mut self, person: &Person) -> impl Future<Output = Result<()>> + Send;
    fn get_person(&mut self, id: Uuid) -> impl Future<Output = Result<Option<Person>>> + Send;
    fn count_people(&mut self) -> impl Future<Output = Result<i64>> + Send;
}
