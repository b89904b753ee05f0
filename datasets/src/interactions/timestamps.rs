//! Event times as the files write them: epoch seconds or milliseconds, or
//! ISO-8601 text (parsed with chrono).

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

/// How the time column is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeFormat {
    /// Integers are epoch seconds below 10¹¹ (the year 5138) and epoch
    /// milliseconds above; anything else must be ISO-8601.
    #[default]
    Auto,
    Seconds,
    Milliseconds,
    /// `2024-03-01T12:00:00Z`, `2024-03-01T12:00:00+02:00`,
    /// `2024-03-01 12:00:00` (UTC), or a date `2024-03-01` (midnight UTC).
    Iso8601,
}

/// Epoch seconds below this are seconds under [`TimeFormat::Auto`].
const SECONDS_BELOW: i64 = 100_000_000_000;

/// Milliseconds since the Unix epoch, or why the text is not a time.
pub fn parse_time(text: &str, format: TimeFormat) -> Result<u64, String> {
    let text = text.trim();
    let integer = || {
        text.parse::<i64>()
            .map_err(|_| format!("'{text}' is not an integer epoch time"))
    };
    let millis = match format {
        TimeFormat::Seconds => integer()?.checked_mul(1000),
        TimeFormat::Milliseconds => Some(integer()?),
        TimeFormat::Iso8601 => Some(iso8601(text)?),
        TimeFormat::Auto => match text.parse::<i64>() {
            Ok(v) if v.abs() < SECONDS_BELOW => v.checked_mul(1000),
            Ok(v) => Some(v),
            Err(_) => Some(iso8601(text).map_err(|_| {
                format!("'{text}' is neither an epoch time nor an ISO-8601 date-time")
            })?),
        },
    };
    let millis = millis.ok_or_else(|| format!("'{text}' is out of range"))?;
    u64::try_from(millis).map_err(|_| format!("'{text}' is before 1970"))
}

fn iso8601(text: &str) -> Result<i64, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis());
    }
    for layout in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, layout) {
            return Ok(t.and_utc().timestamp_millis());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp_millis());
    }
    Err(format!("'{text}' is not an ISO-8601 date-time"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layout_gives_the_same_instant() {
        let t = 1_709_294_400_000; // 2024-03-01T12:00:00Z
        for (text, format) in [
            ("1709294400", TimeFormat::Auto),
            ("1709294400000", TimeFormat::Auto),
            ("1709294400", TimeFormat::Seconds),
            ("1709294400000", TimeFormat::Milliseconds),
            ("2024-03-01T12:00:00Z", TimeFormat::Auto),
            ("2024-03-01T14:00:00+02:00", TimeFormat::Iso8601),
            ("2024-03-01 12:00:00", TimeFormat::Auto),
            ("2024-03-01T12:00:00.000", TimeFormat::Auto),
        ] {
            assert_eq!(parse_time(text, format), Ok(t), "{text}");
        }
        assert_eq!(
            parse_time("2024-03-01", TimeFormat::Auto),
            Ok(t - 12 * 3_600_000)
        );
    }

    #[test]
    fn bad_times_say_why() {
        assert!(
            parse_time("yesterday", TimeFormat::Auto)
                .unwrap_err()
                .contains("yesterday")
        );
        assert!(parse_time("2024-13-01", TimeFormat::Iso8601).is_err());
        assert!(parse_time("12.5", TimeFormat::Seconds).is_err());
        assert!(
            parse_time("-5", TimeFormat::Seconds)
                .unwrap_err()
                .contains("1970")
        );
        assert!(parse_time("9223372036854775807", TimeFormat::Seconds).is_err());
    }
}
