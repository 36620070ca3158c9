//! Search: full text over concern narratives and chronology notes, and children by name, both
//! filtered inside the query by what the viewer may see (their scope; concerns they raised;
//! entry markings). Audited as a consultation with the number of results, never the words.

use crate::Ctx;
use crate::audit::{Category, ChainKey};
use crate::authz::{self, Scope};
use crate::cases::untargeted;
use crate::error::{Error, Result};
use crate::person::Person;
use crate::ports::{AuditLog, CaseRepo};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// Where a hit was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HitKind {
    /// A concern's text (narrative, the child's words, who was there, actions, place).
    Concern,
    /// A chronology entry: a note or a correction.
    Note,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    pub kind: HitKind,
    /// The concern's id, or the chronology entry's.
    pub id: Uuid,
    pub person_id: Uuid,
    pub child_name: String,
    pub at: OffsetDateTime,
    /// A short extract around the words found.
    pub snippet: String,
}

#[derive(Debug, Clone)]
pub struct SearchResults {
    /// Children whose first or last name starts with the first word.
    pub children: Vec<Person>,
    pub hits: Vec<SearchHit>,
}

/// The most words a query may have, and results of each kind.
pub const MAX_TERMS: usize = 8;
pub const LIMIT: i64 = 50;

/// The words of a query: letters and digits only (so nothing in it is query syntax), lower
/// case, at most [`MAX_TERMS`]; an error when nothing searchable is left.
pub fn terms(q: &str) -> Result<Vec<String>> {
    if q.chars().count() > 200 {
        return Err(Error::validation("q", "Search for 200 characters or fewer"));
    }
    let words: Vec<String> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .take(MAX_TERMS)
        .collect();
    if words.is_empty() {
        return Err(Error::validation("q", "Enter words to search for"));
    }
    Ok(words)
}

/// Search what the actor may see.
pub async fn search<R: CaseRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    actor: &authz::Actor,
    q: &str,
) -> Result<SearchResults> {
    let words = terms(q)?;
    let scope = authz::scope(actor);
    let children = match scope {
        Scope::Nothing => Vec::new(),
        _ => tx.list_children(&scope, &words[0], 20).await?,
    };
    let hits = tx.search_text(&scope, actor.user_id, &words, LIMIT).await?;
    let mut e = untargeted(ctx, actor, Category::Consultation, "search");
    e.detail = Some(format!(
        "{{\"children\":{},\"hits\":{}}}",
        children.len(),
        hits.len()
    ));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(SearchResults { children, hits })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_words_carry_no_syntax() {
        assert_eq!(
            terms("\"grey car\" OR station* -NEAR(x)").unwrap(),
            ["grey", "car", "or", "station", "near", "x"]
        );
        assert!(terms("  \"*\" ").is_err());
        assert!(terms(&"a ".repeat(101)).is_err());
        assert_eq!(
            terms("one two three four five six seven eight nine")
                .unwrap()
                .len(),
            8
        );
    }
}
