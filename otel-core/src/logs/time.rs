//! RFC 3339 UTC timestamps with the standard library only (no `chrono`/`time` dependency
//! for one line of formatting). The one formatter of the crate: log lines and the
//! console exporters both write their timestamps here.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Writes `t` as `YYYY-MM-DDTHH:MM:SS.fffZ` (UTC) with `fraction_digits` digits of the
/// second (at most 9: 3 for milliseconds, 6 for microseconds), truncated rather than
/// rounded so a timestamp never moves into the next second.
pub(crate) fn write_rfc3339(out: &mut impl fmt::Write, t: SystemTime, fraction_digits: u32) -> fmt::Result {
    let (secs, nanos) = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
        Err(before) => {
            // A clock set before 1970 is unusual but must not break logging.
            let d = before.duration();
            let nanos = d.subsec_nanos();
            let secs = -(d.as_secs() as i64);
            if nanos == 0 {
                (secs, 0)
            } else {
                (secs - 1, 1_000_000_000 - nanos)
            }
        }
    };
    let days = secs.div_euclid(86_400);
    let second_of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60,
    )?;
    let digits = fraction_digits.min(9);
    if digits > 0 {
        let fraction = nanos / 10_u32.pow(9 - digits);
        write!(out, ".{fraction:0width$}", width = digits as usize)?;
    }
    out.write_char('Z')
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day).
///
/// Howard Hinnant's `civil_from_days`: shifting the year to start on March 1st puts the
/// leap day last, so every 400-year era has the same layout and the month follows
/// from a linear formula.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::{civil_from_days, write_rfc3339};

    const MILLIS: u32 = 3;
    const MICROS: u32 = 6;

    fn format(secs: u64, micros: u64) -> String {
        format_at(
            UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros),
            MICROS,
        )
    }

    fn format_at(t: std::time::SystemTime, fraction_digits: u32) -> String {
        let mut out = String::new();
        write_rfc3339(&mut out, t, fraction_digits).unwrap();
        out
    }

    #[test]
    fn known_instants() {
        assert_eq!(format(0, 0), "1970-01-01T00:00:00.000000Z");
        // 2000-02-29 (a leap day in a year divisible by 400) 12:34:56.789012.
        assert_eq!(format(951_827_696, 789_012), "2000-02-29T12:34:56.789012Z");
        assert_eq!(format(1_767_225_600, 0), "2026-01-01T00:00:00.000000Z");
        // The last second of a non-leap century year's February.
        assert_eq!(format(4_107_542_399, 999_999), "2100-02-28T23:59:59.999999Z");
        assert_eq!(format(4_107_542_400, 0), "2100-03-01T00:00:00.000000Z");
    }

    #[test]
    fn before_the_epoch() {
        assert_eq!(
            format_at(UNIX_EPOCH - Duration::from_micros(1), MICROS),
            "1969-12-31T23:59:59.999999Z"
        );
        assert_eq!(
            format_at(UNIX_EPOCH - Duration::from_secs(86_400), MICROS),
            "1969-12-31T00:00:00.000000Z"
        );
        assert_eq!(
            format_at(UNIX_EPOCH - Duration::from_micros(1), MILLIS),
            "1969-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn fractions_are_truncated_to_the_requested_digits() {
        let t = UNIX_EPOCH + Duration::from_secs(1_709_251_199) + Duration::from_nanos(123_456_789);
        assert_eq!(format_at(t, MILLIS), "2024-02-29T23:59:59.123Z");
        assert_eq!(format_at(t, MICROS), "2024-02-29T23:59:59.123456Z");
        assert_eq!(format_at(t, 9), "2024-02-29T23:59:59.123456789Z");
        assert_eq!(format_at(t, 0), "2024-02-29T23:59:59Z");
    }

    #[test]
    fn every_day_follows_the_previous_one() {
        // Walk 1900..2400 day by day and check the calendar arithmetic independently.
        let is_leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let days_in = |y: i64, m: u32| match m {
            2 if is_leap(y) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let start = -25_567; // 1900-01-01
        let mut expected = (1900_i64, 1_u32, 1_u32);
        for days in start..start + 500 * 366 {
            assert_eq!(civil_from_days(days), expected, "day {days}");
            let (y, m, d) = expected;
            expected = if d < days_in(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
    }
}
