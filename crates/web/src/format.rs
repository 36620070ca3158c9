//! Dates and times as GOV.UK writes them: "23 November 2026", "23 November 2026 at 2:05pm".
//! mace stores UTC; pages show UK time (Europe/London), which the partnerships work in.

use time::OffsetDateTime;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// UK civil time: GMT, or BST (UTC+1) from 01:00 UTC on the last Sunday of March to 01:00 UTC
/// on the last Sunday of October.
pub fn uk(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    let year = t.year();
    let start = last_sunday(year, time::Month::March);
    let end = last_sunday(year, time::Month::October);
    let bst = t >= start && t < end;
    let offset = if bst {
        time::UtcOffset::from_hms(1, 0, 0).unwrap_or(time::UtcOffset::UTC)
    } else {
        time::UtcOffset::UTC
    };
    t.to_offset(offset)
}

fn last_sunday(year: i32, month: time::Month) -> OffsetDateTime {
    let last_day = time::util::days_in_month(month, year);
    let date = time::Date::from_calendar_date(year, month, last_day).unwrap_or(time::Date::MIN);
    let back = date.weekday().number_days_from_sunday();
    let sunday = date - time::Duration::days(i64::from(back));
    sunday
        .with_hms(1, 0, 0)
        .unwrap_or(sunday.midnight())
        .assume_utc()
}

pub fn date(t: OffsetDateTime) -> String {
    day(uk(t).date())
}

/// A calendar date the GOV.UK way: `9 April 2011`.
pub fn day(d: time::Date) -> String {
    format!(
        "{} {} {}",
        d.day(),
        MONTHS[usize::from(u8::from(d.month())) - 1],
        d.year()
    )
}

/// A count with its unit, plural unless one: `1 day`, `3 days`.
pub fn plural(n: i64, unit: &str) -> String {
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// How long something has waited, in words: `3 hours`, `2 days`.
pub fn waited(d: time::Duration) -> String {
    if d.whole_hours() < 1 {
        plural(d.whole_minutes().max(0), "minute")
    } else if d.whole_hours() < 48 {
        plural(d.whole_hours(), "hour")
    } else {
        plural(d.whole_days(), "day")
    }
}

/// Parse the three boxes of a GOV.UK date input. All empty is `Ok(None)`; anything else must
/// be a real date, or the message says what is wrong.
pub fn date_input(
    day: &str,
    month: &str,
    year: &str,
    what: &str,
) -> Result<Option<time::Date>, String> {
    let (d, m, y) = (day.trim(), month.trim(), year.trim());
    if d.is_empty() && m.is_empty() && y.is_empty() {
        return Ok(None);
    }
    let missing: Vec<&str> = [("day", d), ("month", m), ("year", y)]
        .iter()
        .filter(|(_, v)| v.is_empty())
        .map(|(k, _)| *k)
        .collect();
    if !missing.is_empty() {
        return Err(format!("{what} must include a {}", missing.join(" and ")));
    }
    let (Ok(d), Ok(m), Ok(y)) = (d.parse::<u8>(), m.parse::<u8>(), y.parse::<i32>()) else {
        return Err(format!("{what} must be a real date"));
    };
    if !(1900..=2200).contains(&y) {
        return Err(format!("{what} must have a 4-digit year, like 2011"));
    }
    time::Month::try_from(m)
        .ok()
        .and_then(|m| time::Date::from_calendar_date(y, m, d).ok())
        .map(Some)
        .ok_or_else(|| format!("{what} must be a real date"))
}

/// A calendar date as the API gives it: `YYYY-MM-DD`.
pub fn iso(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// An optional `YYYY-MM-DD` from the API: blank is `None`, anything else not a date is an error
/// on `field`.
pub fn parse_iso(field: &str, s: Option<&str>) -> mace_domain::Result<Option<time::Date>> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
            .map(Some)
            .map_err(|_| mace_domain::Error::validation(field, "Give the date as YYYY-MM-DD")),
    }
}

pub fn date_time(t: OffsetDateTime) -> String {
    let t = uk(t);
    let (h, m) = (t.hour(), t.minute());
    let (h12, ampm) = match h {
        0 => (12, "am"),
        1..=11 => (h, "am"),
        12 => (12, "pm"),
        _ => (h - 12, "pm"),
    };
    let clock = if m == 0 {
        format!("{h12}{ampm}")
    } else {
        format!("{h12}:{m:02}{ampm}")
    };
    format!("{} at {clock}", date(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn gov_uk_style_in_uk_time() {
        assert_eq!(
            date_time(datetime!(2026-11-23 14:05 UTC)),
            "23 November 2026 at 2:05pm"
        );
        assert_eq!(
            date_time(datetime!(2026-07-01 11:00 UTC)),
            "1 July 2026 at 12pm"
        );
        assert_eq!(
            date_time(datetime!(2026-07-01 23:30 UTC)),
            "2 July 2026 at 12:30am"
        );
        // BST begins at 01:00 UTC on the last Sunday in March (29 March 2026).
        assert_eq!(
            date_time(datetime!(2026-03-29 00:59 UTC)),
            "29 March 2026 at 12:59am"
        );
        assert_eq!(
            date_time(datetime!(2026-03-29 01:00 UTC)),
            "29 March 2026 at 2am"
        );
        // And ends at 01:00 UTC on the last Sunday in October (25 October 2026).
        assert_eq!(
            date_time(datetime!(2026-10-25 00:30 UTC)),
            "25 October 2026 at 1:30am"
        );
        assert_eq!(
            date_time(datetime!(2026-10-25 01:30 UTC)),
            "25 October 2026 at 1:30am"
        );
    }

    #[test]
    fn date_inputs_are_all_or_nothing_and_real() {
        assert_eq!(date_input("", " ", "", "Date of birth"), Ok(None));
        assert_eq!(
            date_input("9", "4", "2011", "Date of birth"),
            Ok(Some(time::macros::date!(2011 - 04 - 09)))
        );
        assert_eq!(
            date_input("9", "", "", "Date of birth"),
            Err("Date of birth must include a month and year".into())
        );
        assert_eq!(
            date_input("31", "2", "2011", "Date of birth"),
            Err("Date of birth must be a real date".into())
        );
        assert_eq!(
            date_input("1", "2", "11", "Date of birth"),
            Err("Date of birth must have a 4-digit year, like 2011".into())
        );
        assert_eq!(waited(time::Duration::minutes(5)), "5 minutes");
        assert_eq!(waited(time::Duration::hours(25)), "25 hours");
        assert_eq!(waited(time::Duration::days(3)), "3 days");
    }
}
