//! The two time formats Kafka's tools take on the command line, parsed without a calendar
//! library:
//!
//! - datetimes `YYYY-MM-DDTHH:mm:SS[.sss][Z|±HH:MM|±HHMM]` (`--to-datetime`); without a zone
//!   the time is read as UTC (Kafka reads it in the JVM's zone, which is UTC in containers);
//! - ISO-8601 durations `[-]PnDTnHnMn[.n]S` as Java's `Duration.parse` reads them
//!   (`--by-duration`).

/// A datetime or duration that does not follow the expected format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeFormatError {
    #[error(
        "Error parsing timestamp '{0}': expected the format YYYY-MM-DDTHH:mm:SS.sss, optionally \
         followed by Z or an offset such as +02:00"
    )]
    Datetime(String),
    #[error(
        "Text cannot be parsed to a Duration: '{0}' (expected the format PnDTnHnMnS, e.g. PT1H30M)"
    )]
    Duration(String),
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian calendar).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count from 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `yyyy-MM-dd HH:mm:ss:SSS` in UTC, Kafka's default date format in the perf tools.
pub fn format_datetime_ms(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}:{:03}",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

fn number(text: &str, digits: usize) -> Option<i64> {
    (text.len() == digits && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// Milliseconds since the epoch for `YYYY-MM-DDTHH:mm:SS[.sss][zone]`.
pub fn parse_datetime_ms(text: &str) -> Result<i64, TimeFormatError> {
    let bad = || TimeFormatError::Datetime(text.to_owned());
    let (date, rest) = text.trim().split_once('T').ok_or_else(bad)?;
    let mut date_parts = date.split('-');
    let (year, month, day) = match (
        date_parts.next(),
        date_parts.next(),
        date_parts.next(),
        date_parts.next(),
    ) {
        (Some(y), Some(m), Some(d), None) => (
            number(y, 4).ok_or_else(bad)?,
            number(m, 2).ok_or_else(bad)?,
            number(d, 2).ok_or_else(bad)?,
        ),
        _ => return Err(bad()),
    };
    // Split the zone off: `Z`, or the last `+`/`-` in the time part.
    let (clock, offset_minutes) = if let Some(clock) = rest.strip_suffix('Z') {
        (clock, 0)
    } else if let Some(at) = rest.rfind(['+', '-']) {
        let (clock, zone) = rest.split_at(at);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let digits = zone[1..].replace(':', "");
        let hours = number(digits.get(..2).ok_or_else(bad)?, 2).ok_or_else(bad)?;
        let minutes = number(digits.get(2..).ok_or_else(bad)?, 2).ok_or_else(bad)?;
        (clock, sign * (hours * 60 + minutes))
    } else {
        (rest, 0)
    };
    let (hms, millis) = match clock.split_once('.') {
        Some((hms, frac)) if !frac.is_empty() && frac.len() <= 3 => {
            let scaled = format!("{frac:0<3}");
            (hms, number(&scaled, 3).ok_or_else(bad)?)
        }
        Some(_) => return Err(bad()),
        None => (clock, 0),
    };
    let mut hms_parts = hms.split(':');
    let (hour, minute, second) = match (
        hms_parts.next(),
        hms_parts.next(),
        hms_parts.next(),
        hms_parts.next(),
    ) {
        (Some(h), Some(m), Some(s), None) => (
            number(h, 2).ok_or_else(bad)?,
            number(m, 2).ok_or_else(bad)?,
            number(s, 2).ok_or_else(bad)?,
        ),
        _ => return Err(bad()),
    };
    let month_days = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let valid = (1..=12).contains(&month)
        && day >= 1
        && day <= month_days[(month - 1) as usize]
        && hour < 24
        && minute < 60
        && second < 60;
    if !valid {
        return Err(bad());
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        - offset_minutes * 60;
    Ok(seconds * 1000 + millis)
}

/// Milliseconds in an ISO-8601 duration such as `P1DT2H`, `PT30M`, `PT0.5S` or `-PT1H`.
pub fn parse_duration_ms(text: &str) -> Result<i64, TimeFormatError> {
    let bad = || TimeFormatError::Duration(text.to_owned());
    let upper = text.trim().to_ascii_uppercase();
    let (sign, body) = match upper.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, upper.strip_prefix('+').unwrap_or(&upper)),
    };
    let body = body.strip_prefix('P').ok_or_else(bad)?;
    let (days_part, time_part) = match body.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return Err(bad()),
        None => (body, None),
    };
    let mut total_ms: i64 = 0;
    let mut any = false;
    if !days_part.is_empty() {
        let days = days_part.strip_suffix('D').ok_or_else(bad)?;
        total_ms += days.parse::<i64>().map_err(|_| bad())? * 86_400_000;
        any = true;
    }
    if let Some(mut t) = time_part {
        for (unit, ms) in [('H', 3_600_000_i64), ('M', 60_000)] {
            if let Some(at) = t.find(unit) {
                total_ms += t[..at].parse::<i64>().map_err(|_| bad())? * ms;
                t = &t[at + 1..];
                any = true;
            }
        }
        if let Some(seconds) = t.strip_suffix('S') {
            let (whole, frac) = seconds.split_once('.').unwrap_or((seconds, ""));
            total_ms += whole.parse::<i64>().map_err(|_| bad())? * 1000;
            if !frac.is_empty() {
                let frac3 = format!("{:0<3}", &frac[..frac.len().min(3)]);
                total_ms += frac3.parse::<i64>().map_err(|_| bad())?;
            }
            any = true;
        } else if !t.is_empty() {
            return Err(bad());
        }
    }
    if !any {
        return Err(bad());
    }
    Ok(sign * total_ms)
}

/// Milliseconds since the Unix epoch now (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes() {
        assert_eq!(parse_datetime_ms("1970-01-01T00:00:00.000"), Ok(0));
        assert_eq!(
            parse_datetime_ms("2024-01-02T03:04:05.006Z"),
            Ok(1_704_164_645_006)
        );
        assert_eq!(
            parse_datetime_ms("2024-01-02T03:04:05"),
            Ok(1_704_164_645_000)
        );
        assert_eq!(
            parse_datetime_ms("2024-01-02T05:04:05.006+02:00"),
            Ok(1_704_164_645_006)
        );
        assert_eq!(
            parse_datetime_ms("2024-01-02T01:04:05.006-0200"),
            Ok(1_704_164_645_006)
        );
        assert_eq!(
            parse_datetime_ms("2000-02-29T00:00:00.5"),
            Ok(951_782_400_500)
        );
        for bad in [
            "2024-01-02",
            "2024-13-01T00:00:00",
            "2024-01-02T25:00:00",
            "yesterday",
            "2024-01-02T00:00:00.1234",
        ] {
            assert!(parse_datetime_ms(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formatting_inverts_parsing() {
        assert_eq!(format_datetime_ms(0), "1970-01-01 00:00:00:000");
        assert_eq!(
            format_datetime_ms(1_704_164_645_006),
            "2024-01-02 03:04:05:006"
        );
        for ms in [951_782_400_500_i64, 4_102_444_799_999, -1] {
            let text = format_datetime_ms(ms).replacen(' ', "T", 1);
            let (hms, frac) = text.rsplit_once(':').expect("millis");
            assert_eq!(parse_datetime_ms(&format!("{hms}.{frac}Z")), Ok(ms));
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("PT1H"), Ok(3_600_000));
        assert_eq!(parse_duration_ms("P1DT2H3M4.5S"), Ok(93_784_500));
        assert_eq!(parse_duration_ms("PT30M"), Ok(1_800_000));
        assert_eq!(parse_duration_ms("P2D"), Ok(172_800_000));
        assert_eq!(parse_duration_ms("-PT1S"), Ok(-1000));
        for bad in ["1H", "P", "PT", "PT1X", "P1H"] {
            assert!(parse_duration_ms(bad).is_err(), "{bad}");
        }
    }
}
