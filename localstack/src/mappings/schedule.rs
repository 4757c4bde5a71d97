//! Schedule expressions of EventBridge rules and EventBridge Scheduler, evaluated in UTC.
//!
//! - `rate(N minute|minutes|hour|hours|day|days)`: every N units, the first time N units after
//!   the mapping started (as EventBridge does after a rule is created);
//! - `cron(minutes hours day-of-month month day-of-week year)`: AWS's six fields, with `*`, `?`,
//!   lists (`1,15`), ranges (`MON-FRI`), steps (`0/15`, `*/5`, `10-50/20`), month and day names,
//!   day-of-week 1-7 = SUN-SAT, and `L` alone in day-of-month (the month's last day). Not
//!   supported locally (refused when the mapping starts, naming the field): `W`, `#`, `L` in
//!   day-of-week or with an offset;
//! - `at(yyyy-mm-ddThh:mm:ss)` (Scheduler's one-time schedules).
//!
//! `ScheduleExpressionTimezone` is not applied: every expression is evaluated in UTC.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};

/// A parsed schedule expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expression {
    /// `rate(...)`.
    Rate(Duration),
    /// `cron(...)`.
    Cron(Box<Cron>),
    /// `at(...)`: once.
    At(DateTime<Utc>),
}

/// The six fields of an AWS cron expression, expanded to the values they allow.
#[derive(Clone, Debug, PartialEq)]
pub struct Cron {
    minutes: BTreeSet<u32>,
    hours: BTreeSet<u32>,
    /// `None`: `?` or `*` (any day).
    days_of_month: Option<BTreeSet<u32>>,
    /// `L` in day-of-month.
    last_day_of_month: bool,
    months: BTreeSet<u32>,
    /// 1-7 = SUN-SAT; `None`: `?` or `*`.
    days_of_week: Option<BTreeSet<u32>>,
    /// `None`: any year.
    years: Option<BTreeSet<u32>>,
}

impl Expression {
    /// Parses `rate(...)`, `cron(...)` or `at(...)`.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        let inner = |prefix: &str| {
            text.strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(')'))
                .map(str::trim)
        };
        if let Some(rate) = inner("rate(") {
            let (count, unit) = rate
                .split_once(' ')
                .ok_or_else(|| anyhow!("{text}: expected rate(N unit)"))?;
            let count: u64 = count
                .trim()
                .parse()
                .ok()
                .filter(|count| *count > 0)
                .ok_or_else(|| anyhow!("{text}: N must be a positive integer"))?;
            let unit = match unit.trim() {
                "minute" | "minutes" => 60,
                "hour" | "hours" => 3600,
                "day" | "days" => 86_400,
                other => bail!("{text}: unknown unit {other:?} (minute(s), hour(s), day(s))"),
            };
            return Ok(Self::Rate(Duration::from_secs(count * unit)));
        }
        if let Some(cron) = inner("cron(") {
            return Ok(Self::Cron(Box::new(
                Cron::parse(cron).with_context(|| format!("schedule {text}"))?,
            )));
        }
        if let Some(at) = inner("at(") {
            let at = NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S")
                .with_context(|| format!("{text}: expected at(yyyy-mm-ddThh:mm:ss)"))?;
            return Ok(Self::At(Utc.from_utc_datetime(&at)));
        }
        bail!("{text}: a schedule expression is rate(...), cron(...) or at(...)")
    }

    /// The first time strictly after `after` this expression fires, for a schedule that started
    /// at `started`; `None` when it never fires again.
    pub fn next_after(
        &self,
        after: DateTime<Utc>,
        started: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        match self {
            Self::Rate(every) => {
                let every = chrono::Duration::from_std(*every).ok()?;
                let elapsed = after.signed_duration_since(started);
                let periods = elapsed.num_seconds().div_euclid(every.num_seconds()) + 1;
                Some(started + every * i32::try_from(periods.max(1)).ok()?)
            }
            Self::Cron(cron) => cron.next_after(after),
            Self::At(at) => (*at > after).then_some(*at),
        }
    }
}

impl Cron {
    fn parse(text: &str) -> anyhow::Result<Self> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [minutes, hours, dom, months, dow, years] = fields.as_slice() else {
            bail!(
                "a cron expression has six fields (minutes hours day-of-month month day-of-week \
                 year), not {}",
                fields.len()
            );
        };
        let any = |field: &str| field == "?" || field == "*";
        let last_day_of_month = *dom == "L";
        Ok(Self {
            minutes: field(minutes, 0, 59, &[]).context("minutes")?,
            hours: field(hours, 0, 23, &[]).context("hours")?,
            days_of_month: if any(dom) || last_day_of_month {
                None
            } else {
                Some(field(dom, 1, 31, &[]).context("day-of-month")?)
            },
            last_day_of_month,
            months: field(months, 1, 12, &MONTHS).context("month")?,
            days_of_week: if any(dow) {
                None
            } else {
                Some(field(dow, 1, 7, &DAYS).context("day-of-week")?)
            },
            years: if any(years) {
                None
            } else {
                Some(field(years, 1970, 2199, &[]).context("year")?)
            },
        })
    }

    fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = after.date_naive();
        // Ten years of days bounds the search for expressions that never fire again.
        for offset in 0..3_660 {
            let day = start + chrono::Days::new(offset);
            if !self.day_matches(day) {
                continue;
            }
            for hour in &self.hours {
                for minute in &self.minutes {
                    let time = Utc.from_utc_datetime(&day.and_hms_opt(*hour, *minute, 0)?);
                    if time > after {
                        return Some(time);
                    }
                }
            }
        }
        None
    }

    fn day_matches(&self, day: NaiveDate) -> bool {
        if !self.months.contains(&day.month()) {
            return false;
        }
        if let Some(years) = &self.years
            && !u32::try_from(day.year()).is_ok_and(|year| years.contains(&year))
        {
            return false;
        }
        if self.last_day_of_month && (day + chrono::Days::new(1)).month() == day.month() {
            return false;
        }
        if let Some(days) = &self.days_of_month
            && !days.contains(&day.day())
        {
            return false;
        }
        if let Some(days) = &self.days_of_week
            && !days.contains(&(day.weekday().num_days_from_sunday() + 1))
        {
            return false;
        }
        true
    }
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// Expands one cron field: `*`, `a`, `a-b`, `a/n`, `*/n`, `a-b/n`, comma-separated. `names` are
/// the field's names for `low`, `low + 1`, ...
fn field(text: &str, low: u32, high: u32, names: &[&str]) -> anyhow::Result<BTreeSet<u32>> {
    let value = |part: &str| -> anyhow::Result<u32> {
        let upper = part.to_ascii_uppercase();
        if let Some(index) = names.iter().position(|name| *name == upper) {
            return Ok(low + u32::try_from(index)?);
        }
        let number: u32 = part.parse().map_err(|_| {
            anyhow!("{part:?} is not a number or a name (L, W and # are not supported locally)")
        })?;
        if !(low..=high).contains(&number) {
            bail!("{number} is outside {low}-{high}");
        }
        Ok(number)
    };
    let mut values = BTreeSet::new();
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .ok()
                    .filter(|step| *step > 0)
                    .ok_or_else(|| anyhow!("{part:?}: the step must be a positive number"))?;
                (range, Some(step))
            }
            None => (part, None),
        };
        let (from, to) = if range == "*" {
            (low, high)
        } else if let Some((from, to)) = range.split_once('-') {
            (value(from)?, value(to)?)
        } else {
            let from = value(range)?;
            // `a/n` runs from a to the end of the field.
            (from, if step.is_some() { high } else { from })
        };
        if from > to {
            bail!("{part:?}: the range runs backwards");
        }
        values.extend((from..=to).step_by(usize::try_from(step.unwrap_or(1))?));
    }
    Ok(values)
}

/// `DateTime` at the minute, as EventBridge's `time` shows it (`2024-05-01T12:00:00Z`).
pub fn event_time(time: DateTime<Utc>) -> String {
    time.with_nanosecond(0)
        .unwrap_or(time)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn rates_fire_every_period_after_the_start() {
        let started = at("2024-05-01T10:00:00Z");
        let rate = Expression::parse("rate(5 minutes)").unwrap();
        assert_eq!(
            rate.next_after(started, started),
            Some(at("2024-05-01T10:05:00Z"))
        );
        assert_eq!(
            rate.next_after(at("2024-05-01T10:07:30Z"), started),
            Some(at("2024-05-01T10:10:00Z"))
        );
        assert_eq!(
            Expression::parse("rate(1 day)").unwrap(),
            Expression::Rate(Duration::from_secs(86_400))
        );
        assert!(Expression::parse("rate(0 minutes)").is_err());
        assert!(Expression::parse("rate(5 weeks)").is_err());
    }

    #[test]
    fn cron_fields_follow_aws() {
        let cron = Expression::parse("cron(0 3 * * ? *)").unwrap();
        let now = at("2024-05-01T10:00:00Z");
        assert_eq!(cron.next_after(now, now), Some(at("2024-05-02T03:00:00Z")));
        // Every 15 minutes, 9-17 on weekdays: a Saturday moves to Monday.
        let cron = Expression::parse("cron(0/15 9-17 ? * MON-FRI *)").unwrap();
        let saturday = at("2024-05-04T12:00:00Z");
        assert_eq!(
            cron.next_after(saturday, saturday),
            Some(at("2024-05-06T09:00:00Z"))
        );
        let friday = at("2024-05-03T17:50:00Z");
        assert_eq!(
            cron.next_after(friday, friday),
            Some(at("2024-05-06T09:00:00Z"))
        );
        // Day-of-week 1 is Sunday.
        let cron = Expression::parse("cron(30 8 ? * 1 *)").unwrap();
        assert_eq!(
            cron.next_after(saturday, saturday),
            Some(at("2024-05-05T08:30:00Z"))
        );
        // The last day of the month, only in 2025.
        let cron = Expression::parse("cron(0 0 L * ? 2025)").unwrap();
        assert_eq!(
            cron.next_after(saturday, saturday),
            Some(at("2025-01-31T00:00:00Z"))
        );
        let cron = Expression::parse("cron(0 12 1,15 JAN,JUL ? *)").unwrap();
        assert_eq!(
            cron.next_after(saturday, saturday),
            Some(at("2024-07-01T12:00:00Z"))
        );
    }

    #[test]
    fn unsupported_cron_features_are_refused() {
        assert!(Expression::parse("cron(0 0 ? * 6#3 *)").is_err());
        assert!(Expression::parse("cron(0 0 15W * ? *)").is_err());
        assert!(Expression::parse("cron(0 0 * *)").is_err());
        assert!(Expression::parse("cron(61 0 * * ? *)").is_err());
    }

    #[test]
    fn one_time_schedules_fire_once() {
        let once = Expression::parse("at(2030-01-01T00:00:00)").unwrap();
        let now = at("2024-05-01T10:00:00Z");
        assert_eq!(once.next_after(now, now), Some(at("2030-01-01T00:00:00Z")));
        let later = at("2031-01-01T00:00:00Z");
        assert_eq!(once.next_after(later, now), None);
    }
}
