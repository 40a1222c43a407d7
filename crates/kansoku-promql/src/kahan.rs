//! Kahan–Babuška–Neumaier summation, as Prometheus uses for `sum`, `avg` and the
//! `*_over_time` functions, so that long sums keep their precision.

/// Adds `increment` to the running `(sum, compensation)`.
pub fn add(increment: f64, sum: f64, compensation: f64) -> (f64, f64) {
    let total = sum + increment;
    let compensation = if total.is_infinite() {
        0.0
    } else if sum.abs() >= increment.abs() {
        compensation + ((sum - total) + increment)
    } else {
        compensation + ((increment - total) + sum)
    };
    (total, compensation)
}

/// A running compensated sum.
#[derive(Debug, Clone, Copy, Default)]
pub struct KahanSum {
    sum: f64,
    compensation: f64,
}

impl KahanSum {
    /// Adds `value`.
    pub fn add(&mut self, value: f64) {
        (self.sum, self.compensation) = add(value, self.sum, self.compensation);
    }

    /// The sum.
    pub fn value(&self) -> f64 {
        if self.sum.is_infinite() {
            return self.sum;
        }
        self.sum + self.compensation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compensated_sums_keep_small_terms() {
        let mut sum = KahanSum::default();
        for value in [1e100, 1.0, -1e100] {
            sum.add(value);
        }
        assert_eq!(sum.value(), 1.0);
    }
}
