//! Which windows a scheduled alert evaluates when the scheduler gets to it.
//!
//! Runs are due on the alert's schedule (`next_run_at`, then every `frequency`), and each due
//! run evaluates the window that ends at its due time (less the alert's `delay`), not at the
//! moment the scheduler happens to run: a late tick, a restart or another node taking over
//! evaluates the runs it missed, so consecutive windows meet and no record falls between them.

use crate::model::Alert;

/// A scheduler that fell this many runs behind (a node down for a while) evaluates the rest of
/// the missed time as one window instead of one query per missed run.
pub const MAX_CATCH_UP_RUNS: i64 = 60;

/// The runs of one alert due at some moment.
#[derive(Debug, Clone, PartialEq)]
pub struct DueRuns {
    /// The windows to evaluate, oldest first (µs, `[start, end)`).
    pub windows: Vec<(i64, i64)>,
    /// When the alert is due next, on its schedule.
    pub next_run_at: i64,
}

impl DueRuns {
    /// The runs of `alert` whose due time, starting at `due` (its `next_run_at`), is `now` or
    /// earlier. Empty when `due` is still ahead.
    pub fn new(alert: &Alert, due: i64, now: i64) -> DueRuns {
        let frequency = Alert::micros(alert.trigger_condition.frequency).max(1);
        if due > now {
            return DueRuns {
                windows: Vec::new(),
                next_run_at: due,
            };
        }
        let missed = (now - due) / frequency + 1;
        let last_due = due + (missed - 1) * frequency;
        let next_run_at = last_due + frequency;
        if missed > MAX_CATCH_UP_RUNS {
            // One window from the first missed run's start to the last one's end.
            let (start, _) = alert.window_due_at(due);
            let (_, end) = alert.window_due_at(last_due);
            return DueRuns {
                windows: vec![(start, end)],
                next_run_at,
            };
        }
        let windows = (0..missed)
            .map(|run| alert.window_due_at(due + run * frequency))
            .collect();
        DueRuns {
            windows,
            next_run_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000_000;

    fn alert(period: f64, frequency: f64, delay: f64) -> Alert {
        let mut alert = Alert::default();
        alert.trigger_condition.period = period;
        alert.trigger_condition.frequency = frequency;
        alert.trigger_condition.delay = delay;
        alert
    }

    #[test]
    fn a_run_not_yet_due_evaluates_nothing() {
        let runs = DueRuns::new(&alert(1.0, 1.0, 0.0), 10 * MINUTE, 10 * MINUTE - 1);
        assert!(runs.windows.is_empty());
        assert_eq!(runs.next_run_at, 10 * MINUTE);
    }

    #[test]
    fn a_late_run_evaluates_the_window_of_its_due_time() {
        // Due at minute 10, the scheduler comes 68 s later: the window still ends at minute 10.
        let runs = DueRuns::new(&alert(1.0, 1.0, 0.0), 10 * MINUTE, 10 * MINUTE + 8_000_000);
        assert_eq!(runs.windows, vec![(9 * MINUTE, 10 * MINUTE)]);
        assert_eq!(runs.next_run_at, 11 * MINUTE);
    }

    #[test]
    fn missed_runs_are_evaluated_in_order_and_their_windows_meet() {
        let runs = DueRuns::new(&alert(1.0, 1.0, 0.0), 10 * MINUTE, 13 * MINUTE + 30_000_000);
        assert_eq!(
            runs.windows,
            vec![
                (9 * MINUTE, 10 * MINUTE),
                (10 * MINUTE, 11 * MINUTE),
                (11 * MINUTE, 12 * MINUTE),
                (12 * MINUTE, 13 * MINUTE),
            ]
        );
        assert_eq!(runs.next_run_at, 14 * MINUTE);
    }

    #[test]
    fn the_delay_shifts_the_window_back() {
        let runs = DueRuns::new(&alert(5.0, 1.0, 2.0), 10 * MINUTE, 10 * MINUTE);
        assert_eq!(runs.windows, vec![(3 * MINUTE, 8 * MINUTE)]);
    }

    #[test]
    fn a_long_outage_is_caught_up_as_one_window() {
        let runs = DueRuns::new(
            &alert(1.0, 1.0, 0.0),
            10 * MINUTE,
            10 * MINUTE + 120 * MINUTE,
        );
        assert_eq!(runs.windows, vec![(9 * MINUTE, 130 * MINUTE)]);
        assert_eq!(runs.next_run_at, 131 * MINUTE);
    }

    #[test]
    fn every_instant_after_the_first_window_start_is_in_exactly_one_window() {
        // Frequency = period: windows tile time over any sequence of scheduler ticks.
        let alert = alert(1.0, 1.0, 0.0);
        let mut due = 10 * MINUTE;
        let mut windows = Vec::new();
        for tick in [
            10 * MINUTE + 59_000_000,
            11 * MINUTE,
            14 * MINUTE + 1,
            14 * MINUTE + 2,
            200 * MINUTE,
        ] {
            let runs = DueRuns::new(&alert, due, tick);
            windows.extend(runs.windows);
            due = runs.next_run_at;
        }
        for instant in (9 * MINUTE..200 * MINUTE).step_by(7_000_000) {
            let holding = windows
                .iter()
                .filter(|(start, end)| *start <= instant && instant < *end)
                .count();
            assert_eq!(holding, 1, "instant {instant}: {windows:?}");
        }
    }
}
