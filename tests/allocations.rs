//! Allocations of a plan's later runs, counted by a counting global allocator.
//!
//! A run of a signature that ran before should allocate nothing it could
//! have kept from the first run.

use scopeflow::prelude::*;
use scopeflow::{Operation, Optimizer, Session, SessionOptions, bias_add, placeholder};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts this thread's allocations while `COUNTING` is set.
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; the counter
// is a thread-local Cell, touched without allocating.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNTING.try_with(|c| {
            if c.get() {
                COUNT.with(|n| n.set(n.get() + 1));
            }
        });
        // SAFETY: the caller's layout, handed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = COUNTING.try_with(|c| {
            if c.get() {
                COUNT.with(|n| n.set(n.get() + 1));
            }
        });
        // SAFETY: as for `alloc` and `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// How many allocations `f` makes on this thread.
fn allocations<R>(f: impl FnOnce() -> R) -> (usize, R) {
    COUNT.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    let r = f();
    COUNTING.with(|c| c.set(false));
    (COUNT.with(Cell::get), r)
}

fn one_thread(graph: &Graph) -> Session {
    Session::with_options(graph, SessionOptions::default().num_threads(1))
}

/// Runs `fetches` (and `targets`) a few times, then counts the allocations of one more run.
fn later_run_allocations(
    session: &Session,
    fetches: &[&Tensor],
    feeds: &[(&Tensor, &Value)],
    targets: &[&Operation],
) -> Result<usize> {
    for _ in 0..3 {
        session.run_with_targets(fetches, feeds, targets)?;
    }
    let (count, out) = allocations(|| session.run_with_targets(fetches, feeds, targets));
    assert_eq!(out?.len(), fetches.len());
    Ok(count)
}

#[test]
fn a_later_run_allocates_only_what_it_returns() -> Result<()> {
    // Elementwise ops on a feed and variables: the returned Vec and the
    // fetched value are the only allocations; every intermediate reuses a
    // buffer of an earlier run, or its input's.
    let graph = Graph::with_seed(1);
    let _g = graph.as_default();
    let x = placeholder(DType::F32, Shape::from_dims([None, Some(64)]))?;
    let w = get_variable("w", [64]).get()?;
    let b = get_variable("b", [64]).initializer(Init::Zeros).get()?;
    let h = relu(&add(&mul(&x, &w)?, &b)?)?;
    let y = scopeflow::tanh(&sub(&h, &mul(&h, &w)?)?)?;
    let feed = Value::from(ndarray::Array2::<f32>::ones((8, 64)));
    let count = later_run_allocations(&one_thread(&graph), &[&y], &[(&x, &feed)], &[])?;
    assert_eq!(count, 2, "the returned Vec and the fetched value only");
    Ok(())
}

#[test]
fn a_later_run_of_products_allocates_only_gemms_packing_buffers_besides() -> Result<()> {
    // Not zero: the `gemm` crate allocates its packing buffers on each call
    // (at most two per product); the plan's own work allocates nothing.
    let graph = Graph::with_seed(1);
    let _g = graph.as_default();
    let x = placeholder(DType::F32, Shape::from_dims([None, Some(20)]))?;
    let mut h = x.clone();
    for (i, units) in [16, 8].into_iter().enumerate() {
        let _s = variable_scope(format!("layer{i}").as_str()).enter()?;
        let w = get_variable("kernel", [h.dim(1)?, units]).get()?;
        let b = get_variable("bias", [units]).initializer(Init::Zeros).get()?;
        h = relu(&bias_add(&matmul(&h, &w)?, &b)?)?;
    }
    let feed = Value::from(ndarray::Array2::<f32>::ones((4, 20)));
    let count = later_run_allocations(&one_thread(&graph), &[&h], &[(&x, &feed)], &[])?;
    assert!(count <= 2 + 2 * 2, "a later run allocated {count} times");
    Ok(())
}

#[test]
fn a_later_training_step_allocates_no_more_than_its_shape_arithmetic_needs() -> Result<()> {
    let graph = Graph::with_seed(1);
    let _g = graph.as_default();
    let x = placeholder(DType::F32, Shape::from_dims([None, Some(20)]))?;
    let labels = placeholder(DType::I32, Shape::from_dims([None]))?;
    let w = get_variable("w", [20, 3]).get()?;
    let b = get_variable("b", [3]).initializer(Init::Zeros).get()?;
    let logits = bias_add(&matmul(&x, &w)?, &b)?;
    let loss = reduce_mean(&scopeflow::sparse_softmax_cross_entropy_with_logits(&labels, &logits)?, None, false)?;
    let train = scopeflow::AdamOptimizer::new(0.01).minimize(&loss, None, None)?;
    let (fx, fy) = (Value::from(ndarray::Array2::<f32>::ones((4, 20))), Value::from(vec![0i32, 1, 2, 0]));
    let count = later_run_allocations(&one_thread(&graph), &[&loss], &[(&x, &fx), (&labels, &fy)], &[&train])?;
    // Not zero, and why: with the batch unknown until run, the gradient of
    // the mean computes its shapes at run time (Shape, Prod, Gather, Tile,
    // Reshape, Fill, DynamicStitch...), and those kernels still allocate
    // their few-element outputs (about 20 here); `gemm` allocates its
    // packing buffers (two products); the loss and the returned Vec leave.
    // 62 before the plan kept its slots and kernels took spare buffers.
    assert!(count <= 30, "a later training step allocated {count} times (30 expected)");
    Ok(())
}

#[test]
fn entering_a_scope_again_allocates_nothing() -> Result<()> {
    // After a few entries (each of `layer` takes a new name scope `layer_N`,
    // each default-named one a new `dense_N`), an entry and exit reuses what
    // the earlier ones made: names generated in a row have no entry of their
    // own, and the scope objects and name scope strings nobody captured are
    // filled in again.
    let graph = Graph::new();
    let _g = graph.as_default();
    let _outer = variable_scope("outer").enter()?;
    let enter_exit = || -> Result<()> {
        drop(variable_scope("layer").enter()?);
        drop(variable_scope(None).default_name("dense").enter()?);
        drop(name_scope("n").enter()?);
        let block = variable_scope("block").enter()?;
        drop(variable_scope("inner").enter()?);
        block.exit()
    };
    for _ in 0..20 {
        enter_exit()?;
    }
    let (count, entered) = allocations(|| (0..50).try_for_each(|_| enter_exit()));
    entered?;
    // `block_N/inner` is a new name each time, which the graph stores
    // (TensorFlow's names in use); nothing else is allocated.
    assert!(count <= 50 + 4, "50 rounds of entries allocated {count} times");
    let (count, entered) = allocations(|| {
        (0..50).try_for_each(|_| {
            drop(variable_scope("layer").enter()?);
            drop(variable_scope(None).default_name("dense").enter()?);
            name_scope("n").enter().map(drop)
        })
    });
    entered?;
    assert_eq!(count, 0, "50 rounds of entries allocated {count} times");
    // The names are TensorFlow's all the same.
    let s = variable_scope("layer").enter()?;
    assert_eq!((s.name(), s.original_name_scope()), ("outer/layer", "outer/layer_120/"));
    drop(s);
    let d = variable_scope(None).default_name("dense").enter()?;
    assert_eq!((d.name(), d.original_name_scope()), ("outer/dense_120", "outer/dense_120/"));
    Ok(())
}
