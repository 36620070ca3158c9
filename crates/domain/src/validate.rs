//! Checks shared by the domain's modules: text fields, collecting the errors of several checks,
//! and shortening text for summaries.

use crate::Ctx;
use crate::error::{Error, FieldError, Result};
use time::Date;

/// Today's date by the context's clock.
pub(crate) fn today(ctx: &Ctx) -> Date {
    ctx.clock.now().date()
}

/// Text that must be given (trimmed): `missing` when blank or shorter than `min` characters; no
/// more than `max` characters; no control characters but line breaks and tabs.
pub(crate) fn text(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
    missing: &str,
) -> Result<String> {
    let t = value.trim();
    let n = t.chars().count();
    if n == 0 || n < min {
        return Err(Error::validation(field, missing));
    }
    if n > max {
        return Err(Error::validation(
            field,
            &format!("Must be {max} characters or fewer"),
        ));
    }
    if t.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(Error::validation(
            field,
            "Must not contain control characters",
        ));
    }
    Ok(t.to_string())
}

/// [`text`] with no least length.
pub(crate) fn required(field: &str, value: &str, max: usize, missing: &str) -> Result<String> {
    text(field, value, 0, max, missing)
}

/// Text that may be left blank (then it is empty); otherwise as [`text`].
pub(crate) fn optional_text(field: &str, value: &str, max: usize) -> Result<String> {
    if value.trim().is_empty() {
        Ok(String::new())
    } else {
        text(field, value, 0, max, "")
    }
}

/// The first `max` characters of `s`, with an ellipsis when it was longer.
pub(crate) fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// Collect the errors of several checks, field by field.
#[derive(Default)]
pub(crate) struct Errors(pub(crate) Vec<FieldError>);

impl Errors {
    /// The check's value; its validation errors are kept (and the type's default returned).
    pub(crate) fn take<T: Default>(&mut self, r: Result<T>) -> T {
        match r {
            Ok(v) => v,
            Err(Error::Validation(mut e)) => {
                self.0.append(&mut e);
                T::default()
            }
            Err(_) => T::default(),
        }
    }
    pub(crate) fn push(&mut self, field: &str, message: &str) {
        self.0.push(FieldError::new(field, message));
    }
    /// `Ok` when no check failed; otherwise every error kept.
    pub(crate) fn done(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self.0))
        }
    }
}
