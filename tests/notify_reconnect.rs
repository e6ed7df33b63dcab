//! Reconnection delays: the server's `retry` as the floor, full jitter within the exponential
//! ceiling, the cap, the reset after a healthy connection, and the heartbeat watchdog.

use std::cell::Cell;

use edgesaga::notify::reconnect::{full_jitter, watchdog, ReconnectPolicy, ReconnectTracker, Watchdog, MAX_TIMER_MS};
use edgesaga::platform::{Rng, SeededRng};

/// Returns the given values in turn (the last one forever).
struct Fixed(Vec<f64>, Cell<usize>);

impl Fixed {
    fn new(values: &[f64]) -> Self {
        Fixed(values.to_vec(), Cell::new(0))
    }
}

impl Rng for Fixed {
    fn next_f64(&self) -> f64 {
        let i = self.1.get();
        self.1.set(i + 1);
        self.0[i.min(self.0.len() - 1)]
    }
}

const LOW: f64 = 0.0;
const HIGH: f64 = 0.999_999_999_999;

#[test]
fn ceiling_doubles_from_the_base_up_to_the_cap() {
    let p = ReconnectPolicy::default();
    let ceilings: Vec<u64> = (0..8).map(|n| p.backoff_ceiling(n)).collect();
    assert_eq!(ceilings, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    assert_eq!(p.backoff_ceiling(u32::MAX), 30_000);
    let huge = ReconnectPolicy { base_delay_ms: u64::MAX, max_delay_ms: u64::MAX, ..p };
    assert_eq!(huge.backoff_ceiling(5), u64::MAX);
}

#[test]
fn full_jitter_spans_zero_to_the_ceiling_inclusive() {
    assert_eq!(full_jitter(1_000, &Fixed::new(&[LOW])), 0);
    assert_eq!(full_jitter(1_000, &Fixed::new(&[HIGH])), 1_000);
    assert_eq!(full_jitter(1_000, &Fixed::new(&[0.5])), 500);
    assert_eq!(full_jitter(0, &Fixed::new(&[HIGH])), 0);
    // A misbehaving generator cannot push the delay out of range.
    for wild in [1.0, 7.5, f64::INFINITY, f64::NAN, -3.0] {
        assert!(full_jitter(1_000, &Fixed::new(&[wild])) <= 1_000, "{wild}");
    }
    // Over many draws both ends are approached and the mean is near the middle.
    let rng = SeededRng::new(99);
    let draws: Vec<u64> = (0..20_000).map(|_| full_jitter(1_000, &rng)).collect();
    assert!(draws.iter().all(|&d| d <= 1_000));
    assert!(*draws.iter().min().unwrap() <= 5 && *draws.iter().max().unwrap() >= 995);
    let mean = draws.iter().sum::<u64>() as f64 / draws.len() as f64;
    assert!((480.0..520.0).contains(&mean), "{mean}");
}

#[test]
fn server_retry_is_the_floor_and_backoff_adds_on_top() {
    let p = ReconnectPolicy::default();
    let mut t = ReconnectTracker::new(p);
    let rng = Fixed::new(&[LOW, HIGH, LOW, HIGH]);
    assert_eq!(t.next_delay(0.0, Some(3_000), &rng), 3_000);
    assert_eq!(t.next_delay(0.0, Some(3_000), &rng), 3_000 + 2_000);
    assert_eq!(t.next_delay(0.0, Some(3_000), &rng), 3_000);
    assert_eq!(t.next_delay(0.0, Some(3_000), &rng), 3_000 + 8_000);
    assert_eq!(t.failures(), 4);
    // Without a server retry the delay is the jitter alone.
    let mut t = ReconnectTracker::new(p);
    assert_eq!(t.next_delay(0.0, None, &Fixed::new(&[HIGH])), 1_000);
    assert_eq!(t.next_delay(0.0, None, &Fixed::new(&[LOW])), 0);
    // `retry: 0` is honoured as no floor.
    assert_eq!(ReconnectTracker::new(p).next_delay(0.0, Some(0), &Fixed::new(&[LOW])), 0);
}

#[test]
fn delays_stay_within_bounds_for_any_seed() {
    let p = ReconnectPolicy::default();
    for seed in 0..200 {
        let rng = SeededRng::new(seed);
        let mut t = ReconnectTracker::new(p);
        for n in 0..12u32 {
            let retry = (seed % 3 == 0).then_some(2_500);
            let d = t.next_delay(0.0, retry, &rng);
            let floor = retry.unwrap_or(0);
            assert!(d >= floor && d <= floor + p.backoff_ceiling(n), "seed {seed} n {n}: {d}");
            assert!(d <= floor + 30_000);
        }
    }
}

#[test]
fn hostile_server_retry_is_clamped() {
    let p = ReconnectPolicy::default();
    let d = ReconnectTracker::new(p).next_delay(0.0, Some(u64::MAX), &Fixed::new(&[LOW]));
    assert_eq!(d, p.max_server_retry_ms);
    let unbounded = ReconnectPolicy { max_server_retry_ms: u64::MAX, max_delay_ms: u64::MAX, ..p };
    let d = ReconnectTracker::new(unbounded).next_delay(0.0, Some(u64::MAX), &Fixed::new(&[HIGH]));
    assert_eq!(d, MAX_TIMER_MS);
}

#[test]
fn a_healthy_connection_resets_the_backoff() {
    let p = ReconnectPolicy { healthy_after_ms: 10_000, ..ReconnectPolicy::default() };
    let high = Fixed::new(&[HIGH]);
    let mut t = ReconnectTracker::new(p);
    for _ in 0..4 {
        t.next_delay(0.0, None, &high);
    }
    assert_eq!(t.failures(), 4);
    // Open, but dropped before the healthy period: the backoff keeps growing.
    t.opened(1_000.0);
    assert_eq!(t.next_delay(10_999.0, None, &high), 16_000);
    assert_eq!(t.failures(), 5);
    // A connection attempt that never opened does not reset either.
    assert_eq!(t.next_delay(50_000.0, None, &high), 30_000);
    // Open for the healthy period: back to the base.
    t.opened(100_000.0);
    assert_eq!(t.next_delay(110_000.0, None, &high), 1_000);
    assert_eq!(t.failures(), 1);
    // `reset` (e.g. on `online`) forgets failures at once.
    t.next_delay(110_000.0, None, &high);
    t.reset();
    assert_eq!((t.failures(), t.next_delay(0.0, None, &high)), (0, 1_000));
}

#[test]
fn same_seed_same_delays() {
    let run = |seed| {
        let rng = SeededRng::new(seed);
        let mut t = ReconnectTracker::new(ReconnectPolicy::default());
        (0..10).map(|_| t.next_delay(0.0, Some(500), &rng)).collect::<Vec<_>>()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

#[test]
fn watchdog_expires_after_silence_and_says_when_to_look_again() {
    assert_eq!(watchdog(1_000.0, 45_000, 1_000.0), Watchdog::CheckIn(45_000));
    assert_eq!(watchdog(1_000.0, 45_000, 31_000.5), Watchdog::CheckIn(15_000));
    assert_eq!(watchdog(1_000.0, 45_000, 45_999.9), Watchdog::CheckIn(1));
    assert_eq!(watchdog(1_000.0, 45_000, 46_000.0), Watchdog::Expired);
    assert_eq!(watchdog(1_000.0, 45_000, 1e12), Watchdog::Expired);
    // A clock that went backwards, or garbage time, never expires a connection early.
    assert_eq!(watchdog(5_000.0, 45_000, 1_000.0), Watchdog::CheckIn(45_000));
    assert_eq!(watchdog(f64::NAN, 45_000, 1_000.0), Watchdog::CheckIn(45_000));
    let p = ReconnectPolicy::default();
    assert_eq!(p.watchdog(0.0, 45_000.0), Some(Watchdog::Expired));
    assert_eq!(ReconnectPolicy { heartbeat_timeout_ms: 0, ..p }.watchdog(0.0, 1e9), None);
}
