//! Reconnect backoff: growth, cap, jitter range, reproducibility.

use std::time::Duration;

use corridor_quic::Backoff;
use rand::{rngs::StdRng, SeedableRng};

const MS: Duration = Duration::from_millis(1);

fn backoff() -> Backoff {
    Backoff {
        base: 100 * MS,
        max: 10_000 * MS,
    }
}

#[test]
fn cap_doubles_then_stays_at_max() {
    let b = backoff();
    let caps: Vec<_> = (0..9).map(|n| b.cap(n)).collect();
    let want = [100, 200, 400, 800, 1_600, 3_200, 6_400, 10_000, 10_000];
    assert_eq!(caps, want.map(|ms| ms * MS));
    for attempt in [31, 32, 64, 1_000, u32::MAX] {
        assert_eq!(b.cap(attempt), b.max, "attempt {attempt}");
    }
    let inverted = Backoff {
        base: 20 * MS,
        max: 5 * MS,
    };
    assert_eq!(inverted.cap(0), 5 * MS);
}

#[test]
fn delays_stay_within_zero_and_the_cap_and_grow() {
    let b = backoff();
    let mut rng = StdRng::seed_from_u64(7);
    let mut previous_mean = Duration::ZERO;
    for attempt in 0..12 {
        let samples: Vec<_> = (0..400).map(|_| b.delay(attempt, &mut rng)).collect();
        assert!(
            samples.iter().all(|d| *d <= b.cap(attempt)),
            "attempt {attempt}"
        );
        let mean = samples.iter().sum::<Duration>() / 400;
        // Full jitter: the mean is about half the cap.
        assert!(
            mean > b.cap(attempt) * 2 / 5 && mean < b.cap(attempt) * 3 / 5,
            "{mean:?}"
        );
        if attempt < 7 {
            assert!(
                mean > previous_mean,
                "attempt {attempt}: {mean:?} <= {previous_mean:?}"
            );
            let max = samples.iter().max().copied().unwrap_or_default();
            if attempt > 0 {
                assert!(
                    max > b.cap(attempt - 1),
                    "attempt {attempt} never exceeded the last cap"
                );
            }
        }
        previous_mean = mean;
    }
}

#[test]
fn same_seed_same_delays() {
    let b = backoff();
    let run = |seed| {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..20).map(|n| b.delay(n, &mut rng)).collect::<Vec<_>>()
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43));
}
