//! Organisation and user names, for display.

use mace_domain::ports::IdentityRepo;
use std::collections::HashMap;
use uuid::Uuid;

/// Organisation and user names by id.
#[derive(Default)]
pub(crate) struct Names {
    pub(crate) orgs: HashMap<Uuid, String>,
    pub(crate) users: HashMap<Uuid, String>,
}

impl Names {
    /// Every organisation's and user's name.
    pub(crate) async fn all(tx: &mut mace_store::Tx) -> mace_domain::Result<Self> {
        Ok(Self {
            orgs: tx
                .list_orgs()
                .await?
                .into_iter()
                .map(|o| (o.id, o.name))
                .collect(),
            users: tx
                .list_users(None)
                .await?
                .into_iter()
                .map(|u| (u.id, u.display_name))
                .collect(),
        })
    }
    pub(crate) fn org(&self, id: Uuid) -> String {
        self.orgs
            .get(&id)
            .cloned()
            .unwrap_or_else(|| "Unknown organisation".into())
    }
    pub(crate) fn user(&self, id: Uuid) -> String {
        self.users
            .get(&id)
            .cloned()
            .unwrap_or_else(|| "Unknown person".into())
    }
}
