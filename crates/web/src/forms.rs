//! Helpers shared by the HTML form handlers: reading a posted form, keeping what was typed,
//! radio and select options, and the replies every form page gives (refused, not valid).

use crate::AppState;
use crate::auth::{Auth, FormState, form_reply};
use crate::error::WebError;
use crate::pages::{Layout, PageContext};
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use mace_domain::{Error, FieldError};
use serde::Deserialize;
use std::collections::HashMap;
use time::Date;

/// A page's query after a form: what was just done, for the success banner.
#[derive(Debug, Deserialize, Default)]
pub struct DoneQuery {
    pub done: Option<String>,
}

/// A posted form: every field by name.
pub(crate) type Posted = HashMap<String, String>;

/// An option of a radio group or select: (code, label, chosen).
pub type Choice = (String, String, bool);

/// A posted field's value; blank when it was not posted.
pub(crate) fn value<'a>(f: &'a Posted, k: &str) -> &'a str {
    f.get(k).map(String::as_str).unwrap_or("")
}

/// A form re-shown with what was posted (trimmed), leaving out the CSRF token.
pub(crate) fn kept(f: &Posted) -> FormState {
    kept_pairs(f.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// [`kept`] for posted fields in any shape.
pub(crate) fn kept_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> FormState {
    let mut form = FormState::default();
    for (k, v) in pairs {
        if k != "csrf_token" {
            form.values.insert(k.to_string(), v.trim().to_string());
        }
    }
    form
}

/// A GOV.UK date input's three boxes (`<prefix>-day`, `-month`, `-year`): blank is `None`; an
/// impossible date is an error on `<prefix>-day`.
pub(crate) fn date_of(form: &mut FormState, f: &Posted, prefix: &str, label: &str) -> Option<Date> {
    form.date(
        prefix,
        (
            value(f, &format!("{prefix}-day")),
            value(f, &format!("{prefix}-month")),
            value(f, &format!("{prefix}-year")),
        ),
        label,
        None,
    )
}

/// A whole number typed in a box (`v`, as posted): blank is `None`; anything else that is not a
/// whole number is `message` on `field`.
pub(crate) fn whole_number(
    form: &mut FormState,
    v: &str,
    field: &str,
    message: impl Into<String>,
) -> Option<i32> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    match v.parse::<i32>() {
        Ok(n) => Some(n),
        Err(_) => {
            form.errors.push(FieldError::new(field, message));
            None
        }
    }
}

/// The options of a radio group or select, one for each of `all`, with `chosen`'s code chosen.
pub(crate) fn choices<T: Copy>(
    all: &[T],
    code: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
    chosen: &str,
) -> Vec<Choice> {
    all.iter()
        .map(|v| {
            (
                code(*v).to_string(),
                label(*v).to_string(),
                code(*v) == chosen,
            )
        })
        .collect()
}

/// The domain's validation errors, each put on the form field `field` names for it.
pub(crate) fn field_errors<F: Into<String>>(
    form: &mut FormState,
    errs: Vec<FieldError>,
    field: impl Fn(&str) -> F,
) {
    form.errors.extend(
        errs.into_iter()
            .map(|e| FieldError::new(field(&e.field), e.message)),
    );
}

/// A message with its first letter made a capital.
pub(crate) fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// The page for a record the signed-in user may not see (403).
pub(crate) fn refused(state: &AppState, ctx: PageContext) -> Result<Response, WebError> {
    let page = crate::people::PersonRefusedPage {
        layout: Layout::from_ctx(state, ctx, "You cannot see this record"),
    };
    Ok(form_reply(StatusCode::FORBIDDEN, page.render()?))
}

/// A posted form with errors found before the domain was asked: not valid, with nothing more
/// to say (the form's own errors are shown).
pub(crate) fn invalid<T>() -> Result<T, WebError> {
    Err(WebError::Domain(Error::Validation(Vec::new())))
}

/// The change a posted form asks for, made as the signed-in user in one write transaction, or,
/// when the form already has errors found before the domain was asked, [`invalid`] without
/// asking it. `run` gets the transaction, context, audit key, actor and (a clone of) `input`.
pub(crate) async fn change_unless_invalid<I, T, F>(
    state: &AppState,
    auth: &Auth,
    form: &FormState,
    input: I,
    run: F,
) -> Result<T, WebError>
where
    I: Clone + Send + Sync + 'static,
    T: Send + 'static,
    F: for<'c> Fn(
            &'c mut mace_store::Tx,
            mace_domain::Ctx,
            mace_domain::audit::ChainKey,
            mace_domain::authz::Actor,
            I,
        ) -> futures::future::BoxFuture<'c, mace_domain::Result<T>>
        + Send
        + Sync
        + 'static,
{
    if form.has_errors() {
        return invalid();
    }
    crate::cases::as_user(state, auth, true, move |tx, ctx, key, actor| {
        run(tx, ctx, key, actor, input.clone())
    })
    .await
}
