//! Bulk onboarding of staff accounts from a spreadsheet saved as CSV (the partnership
//! administrator's `/admin/users/import` and the operator's `mace user import FILE`).
//!
//! [`parse`] is pure: it reads the text (RFC 4180 CSV with a header row, any column order),
//! checks every row and returns either the accounts to create or every problem with the line it
//! is on. [`import`] then checks the rows against the database (the organisation exists, the
//! email address is free, the role may be given) and creates all the accounts in one
//! transaction, or none: if anything is wrong, nothing is created.
//!
//! Columns (header names are matched without regard to case, spaces or underscores):
//! `email`, `display name` (or `name`), `organisation` (or `organisation name`), and `roles`
//! (one or more roles separated by `;`, `,` or `|`, each its stored name such as
//! `social_worker` or its label such as `Social worker`).

use crate::Ctx;
use crate::audit::{ChainKey, NewEvent};
use crate::authz::Role;
use crate::error::Result;
use crate::identity::admin::{self, AdminActor, NewUser};
use crate::identity::model::{Email, User};
use crate::person::fold;
use crate::ports::{AuditLog, IdentityRepo};
use std::collections::HashMap;

/// At most this many accounts in one file.
pub const MAX_ROWS: usize = 1_000;
/// At most this many bytes in one file (about 500 bytes a row is far more than real rows take).
pub const MAX_BYTES: usize = 512 * 1024;
/// At most this many problems are listed; the rest are counted.
pub const MAX_ERRORS: usize = 100;
/// A header row with more columns than this is refused outright (spreadsheets often add a few
/// empty ones; hundreds mean the wrong file).
const MAX_COLUMNS: usize = 50;

/// One account to create, from one row of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// The line of the file the row starts on (the header is line 1).
    pub line: u64,
    pub email: Email,
    pub display_name: String,
    pub org_name: String,
    pub roles: Vec<Role>,
}

/// A problem with the file, on a line (0 for the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub message: String,
}

impl LineError {
    fn new(line: u64, message: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Email,
    Name,
    Org,
    Roles,
}

impl Column {
    const ALL: [Column; 4] = [Column::Email, Column::Name, Column::Org, Column::Roles];

    fn title(self) -> &'static str {
        match self {
            Column::Email => "email",
            Column::Name => "display name",
            Column::Org => "organisation",
            Column::Roles => "roles",
        }
    }

    fn from_header(h: &str) -> Option<Self> {
        let key: String = h
            .trim()
            .trim_start_matches('\u{feff}')
            .to_lowercase()
            .chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-' | '(' | ')'))
            .collect();
        match key.as_str() {
            "email" | "emailaddress" => Some(Column::Email),
            "displayname" | "name" | "fullname" => Some(Column::Name),
            "organisation" | "organisationname" | "organization" | "organizationname" | "org" => {
                Some(Column::Org)
            }
            "role" | "roles" => Some(Column::Roles),
            _ => None,
        }
    }
}

/// A role by its stored name or its label, without regard to case.
pub fn role_named(text: &str) -> Option<Role> {
    let t = text.trim();
    Role::parse(&t.to_lowercase()).or_else(|| {
        Role::ALL
            .iter()
            .copied()
            .find(|r| r.label().eq_ignore_ascii_case(t))
    })
}

fn text_field(raw: &str, max: usize) -> Option<String> {
    let t = raw.trim();
    (!t.is_empty() && t.chars().count() <= max && !t.chars().any(char::is_control))
        .then(|| t.to_string())
}

/// Read and check a whole file. Either every row is good and all are returned, in file order,
/// or every problem found is returned (at most [`MAX_ERRORS`], then a count of the rest).
pub fn parse(text: &str) -> std::result::Result<Vec<ImportRow>, Vec<LineError>> {
    if text.len() > MAX_BYTES {
        return Err(vec![LineError::new(
            0,
            format!(
                "The file is too big: it must be {} KB or smaller",
                MAX_BYTES / 1024
            ),
        )]);
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let mut lines = Lines::new(text);
    let mut errors = Vec::new();

    // The header row: the first row with anything in it.
    let (header_line, header) = loop {
        match records.next() {
            None => {
                return Err(vec![LineError::new(
                    0,
                    "The file is empty: it needs a header row (email, display name, organisation, roles) and a row for each account",
                )]);
            }
            Some(Err(e)) => return Err(vec![csv_error(&mut lines, &e)]),
            Some(Ok(r)) if r.iter().all(|f| f.trim().is_empty()) => continue,
            Some(Ok(r)) => break (lines.of(&r), r),
        }
    };
    if header.len() > MAX_COLUMNS {
        return Err(vec![LineError::new(
            header_line,
            format!(
                "The header row has {} columns: the columns are email, display name, organisation and roles",
                header.len()
            ),
        )]);
    }
    let mut index: HashMap<usize, Column> = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        if h.trim().is_empty() {
            continue;
        }
        match Column::from_header(h) {
            Some(c) if index.values().any(|x| *x == c) => errors.push(LineError::new(
                header_line,
                format!("The column \"{}\" appears twice", c.title()),
            )),
            Some(c) => {
                index.insert(i, c);
            }
            None => errors.push(LineError::new(
                header_line,
                format!(
                    "Unknown column \"{}\": the columns are email, display name, organisation and roles",
                    shorten(h.trim())
                ),
            )),
        }
    }
    for c in Column::ALL {
        if !index.values().any(|x| *x == c) {
            errors.push(LineError::new(
                header_line,
                format!("The header row has no \"{}\" column", c.title()),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut rows = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut more_errors = 0usize;
    let mut push = |errors: &mut Vec<LineError>, e: LineError| {
        if errors.len() < MAX_ERRORS {
            errors.push(e);
        } else {
            more_errors += 1;
        }
    };
    let mut count = 0usize;
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let e = csv_error(&mut lines, &e);
                push(&mut errors, e);
                break;
            }
        };
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let line = lines.of(&record);
        count += 1;
        if count > MAX_ROWS {
            push(
                &mut errors,
                LineError::new(
                    line,
                    format!("Too many rows: import at most {MAX_ROWS} accounts at once"),
                ),
            );
            break;
        }
        if record.len() > header.len()
            && record
                .iter()
                .skip(header.len())
                .any(|f| !f.trim().is_empty())
        {
            push(
                &mut errors,
                LineError::new(
                    line,
                    format!(
                        "This row has more columns than the header row ({} columns)",
                        header.len()
                    ),
                ),
            );
            continue;
        }
        let cell = |c: Column| -> &str {
            index
                .iter()
                .find(|(_, x)| **x == c)
                .and_then(|(i, _)| record.get(*i))
                .unwrap_or("")
        };
        let mut row_ok = true;
        let email = match Email::parse(cell(Column::Email)) {
            Ok(e) => Some(e),
            Err(e) => {
                row_ok = false;
                let message = if cell(Column::Email).trim().is_empty() {
                    "Enter the email address".to_string()
                } else {
                    e.message
                };
                push(&mut errors, LineError::new(line, message));
                None
            }
        };
        if let Some(e) = &email {
            match seen.get(e.as_str()) {
                Some(first) => {
                    row_ok = false;
                    push(
                        &mut errors,
                        LineError::new(
                            line,
                            format!("The email address {} is also on line {first}", e.as_str()),
                        ),
                    );
                }
                None => {
                    seen.insert(e.as_str().to_string(), line);
                }
            }
        }
        let name = text_field(cell(Column::Name), 100);
        if name.is_none() {
            row_ok = false;
            push(
                &mut errors,
                LineError::new(line, "Enter the person's name (100 characters or fewer)"),
            );
        }
        let org = text_field(cell(Column::Org), 200);
        if org.is_none() {
            row_ok = false;
            push(
                &mut errors,
                LineError::new(
                    line,
                    "Enter the organisation's name (200 characters or fewer)",
                ),
            );
        }
        let mut roles = Vec::new();
        let mut unknown = Vec::new();
        for part in cell(Column::Roles).split([';', ',', '|']) {
            if part.trim().is_empty() {
                continue;
            }
            match role_named(part) {
                Some(r) if !roles.contains(&r) => roles.push(r),
                Some(_) => {}
                None => unknown.push(shorten(part.trim())),
            }
        }
        if !unknown.is_empty() {
            row_ok = false;
            push(
                &mut errors,
                LineError::new(
                    line,
                    format!(
                        "Unknown role {}: use names like social_worker or \"Social worker\"",
                        unknown
                            .iter()
                            .map(|u| format!("\"{u}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
            );
        } else if roles.is_empty() {
            row_ok = false;
            push(&mut errors, LineError::new(line, "Enter at least one role"));
        }
        if let (true, Some(email), Some(display_name), Some(org_name)) = (row_ok, email, name, org)
        {
            rows.push(ImportRow {
                line,
                email,
                display_name,
                org_name,
                roles,
            });
        }
    }
    if more_errors > 0 {
        errors.push(LineError::new(
            0,
            format!("and {more_errors} more problems not listed"),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if rows.is_empty() {
        return Err(vec![LineError::new(
            0,
            "The file has a header row but no accounts",
        )]);
    }
    Ok(rows)
}

/// Line numbers from byte offsets. The csv crate's own line count skips blank lines and
/// counts CRLF oddly, and its offset may point at the line break before a record, so the
/// line is counted here: the record starts at the first byte after any line breaks. Records
/// come in order, so counting goes forward only (linear in the file's size).
struct Lines<'a> {
    text: &'a [u8],
    pos: usize,
    line: u64,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text: text.as_bytes(),
            pos: 0,
            line: 1,
        }
    }

    fn at(&mut self, byte: Option<u64>) -> u64 {
        let Some(mut start) = byte.and_then(|b| usize::try_from(b).ok()) else {
            return 0;
        };
        while matches!(self.text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        let start = start.min(self.text.len());
        if start > self.pos {
            let gained = self.text[self.pos..start]
                .iter()
                .filter(|c| **c == b'\n')
                .count();
            self.line += u64::try_from(gained).unwrap_or(0);
            self.pos = start;
        }
        self.line
    }

    fn of(&mut self, r: &csv::StringRecord) -> u64 {
        self.at(r.position().map(csv::Position::byte))
    }
}

fn csv_error(lines: &mut Lines<'_>, e: &csv::Error) -> LineError {
    LineError::new(
        lines.at(e.position().map(csv::Position::byte)),
        "This line cannot be read as CSV (check its quotation marks)",
    )
}

/// At most 40 characters of something the file said, for an error message.
fn shorten(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// Write rows back as CSV text with a header row (the round trip the fuzz target checks, and
/// a template for people preparing a file).
pub fn to_csv(rows: &[ImportRow]) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let mut lines: Vec<Vec<String>> =
        vec![Column::ALL.iter().map(|c| c.title().to_string()).collect()];
    for r in rows {
        lines.push(vec![
            r.email.as_str().to_string(),
            r.display_name.clone(),
            r.org_name.clone(),
            r.roles
                .iter()
                .map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(";"),
        ]);
    }
    for l in &lines {
        if w.write_record(l).is_err() {
            return String::new();
        }
    }
    w.into_inner()
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default()
}

/// One account to create: a checked row and the Argon2id hash of its temporary password
/// (hashed outside the transaction).
pub struct ToCreate {
    pub row: ImportRow,
    pub password_hash: String,
}

/// Create every account, or none. Checks each row against the database first: the
/// organisation exists (by name, without regard to case), no account has the email address,
/// and a partnership administrator is not giving a role only the operator may give. Any
/// problem returns `Ok(Err(problems))` having changed nothing. Each account is created by
/// [`admin::create_user`] (its `user.create` event) with a temporary password that must be
/// changed at first sign-in, before the second factor is enrolled; one `user.import` event
/// records the count.
pub async fn import<R: IdentityRepo + AuditLog>(
    ctx: &Ctx,
    tx: &mut R,
    key: &ChainKey,
    by: &AdminActor,
    accounts: Vec<ToCreate>,
) -> Result<std::result::Result<Vec<User>, Vec<LineError>>> {
    let orgs = tx.list_orgs().await?;
    let mut errors = Vec::new();
    let mut resolved = Vec::with_capacity(accounts.len());
    for a in accounts {
        let line = a.row.line;
        let org = orgs.iter().find(|o| fold(&o.name) == fold(&a.row.org_name));
        if org.is_none() {
            errors.push(LineError::new(
                line,
                format!(
                    "No organisation is called \"{}\": add it first",
                    shorten(&a.row.org_name)
                ),
            ));
        }
        if tx.find_user_by_email(&a.row.email).await?.is_some() {
            errors.push(LineError::new(
                line,
                format!(
                    "An account with the email address {} already exists",
                    a.row.email.as_str()
                ),
            ));
        }
        if matches!(by, AdminActor::User { .. })
            && let Some(r) = a.row.roles.iter().find(|r| !admin::assignable(**r))
        {
            errors.push(LineError::new(
                line,
                format!("{} can only be given by the service operator", r.label()),
            ));
        }
        if let Some(o) = org {
            resolved.push((o.id, a));
        }
    }
    if !errors.is_empty() {
        errors.truncate(MAX_ERRORS);
        return Ok(Err(errors));
    }
    let mut made = Vec::with_capacity(resolved.len());
    for (org_id, a) in resolved {
        let new = NewUser {
            org_id,
            email: a.row.email,
            display_name: a.row.display_name,
            roles: a.row.roles,
            password_hash: Some(a.password_hash),
        };
        let u = admin::create_user(ctx, tx, key, by, new).await?;
        made.push(admin::mark_temporary_password(tx, u).await?);
    }
    let mut e: NewEvent = admin::event(ctx, by, "user.import", "user", uuid::Uuid::nil());
    e.target_type = None;
    e.target_id = None;
    e.detail = Some(format!("{{\"accounts\":{}}}", made.len()));
    tx.append(key, ctx.ids.new_id(), &e).await?;
    Ok(Ok(made))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "email,display name,organisation,roles\n";

    fn lines(r: std::result::Result<Vec<ImportRow>, Vec<LineError>>) -> Vec<String> {
        r.err()
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn reads_good_rows_in_any_column_order() {
        let text = "\u{feff}Roles,Email Address,Organisation Name,Display_Name\r\n\
                    social_worker;Team manager,SW@Example.ORG,  Northtown Council ,Sam Smith\r\n\
                    \r\n\
                    \"practitioner, designated_safeguarding_lead\",dsl@school.example,Hill School,\"Jones, Pat\"\r\n";
        let rows = parse(text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].email.as_str(), "sw@example.org");
        assert_eq!(rows[0].org_name, "Northtown Council");
        assert_eq!(rows[0].roles, vec![Role::SocialWorker, Role::TeamManager]);
        assert_eq!(rows[1].line, 4);
        assert_eq!(rows[1].display_name, "Jones, Pat");
        assert_eq!(
            rows[1].roles,
            vec![Role::Practitioner, Role::DesignatedSafeguardingLead]
        );
    }

    #[test]
    fn every_bad_row_is_named_by_its_line() {
        let text = format!(
            "{HEADER}\
             a@x.org,A,Org,practitioner\n\
             not-an-email,B,Org,practitioner\n\
             A@X.org,C,Org,practitioner\n\
             d@x.org,,Org,practitioner\n\
             e@x.org,E,,practitioner\n\
             f@x.org,F,Org,wizard;practitioner\n\
             g@x.org,G,Org,\n\
             h@x.org,H,Org,practitioner,extra\n"
        );
        assert_eq!(
            lines(parse(&text)),
            vec![
                "line 3: Enter an email address in the correct format, like name@example.org",
                "line 4: The email address a@x.org is also on line 2",
                "line 5: Enter the person's name (100 characters or fewer)",
                "line 6: Enter the organisation's name (200 characters or fewer)",
                "line 7: Unknown role \"wizard\": use names like social_worker or \"Social worker\"",
                "line 8: Enter at least one role",
                "line 9: This row has more columns than the header row (4 columns)",
            ]
        );
    }

    #[test]
    fn line_numbers_count_blank_lines_crlf_and_quoted_line_breaks() {
        let text = "\r\nemail,name,organisation,roles\r\n\r\n\
                    a@x.org,\"Two\r\nLines\",Org,analyst\r\n\
                    bad,B,Org,analyst\r\n\n\
                    c@x.org,C,Org,nobody\n";
        assert_eq!(
            lines(parse(text)),
            vec![
                "line 4: Enter the person's name (100 characters or fewer)",
                "line 6: Enter an email address in the correct format, like name@example.org",
                "line 8: Unknown role \"nobody\": use names like social_worker or \"Social worker\"",
            ]
        );
    }

    #[test]
    fn the_header_must_name_every_column_once() {
        assert_eq!(
            lines(parse("email,name,roles,team\n")),
            vec![
                "line 1: Unknown column \"team\": the columns are email, display name, organisation and roles",
                "line 1: The header row has no \"organisation\" column",
            ]
        );
        assert_eq!(
            lines(parse("email,name,org,roles,e-mail\n")),
            vec!["line 1: The column \"email\" appears twice"]
        );
        assert_eq!(lines(parse("")).len(), 1);
        let wide = format!("{}\n", vec!["x"; MAX_COLUMNS + 1].join(","));
        assert_eq!(
            lines(parse(&wide)),
            vec![
                "line 1: The header row has 51 columns: the columns are email, display name, organisation and roles"
            ]
        );
        assert_eq!(
            lines(parse(HEADER)),
            vec!["The file has a header row but no accounts"]
        );
    }

    #[test]
    fn size_and_row_limits() {
        let big = "x".repeat(MAX_BYTES + 1);
        assert!(lines(parse(&big))[0].starts_with("The file is too big"));
        let mut text = HEADER.to_string();
        for i in 0..=MAX_ROWS {
            text.push_str(&format!("u{i}@x.org,U {i},Org,practitioner\n"));
        }
        let errs = lines(parse(&text));
        assert_eq!(
            errs,
            vec![format!(
                "line {}: Too many rows: import at most 1000 accounts at once",
                MAX_ROWS + 2
            )]
        );
        text.truncate(text.rfind("u1000@").unwrap_or(0));
        assert_eq!(parse(&text).map(|r| r.len()), Ok(MAX_ROWS));
    }

    #[test]
    fn many_errors_are_capped() {
        let mut text = HEADER.to_string();
        for _ in 0..(MAX_ERRORS + 5) {
            text.push_str("bad,,,\n");
        }
        let errs = lines(parse(&text));
        assert_eq!(errs.len(), MAX_ERRORS + 1);
        assert!(errs[MAX_ERRORS].starts_with("and "));
    }

    #[test]
    fn unbalanced_quotes_and_control_characters() {
        let text = format!("{HEADER}a@x.org,\"A,Org,practitioner\n");
        // csv reads an unclosed quote to the end of the file: the row is short of columns.
        assert!(parse(&text).is_err());
        let text = format!("{HEADER}a@x.org,A\u{7}B,Org,practitioner\n");
        assert_eq!(
            lines(parse(&text)),
            vec!["line 2: Enter the person's name (100 characters or fewer)"]
        );
    }

    #[test]
    fn rows_written_back_read_the_same() {
        let text = format!("{HEADER}a@x.org,\"Smith, \"\"Jo\"\"\",Org One,Social worker;analyst\n");
        let rows = parse(&text).unwrap();
        let again = parse(&to_csv(&rows)).unwrap();
        assert_eq!(
            rows.iter()
                .map(|r| (&r.email, &r.display_name, &r.org_name, &r.roles))
                .collect::<Vec<_>>(),
            again
                .iter()
                .map(|r| (&r.email, &r.display_name, &r.org_name, &r.roles))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn roles_by_name_or_label() {
        assert_eq!(role_named(" MACE chair "), Some(Role::MaceChair));
        assert_eq!(
            role_named("PARTNERSHIP_ADMIN"),
            Some(Role::PartnershipAdmin)
        );
        assert_eq!(role_named("chair"), None);
    }
}
