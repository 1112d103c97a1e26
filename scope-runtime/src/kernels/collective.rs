//! Kernels computed with the other processes of an MPI job: the communicator
//! they share, the check that every rank holds the same tensors, and the
//! averaging of gradients fused into one buffer per dtype (as Horovod does).

use crate::base::{DType, Error, Result, Value};
use crate::graph::{Arg, Args, Collective};
use mpi::collective::SystemOperation;
use mpi::datatype::{Equivalence, PartitionMut};
use mpi::environment::{Threading, Universe};
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::{CommunicatorCollectives, Root};
use ndarray::{ArrayD, IxDyn};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

/// Variables a launcher sets in the processes it starts (Open MPI's
/// `mpirun`, PMIx launchers such as Slurm's `srun --mpi=pmix`, MPICH's
/// Hydra). Without one of them a process is a job of one and MPI is never
/// started: `MPI_Init` of a lone process would start a daemon for nothing.
const LAUNCHER_VARIABLES: &[&str] = &["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"];

/// The largest number of elements one MPI call moves (its counts are `int`).
const MAX_COUNT: usize = 1 << 30;

/// The processes of the job, as this one sees them.
#[derive(Debug)]
pub(crate) struct Comm {
    rank: usize,
    size: usize,
    /// `None` for a process no launcher started.
    mpi: Option<Mpi>,
    /// What the averaging of gradients took so far.
    stats: Stats,
}

/// MPI, started by this process. Fields drop in order: the communicator
/// before the universe, whose drop finalizes MPI.
struct Mpi {
    /// Held around every MPI call: MPI runs at `MPI_THREAD_SERIALIZED`.
    lock: Mutex<()>,
    world: SimpleCommunicator,
    _universe: Universe,
}

impl std::fmt::Debug for Mpi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mpi")
    }
}

// SAFETY: MPI was initialized at `MPI_THREAD_SERIALIZED` or above (checked in
// `Comm::world`), which lets any thread call MPI as long as no two do at
// once; every call below is made holding `lock`.
unsafe impl Send for Mpi {}
// SAFETY: as for `Send`: shared access only ever calls MPI under `lock`.
unsafe impl Sync for Mpi {}

/// Counters of the gradient averaging, for measurements.
#[derive(Debug, Default)]
struct Stats {
    runs: AtomicU64,
    bytes: AtomicU64,
    nanos: AtomicU64,
    last_nanos: AtomicU64,
}

/// The process's one communicator, while a handle to it lives.
static WORLD: Mutex<Weak<Comm>> = Mutex::new(Weak::new());

impl Comm {
    /// The job's communicator: MPI started once per process when a launcher
    /// started it, else a job of one process.
    pub(crate) fn world() -> Result<Arc<Comm>> {
        let mut world = WORLD.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(comm) = world.upgrade() {
            return Ok(comm);
        }
        let launched = LAUNCHER_VARIABLES.iter().any(|v| std::env::var_os(v).is_some());
        let comm = if launched {
            let Some((universe, threading)) = mpi::initialize_with_threading(Threading::Serialized) else {
                return Err(Error::Mpi {
                    problem: "MPI was started and finalized already in this process (keep the first \
                              `World` alive for the whole program: dropping it finalizes MPI)"
                        .into(),
                });
            };
            if threading < Threading::Serialized {
                return Err(Error::Mpi {
                    problem: format!(
                        "this MPI offers threads at level {threading:?}; scopeflow needs MPI_THREAD_SERIALIZED \
                         (use an MPI built with thread support, such as Debian's Open MPI)"
                    ),
                });
            }
            let world = universe.world();
            let (rank, size) = (world.rank() as usize, world.size() as usize);
            let mpi = Mpi { lock: Mutex::new(()), world, _universe: universe };
            Comm { rank, size, mpi: Some(mpi), stats: Stats::default() }
        } else {
            Comm { rank: 0, size: 1, mpi: None, stats: Stats::default() }
        };
        let comm = Arc::new(comm);
        *world = Arc::downgrade(&comm);
        Ok(comm)
    }

    pub(crate) fn rank(&self) -> usize {
        self.rank
    }

    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Runs `f` on the MPI communicator, alone; `None` in a job of one.
    fn with<R>(&self, f: impl FnOnce(&SimpleCommunicator) -> R) -> Option<R> {
        let mpi = self.mpi.as_ref()?;
        let _alone = mpi.lock.lock().unwrap_or_else(|e| e.into_inner());
        Some(f(&mpi.world))
    }

    /// Every rank's `x`, by rank.
    pub(crate) fn all_gather_u64(&self, x: u64) -> Vec<u64> {
        self.with(|world| {
            let mut all = vec![0u64; self.size];
            world.all_gather_into(&x, &mut all[..]);
            all
        })
        .unwrap_or_else(|| vec![x])
    }

    /// Every rank's `bytes`, by rank; each cut to its share of the 2 GiB an
    /// MPI gather counts in `int`s (descriptions of a graph's tensors, far
    /// shorter), so that the counts and their offsets fit.
    pub(crate) fn all_gather_bytes(&self, bytes: &[u8]) -> Vec<Vec<u8>> {
        let bytes = &bytes[..bytes.len().min(i32::MAX as usize / self.size.max(1))];
        let lengths = self.all_gather_u64(bytes.len() as u64);
        self.with(|world| {
            // Every rank cut its bytes as above: the counts and their sum fit in an i32.
            let counts: Vec<i32> = lengths.iter().map(|&n| n as i32).collect();
            let displs: Vec<i32> = counts.iter().scan(0, |at, &n| Some(std::mem::replace(at, *at + n))).collect();
            let mut all = vec![0u8; counts.iter().map(|&n| n as usize).sum()];
            world.all_gather_varcount_into(bytes, &mut PartitionMut::new(&mut all[..], &counts[..], &displs[..]));
            let mut parts = Vec::with_capacity(self.size);
            let mut at = 0;
            for &n in &lengths {
                parts.push(all[at..at + n as usize].to_vec());
                at += n as usize;
            }
            parts
        })
        .unwrap_or_else(|| vec![bytes.to_vec()])
    }

    /// Sums `values` over the ranks, in place: every rank gets the same sums.
    pub(crate) fn all_reduce_sum<T: Equivalence + Copy>(&self, values: &mut [T]) {
        let mine = values.to_vec();
        self.all_reduce_sum_into(&mine, values);
    }

    /// `sums` = the sum of every rank's `mine` (of one length on every rank).
    pub(crate) fn all_reduce_sum_into<T: Equivalence + Copy>(&self, mine: &[T], sums: &mut [T]) {
        let done = self.with(|world| {
            for (send, receive) in mine.chunks(MAX_COUNT).zip(sums.chunks_mut(MAX_COUNT)) {
                world.all_reduce_into(send, receive, SystemOperation::sum());
            }
        });
        if done.is_none() {
            sums.copy_from_slice(mine);
        }
    }

    /// Rank 0's `bytes` on every rank (the others' are replaced).
    pub(crate) fn broadcast_bytes(&self, bytes: &mut Vec<u8>) {
        self.with(|world| {
            let root = world.process_at_rank(0);
            let mut len = bytes.len() as u64;
            root.broadcast_into(&mut len);
            bytes.resize(len as usize, 0);
            for chunk in bytes.chunks_mut(MAX_COUNT) {
                root.broadcast_into(chunk);
            }
        });
    }

    /// Waits until every rank reaches it.
    pub(crate) fn barrier(&self) {
        self.with(|world| world.barrier());
    }

    /// How many averagings ran, the bytes they averaged, their total and
    /// their last wall time in nanoseconds.
    pub(crate) fn stats(&self) -> [u64; 4] {
        let s = &self.stats;
        [&s.runs, &s.bytes, &s.nanos, &s.last_nanos].map(|a| a.load(Ordering::Relaxed))
    }
}

/// A tensor as every rank must hold it alike: its name, dtype and shape.
pub(crate) struct Entry<'a> {
    pub(crate) name: &'a str,
    pub(crate) dtype: DType,
    pub(crate) shape: &'a [usize],
}

/// Checks that every rank holds the same `entries` (names, dtypes, shapes,
/// in order) and the same `setting`: one 8-byte allgather of a fingerprint;
/// only when they differ, the descriptions themselves, to name the first
/// tensor that differs and the ranks on each side. Every rank sees the same
/// gathered data, so all return the same error and none waits for another.
pub(crate) fn agree(comm: &Comm, what: &str, entries: &[Entry<'_>], setting: u64) -> Result<()> {
    if comm.size == 1 {
        return Ok(());
    }
    let mut mine = setting.to_le_bytes().to_vec();
    for e in entries {
        let dims: Vec<String> = e.shape.iter().map(usize::to_string).collect();
        mine.extend_from_slice(format!("{}\t{}\t{}\n", e.name, e.dtype.name(), dims.join(",")).as_bytes());
    }
    let prints = comm.all_gather_u64(fnv1a(&mine));
    if prints.iter().all(|&p| p == prints[0]) {
        return Ok(());
    }
    let all = comm.all_gather_bytes(&mine);
    Err(mismatch(what, &all))
}

/// What `agree` gathered from one rank: its setting and its tensors' names and descriptions.
type Described<'a> = (u64, Vec<(&'a str, String)>);

fn parse(bytes: &[u8]) -> Described<'_> {
    let (setting, rest) = bytes.split_at(8.min(bytes.len()));
    let setting = u64::from_le_bytes(setting.try_into().unwrap_or([0; 8]));
    let text = std::str::from_utf8(rest).unwrap_or("");
    let entries = text
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, '\t');
            let (name, dtype, dims) = (parts.next()?, parts.next()?, parts.next()?);
            // As TF prints shapes: `(3, 2)`, `(8,)`, `()`.
            let dims = if dims.contains(',') || dims.is_empty() { dims.replace(',', ", ") } else { format!("{dims},") };
            Some((name, format!("{dtype} of shape ({dims})")))
        })
        .collect();
    (setting, entries)
}

/// The error for ranks whose descriptions (`agree`'s bytes, by rank) differ.
fn mismatch(what: &str, all: &[Vec<u8>]) -> Error {
    let ranks: Vec<Described<'_>> = all.iter().map(|b| parse(b)).collect();
    // The first name, in order, that some rank lacks or describes otherwise.
    let mut names: Vec<&str> = ranks.iter().flat_map(|(_, e)| e.iter().map(|(n, _)| *n)).collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let seen: Vec<String> = ranks
            .iter()
            .map(|(_, e)| e.iter().find(|(n, _)| *n == name).map_or_else(|| "missing".to_owned(), |(_, d)| d.clone()))
            .collect();
        if seen.iter().any(|s| *s != seen[0]) {
            return Error::RankMismatch { what: what.to_owned(), name: name.to_owned(), found: group(&seen) };
        }
    }
    // Same tensors in another order cannot happen (both sides sort by name);
    // what is left is the setting.
    let settings: Vec<String> = ranks.iter().map(|(s, _)| s.to_string()).collect();
    Error::RankMismatch { what: what.to_owned(), name: "fusion threshold (bytes)".to_owned(), found: group(&settings) }
}

/// Each distinct value with the ranks that hold it, in order of first rank.
fn group(by_rank: &[String]) -> Vec<(String, Vec<usize>)> {
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for (rank, v) in by_rank.iter().enumerate() {
        match groups.iter_mut().find(|(g, _)| g == v) {
            Some((_, ranks)) => ranks.push(rank),
            None => groups.push((v.clone(), vec![rank])),
        }
    }
    groups
}

/// FNV-1a: a hash every process computes alike (std's hashers are seeded per process).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The kernel of `MpiAllreduce`: each input replaced by its mean over the
/// ranks. Inputs come sorted by the name of the variable they belong to;
/// consecutive inputs of one dtype share a buffer of at most `fusion_bytes`
/// (a larger one goes alone), so a model's small gradients cost one MPI call.
#[derive(Debug)]
pub(crate) struct Allreduce {
    comm: Arc<Comm>,
    /// The name each input is known by on every rank (its variable's).
    names: Box<[String]>,
    fusion_bytes: usize,
}

impl Allreduce {
    pub(crate) fn new(comm: Arc<Comm>, names: Vec<String>, fusion_bytes: usize) -> Allreduce {
        Allreduce { comm, names: names.into(), fusion_bytes }
    }
}

impl Collective for Allreduce {
    fn compute(&self, op: &str, inputs: Args<'_>) -> Result<Vec<Value>> {
        let started = Instant::now();
        let values: Vec<Value> = inputs.into_iter().map(Arg::into_value).collect();
        let entries: Vec<Entry<'_>> = self
            .names
            .iter()
            .zip(&values)
            .map(|(name, v)| Entry { name, dtype: v.dtype(), shape: v.shape() })
            .collect();
        agree(&self.comm, &format!("the gradients `{op}` averages"), &entries, self.fusion_bytes as u64)?;
        let bytes: usize = values.iter().map(|v| v.len() * v.dtype().size()).sum();
        let values = if self.comm.size == 1 { values } else { self.average(values) };
        let nanos = started.elapsed().as_nanos() as u64;
        let s = &self.comm.stats;
        s.runs.fetch_add(1, Ordering::Relaxed);
        s.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        s.nanos.fetch_add(nanos, Ordering::Relaxed);
        s.last_nanos.store(nanos, Ordering::Relaxed);
        Ok(values)
    }
}

impl Allreduce {
    /// Each value's mean over the ranks: per dtype, in buckets of at most
    /// `fusion_bytes`, one summing allreduce each, then a division.
    fn average(&self, mut values: Vec<Value>) -> Vec<Value> {
        for dtype in [DType::F32, DType::F64] {
            let of_dtype: Vec<usize> = (0..values.len()).filter(|&i| values[i].dtype() == dtype).collect();
            let mut bucket: Vec<usize> = Vec::new();
            let mut bucket_bytes = 0;
            for &i in &of_dtype {
                let bytes = values[i].len() * dtype.size();
                if !bucket.is_empty() && bucket_bytes + bytes > self.fusion_bytes {
                    self.reduce_bucket(&mut values, &bucket);
                    bucket.clear();
                    bucket_bytes = 0;
                }
                bucket.push(i);
                bucket_bytes += bytes;
            }
            if !bucket.is_empty() {
                self.reduce_bucket(&mut values, &bucket);
            }
        }
        values
    }

    /// Averages `values[i]` for the `i` of `bucket` (all of one float dtype) in one allreduce.
    fn reduce_bucket(&self, values: &mut [Value], bucket: &[usize]) {
        match values[bucket[0]].dtype() {
            DType::F32 => self.reduce_typed::<f32>(values, bucket, |v| match v {
                Value::F32(a) => Some(a),
                _ => None,
            }),
            DType::F64 => self.reduce_typed::<f64>(values, bucket, |v| match v {
                Value::F64(a) => Some(a),
                _ => None,
            }),
            _ => {}
        }
    }

    /// Packs the bucket's arrays into one buffer, sums it over the ranks,
    /// and writes each mean back into its array.
    fn reduce_typed<T>(&self, values: &mut [Value], bucket: &[usize], array: fn(&mut Value) -> Option<&mut ArrayD<T>>)
    where
        T: Equivalence + Copy + num_like::Float,
    {
        let total = bucket.iter().map(|&i| values[i].len()).sum();
        let mut mine: Vec<T> = Vec::with_capacity(total);
        for &i in bucket {
            if let Some(a) = array(&mut values[i]) {
                match a.as_slice() {
                    Some(contiguous) => mine.extend_from_slice(contiguous),
                    None => mine.extend(a.iter().copied()),
                }
            }
        }
        let mut sums = mine.clone();
        self.comm.all_reduce_sum_into(&mine, &mut sums);
        let scale = T::recip_of(self.comm.size);
        let mut at = 0;
        for &i in bucket {
            if let Some(a) = array(&mut values[i]) {
                let n = a.len();
                let means = sums[at..at + n].iter().map(|&s| s.times(scale));
                match a.as_slice_mut() {
                    Some(contiguous) => contiguous.iter_mut().zip(means).for_each(|(x, m)| *x = m),
                    None => a.iter_mut().zip(means).for_each(|(x, m)| *x = m),
                }
                at += n;
            }
        }
    }
}

/// The float arithmetic the averaging needs.
mod num_like {
    pub(crate) trait Float {
        /// `1 / n`.
        fn recip_of(n: usize) -> Self;
        fn times(self, other: Self) -> Self;
    }

    impl Float for f32 {
        fn recip_of(n: usize) -> f32 {
            1.0 / n as f32
        }
        fn times(self, other: f32) -> f32 {
            self * other
        }
    }

    impl Float for f64 {
        fn recip_of(n: usize) -> f64 {
            1.0 / n as f64
        }
        fn times(self, other: f64) -> f64 {
            self * other
        }
    }
}

/// A value's elements as bytes, in row-major order, little-endian (bools as one byte).
pub(crate) fn value_bytes(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::F32(a) => a.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        Value::F64(a) => a.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        Value::I32(a) => a.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        Value::I64(a) => a.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        Value::Bool(a) => a.iter().for_each(|&x| out.push(u8::from(x))),
    }
}

/// The value of `dtype` and `shape` that [`value_bytes`] wrote at the start
/// of `bytes`, and how many bytes it took; `None` when `bytes` is too short.
pub(crate) fn value_from_bytes(dtype: DType, shape: &[usize], bytes: &[u8]) -> Option<(Value, usize)> {
    let n: usize = shape.iter().product();
    let size = if dtype == DType::Bool { 1 } else { dtype.size() };
    let used = n.checked_mul(size)?;
    let data = bytes.get(..used)?;
    macro_rules! read {
        ($t:ty, $variant:ident) => {{
            let xs: Vec<$t> =
                data.chunks_exact(size).map(|c| <$t>::from_le_bytes(c.try_into().unwrap_or_default())).collect();
            Value::$variant(ArrayD::from_shape_vec(IxDyn(shape), xs).ok()?)
        }};
    }
    let value = match dtype {
        DType::F32 => read!(f32, F32),
        DType::F64 => read!(f64, F64),
        DType::I32 => read!(i32, I32),
        DType::I64 => read!(i64, I64),
        DType::Bool => Value::Bool(ArrayD::from_shape_vec(IxDyn(shape), data.iter().map(|&b| b != 0).collect()).ok()?),
    };
    Some((value, used))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_bytes() {
        let v = Value::from(ndarray::array![[1.5f32, -2.0], [3.25, 0.0]]);
        let mut bytes = Vec::new();
        value_bytes(&v, &mut bytes);
        assert_eq!(value_from_bytes(DType::F32, &[2, 2], &bytes), Some((v, 16)));
        assert_eq!(value_from_bytes(DType::F32, &[2, 2], &bytes[..15]), None);
    }

    #[test]
    fn a_mismatch_names_the_first_differing_tensor_and_the_ranks() {
        let describe = |setting: u64, lines: &str| {
            let mut b = setting.to_le_bytes().to_vec();
            b.extend_from_slice(lines.as_bytes());
            b
        };
        let all = [
            describe(64, "a\tfloat32\t2\nw\tfloat32\t3,3\n"),
            describe(64, "a\tfloat32\t2\nw\tfloat32\t3,2\n"),
            describe(64, "a\tfloat32\t2\nw\tfloat32\t3,3\n"),
        ];
        let e = mismatch("the gradients", &all).to_string();
        assert!(
            e.contains("`w` is float32 of shape (3, 3) on ranks 0 and 2, float32 of shape (3, 2) on rank 1"),
            "{e}"
        );
        let e = mismatch("the gradients", &[describe(1, ""), describe(2, "")]).to_string();
        assert!(e.contains("fusion threshold"), "{e}");
    }
}
