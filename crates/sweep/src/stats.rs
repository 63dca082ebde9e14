//! Mean, standard deviation and the 95 % Student-t confidence interval of a sample.
//!
//! For values `x_1..x_n` (in run order):
//!
//! ```text
//! mean = (x_1 + ... + x_n) / n
//! sd   = sqrt( sum (x_i - mean)^2 / (n - 1) )            (n >= 2)
//! ci95 = mean ± t(0.975, n - 1) · sd / sqrt(n)           (n >= 2)
//! ```
//!
//! `t(0.975, df)` is the 97.5 % quantile of Student's t distribution with `df` degrees of
//! freedom (12.706 for df = 1, 2.776 for df = 4, 1.960 as df → ∞). It is computed, not looked
//! up: for `df <= 100` by bisection on the exact CDF of Abramowitz & Stegun 26.7.3–26.7.4
//! (a finite trigonometric series for integer df), above that by the Cornish–Fisher expansion
//! (A&S 26.7.5, error below 1e-9 at df = 100). Only basic arithmetic, `sqrt` and `atan` are
//! used, and always in the same order, so a summary is the same bytes on every run.

use std::f64::consts::PI;

/// The two-sided 95 % normal quantile z(0.975).
const Z975: f64 = 1.959_963_984_540_054;

/// `t(0.975, df)`: the half-width multiplier of a two-sided 95 % interval. `NaN` for `df = 0`.
pub fn t975(df: u64) -> f64 {
    match df {
        0 => f64::NAN,
        1..=100 => {
            // P(|T| <= t) = 0.95, bisection on [0, 64] (t(0.975, 1) = 12.7).
            let (mut lo, mut hi) = (0.0f64, 64.0f64);
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if mid <= lo || mid >= hi {
                    break;
                }
                if central_probability(mid, df) < 0.95 {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            0.5 * (lo + hi)
        }
        _ => cornish_fisher(df as f64),
    }
}

/// `A(t|df) = P(|T| <= t)` for integer `df >= 1` (Abramowitz & Stegun 26.7.3 and 26.7.4).
fn central_probability(t: f64, df: u64) -> f64 {
    let theta = (t / (df as f64).sqrt()).atan();
    let (s, c) = (theta.sin(), theta.cos());
    let c2 = c * c;
    if df % 2 == 1 {
        // 2/π · (θ + sinθ · (cosθ + 2/3 cos³θ + 2·4/(3·5) cos⁵θ + ... up to cos^(df-2)θ))
        let mut series = 0.0;
        if df > 1 {
            let mut term = c;
            series = term;
            let mut k = 2u64;
            while k < df - 1 {
                term *= c2 * k as f64 / (k + 1) as f64;
                series += term;
                k += 2;
            }
        }
        2.0 / PI * (theta + s * series)
    } else {
        // sinθ · (1 + 1/2 cos²θ + 1·3/(2·4) cos⁴θ + ... up to cos^(df-2)θ)
        let mut term = 1.0;
        let mut series = 1.0;
        let mut k = 1u64;
        while k < df - 1 {
            term *= c2 * k as f64 / (k + 1) as f64;
            series += term;
            k += 2;
        }
        s * series
    }
}

/// Cornish–Fisher expansion of t(0.975, df) in powers of 1/df (A&S 26.7.5).
fn cornish_fisher(df: f64) -> f64 {
    let z = Z975;
    let z2 = z * z;
    let g1 = (z2 + 1.0) * z / 4.0;
    let g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
    let g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
    let g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0;
    z + g1 / df + g2 / (df * df) + g3 / (df * df * df) + g4 / (df * df * df * df)
}

/// What a summary row says about one metric at one grid point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Runs with a value.
    pub n: u64,
    /// Their mean; `None` when `n = 0`.
    pub mean: Option<f64>,
    /// Sample standard deviation (n − 1 denominator); `None` when `n < 2`.
    pub sd: Option<f64>,
    /// Lower end of the 95 % interval; `None` when `n < 2`.
    pub ci95_low: Option<f64>,
    /// Upper end of the 95 % interval; `None` when `n < 2`.
    pub ci95_high: Option<f64>,
}

/// Summarizes `values` (in run order) as documented at the top of this module.
pub fn summarize(values: &[f64]) -> Summary {
    let n = values.len() as u64;
    if n == 0 {
        return Summary {
            n,
            mean: None,
            sd: None,
            ci95_low: None,
            ci95_high: None,
        };
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return Summary {
            n,
            mean: Some(mean),
            sd: None,
            ci95_low: None,
            ci95_high: None,
        };
    }
    let var = values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
    let sd = var.sqrt();
    let half = t975(n - 1) * sd / (n as f64).sqrt();
    Summary {
        n,
        mean: Some(mean),
        sd: Some(sd),
        ci95_low: Some(mean - half),
        ci95_high: Some(mean + half),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_published_values() {
        // scipy.stats.t.ppf(0.975, df)
        for (df, t) in [
            (1, 12.706_204_736_174_698),
            (2, 4.302_652_729_749_464),
            (3, 3.182_446_305_284_263),
            (4, 2.776_445_105_197_793),
            (5, 2.570_581_835_636_314),
            (10, 2.228_138_851_986_273_5),
            (30, 2.042_272_456_301_238),
            (100, 1.983_971_518_523_55),
            (101, 1.983_731_002_885_488_5),
            (1000, 1.962_339_076_883_67),
        ] {
            let got = t975(df);
            assert!((got - t).abs() < 1e-8, "df {df}: {got} vs {t}");
        }
        assert!(t975(0).is_nan());
        assert!((t975(1 << 40) - Z975).abs() < 1e-9);
    }

    #[test]
    fn summary_of_a_known_sample() {
        // 1..=5: mean 3, sd sqrt(2.5), half-width t(0.975, 4) · sqrt(2.5) / sqrt(5)
        // = 2.7764451051977987 · 0.7071067811865476 = 1.963243161...
        let s = summarize(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(s.n, 5);
        assert_eq!(s.mean, Some(3.0));
        assert!((s.sd.unwrap() - 1.581_138_830_084_189_8).abs() < 1e-12);
        assert!((s.ci95_low.unwrap() - (3.0 - 1.963_243_161_477_561)).abs() < 1e-8);
        assert!((s.ci95_high.unwrap() - (3.0 + 1.963_243_161_477_561)).abs() < 1e-8);

        // Recall over 3 seeds: 0.5, 0.75, 1.0 → mean 0.75, sd 0.25, half 4.30265 · 0.25/√3.
        let s = summarize(&[0.5, 0.75, 1.0]);
        let half = 4.302_652_729_749_464 * 0.25 / 3f64.sqrt();
        assert!((s.mean.unwrap() - 0.75).abs() < 1e-15);
        assert!((s.ci95_high.unwrap() - (0.75 + half)).abs() < 1e-9);

        let one = summarize(&[7.0]);
        assert_eq!(
            (one.n, one.mean, one.sd, one.ci95_low),
            (1, Some(7.0), None, None)
        );
        let none = summarize(&[]);
        assert_eq!((none.n, none.mean), (0, None));
        let flat = summarize(&[2.0, 2.0, 2.0]);
        assert_eq!(
            (flat.sd, flat.ci95_low, flat.ci95_high),
            (Some(0.0), Some(2.0), Some(2.0))
        );
    }
}
