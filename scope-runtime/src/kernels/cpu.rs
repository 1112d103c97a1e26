//! The CPU a run computes on: the threads its kernels may share large work
//! with, and TensorFlow's floating-point mode (denormals flushed to zero).
//!
//! A session names its pool for the thread that runs it ([`Using`]); a
//! kernel asks [`pool_for`] whether its work is large enough to split. One
//! pool per thread count is made on first use and kept by the process, so
//! sessions of one size share threads instead of each starting their own.

use smallvec::SmallVec;
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::thread::Thread;
use std::time::{Duration, Instant};

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

/// The process's pool of `threads` threads (the caller's and `threads - 1`
/// workers), made on first use; `None` for one thread, or when the system
/// would not start the workers (the session then computes on its own
/// thread, as with one).
pub(crate) fn pool(threads: usize) -> Option<&'static Pool> {
    static POOLS: OnceLock<Mutex<Vec<&'static Pool>>> = OnceLock::new();
    if threads <= 1 {
        return None;
    }
    let mut pools = POOLS.get_or_init(Mutex::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&pool) = pools.iter().find(|p| p.threads == threads) {
        return Some(pool);
    }
    // Kept for the process: few thread counts are ever asked for.
    let pool: &'static Pool = Box::leak(Box::new(Pool::new(threads)));
    let mut workers = Vec::with_capacity(threads - 1);
    for i in 1..threads {
        let spawned = std::thread::Builder::new().name(format!("scopeflow-{i}")).spawn(move || pool.serve());
        // The workers started before stay parked: nothing hands them work.
        workers.push(spawned.ok()?.thread().clone());
    }
    // Set once, here, before the pool is handed out.
    let _ = pool.workers.set(workers);
    pools.push(pool);
    Some(pool)
}

/// How long a worker waits for the next piece of work spinning before it
/// parks: a run's products come microseconds apart, and waking a parked
/// thread costs 10-50 µs on this 2-core VM where a spinning one answers in
/// well under one.
const SPIN: Duration = Duration::from_micros(200);

/// A job's parts, as the pool's threads see it: the caller's closure.
type Job<'a> = &'a (dyn Fn(usize) + Sync);

/// The threads a session's kernels share large work with: its own thread,
/// which always takes part, and `threads - 1` workers that spin for a while
/// after each job (then park), so that handing half a product to the other
/// core costs about a microsecond instead of a wake-up.
///
/// One job at a time: a caller that finds the pool busy (another session's
/// run, or a kernel inside a job) computes every part on its own thread.
pub(crate) struct Pool {
    threads: usize,
    workers: OnceLock<Vec<Thread>>,
    /// Held by the caller of the job under way.
    claimed: AtomicBool,
    /// The job's generation (high 32 bits) and its next unclaimed part (low
    /// 32): a worker claims a part by advancing it, so a worker late from
    /// an earlier job never claims a part of a later one.
    next: AtomicU64,
    /// The job: a pointer to the caller's `Job`, live until every part is done.
    job: AtomicPtr<()>,
    parts: AtomicUsize,
    finished: AtomicUsize,
    panicked: AtomicBool,
    /// Workers parked or about to park: the caller wakes them.
    sleeping: AtomicUsize,
    /// Whether the latest measured round trip to a worker was slow, and
    /// when it was measured (since `born`, in ms; 0 for never).
    far: AtomicBool,
    measured: AtomicU64,
    born: Instant,
    /// The CPU the caller of the latest job ran on, and the CPU of the
    /// latest worker to start a part ([`NO_CPU`] when not known).
    caller_cpu: AtomicU32,
    worker_cpu: AtomicU32,
}

/// A CPU number meaning "not known".
const NO_CPU: u32 = u32::MAX;

/// The number of the CPU this thread runs on, when the CPU says (x86's
/// `rdtscp`, whose auxiliary value Linux sets to it).
fn current_cpu() -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        static HAS_RDTSCP: OnceLock<bool> = OnceLock::new();
        // CPUID leaf 0x8000_0001, EDX bit 27 (asked once: in a VM `cpuid` traps).
        let has = *HAS_RDTSCP.get_or_init(|| {
            let highest = std::arch::x86_64::__cpuid(0x8000_0000).eax;
            highest >= 0x8000_0001 && std::arch::x86_64::__cpuid(0x8000_0001).edx & (1 << 27) != 0
        });
        if has {
            let mut aux = 0;
            // SAFETY: the CPU has the instruction (checked above); it only
            // reads the time stamp counter and the auxiliary register.
            unsafe { std::arch::x86_64::__rdtscp(&mut aux) };
            // Linux stores the node above the low 12 bits.
            return aux & 0xfff;
        }
    }
    NO_CPU
}

/// Whether two threads seen on these CPUs share one.
fn same_cpu(a: u32, b: u32) -> bool {
    a == b && a != NO_CPU
}

impl Pool {
    fn new(threads: usize) -> Pool {
        Pool {
            threads,
            workers: OnceLock::new(),
            claimed: AtomicBool::new(false),
            next: AtomicU64::new(0),
            job: AtomicPtr::new(std::ptr::null_mut()),
            parts: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            sleeping: AtomicUsize::new(0),
            far: AtomicBool::new(false),
            measured: AtomicU64::new(0),
            born: Instant::now(),
            caller_cpu: AtomicU32::new(NO_CPU),
            worker_cpu: AtomicU32::new(NO_CPU),
        }
    }

    /// Whether the caller's and the workers' cores are far apart (their
    /// latest measured round trip above [`FAR_ROUND_TRIP`]), measured again
    /// when the latest measure is older than [`MEASURE_EVERY`].
    fn far(&self) -> bool {
        let now = u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX).max(1);
        let last = self.measured.load(Ordering::Relaxed);
        let due = last == 0 || now.saturating_sub(last) >= MEASURE_EVERY.as_millis() as u64;
        // One thread measures; the others use the latest answer meanwhile.
        if due
            && self.measured.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
            && let Some(trip) = self.round_trip()
        {
            self.far.store(trip > FAR_ROUND_TRIP, Ordering::Relaxed);
        }
        self.far.load(Ordering::Relaxed)
    }

    /// The median time of a cache line's round trip between this thread and
    /// a worker, as a two-part job whose parts bounce a counter; `None` when
    /// no worker answered in time (busy, parked or on this CPU).
    fn round_trip(&self) -> Option<Duration> {
        if self.claimed.load(Ordering::Relaxed) {
            // Busy: the parts would run one after the other on this thread.
            return None;
        }
        let counter = AtomicU32::new(0);
        let times = Mutex::new(SmallVec::<[Duration; 8]>::new());
        let answered = AtomicBool::new(false);
        // The whole measure gives up after this (200 round trips take 15-80
        // µs when the worker has a CPU of its own).
        let deadline = Instant::now() + Duration::from_millis(1);
        let wait_for = |value: u32| {
            let mut spins = 0u32;
            while counter.load(Ordering::Acquire) != value {
                std::hint::spin_loop();
                spins = spins.wrapping_add(1);
                if spins.is_multiple_of(64) && Instant::now() > deadline {
                    return false;
                }
            }
            true
        };
        self.run(2, &|part| match part {
            // The caller: sends odd values, in batches timed together.
            0 => {
                let mut batch = Instant::now();
                for i in 0..ROUND_TRIPS {
                    counter.store(2 * i + 1, Ordering::Release);
                    if !wait_for(2 * i + 2) {
                        return;
                    }
                    if i % 25 == 24 {
                        let mut times = times.lock().unwrap_or_else(PoisonError::into_inner);
                        times.push(batch.elapsed() / 25);
                        batch = Instant::now();
                    }
                }
                answered.store(true, Ordering::Relaxed);
            }
            // A worker: answers each with the next even value.
            _ => {
                for i in 0..ROUND_TRIPS {
                    if !wait_for(2 * i + 1) {
                        return;
                    }
                    counter.store(2 * i + 2, Ordering::Release);
                }
            }
        });
        let mut times = times.into_inner().unwrap_or_else(PoisonError::into_inner);
        times.sort();
        answered.load(Ordering::Relaxed).then(|| times.get(times.len() / 2).copied()).flatten()
    }

    /// Threads that compute a job: the caller's and the workers.
    pub(crate) fn current_num_threads(&self) -> usize {
        self.threads
    }

    /// Calls `work(part)` for every part in `0..parts`, on this thread and
    /// the workers, each part once, and returns when all are done. A panic
    /// in a part is raised here once every part has finished.
    pub(crate) fn run(&self, parts: usize, work: &(dyn Fn(usize) + Sync)) {
        let parts = parts.min(u32::MAX as usize);
        if parts <= 1 || self.claimed.swap(true, Ordering::Acquire) {
            return (0..parts).for_each(work);
        }
        let job: Job<'_> = work;
        self.finished.store(0, Ordering::Relaxed);
        self.panicked.store(false, Ordering::Relaxed);
        self.parts.store(parts, Ordering::Relaxed);
        let cpu = current_cpu();
        self.caller_cpu.store(cpu, Ordering::Relaxed);
        self.job.store((&raw const job).cast_mut().cast(), Ordering::Relaxed);
        let generation = (self.next.load(Ordering::Relaxed) >> 32).wrapping_add(1) & u64::from(u32::MAX);
        // Part 0 is this thread's, claimed as the job is published: with as
        // many parts as threads, each part then goes to the same thread job
        // after job (block i of a product, then block i of the update of
        // what it computed), and its data stays in that core's cache.
        // SeqCst with the workers' count of sleepers: either they see the
        // job before parking or this sees them parked and wakes them.
        self.next.store(generation << 32 | 1, Ordering::SeqCst);
        if self.sleeping.load(Ordering::SeqCst) > 0 {
            self.workers.get().into_iter().flatten().for_each(Thread::unpark);
        }
        self.compute(job, 0, false);
        self.help(generation, false);
        // The workers read `job` until the last part is done. A worker on
        // this thread's CPU only computes while this one yields.
        let mut waiting = Waiting::new();
        while self.finished.load(Ordering::Acquire) < parts {
            if same_cpu(self.worker_cpu.load(Ordering::Relaxed), cpu) {
                std::thread::yield_now();
            }
            waiting.pause();
        }
        let panicked = self.panicked.load(Ordering::Relaxed);
        self.claimed.store(false, Ordering::Release);
        assert!(!panicked, "a kernel panicked on one of the session's worker threads");
    }

    /// Calls `work(i, part)` for each of `parts`, each part on one of the
    /// threads, as [`Pool::run`].
    pub(crate) fn run_each<P: Send>(&self, parts: impl IntoIterator<Item = P>, work: impl Fn(usize, P) + Sync) {
        let parts: SmallVec<[Mutex<Option<P>>; 8]> = parts.into_iter().map(|p| Mutex::new(Some(p))).collect();
        self.run(parts.len(), &|i| {
            if let Some(part) = parts[i].lock().unwrap_or_else(PoisonError::into_inner).take() {
                work(i, part);
            }
        });
    }

    /// Claims and computes parts of job `generation` until none is left.
    fn help(&self, generation: u64, worker: bool) {
        loop {
            let word = self.next.load(Ordering::Acquire);
            let part = (word & u64::from(u32::MAX)) as usize;
            if word >> 32 != generation || part >= self.parts.load(Ordering::Acquire) {
                return;
            }
            let job = self.job.load(Ordering::Acquire);
            if self.next.compare_exchange_weak(word, word + 1, Ordering::AcqRel, Ordering::Relaxed).is_err() {
                continue;
            }
            // SAFETY: the part was unclaimed, so the caller of this
            // generation is still waiting for it and `job` (read after the
            // generation was published) points at its live `Job`.
            let job = unsafe { *job.cast::<Job<'_>>() };
            self.compute(job, part, worker);
        }
    }

    /// Computes `part` of `job` on this thread and counts it done.
    fn compute(&self, job: Job<'_>, part: usize, worker: bool) {
        if worker {
            self.worker_cpu.store(current_cpu(), Ordering::Relaxed);
        }
        if catch_unwind(AssertUnwindSafe(|| job(part))).is_err() {
            self.panicked.store(true, Ordering::Relaxed);
        }
        self.finished.fetch_add(1, Ordering::Release);
    }

    /// A worker's life: wait for a job (spinning, then parked), help with it.
    fn serve(&'static self) {
        // Workers keep TF's mode for their whole life: they only run kernels.
        std::mem::forget(FlushDenormals::new());
        let mut seen = 0;
        loop {
            let generation = self.wait_after(seen);
            self.help(generation, true);
            seen = generation;
        }
    }

    /// The generation of the next job after `seen`.
    fn wait_after(&self, seen: u64) -> u64 {
        let current = || self.next.load(Ordering::Acquire) >> 32;
        let mut waiting = Waiting::new();
        // Spinning on the CPU of the thread that will hand over the next job
        // would take half its time: park instead, and be woken where the
        // system finds room.
        while current() == seen && waiting.pause() <= SPIN {
            if waiting.spins.is_multiple_of(64) && same_cpu(current_cpu(), self.caller_cpu.load(Ordering::Relaxed)) {
                break;
            }
        }
        if current() != seen {
            return current();
        }
        self.sleeping.fetch_add(1, Ordering::SeqCst);
        while self.next.load(Ordering::SeqCst) >> 32 == seen {
            std::thread::park();
        }
        self.sleeping.fetch_sub(1, Ordering::SeqCst);
        current()
    }
}

/// A wait for another thread: spinning, and yielding the CPU every few
/// microseconds, so that a thread it waits for that shares its CPU (a busy
/// machine, more threads than cores) gets to run.
struct Waiting {
    start: Instant,
    yielded: Duration,
    spins: u32,
}

impl Waiting {
    /// Time between yields.
    const YIELD_EVERY: Duration = Duration::from_micros(20);

    fn new() -> Waiting {
        Waiting { start: Instant::now(), yielded: Duration::ZERO, spins: 0 }
    }

    /// One pause of the wait; returns how long it has lasted (measured
    /// every 32 pauses).
    fn pause(&mut self) -> Duration {
        std::hint::spin_loop();
        self.spins = self.spins.wrapping_add(1);
        if !self.spins.is_multiple_of(32) {
            return self.yielded;
        }
        let waited = self.start.elapsed();
        if waited >= self.yielded + Self::YIELD_EVERY {
            std::thread::yield_now();
            self.yielded = waited;
        }
        waited
    }
}

/// The running session's pool, when `work` (say, multiply-adds) reaches
/// `threshold`: below it, handing work to another thread costs more than it
/// saves. When the pool's cores are far apart ([`Pool::far`]), only work
/// [`FAR_FACTOR`] times larger is shared.
pub(crate) fn pool_for(work: usize, threshold: usize) -> Option<&'static Pool> {
    // Small work (most ops of a run) decides without a clock read.
    if work < threshold {
        return None;
    }
    let pool = POOL.with(Cell::get)?;
    (work >= threshold.saturating_mul(FAR_FACTOR) || !pool.far()).then_some(pool)
}

/// How much larger work must be to be shared between cores far apart.
const FAR_FACTOR: usize = 64;
/// A round trip of a cache line between the caller and a worker above which
/// their cores count as far apart. On this VM the host sometimes runs the two
/// virtual CPUs on cores whose round trip is 300-400 ns instead of 60-190:
/// every value one thread writes and the other reads then crosses between
/// them slowly, and the Adam step of the MLP at batch 32 took 1000-1600 µs
/// on two threads against 520 on one.
const FAR_ROUND_TRIP: Duration = Duration::from_nanos(250);
/// How often the round trip is measured again (the host moves the CPUs).
const MEASURE_EVERY: Duration = Duration::from_secs(1);
/// Round trips per measurement.
const ROUND_TRIPS: u32 = 200;

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
    fn every_part_runs_once_and_a_busy_pool_computes_on_the_caller() {
        let p = pool(2).expect("two threads start");
        for parts in [0, 1, 2, 3, 100] {
            let counts: Vec<AtomicUsize> = (0..parts).map(|_| AtomicUsize::new(0)).collect();
            p.run(parts, &|i| {
                counts[i].fetch_add(1, Ordering::Relaxed);
                // A job inside a job runs on this thread.
                let inner = AtomicUsize::new(0);
                p.run(3, &|_| {
                    inner.fetch_add(1, Ordering::Relaxed);
                });
                assert_eq!(inner.load(Ordering::Relaxed), 3);
            });
            assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 1), "{parts} parts");
        }
        // From many threads at once, with the workers parked in between.
        std::thread::scope(|s| {
            for t in 0..4 {
                s.spawn(move || {
                    for round in 0..50 {
                        let sum = AtomicUsize::new(0);
                        p.run(7, &|i| {
                            sum.fetch_add(i, Ordering::Relaxed);
                        });
                        assert_eq!(sum.load(Ordering::Relaxed), 21);
                        if (t + round) % 10 == 0 {
                            std::thread::sleep(SPIN * 2);
                        }
                    }
                });
            }
        });
    }

    #[test]
    fn cores_far_apart_share_only_larger_work() {
        let p = pool(2).expect("two threads start");
        // A measure ends within its patience whether or not the worker
        // answers (on a loaded machine, or with other tests using the pool,
        // it may not); an answer is a plausible round trip.
        for _ in 0..20 {
            let start = Instant::now();
            let trip = p.round_trip();
            assert!(start.elapsed() < Duration::from_millis(100), "a measure that did not give up");
            assert!(trip.is_none_or(|t| t > Duration::ZERO && t < Duration::from_millis(1)), "{trip:?}");
        }
        let _using = Using::new(Some(p));
        // As measured just now: no new measure for a second.
        let now = u64::try_from(p.born.elapsed().as_millis()).unwrap_or(u64::MAX).max(1);
        p.measured.store(now, Ordering::Relaxed);
        p.far.store(true, Ordering::Relaxed);
        assert!(pool_for(100, 100).is_none());
        assert!(pool_for(100 * FAR_FACTOR, 100).is_some());
        p.far.store(false, Ordering::Relaxed);
        assert!(pool_for(100, 100).is_some());
    }

    #[test]
    fn a_panicking_part_is_raised_by_the_caller_and_the_pool_still_works() {
        let p = pool(2).expect("two threads start");
        let caught = catch_unwind(AssertUnwindSafe(|| p.run(8, &|i| assert!(i != 5, "part 5 fails"))));
        assert!(caught.is_err());
        let sum = AtomicUsize::new(0);
        p.run(8, &|i| {
            sum.fetch_add(i, Ordering::Relaxed);
        });
        assert_eq!(sum.load(Ordering::Relaxed), 28);
    }

    #[test]
    fn a_pool_is_named_for_kernels_only_while_in_use() {
        let p = pool(2);
        assert!(pool_for(usize::MAX, 0).is_none());
        {
            let _using = Using::new(p);
            assert!(pool_for(10, 100).is_none(), "small work stays on its thread");
            // Work large enough even for cores far apart (the measured state).
            assert!(pool_for(100 * FAR_FACTOR, 100).is_some());
        }
        assert!(pool_for(usize::MAX, 0).is_none());
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn workers_flush_denormals() {
        // Three threads: a pool no other test keeps busy.
        let p = pool(3).expect("three threads start");
        let tiny = std::hint::black_box(f32::MIN_POSITIVE);
        // Parts slow enough that the worker takes some; this thread does
        // not flush (a session's would), so only the worker's parts are 0.
        let halves: Vec<Mutex<(f32, bool)>> = (0..16).map(|_| Mutex::new((1.0, false))).collect();
        p.run(16, &|i| {
            std::thread::sleep(Duration::from_millis(1));
            let on_worker = std::thread::current().name().is_some_and(|n| n.starts_with("scopeflow-"));
            *halves[i].lock().unwrap() = (std::hint::black_box(tiny) / 2.0, on_worker);
        });
        let on_workers: Vec<f32> = halves.iter().map(|h| *h.lock().unwrap()).filter(|h| h.1).map(|h| h.0).collect();
        assert!(!on_workers.is_empty() && on_workers.iter().all(|&h| h == 0.0), "{on_workers:?}");
    }
}
