//! The CPU a run computes on: the threads its kernels may share large work
//! with, and TensorFlow's floating-point mode (denormals flushed to zero).
//!
//! A session names its pool for the thread that runs it ([`Using`]); a
//! kernel asks [`pool_for`] whether its work is large enough to split. One
//! pool per thread count is made on first use and kept by the process, so
//! sessions of one size share threads instead of each starting their own.

use std::cell::Cell;
use std::sync::{Mutex, OnceLock};

/// A pool of worker threads, each computing with denormals flushed.
pub(crate) type Pool = rayon::ThreadPool;

thread_local! {
    /// The pool of the session running on this thread, if it has one.
    static POOL: Cell<Option<&'static Pool>> = const { Cell::new(None) };
}

/// The variable that sets a session's default thread count.
pub(crate) const THREADS_VAR: &str = "SCOPEFLOW_NUM_THREADS";

/// The default thread count: `SCOPEFLOW_NUM_THREADS` when it is a positive
/// integer, else the machine's cores (1 when they cannot be counted).
pub(crate) fn default_threads() -> usize {
    let cores = || std::thread::available_parallelism().map_or(1, usize::from);
    match std::env::var(THREADS_VAR) {
        Ok(v) => v.trim().parse().ok().filter(|&n: &usize| n > 0).unwrap_or_else(cores),
        Err(_) => cores(),
    }
}

/// The process's pool of `threads` workers, made on first use; `None` for
/// one thread, or when the system would not start the threads (the session
/// then computes on its own thread, as with one).
pub(crate) fn pool(threads: usize) -> Option<&'static Pool> {
    static POOLS: OnceLock<Mutex<Vec<(usize, &'static Pool)>>> = OnceLock::new();
    if threads <= 1 {
        return None;
    }
    let mut pools = POOLS.get_or_init(Mutex::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&(_, pool)) = pools.iter().find(|(n, _)| *n == threads) {
        return Some(pool);
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("scopeflow-{i}"))
        // Workers keep TF's mode for their whole life: they only run kernels.
        .start_handler(|_| std::mem::forget(FlushDenormals::new()))
        .build()
        .ok()?;
    // Kept for the process: few thread counts are ever asked for.
    let pool: &'static Pool = Box::leak(Box::new(pool));
    pools.push((threads, pool));
    Some(pool)
}

/// The running session's pool, when `work` (say, multiply-adds) reaches
/// `threshold`: below it, handing work to another thread costs more than it
/// saves (a hand-off costs about 6 µs on this 2-core VM).
///
/// Only matrix products split today. Elementwise passes stay on one thread:
/// Adam's update over the MLP's 200k-element kernel, halved across the two
/// cores, made training steps slower here (batch 32: 830-870 µs against
/// 600-615), being bound by memory the cores share.
pub(crate) fn pool_for(work: usize, threshold: usize) -> Option<&'static Pool> {
    if work < threshold {
        return None;
    }
    POOL.with(Cell::get)
}

/// Names `pool` as this thread's for kernels while it lives, then restores
/// what was named before (a run inside another thread's run is rare but legal).
pub(crate) struct Using {
    previous: Option<&'static Pool>,
}

impl Using {
    pub(crate) fn new(pool: Option<&'static Pool>) -> Using {
        Using { previous: POOL.with(|p| p.replace(pool)) }
    }
}

impl Drop for Using {
    fn drop(&mut self) {
        POOL.with(|p| p.set(self.previous));
    }
}

/// Flushes denormal floats to zero (x86's FTZ and DAZ bits) on this thread
/// while it lives, and puts the previous mode back when dropped (TF's
/// `ScopedFlushDenormal` around its kernels).
///
/// A deliberate deviation from Rust's default floating-point environment,
/// as TensorFlow makes it: only results and inputs below `f32::MIN_POSITIVE`
/// (or f64's) change, to 0, and only for the kernels of a run. Values folded
/// while a graph is built are not flushed, and other architectures (aarch64's
/// FPCR.FZ) are left as they are.
pub(crate) struct FlushDenormals {
    #[cfg(target_arch = "x86_64")]
    saved: u32,
}

impl FlushDenormals {
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn new() -> FlushDenormals {
        /// Flush-to-zero (results) and denormals-are-zero (inputs).
        const FTZ_DAZ: u32 = 0x8040;
        let saved = mxcsr::read();
        mxcsr::write(saved | FTZ_DAZ);
        FlushDenormals { saved }
    }

    #[cfg(not(target_arch = "x86_64"))]
    pub(crate) fn new() -> FlushDenormals {
        FlushDenormals {}
    }
}

impl Drop for FlushDenormals {
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        mxcsr::write(self.saved);
    }
}

#[cfg(target_arch = "x86_64")]
mod mxcsr {
    /// The thread's SSE control and status register.
    pub(super) fn read() -> u32 {
        let mut value: u32 = 0;
        // SAFETY: `stmxcsr` stores the 4-byte register into `value`, which is
        // a valid, aligned u32; SSE is part of every x86_64 CPU.
        unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut value, options(nostack, preserves_flags)) };
        value
    }

    /// Sets the register; `value` is one `read` returned with only mode bits changed.
    pub(super) fn write(value: u32) {
        // SAFETY: `ldmxcsr` loads 4 bytes from `value`, a valid u32; the
        // callers only change the FTZ and DAZ mode bits of a value read from
        // the register, which cannot fault.
        unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &value, options(nostack, readonly, preserves_flags)) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_thread_has_no_pool_and_pools_are_shared() {
        assert!(pool(1).is_none());
        let a = pool(2).expect("two threads start");
        let b = pool(2).expect("two threads start");
        assert!(std::ptr::eq(a, b));
        assert_eq!(a.current_num_threads(), 2);
    }

    #[test]
    fn a_pool_is_named_for_kernels_only_while_in_use() {
        let p = pool(2);
        assert!(pool_for(usize::MAX, 0).is_none());
        {
            let _using = Using::new(p);
            assert!(pool_for(10, 100).is_none(), "small work stays on its thread");
            assert!(pool_for(100, 100).is_some());
        }
        assert!(pool_for(usize::MAX, 0).is_none());
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn workers_flush_denormals() {
        let p = pool(2).expect("two threads start");
        let tiny = std::hint::black_box(f32::MIN_POSITIVE);
        let halves: Vec<f32> = p.broadcast(|_| std::hint::black_box(tiny) / 2.0);
        assert_eq!(halves, vec![0.0, 0.0]);
    }
}
