//! The working calendar of England and Wales: weekends and bank holidays (by the standing rules,
//! checked against the published list), and counting working days. Used for response targets
//! (referrals) and statutory expectations (the NRM's reasonable grounds decision).

use time::{Date, Duration, Month, Weekday};

/// Easter Sunday (the anonymous Gregorian algorithm).
pub fn easter(year: i32) -> Option<Date> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()
}

fn first_monday(year: i32, month: Month) -> Option<Date> {
    let d = Date::from_calendar_date(year, month, 1).ok()?;
    let ahead = (7 + 1 - i64::from(d.weekday().number_from_monday())) % 7;
    Some(d + Duration::days(ahead))
}

fn last_monday(year: i32, month: Month) -> Option<Date> {
    let d = Date::from_calendar_date(year, month, time::util::days_in_month(month, year)).ok()?;
    let back = i64::from(d.weekday().number_days_from_monday());
    Some(d - Duration::days(back))
}

/// A bank holiday in England and Wales, by the standing rules (one-off extra days, such as
/// coronations and jubilees, are not known).
pub fn is_bank_holiday(d: Date) -> bool {
    let y = d.year();
    let mut days: Vec<Date> = Vec::with_capacity(8);
    // New Year's Day, or the Monday after.
    if let Ok(ny) = Date::from_calendar_date(y, Month::January, 1) {
        days.push(match ny.weekday() {
            Weekday::Saturday => ny + Duration::days(2),
            Weekday::Sunday => ny + Duration::days(1),
            _ => ny,
        });
    }
    if let Some(e) = easter(y) {
        days.push(e - Duration::days(2));
        days.push(e + Duration::days(1));
    }
    days.extend(first_monday(y, Month::May));
    days.extend(last_monday(y, Month::May));
    days.extend(last_monday(y, Month::August));
    // Christmas and Boxing Day, with substitutes.
    if let Ok(xmas) = Date::from_calendar_date(y, Month::December, 25) {
        let (c, b) = match xmas.weekday() {
            Weekday::Friday => (xmas, xmas + Duration::days(3)),
            Weekday::Saturday => (xmas + Duration::days(2), xmas + Duration::days(3)),
            Weekday::Sunday => (xmas + Duration::days(2), xmas + Duration::days(1)),
            _ => (xmas, xmas + Duration::days(1)),
        };
        days.push(c);
        days.push(b);
    }
    days.contains(&d)
}

/// Monday to Friday and not a bank holiday.
pub fn is_working_day(d: Date) -> bool {
    !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) && !is_bank_holiday(d)
}

/// The next working day after `d`.
pub fn next_working_day(d: Date) -> Date {
    let mut n = d + Duration::days(1);
    while !is_working_day(n) {
        n += Duration::days(1);
    }
    n
}
/// The `n`th working day after `from` (`from` itself does not count).
pub fn add_working_days(from: Date, n: u32) -> Date {
    let mut d = from;
    let mut left = n;
    while left > 0 {
        match d.next_day() {
            Some(next) => d = next,
            None => return d,
        }
        if is_working_day(d) {
            left -= 1;
        }
    }
    d
}

/// Working days after `from` up to and including `to` (0 when `to` is not after `from`).
pub fn working_days_between(from: Date, to: Date) -> i64 {
    let mut n = 0;
    let mut d = from;
    while d < to {
        match d.next_day() {
            Some(next) => d = next,
            None => break,
        }
        if is_working_day(d) {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    /// England and Wales bank holidays, 2025 to 2027, as published at
    /// <https://www.gov.uk/bank-holidays> (substitute days included: 28 December 2026, 27 and 28
    /// December 2027).
    const PUBLISHED: &[Date] = &[
        date!(2025 - 01 - 01),
        date!(2025 - 04 - 18),
        date!(2025 - 04 - 21),
        date!(2025 - 05 - 05),
        date!(2025 - 05 - 26),
        date!(2025 - 08 - 25),
        date!(2025 - 12 - 25),
        date!(2025 - 12 - 26),
        date!(2026 - 01 - 01),
        date!(2026 - 04 - 03),
        date!(2026 - 04 - 06),
        date!(2026 - 05 - 04),
        date!(2026 - 05 - 25),
        date!(2026 - 08 - 31),
        date!(2026 - 12 - 25),
        date!(2026 - 12 - 28),
        date!(2027 - 01 - 01),
        date!(2027 - 03 - 26),
        date!(2027 - 03 - 29),
        date!(2027 - 05 - 03),
        date!(2027 - 05 - 31),
        date!(2027 - 08 - 30),
        date!(2027 - 12 - 27),
        date!(2027 - 12 - 28),
    ];

    #[test]
    fn the_rules_give_exactly_the_published_bank_holidays() {
        let mut d = date!(2025 - 01 - 01);
        while d <= date!(2027 - 12 - 31) {
            assert_eq!(is_bank_holiday(d), PUBLISHED.contains(&d), "{d}");
            d += Duration::days(1);
        }
    }
}
