//! The hand-rolled measurement harness shared by the benchmarks (no harness
//! crate): calibrated batches, samples of several routines interleaved with a
//! rotating start so that they see the same machine noise, and robust
//! statistics over the samples.
//!
//! Each bench target includes this file with `mod harness;` and compiles it
//! on its own, so every item here is used by all of them (an item only one
//! bench needs lives in that bench).

use std::time::Duration;

/// Runs `n` iterations of the measured code and returns the time they took,
/// setup and teardown excluded.
pub type Routine<'a> = Box<dyn FnMut(u64) -> Duration + 'a>;

/// How a benchmark samples its routines.
pub struct Config {
    /// Samples per measurement (odd, so the median is one sample).
    pub samples: usize,
    /// How long one sample should take.
    pub target: Duration,
    /// Whether every routine of an [`interleaved`](Config::interleaved) set
    /// runs the iteration count calibrated for the last one (the baseline),
    /// so that per-sample setup such as graph size is alike too; the other
    /// calibrations then only warm up. Otherwise each routine runs its own.
    pub shared_iters: bool,
}

impl Config {
    /// The number of iterations that makes one sample last about
    /// [`target`](Config::target) (the doubling runs double as warm-up).
    pub fn calibrate(&self, routine: &mut Routine<'_>) -> u64 {
        let mut n = 1u64;
        loop {
            let t = routine(n);
            if t >= self.target / 4 || n >= 1 << 30 {
                let scaled = n as f64 * self.target.as_secs_f64() / t.as_secs_f64().max(1e-9);
                return (scaled.round() as u64).max(1);
            }
            n *= 2;
        }
    }

    /// Measures several routines with their samples interleaved (the starting
    /// routine rotates from sample to sample), so that they see the same
    /// noise. The stats come back in the order of `routines`.
    pub fn interleaved(&self, mut routines: Vec<(impl Into<String>, Routine<'_>)>) -> Vec<Stats> {
        let mut iters: Vec<u64> = routines.iter_mut().map(|(_, r)| self.calibrate(r)).collect();
        if self.shared_iters
            && let Some(&last) = iters.last()
        {
            iters.fill(last);
        }
        let mut ns: Vec<Vec<f64>> = vec![Vec::with_capacity(self.samples); routines.len()];
        for s in 0..self.samples {
            for j in 0..routines.len() {
                let k = (s + j) % routines.len();
                let t = (routines[k].1)(iters[k]);
                ns[k].push(t.as_nanos() as f64 / iters[k] as f64);
            }
        }
        routines.into_iter().zip(iters).zip(ns).map(|(((label, _), iters), ns)| Stats::new(label, iters, ns)).collect()
    }
}

/// Per-iteration times of one measurement, in nanoseconds, sorted.
pub struct Stats {
    pub label: String,
    iters: u64,
    /// In the order measured (sample `i` of interleaved routines ran together).
    ns: Vec<f64>,
    sorted_ns: Vec<f64>,
}

impl Stats {
    pub fn new(label: impl Into<String>, iters: u64, ns: Vec<f64>) -> Stats {
        let mut sorted_ns = ns.clone();
        sorted_ns.sort_by(f64::total_cmp);
        Stats { label: label.into(), iters, ns, sorted_ns }
    }

    fn quantile(&self, q: f64) -> f64 {
        let last = self.sorted_ns.len() - 1;
        self.sorted_ns[((last as f64) * q).round() as usize]
    }

    pub fn median(&self) -> f64 {
        self.quantile(0.5)
    }

    pub fn print(&self) {
        println!(
            "  {:<44} median {:>12}   p25..p75 {:>10} .. {:<10}  min {:>10}   ({} samples x {} iters)",
            self.label,
            fmt_ns(self.median()),
            fmt_ns(self.quantile(0.25)),
            fmt_ns(self.quantile(0.75)),
            fmt_ns(self.sorted_ns[0]),
            self.sorted_ns.len(),
            self.iters,
        );
    }
}

/// The median over samples of `a[i] / b[i]`: a ratio robust to noise that
/// hits both routines of an interleaved pair alike.
pub fn paired_ratio(a: &Stats, b: &Stats) -> f64 {
    let ratios: Vec<f64> = a.ns.iter().zip(&b.ns).map(|(x, y)| x / y).collect();
    Stats::new("ratio", 1, ratios).median()
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.3} us", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}
