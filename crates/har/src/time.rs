//! `startedDateTime` parsing: ISO 8601 / RFC 3339 with 0–9 fractional digits and `Z` or
//! a `±hh:mm` offset, as real producers write it.

/// Milliseconds since the Unix epoch, or None if `s` is not such a date-time.
pub fn parse_ms(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let year = num(0, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let month = num(5, 2)?;
    let day = num(8, 2)?;
    if !matches!(b.get(10), Some(b'T') | Some(b't') | Some(b' ')) {
        return None;
    }
    let hour = num(11, 2)?;
    if b.get(13) != Some(&b':') {
        return None;
    }
    let minute = num(14, 2)?;
    let (second, mut i) = if b.get(16) == Some(&b':') {
        (num(17, 2)?, 19)
    } else {
        (0, 16)
    };
    let mut frac_ms = 0.0;
    if b.get(i) == Some(&b'.') || b.get(i) == Some(&b',') {
        let start = i + 1;
        let mut end = start;
        while end < b.len() && b[end].is_ascii_digit() {
            end += 1;
        }
        if end == start {
            return None;
        }
        let digits = std::str::from_utf8(&b[start..end]).ok()?;
        frac_ms = format!("0.{digits}").parse::<f64>().ok()? * 1000.0;
        i = end;
    }
    let offset_min = match b.get(i) {
        None => 0, // no zone: read as UTC (validation warns)
        Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let h = num(i + 1, 2)?;
            let m = match b.get(i + 3) {
                Some(b':') => num(i + 4, 2).filter(|_| i + 6 == b.len())?,
                Some(_) => num(i + 3, 2).filter(|_| i + 5 == b.len())?,
                None => 0,
            };
            let total = h * 60 + m;
            if sign == b'-' {
                -total
            } else {
                total
            }
        }
        _ => return None,
    };
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_min * 60;
    Some(secs as f64 * 1000.0 + frac_ms)
}

/// Whether `s` carries an explicit zone (`Z` or an offset).
pub fn has_zone(s: &str) -> bool {
    s.len() > 19 && (s.ends_with('Z') || s.ends_with('z') || s[19..].contains(['+', '-']))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Format epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_ms(ms: f64) -> String {
    let total_ms = ms.round() as i64;
    let secs = total_ms.div_euclid(1000);
    let millis = total_ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Format epoch milliseconds as `YYYY-MM-DDTHH:MM:SSZ`, the seconds rounded down.
pub fn format_s(ms: f64) -> String {
    let secs = (ms / 1000.0).floor() as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_producers_write() {
        let z = parse_ms("2023-03-14T17:45:10.123Z").unwrap();
        assert_eq!(z, 1_678_815_910_123.0);
        assert_eq!(
            parse_ms("2023-03-14T17:45:10Z").unwrap(),
            1_678_815_910_000.0
        );
        assert_eq!(parse_ms("2023-03-14T10:45:10.123-07:00").unwrap(), z);
        assert_eq!(parse_ms("2023-03-14T19:45:10.123+0200").unwrap(), z);
        let micro = parse_ms("2023-03-14T17:45:10.1234567Z").unwrap();
        assert!((micro - 1_678_815_910_123.456_7).abs() < 1e-3);
        assert!(parse_ms("2023-02-30T00:00:00Z").is_none());
        assert!(parse_ms("yesterday").is_none());
        assert!(parse_ms("2023-03-14T17:45:10.Z").is_none());
        assert!(parse_ms("2023-03-14T17:45:10.1Zjunk").is_none());
    }

    #[test]
    fn formats_round_trip() {
        let ms = parse_ms("2016-05-29T09:43:21.487Z").unwrap();
        assert_eq!(format_ms(ms), "2016-05-29T09:43:21.487Z");
        assert_eq!(format_ms(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_s(ms), "2016-05-29T09:43:21Z");
        assert_eq!(format_s(-1.0), "1969-12-31T23:59:59Z");
    }
}
