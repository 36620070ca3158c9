//! Creating organisations and accounts (the partnership administrator's work and the operator's
//! `mace user add`), each with its audit event in the same transaction.

use crate::Ctx;
use crate::audit::{Category, ChainKey, NewEvent, Outcome};
use crate::authz::{OrgType, Role};
use crate::error::{Error, FieldError, Result};
use crate::identity::model::{Email, Organisation, Team, User, UserStatus};
use crate::ports::{AuditLog, IdentityRepo};
use uuid::Uuid;

/// Who is doing the administration, for the audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminActor {
    /// The operator at the command line (or the demo loader).
    Operator(&'static str),
    User {
        user_id: Uuid,
        org_id: Uuid,
    },
}

pub(crate) fn event(
    ctx: &Ctx,
    by: &AdminActor,
    action: &str,
    target_type: &str,
    target: Uuid,
) -> NewEvent {
    let mut e = NewEvent {
        target_type: Some(target_type.into()),
        target_id: Some(target),
        ..NewEvent::new(ctx.clock.now(), Category::Admin, action, Outcome::Success)
    };
    match by {
        AdminActor::Operator(via) => e.actor_role = Some((*via).into()),
        AdminActor::User { user_id, org_id } => {
            e.actor_user = Some(*user_id);
            e.actor_org = Some(*org_id);
        }
    }
    e
}

pub async fn create_org<R: IdentityRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    by: &AdminActor,
    name: &str,
    org_type: OrgType,
) -> Result<Organisation> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(Error::validation(
            "name",
            "Enter the organisation's name (200 characters or fewer)",
        ));
    }
    let org = Organisation {
        id: ctx.ids.new_id(),
        name: name.to_string(),
        org_type,
        created_at: ctx.clock.now(),
    };
    tx.insert_org(&org).await.map_err(|e| match e {
        Error::Conflict(_) => {
            Error::Conflict("an organisation with that name already exists".into())
        }
        other => other,
    })?;
    tx.append(
        key,
        ctx.ids.new_id(),
        &event(ctx, by, "organisation.create", "organisation", org.id),
    )
    .await?;
    Ok(org)
}

pub struct NewUser {
    pub org_id: Uuid,
    pub email: Email,
    pub display_name: String,
    pub roles: Vec<Role>,
    /// An Argon2id hash (hashing happens outside the transaction).
    pub password_hash: Option<String>,
}

pub async fn create_user<R: IdentityRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    by: &AdminActor,
    new: NewUser,
) -> Result<User> {
    let name = new.display_name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::validation(
            "display_name",
            "Enter the person's name (100 characters or fewer)",
        ));
    }
    if new.roles.is_empty() {
        return Err(Error::Validation(vec![FieldError::new(
            "roles",
            "Choose at least one role",
        )]));
    }
    if tx.get_org(new.org_id).await?.is_none() {
        return Err(Error::validation("org_id", "Choose an organisation"));
    }
    let now = ctx.clock.now();
    let user = User {
        id: ctx.ids.new_id(),
        org_id: new.org_id,
        team_id: None,
        email: new.email,
        display_name: name.to_string(),
        roles: new.roles,
        status: if new.password_hash.is_some() {
            UserStatus::Active
        } else {
            UserStatus::Invited
        },
        password_changed_at: new.password_hash.as_ref().map(|_| now),
        password_hash: new.password_hash,
        totp_secret: None,
        totp_last_step: None,
        mfa_enrolled_at: None,
        created_at: now,
        updated_at: now,
    };
    tx.insert_user(&user).await.map_err(|e| match e {
        Error::Conflict(_) => {
            Error::Conflict("an account with that email address already exists".into())
        }
        other => other,
    })?;
    let mut e = event(ctx, by, "user.create", "user", user.id);
    e.detail = Some(format!(
        "{{\"roles\":\"{}\"}}",
        user.roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")
    ));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(user)
}

/// May this actor administer organisations and users? (The partnership administrator.)
pub fn may_administer(actor: &crate::authz::Actor) -> Result<AdminActor> {
    let d = crate::authz::decide(actor, crate::authz::Action::ManageUsers, None);
    if d.allow {
        Ok(AdminActor::User {
            user_id: actor.user_id,
            org_id: actor.org_id,
        })
    } else {
        Err(Error::Forbidden {
            reason: d.reason.as_str().into(),
        })
    }
}

/// Roles a partnership administrator may give. Running the service (system administrator) is
/// granted by the operator with `mace user add`, not from the web.
pub fn assignable(role: Role) -> bool {
    role != Role::SystemAdmin
}

/// Mark a new account's password as temporary: it must be changed at first sign-in.
pub async fn mark_temporary_password<R: IdentityRepo>(tx: &mut R, mut user: User) -> Result<User> {
    user.password_changed_at = None;
    tx.update_user(&user).await?;
    Ok(user)
}

/// Change a user's roles (effective on their next request: roles are read per request).
pub async fn set_roles<R: IdentityRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    by: &AdminActor,
    user_id: Uuid,
    roles: Vec<Role>,
) -> Result<User> {
    if roles.is_empty() {
        return Err(Error::validation("roles", "Choose at least one role"));
    }
    let mut user = tx.get_user(user_id).await?.ok_or(Error::NotFound)?;
    if let Some(r) = roles
        .iter()
        .find(|r| !assignable(**r) && !user.roles.contains(r))
    {
        return Err(Error::validation(
            "roles",
            &format!("{} can only be given by the service operator", r.label()),
        ));
    }
    user.roles = roles;
    user.updated_at = ctx.clock.now();
    tx.update_user(&user).await?;
    let mut e = event(ctx, by, "user.roles", "user", user.id);
    e.detail = Some(format!(
        "{{\"roles\":\"{}\"}}",
        user.roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")
    ));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(user)
}

/// Disable an account (a leaver, or suspected misuse: every session ends at once) or enable it
/// again. An administrator cannot disable themselves.
pub async fn set_enabled<R: IdentityRepo + crate::ports::SessionRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    by: &AdminActor,
    user_id: Uuid,
    enabled: bool,
) -> Result<User> {
    if let AdminActor::User { user_id: me, .. } = by
        && *me == user_id
        && !enabled
    {
        return Err(Error::Conflict(
            "you cannot disable your own account".into(),
        ));
    }
    let mut user = tx.get_user(user_id).await?.ok_or(Error::NotFound)?;
    let now = ctx.clock.now();
    user.status = if enabled {
        if user.password_hash.is_some() {
            UserStatus::Active
        } else {
            UserStatus::Invited
        }
    } else {
        UserStatus::Disabled
    };
    user.updated_at = now;
    tx.update_user(&user).await?;
    if !enabled {
        tx.revoke_user_sessions(user.id, now, None).await?;
    }
    let action = if enabled {
        "user.enable"
    } else {
        "user.disable"
    };
    tx.append(
        key,
        ctx.ids.new_id(),
        &event(ctx, by, action, "user", user.id),
    )
    .await?;
    Ok(user)
}

/// Set (or clear, with `None`) the partnership's children's social care front door: an
/// organisation of that type, to which raisers may also send concerns.
pub async fn set_front_door<R: IdentityRepo + crate::ports::MetaRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    by: &AdminActor,
    org_id: Option<Uuid>,
) -> Result<()> {
    let key_name = crate::cases::FRONT_DOOR_KEY;
    let value = match org_id {
        Some(id) => match tx.get_org(id).await? {
            Some(o) if o.org_type == OrgType::ChildrensSocialCare => id.to_string(),
            _ => {
                return Err(Error::validation(
                    "front_door",
                    "Select a children's social care organisation",
                ));
            }
        },
        None => String::new(),
    };
    tx.set_meta(key_name, &value, ctx.clock.now()).await?;
    let target = org_id.unwrap_or(Uuid::nil());
    tx.append(
        key,
        ctx.ids.new_id(),
        &event(ctx, by, "partnership.front_door", "organisation", target),
    )
    .await?;
    Ok(())
}

/// Create a team within an organisation; its name is unique within the organisation (compared
/// without regard to case).
pub async fn create_team<R: IdentityRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    by: &AdminActor,
    org_id: Uuid,
    name: &str,
) -> Result<Team> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::validation(
            "team_name",
            "Enter the team's name (100 characters or fewer)",
        ));
    }
    if tx.get_org(org_id).await?.is_none() {
        return Err(Error::validation("team_org_id", "Choose an organisation"));
    }
    let folded = name.to_lowercase();
    if tx
        .list_teams(org_id)
        .await?
        .iter()
        .any(|t| t.name.to_lowercase() == folded)
    {
        return Err(Error::Conflict(
            "that organisation already has a team with that name".into(),
        ));
    }
    let team = Team {
        id: ctx.ids.new_id(),
        org_id,
        name: name.to_string(),
        created_at: ctx.clock.now(),
    };
    tx.insert_team(&team).await.map_err(|e| match e {
        Error::Conflict(_) => {
            Error::Conflict("that organisation already has a team with that name".into())
        }
        other => other,
    })?;
    let mut e = event(ctx, by, "team.create", "team", team.id);
    e.detail = Some(format!("{{\"org\":\"{org_id}\"}}"));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(team)
}

/// Put a user in a team of their own organisation, or take them out of any (`None`).
pub async fn set_team<R: IdentityRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    by: &AdminActor,
    user_id: Uuid,
    team_id: Option<Uuid>,
) -> Result<User> {
    let mut user = tx.get_user(user_id).await?.ok_or(Error::NotFound)?;
    if let Some(t) = team_id
        && !tx.list_teams(user.org_id).await?.iter().any(|x| x.id == t)
    {
        return Err(Error::validation(
            "team_id",
            "Choose a team of the person's own organisation",
        ));
    }
    user.team_id = team_id;
    user.updated_at = ctx.clock.now();
    tx.update_user(&user).await?;
    let mut e = event(ctx, by, "user.team", "user", user.id);
    e.detail = Some(match team_id {
        Some(t) => format!("{{\"team\":\"{t}\"}}"),
        None => "{\"team\":null}".into(),
    });
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(user)
}
