//! Route throttling, as an HTTP API's stage applies it.
//!
//! An `AWS::ApiGatewayV2::Stage` may set `ThrottlingRateLimit` (requests per second, steady) and
//! `ThrottlingBurstLimit` (requests at once) in `DefaultRouteSettings`, for every route, and in
//! `RouteSettings.<route key>`, for one route; a route's own setting wins, field by field. Each
//! route then has a token bucket of its own, shared by every caller: it starts full (`burst`
//! tokens), refills at `rate` tokens per second up to `burst`, and a request that finds it empty
//! is answered `429 {"message":"Too Many Requests"}` by the gateway, without invoking anything.
//!
//! A route with no rate or no burst from either place is not throttled locally (on AWS the
//! account's regional limit, 10,000 per second with a burst of 5,000, still applies to it).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, anyhow, bail};
use serde_json::{Map, Value};

/// A route's limits: the steady rate and the bucket's size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Throttle {
    /// `ThrottlingRateLimit`: tokens added per second.
    pub rate_per_second: f64,
    /// `ThrottlingBurstLimit`: the most requests the bucket lets through at once.
    pub burst: u32,
}

impl std::fmt::Display for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/s (burst {})", self.rate_per_second, self.burst)
    }
}

/// One route's token bucket.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    throttle: Throttle,
    state: Mutex<Level>,
}

#[derive(Debug)]
struct Level {
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(throttle: Throttle) -> Self {
        Self::starting_at(throttle, Instant::now())
    }

    fn starting_at(throttle: Throttle, now: Instant) -> Self {
        Self {
            throttle,
            state: Mutex::new(Level {
                tokens: f64::from(throttle.burst),
                at: now,
            }),
        }
    }

    /// The limits this bucket enforces.
    pub fn throttle(&self) -> Throttle {
        self.throttle
    }

    /// Takes a token for one request; `false` means the request is throttled.
    pub fn try_take(&self) -> bool {
        self.try_take_at(Instant::now())
    }

    fn try_take_at(&self, now: Instant) -> bool {
        let mut level = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let elapsed = now.saturating_duration_since(level.at).as_secs_f64();
        level.tokens = (level.tokens + elapsed * self.throttle.rate_per_second)
            .min(f64::from(self.throttle.burst));
        level.at = now;
        if level.tokens >= 1.0 {
            level.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The throttling settings of one stage: its defaults and the routes it names.
#[derive(Debug, Default)]
pub(crate) struct StageThrottling {
    default: Settings,
    routes: BTreeMap<String, Settings>,
}

/// Either field may be missing; a route's own setting falls back to the default per field.
#[derive(Clone, Copy, Debug, Default)]
struct Settings {
    rate: Option<f64>,
    burst: Option<u32>,
}

impl StageThrottling {
    /// Reads `DefaultRouteSettings` and `RouteSettings` from a stage's resolved properties
    /// (numbers may be strings: a `Ref` to a `Number` parameter resolves to one).
    pub fn from_stage(properties: &Map<String, Value>) -> anyhow::Result<Self> {
        let default = match properties.get("DefaultRouteSettings") {
            Some(settings) => Settings::read(settings).context("DefaultRouteSettings")?,
            None => Settings::default(),
        };
        let mut routes = BTreeMap::new();
        if let Some(settings) = properties.get("RouteSettings") {
            let settings = settings
                .as_object()
                .ok_or_else(|| anyhow!("RouteSettings must map route keys to settings"))?;
            for (route_key, route) in settings {
                let route =
                    Settings::read(route).with_context(|| format!("RouteSettings {route_key}"))?;
                routes.insert(route_key.clone(), route);
            }
        }
        Ok(Self { default, routes })
    }

    /// The route keys `RouteSettings` names (each must be a route of the API, as on AWS).
    pub fn named_routes(&self) -> impl Iterator<Item = &str> {
        self.routes.keys().map(String::as_str)
    }

    /// The limits of `route_key`, when it has both a rate and a burst.
    pub fn throttle(&self, route_key: &str) -> Option<Throttle> {
        let own = self.routes.get(route_key).copied().unwrap_or_default();
        Some(Throttle {
            rate_per_second: own.rate.or(self.default.rate)?,
            burst: own.burst.or(self.default.burst)?,
        })
    }

    /// The limits of every route `RouteSettings` does not name.
    pub fn default_throttle(&self) -> Option<Throttle> {
        Some(Throttle {
            rate_per_second: self.default.rate?,
            burst: self.default.burst?,
        })
    }
}

impl Settings {
    fn read(settings: &Value) -> anyhow::Result<Self> {
        let settings = settings
            .as_object()
            .ok_or_else(|| anyhow!("route settings must be a map, not {settings}"))?;
        let rate = settings
            .get("ThrottlingRateLimit")
            .map(|value| number(value, "ThrottlingRateLimit"))
            .transpose()?;
        let burst = settings
            .get("ThrottlingBurstLimit")
            .map(|value| {
                let burst = number(value, "ThrottlingBurstLimit")?;
                if burst.fract() != 0.0 || burst > f64::from(u32::MAX) {
                    bail!("ThrottlingBurstLimit must be a whole number, not {burst}");
                }
                Ok(burst as u32)
            })
            .transpose()?;
        Ok(Self { rate, burst })
    }
}

/// A non-negative number, given as a number or as its text.
fn number(value: &Value, field: &str) -> anyhow::Result<f64> {
    let number = match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| anyhow!("{field} must be a number, not {value}"))?;
    if !number.is_finite() || number < 0.0 {
        bail!("{field} must be zero or more, not {number}");
    }
    Ok(number)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    fn stage(properties: Value) -> StageThrottling {
        StageThrottling::from_stage(properties.as_object().unwrap()).unwrap()
    }

    #[test]
    fn a_full_bucket_lets_its_burst_through_then_refills_at_the_rate() {
        let start = Instant::now();
        let bucket = TokenBucket::starting_at(
            Throttle {
                rate_per_second: 2.0,
                burst: 3,
            },
            start,
        );
        let taken = (0..5).filter(|_| bucket.try_take_at(start)).count();
        assert_eq!(taken, 3, "the burst passes, the rest is throttled");
        // Two tokens a second: one after half a second, none more until the next half.
        assert!(!bucket.try_take_at(start + Duration::from_millis(400)));
        assert!(bucket.try_take_at(start + Duration::from_millis(500)));
        assert!(!bucket.try_take_at(start + Duration::from_millis(600)));
        // A long pause refills only up to the burst.
        let later = start + Duration::from_secs(60);
        assert_eq!((0..5).filter(|_| bucket.try_take_at(later)).count(), 3);
    }

    #[test]
    fn a_zero_burst_throttles_every_request() {
        let bucket = TokenBucket::new(Throttle {
            rate_per_second: 100.0,
            burst: 0,
        });
        assert!(!bucket.try_take());
    }

    #[test]
    fn a_routes_own_settings_win_field_by_field_over_the_stage_defaults() {
        let settings = stage(json!({
            "DefaultRouteSettings": {"ThrottlingRateLimit": "500", "ThrottlingBurstLimit": 1000},
            "RouteSettings": {
                "POST /login": {"ThrottlingRateLimit": 20.5, "ThrottlingBurstLimit": "40"},
                "POST /register": {"ThrottlingBurstLimit": 5},
            },
        }));
        let throttle = |rate_per_second, burst| {
            Some(Throttle {
                rate_per_second,
                burst,
            })
        };
        assert_eq!(settings.throttle("POST /login"), throttle(20.5, 40));
        assert_eq!(settings.throttle("POST /register"), throttle(500.0, 5));
        assert_eq!(settings.throttle("GET /other"), throttle(500.0, 1000));
        assert_eq!(settings.default_throttle(), throttle(500.0, 1000));
        assert_eq!(
            settings.named_routes().collect::<Vec<_>>(),
            ["POST /login", "POST /register"]
        );
    }

    #[test]
    fn a_route_without_a_rate_or_a_burst_is_not_throttled() {
        let settings = stage(json!({
            "RouteSettings": {"POST /login": {"ThrottlingBurstLimit": 5}},
        }));
        assert_eq!(settings.throttle("POST /login"), None);
        assert_eq!(settings.throttle("GET /other"), None);
        assert_eq!(stage(json!({})).default_throttle(), None);
    }

    #[test]
    fn negative_fractional_or_unreadable_limits_are_refused() {
        for settings in [
            json!({"DefaultRouteSettings": {"ThrottlingRateLimit": -1}}),
            json!({"DefaultRouteSettings": {"ThrottlingBurstLimit": 2.5}}),
            json!({"DefaultRouteSettings": {"ThrottlingBurstLimit": "many"}}),
            json!({"RouteSettings": ["POST /login"]}),
        ] {
            assert!(
                StageThrottling::from_stage(settings.as_object().unwrap()).is_err(),
                "{settings}"
            );
        }
    }
}
