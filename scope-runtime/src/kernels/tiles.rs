//! The f32 matrix product in register tiles, reading `a` where it lies and
//! `b` in place when a single row tile reads it and its columns are
//! contiguous; otherwise a block of `b` is copied to contiguous rows (32 or
//! 16 columns at a time, so the copy is small next to the multiply-adds): a
//! block several row tiles read, by the first of them as it reads it, or
//! one of a transposed `b` (`dy wᵀ`, the gradient of a product), before. A
//! product of a few rows (a batch of 32 through a layer, a weight gradient
//! summed over 32 examples) then costs its multiply-adds and little else.
//! Each sum may be finished as it is stored (an [`Epilogue`]: the bias and
//! ReLU of a fused `MatMul` or `Conv2D` chain).
//!
//! A tile of output rows × columns keeps its sums in vector registers while
//! the rows of `b` stream past: each step loads a few vectors of one row of
//! `b` and multiplies them by one element of each of the tile's rows of `a`.
//! Every output is the sum `Σ_p a[i, p] b[p, j]` taken in order of `p` with
//! fused multiply-adds, so the result does not depend on how the output is
//! cut into tiles or across threads.
//!
//! Written with AVX-512 (tiles of 8 rows × 32 columns) and with AVX2 (6 ×
//! 16: its 16 registers hold 12 sums, 2 vectors of `b` and a splat; 4 × 24
//! spilled a sum to the stack), chosen at run time by the CPU's features.
//! [`product`] declines what it does not cover (no such CPU, a depth above
//! [`MAX_DEPTH`], an output whose columns are not contiguous, negative
//! strides): the caller then uses the `gemm` crate.

use ndarray::{ArrayView2, ArrayViewMut2};
use std::mem::MaybeUninit;

/// Most terms per output computed here: a tile's column block of `b`
/// (`k` rows of 32 columns, 128 bytes each) then still fits in a core's L2.
const MAX_DEPTH: usize = 4096;

/// What is done to each sum of a product before it is stored: a bias added
/// by column, then a ReLU, as the `BiasAdd` and `Relu` that TF1 code chains
/// after a `MatMul` or `Conv2D` would (the same additions and comparisons,
/// so the same values bit for bit), while the sums are still in registers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Epilogue<'a, T> {
    /// One value per output column, added to each row.
    pub(crate) bias: Option<&'a [T]>,
    /// Whether negative values (and NaN) then become 0: `max(x, 0)` as the `Relu` kernel takes it.
    pub(crate) relu: bool,
}

impl<'a, T> Epilogue<'a, T> {
    /// Nothing: the sums as they are.
    pub(crate) const NONE: Epilogue<'a, T> = Epilogue { bias: None, relu: false };

    /// A fused chain's epilogue: `bias` when it is a vector of `T`, then
    /// with `relu` a ReLU; `None` for a bias of another dtype or rank.
    pub(crate) fn of(bias: &'a crate::base::Value, relu: bool) -> Option<Epilogue<'a, T>>
    where
        T: crate::base::Element,
    {
        let bias = super::same::<T>(bias).ok().filter(|v| v.ndim() == 1)?.as_slice()?;
        Some(Epilogue { bias: Some(bias), relu })
    }

    /// Whether it leaves the sums as they are.
    pub(crate) fn is_none(&self) -> bool {
        self.bias.is_none() && !self.relu
    }

    /// The epilogue of the output columns `columns` (a block of a product
    /// split across threads), its bias as long as the block is wide.
    pub(crate) fn columns(self, columns: std::ops::Range<usize>) -> Epilogue<'a, T> {
        Epilogue { bias: self.bias.map(|b| &b[columns]), ..self }
    }
}

/// [`Epilogue`] as the tiles read it: the bias as a pointer to the tile's first column (null for none).
#[derive(Clone, Copy)]
struct Finish {
    bias: *const f32,
    relu: bool,
}

impl Finish {
    /// The finish of the columns `j..`.
    ///
    /// # Safety
    /// Column `j` is inside the bias, when there is one.
    #[inline(always)]
    unsafe fn at(self, j: usize) -> Finish {
        // SAFETY: by the caller.
        Finish { bias: if self.bias.is_null() { self.bias } else { unsafe { self.bias.add(j) } }, ..self }
    }
}

/// `out = a b` for f32 matrices, each sum finished by `epilogue`, when
/// `out`'s rows are contiguous and the CPU has AVX-512 or AVX2 with FMA.
/// Returns false (leaving `out` as it was) when it does not apply.
pub(crate) fn product(
    a: &ArrayView2<'_, f32>,
    b: &ArrayView2<'_, f32>,
    out: &mut ArrayViewMut2<'_, f32>,
    epilogue: Epilogue<'_, f32>,
) -> bool {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    debug_assert!(b.nrows() == k && out.dim() == (m, n));
    // Columns one element apart (or a single column).
    if k > MAX_DEPTH || !(out.strides()[1] == 1 || n == 1) || epilogue.bias.is_some_and(|b| b.len() != n) {
        return false;
    }
    if m == 0 || n == 0 {
        return true;
    }
    let non_negative = |strides: &[isize]| strides.iter().all(|&s| s >= 0);
    if !non_negative(a.strides()) || !non_negative(b.strides()) || !non_negative(out.strides()) {
        return false;
    }
    // The strides, as element counts (non-negative, checked above).
    let to_usize = |s: isize| s as usize;
    let shape = Shape {
        m,
        k,
        n,
        a_rows: to_usize(a.strides()[0]),
        a_cols: to_usize(a.strides()[1]),
        b_rows: to_usize(b.strides()[0]),
        // One column: no other column is read.
        b_cols: if n == 1 { 1 } else { to_usize(b.strides()[1]) },
        out_rows: to_usize(out.strides()[0]),
    };
    let finish = Finish { bias: epilogue.bias.map_or(std::ptr::null(), <[f32]>::as_ptr), relu: epilogue.relu };
    // SAFETY: the pointers and strides are those of live views of the
    // stated shapes (non-negative strides, unit column stride for `out`, or
    // one column; a bias of `n` values), and `out` is a distinct mutable view.
    unsafe { run(a.as_ptr(), Strided(shape.a_cols), b.as_ptr(), out.as_mut_ptr(), &shape, finish) }
}

/// The tiled product on the widest instruction set this CPU has; false
/// (nothing computed) without AVX-512 or AVX2 and FMA.
///
/// # Safety
/// The pointers address matrices of `shape`'s sizes and strides (the left
/// one's columns where `columns` says), `out` not overlapping the others;
/// `finish`'s bias, when not null, holds `n` values.
unsafe fn run<C: Columns>(
    a: *const f32,
    columns: C,
    b: *const f32,
    out: *mut f32,
    shape: &Shape,
    finish: Finish,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("fma") {
            // SAFETY: the CPU has the features; the rest by the caller.
            unsafe { avx512::product(a, columns, b, out, shape, finish) };
            return true;
        }
        if has!("avx2") && has!("fma") {
            // SAFETY: as above.
            unsafe { avx2::product(a, columns, b, out, shape, finish) };
            return true;
        }
    }
    let _ = (a, columns, b, out, shape, finish);
    false
}

/// Whether this CPU runs the tiled kernels (AVX-512, or AVX2 with FMA).
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        (has!("avx512f") || has!("avx2")) && has!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// `out[r, :] = Σ_t window_r[taps[t]] f[t, :]` for `rows` windows of `x`
/// (window `r` starting at `x[r * step]`), `f` being `[taps.len(), cout]`
/// row-major and `out` `[rows, cout]` (`cout = out.len() / rows`): the
/// positions of a row of a direct convolution, as one product whose left
/// operand is read through the taps' offsets, each sum finished by
/// `epilogue`. Returns false (leaving `out` as it was) without AVX-512 or
/// AVX2 and FMA, or when the sizes do not fit the slices. Every element of
/// `out` is written: it need not be initialized.
pub(crate) fn windows(
    x: &[f32],
    step: usize,
    rows: usize,
    taps: &[usize],
    f: &[f32],
    out: &mut [MaybeUninit<f32>],
    epilogue: Epilogue<'_, f32>,
) -> bool {
    let k = taps.len();
    let Some(cout) = out.len().checked_div(rows) else { return true };
    let reach = taps.iter().max().and_then(|&t| (rows - 1).checked_mul(step)?.checked_add(t));
    let fits = reach.is_some_and(|r| r < x.len()) || k == 0;
    let bias_fits = epilogue.bias.is_none_or(|b| b.len() == cout);
    if out.len() != rows * cout || f.len() < k.saturating_mul(cout) || !fits || cout == 0 || !bias_fits {
        return false;
    }
    let shape = Shape { m: rows, k, n: cout, a_rows: step, a_cols: 0, b_rows: cout, b_cols: 1, out_rows: cout };
    let finish = Finish { bias: epilogue.bias.map_or(std::ptr::null(), <[f32]>::as_ptr), relu: epilogue.relu };
    // SAFETY: every window's taps and every filter row, output row and the
    // bias are inside the slices (checked above), and `out` is a distinct slice.
    unsafe { run(x.as_ptr(), Taps(taps), f.as_ptr(), out.as_mut_ptr().cast::<f32>(), &shape, finish) }
}

thread_local! {
    /// A block of `b` copied to contiguous rows by the tiled product, kept
    /// between products (at most [`MAX_DEPTH`] × 32 values: 512 KB).
    static PANEL: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Copies columns `j..j + width` of a `b` whose columns are not contiguous
/// into `panel` as `k` rows `wide` apart. A transposed `b` (`wᵀ` of a
/// row-major `w`: its rows contiguous) goes through 8 × 8 blocks
/// transposed in registers; other strides, and what is left at the edges,
/// one value at a time.
///
/// # Safety
/// The CPU has AVX2; `b` addresses a matrix of `shape`'s sizes and strides
/// with columns `j..j + width` inside it; `panel` holds `k` rows of `wide`
/// and `width <= wide`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn gather(b: *const f32, shape: &Shape, j: usize, width: usize, panel: &mut [f32], wide: usize) {
    use std::arch::x86_64::*;
    debug_assert!(width <= wide && panel.len() >= shape.k * wide);
    let (k, rows, cols) = (shape.k, shape.b_rows, shape.b_cols);
    let out = panel.as_mut_ptr();
    // SAFETY: every read is of an element (p, j + c) with p < k, c < width,
    // and every write inside the panel's k rows of `wide`, by the caller.
    unsafe {
        let one = |p: usize, c: usize| *out.add(p * wide + c) = *b.add(p * rows + (j + c) * cols);
        let blocks = if rows == 1 { k / 8 * 8 } else { 0 };
        let mut c = 0;
        while blocks > 0 && c + 8 <= width {
            for p in (0..blocks).step_by(8) {
                // Eight columns, each eight values along p, then transposed.
                let r: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(b.add((j + c + i) * cols + p)));
                let t0 = _mm256_unpacklo_ps(r[0], r[1]);
                let t1 = _mm256_unpackhi_ps(r[0], r[1]);
                let t2 = _mm256_unpacklo_ps(r[2], r[3]);
                let t3 = _mm256_unpackhi_ps(r[2], r[3]);
                let t4 = _mm256_unpacklo_ps(r[4], r[5]);
                let t5 = _mm256_unpackhi_ps(r[4], r[5]);
                let t6 = _mm256_unpacklo_ps(r[6], r[7]);
                let t7 = _mm256_unpackhi_ps(r[6], r[7]);
                let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
                let u1 = _mm256_shuffle_ps::<0xee>(t0, t2);
                let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
                let u3 = _mm256_shuffle_ps::<0xee>(t1, t3);
                let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
                let u5 = _mm256_shuffle_ps::<0xee>(t4, t6);
                let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
                let u7 = _mm256_shuffle_ps::<0xee>(t5, t7);
                let rows_of_p = [
                    _mm256_permute2f128_ps::<0x20>(u0, u4),
                    _mm256_permute2f128_ps::<0x20>(u1, u5),
                    _mm256_permute2f128_ps::<0x20>(u2, u6),
                    _mm256_permute2f128_ps::<0x20>(u3, u7),
                    _mm256_permute2f128_ps::<0x31>(u0, u4),
                    _mm256_permute2f128_ps::<0x31>(u1, u5),
                    _mm256_permute2f128_ps::<0x31>(u2, u6),
                    _mm256_permute2f128_ps::<0x31>(u3, u7),
                ];
                for (i, &v) in rows_of_p.iter().enumerate() {
                    _mm256_storeu_ps(out.add((p + i) * wide + c), v);
                }
            }
            for p in blocks..k {
                (c..c + 8).for_each(|c| one(p, c));
            }
            c += 8;
        }
        for c in c..width {
            (0..k).for_each(|p| one(p, c));
        }
    }
}

/// Where column `p` of a row of the left operand lies, from the row's
/// first element: a stride (a matrix) or a table (a convolution's taps).
trait Columns: Copy {
    /// # Safety
    /// `p` is below the product's depth `k`.
    unsafe fn offset(self, p: usize) -> usize;
}

/// Columns `stride` elements apart.
#[derive(Clone, Copy)]
struct Strided(usize);

impl Columns for Strided {
    #[inline(always)]
    unsafe fn offset(self, p: usize) -> usize {
        p * self.0
    }
}

/// Columns at the offsets of a table `k` long.
#[derive(Clone, Copy)]
struct Taps<'a>(&'a [usize]);

impl Columns for Taps<'_> {
    #[inline(always)]
    unsafe fn offset(self, p: usize) -> usize {
        // SAFETY: `p < k`, the table's length (by the caller).
        unsafe { *self.0.get_unchecked(p) }
    }
}

/// Sizes and strides (in elements) of a product `out = a b`: `a` is
/// `m × k` (its columns `a_cols` apart, or where a [`Columns`] table says),
/// `b` is `k × n` (its columns `b_cols` apart), `out` is `m × n` with unit
/// column stride.
#[derive(Clone, Copy)]
struct Shape {
    m: usize,
    k: usize,
    n: usize,
    a_rows: usize,
    a_cols: usize,
    b_rows: usize,
    b_cols: usize,
    out_rows: usize,
}

/// The tiled product over one instruction set's vectors: `$lanes` f32s per
/// vector, tiles of up to `$rows` rows × `$vectors` vectors, and the
/// module's `zero`, `load`, `store`, `splat`, `fmadd`, `add`, `relu`,
/// `load_part` and `store_part` (the first `n < $lanes` lanes).
#[cfg(target_arch = "x86_64")]
macro_rules! tiled_product {
    ($features:literal, $lanes:literal, $rows:literal, $vectors:literal) => {
        /// `out = a b` over the whole output, tile by tile: column blocks
        /// outside, so that a block of `b` stays in cache for every row tile.
        ///
        /// # Safety
        /// The CPU has the features; the pointers address matrices of
        /// `shape`'s sizes and strides, `out` not overlapping the others;
        /// `finish`'s bias, when not null, holds `n` values.
        #[target_feature(enable = $features)]
        pub(super) unsafe fn product<C: super::Columns>(
            a: *const f32,
            columns: C,
            b: *const f32,
            out: *mut f32,
            shape: &super::Shape,
            finish: super::Finish,
        ) {
            const WIDE: usize = $lanes * $vectors;
            // A block of `b` that several row tiles read is first copied to
            // contiguous rows: read in place, rows a power of two of bytes
            // apart (1 KB for 256 columns) share a few cache sets, and a deep
            // block would come from L3 again for every row tile. A block of
            // a `b` whose columns are not contiguous is always copied: the
            // tiles load whole vectors of a row.
            let gather = shape.b_cols != 1;
            let pack = gather || (shape.m > $rows && shape.b_rows != WIDE);
            let packed = super::Shape { b_rows: WIDE, b_cols: 1, ..*shape };
            let (whole, b_whole) = (shape, b);
            super::PANEL.with_borrow_mut(|panel| {
                if pack && panel.len() < shape.k * WIDE {
                    panel.resize(shape.k * WIDE, 0.0);
                }
                let mut j = 0;
                while j < shape.n {
                    let width = (shape.n - j).min(WIDE);
                    // A block whose first tile is a whole one is copied by
                    // that tile as it reads it: one pass over `b`, not two
                    // (most of the cost of packing a deep block for a few rows).
                    let copy_first = pack && !gather && width == WIDE && shape.m >= 2 * $rows;
                    let (b, shape) = if gather {
                        // SAFETY: columns j..j + width are inside `b`; the
                        // panel holds k rows of WIDE; the CPU has AVX2.
                        unsafe { super::gather(b, shape, j, width, panel, WIDE) };
                        (panel.as_ptr(), &packed)
                    } else if copy_first {
                        (panel.as_ptr(), &packed)
                    } else if pack && width == WIDE {
                        for p in 0..shape.k {
                            // SAFETY: row p's columns j..j + WIDE are inside
                            // `b`; the panel holds k rows of WIDE.
                            unsafe {
                                std::ptr::copy_nonoverlapping(
                                    b.add(p * shape.b_rows + j),
                                    panel.as_mut_ptr().add(p * WIDE),
                                    WIDE,
                                )
                            };
                        }
                        (panel.as_ptr(), &packed)
                    } else {
                        // SAFETY: column j is inside `b`.
                        (unsafe { b.add(j) }, shape)
                    };
                    let mut i = 0;
                    while i < shape.m {
                        // The last two tiles share what is left evenly: 8
                        // rows as 4 + 4 rather than 6 + a tile of 2, whose
                        // loads would outnumber its multiply-adds.
                        let left = shape.m - i;
                        let rows = if left > $rows && left < 2 * $rows { left.div_ceil(2) } else { left.min($rows) };
                        // SAFETY: rows i..i + rows and columns j..j + width are
                        // inside the three matrices (`b` starting at column j)
                        // and the bias.
                        unsafe {
                            let a = a.add(i * shape.a_rows);
                            let out = out.add(i * shape.out_rows + j);
                            let finish = finish.at(j);
                            match (rows, width) {
                                ($rows, WIDE) if copy_first && i == 0 => {
                                    // Reading `b` in place (column j), writing the panel.
                                    let copy = panel.as_mut_ptr();
                                    let b = b_whole.add(j);
                                    tile::<$rows, $vectors, false, true, C>(
                                        a, columns, b, out, whole, $lanes, finish, copy,
                                    )
                                }
                                ($rows, WIDE) => {
                                    let no = std::ptr::null_mut();
                                    tile::<$rows, $vectors, false, false, C>(
                                        a, columns, b, out, shape, $lanes, finish, no,
                                    )
                                }
                                _ => edge_tile(rows, width, a, columns, b, out, shape, finish),
                            }
                        }
                        i += rows;
                    }
                    j += width;
                }
            });
        }

        /// A tile narrower or shorter than the widest: fewer rows of the
        /// whole width at once; a width that needs every vector, at once
        /// with the last vector partly filled (the 10 columns of a layer of
        /// 10 units: one pass over `b` instead of two); else one vector of
        /// columns at a time (the last holding the remaining `width % lanes`).
        ///
        /// # Safety
        /// As [`tile`], for `rows` rows and `width` columns.
        #[allow(clippy::too_many_arguments)] // the tile's, and its size
        #[target_feature(enable = $features)]
        unsafe fn edge_tile<C: super::Columns>(
            rows: usize,
            width: usize,
            a: *const f32,
            columns: C,
            b: *const f32,
            out: *mut f32,
            shape: &super::Shape,
            finish: super::Finish,
        ) {
            if width == $lanes * $vectors {
                // SAFETY: by the caller.
                unsafe { edge_rows::<$vectors, false, C>(rows, a, columns, b, out, shape, $lanes, finish) };
                return;
            }
            if width > $lanes * ($vectors - 1) {
                let last = width - $lanes * ($vectors - 1);
                // SAFETY: by the caller; the last vector holds `last` (< $lanes) columns.
                unsafe { edge_rows::<$vectors, true, C>(rows, a, columns, b, out, shape, last, finish) };
                return;
            }
            let mut j = 0;
            while j < width {
                let lanes = (width - j).min($lanes);
                // SAFETY: columns j..j + lanes are inside the tile.
                unsafe {
                    let (b, out, finish) = (b.add(j), out.add(j), finish.at(j));
                    if lanes == $lanes {
                        edge_rows::<1, false, C>(rows, a, columns, b, out, shape, lanes, finish);
                    } else {
                        edge_rows::<1, true, C>(rows, a, columns, b, out, shape, lanes, finish);
                    }
                }
                j += lanes;
            }
        }

        /// `V` vectors of columns of an edge tile, for `rows` rows (`PART`:
        /// only the first `lanes` of the last).
        ///
        /// # Safety
        /// As [`tile`].
        #[inline]
        #[allow(clippy::too_many_arguments)] // the tile's, and its height
        #[target_feature(enable = $features)]
        unsafe fn edge_rows<const V: usize, const PART: bool, C: super::Columns>(
            rows: usize,
            a: *const f32,
            columns: C,
            b: *const f32,
            out: *mut f32,
            shape: &super::Shape,
            lanes: usize,
            finish: super::Finish,
        ) {
            // SAFETY: by the caller.
            unsafe {
                match rows {
                    1 => tile::<1, V, PART, false, C>(a, columns, b, out, shape, lanes, finish, std::ptr::null_mut()),
                    2 => tile::<2, V, PART, false, C>(a, columns, b, out, shape, lanes, finish, std::ptr::null_mut()),
                    3 => tile::<3, V, PART, false, C>(a, columns, b, out, shape, lanes, finish, std::ptr::null_mut()),
                    4 => tile::<4, V, PART, false, C>(a, columns, b, out, shape, lanes, finish, std::ptr::null_mut()),
                    5 if $rows >= 5 => {
                        tile::<5, V, PART, false, C>(a, columns, b, out, shape, lanes, finish, std::ptr::null_mut())
                    }
                    6 if $rows >= 6 => {
                        tile::<6, V, PART, false, C>(a, columns, b, out, shape, lanes, finish, std::ptr::null_mut())
                    }
                    7 if $rows >= 7 => {
                        tile::<7, V, PART, false, C>(a, columns, b, out, shape, lanes, finish, std::ptr::null_mut())
                    }
                    _ => {
                        tile::<$rows, V, PART, false, C>(a, columns, b, out, shape, lanes, finish, std::ptr::null_mut())
                    }
                }
            }
        }

        /// `R` rows × `V` vectors of sums, finished by `finish` as they
        /// are stored; with `PART`, the last vector holds only its first
        /// `last` lanes (`1..$lanes`). `PART` is a constant so that a whole
        /// tile's loop holds no mask. With `COPY`, each row of `b` read is
        /// also written to `copy`, as `k` rows of `V` vectors.
        ///
        /// # Safety
        /// `a` addresses the tile's first row of `a`, `b`, `out` and
        /// `finish`'s bias (when not null) its first column; `R` rows and
        /// `(V - 1) * lanes + last` columns are inside; with `COPY` (and
        /// not `PART`), `copy` holds `k` rows of `V` vectors.
        #[inline]
        #[allow(clippy::too_many_arguments)] // the tile's, and where to copy `b`
        #[target_feature(enable = $features)]
        unsafe fn tile<const R: usize, const V: usize, const PART: bool, const COPY: bool, C: super::Columns>(
            a: *const f32,
            columns: C,
            b: *const f32,
            out: *mut f32,
            shape: &super::Shape,
            last: usize,
            finish: super::Finish,
            copy: *mut f32,
        ) {
            // SAFETY: every access below is inside the tile, by the caller.
            unsafe {
                let mut sums = [[zero(); V]; R];
                let mut b = b;
                for p in 0..shape.k {
                    let a = a.add(columns.offset(p));
                    let mut row = [zero(); V];
                    for (v, x) in row.iter_mut().enumerate() {
                        *x = if PART && v + 1 == V {
                            load_part(b.add(v * $lanes), last)
                        } else {
                            load(b.add(v * $lanes))
                        };
                        if COPY {
                            store(copy.add((p * V + v) * $lanes), *x);
                        }
                    }
                    for (r, sums) in sums.iter_mut().enumerate() {
                        let x = splat(*a.add(r * shape.a_rows));
                        for (sum, &y) in sums.iter_mut().zip(&row) {
                            *sum = fmadd(x, y, *sum);
                        }
                    }
                    b = b.add(shape.b_rows);
                }
                let mut bias = [zero(); V];
                if !finish.bias.is_null() {
                    for (v, x) in bias.iter_mut().enumerate() {
                        let at = finish.bias.add(v * $lanes);
                        *x = if PART && v + 1 == V { load_part(at, last) } else { load(at) };
                    }
                }
                for (r, sums) in sums.iter().enumerate() {
                    for (v, &sum) in sums.iter().enumerate() {
                        let sum = if finish.bias.is_null() { sum } else { add(sum, bias[v]) };
                        let sum = if finish.relu { relu(sum) } else { sum };
                        let at = out.add(r * shape.out_rows + v * $lanes);
                        if PART && v + 1 == V { store_part(at, last, sum) } else { store(at, sum) }
                    }
                }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// A mask of the first `n` lanes.
    #[inline]
    fn first(n: usize) -> __mmask16 {
        ((1u32 << n.min(16)) - 1) as __mmask16
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn zero() -> __m512 {
        _mm512_setzero_ps()
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn splat(x: f32) -> __m512 {
        _mm512_set1_ps(x)
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn fmadd(x: __m512, y: __m512, sum: __m512) -> __m512 {
        _mm512_fmadd_ps(x, y, sum)
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn add(x: __m512, y: __m512) -> __m512 {
        _mm512_add_ps(x, y)
    }

    /// `x` where `x >= 0`, else 0 (NaN included), as the scalar `Relu` kernel.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn relu(x: __m512) -> __m512 {
        let zero = _mm512_setzero_ps();
        _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_GE_OQ>(x, zero), zero, x)
    }

    /// # Safety
    /// 16 f32s are readable at `p`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn load(p: *const f32) -> __m512 {
        // SAFETY: by the caller.
        unsafe { _mm512_loadu_ps(p) }
    }

    /// # Safety
    /// 16 f32s are writable at `p`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn store(p: *mut f32, v: __m512) {
        // SAFETY: by the caller.
        unsafe { _mm512_storeu_ps(p, v) }
    }

    /// # Safety
    /// `n` f32s are readable at `p` (the others are not touched).
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn load_part(p: *const f32, n: usize) -> __m512 {
        // SAFETY: masked-off lanes are not read.
        unsafe { _mm512_maskz_loadu_ps(first(n), p) }
    }

    /// # Safety
    /// `n` f32s are writable at `p` (the others are not touched).
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn store_part(p: *mut f32, n: usize, v: __m512) {
        // SAFETY: masked-off lanes are not written.
        unsafe { _mm512_mask_storeu_ps(p, first(n), v) }
    }

    tiled_product!("avx512f,avx512vl,avx2,fma", 16, 8, 2);
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// A mask of the first `n` lanes (all bits of each chosen lane set).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn first(n: usize) -> __m256i {
        let n = n.min(8) as i32;
        _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn zero() -> __m256 {
        _mm256_setzero_ps()
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn splat(x: f32) -> __m256 {
        _mm256_set1_ps(x)
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn fmadd(x: __m256, y: __m256, sum: __m256) -> __m256 {
        _mm256_fmadd_ps(x, y, sum)
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn add(x: __m256, y: __m256) -> __m256 {
        _mm256_add_ps(x, y)
    }

    /// `x` where `x >= 0`, else 0 (NaN included), as the scalar `Relu` kernel.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn relu(x: __m256) -> __m256 {
        let zero = _mm256_setzero_ps();
        _mm256_blendv_ps(zero, x, _mm256_cmp_ps::<_CMP_GE_OQ>(x, zero))
    }

    /// # Safety
    /// 8 f32s are readable at `p`.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load(p: *const f32) -> __m256 {
        // SAFETY: by the caller.
        unsafe { _mm256_loadu_ps(p) }
    }

    /// # Safety
    /// 8 f32s are writable at `p`.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn store(p: *mut f32, v: __m256) {
        // SAFETY: by the caller.
        unsafe { _mm256_storeu_ps(p, v) }
    }

    /// # Safety
    /// `n` f32s are readable at `p` (the others are not touched).
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load_part(p: *const f32, n: usize) -> __m256 {
        // SAFETY: masked-off lanes are not read.
        unsafe { _mm256_maskload_ps(p, first(n)) }
    }

    /// # Safety
    /// `n` f32s are writable at `p` (the others are not touched).
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn store_part(p: *mut f32, n: usize, v: __m256) {
        // SAFETY: masked-off lanes are not written.
        unsafe { _mm256_maskstore_ps(p, first(n), v) }
    }

    tiled_product!("avx2,fma", 8, 6, 2);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, ShapeBuilder};

    /// The sums in f64.
    fn naive(a: &ArrayView2<'_, f32>, b: &ArrayView2<'_, f32>) -> Array2<f64> {
        Array2::from_shape_fn((a.nrows(), b.ncols()), |(i, j)| {
            (0..a.ncols()).map(|p| f64::from(a[[i, p]]) * f64::from(b[[p, j]])).sum()
        })
    }

    fn matrix(rows: usize, cols: usize, seed: usize) -> Array2<f32> {
        Array2::from_shape_fn((rows, cols), |(i, j)| (((i * 31 + j * 17 + seed) % 23) as f32 - 11.0) / 7.0)
    }

    #[test]
    fn products_of_every_tile_shape_match_the_sums() {
        for (m, k, n) in [
            (1, 1, 1),
            (3, 5, 7),
            (8, 16, 32),
            (8, 33, 48),
            (9, 3, 33),
            (13, 7, 17),
            (17, 40, 47),
            (32, 784, 256),
            (7, 0, 5),
            (33, 12, 10),
        ] {
            let a = matrix(m, k, 1);
            let b = matrix(k, n, 2);
            // `a` as given and transposed in memory (a weight gradient's `x^T`).
            let mut a_t = Array2::zeros((m, k).f());
            a_t.assign(&a);
            for a in [a.view(), a_t.view()] {
                let mut out = Array2::from_elem((m, n), f32::NAN);
                if !product(&a, &b.view(), &mut out.view_mut(), Epilogue::NONE) {
                    // No AVX2 on this CPU: nothing to check.
                    return;
                }
                for ((i, j), &want) in naive(&a, &b.view()).indexed_iter() {
                    let got = f64::from(out[[i, j]]);
                    assert!(
                        (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                        "{m}x{k}x{n} at ({i}, {j}): {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn an_epilogue_adds_the_bias_and_applies_the_relu_as_the_ops_would() {
        for (m, k, n) in [(1, 3, 5), (7, 9, 13), (12, 40, 33), (32, 64, 48), (13, 5, 16)] {
            let (a, b) = (matrix(m, k, 14), matrix(k, n, 15));
            let mut bias: Vec<f32> = (0..n).map(|j| (j % 7) as f32 / 3.0 - 1.0).collect();
            bias[n / 2] = f32::NAN;
            let mut want = Array2::from_elem((m, n), f32::NAN);
            if !product(&a.view(), &b.view(), &mut want.view_mut(), Epilogue::NONE) {
                return;
            }
            for relu in [false, true] {
                let mut expected = want.clone();
                for mut row in expected.rows_mut() {
                    for (x, &c) in row.iter_mut().zip(&bias) {
                        *x += c;
                        if relu {
                            *x = if *x >= 0.0 { *x } else { 0.0 };
                        }
                    }
                }
                let mut got = Array2::from_elem((m, n), f32::NAN);
                let epilogue = Epilogue { bias: Some(&bias[..]), relu };
                assert!(product(&a.view(), &b.view(), &mut got.view_mut(), epilogue), "{m}x{k}x{n}");
                let bits = |x: &Array2<f32>| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&expected), "{m}x{k}x{n}, relu {relu}");
            }
            // A bias of another length than the product's columns is declined.
            let short = Epilogue { bias: Some(&bias[1..]), relu: false };
            assert!(!product(&a.view(), &b.view(), &mut want.view_mut(), short));
        }
    }

    #[test]
    fn a_transposed_right_operand_gives_the_same_sums() {
        for (m, k, n) in [(1, 3, 5), (32, 256, 256), (9, 17, 40), (33, 10, 1), (300, 20, 33)] {
            let a = matrix(m, k, 10);
            let w = matrix(n, k, 11);
            let b = w.t();
            let mut out = Array2::from_elem((m, n), f32::NAN);
            if !product(&a.view(), &b, &mut out.view_mut(), Epilogue::NONE) {
                return;
            }
            // The same sums as with `b` copied into row-major order, bit for bit.
            let mut direct = Array2::from_elem((m, n), f32::NAN);
            assert!(product(&a.view(), &b.as_standard_layout().view(), &mut direct.view_mut(), Epilogue::NONE));
            assert_eq!(out, direct, "{m}x{k}x{n}");
        }
    }

    #[test]
    fn a_right_operand_with_neither_rows_nor_columns_contiguous_gives_the_same_sums() {
        let (m, k, n) = (13, 21, 37);
        let a = matrix(m, k, 12);
        let wide = matrix(k, 2 * n, 13);
        let b = wide.slice(ndarray::s![.., ..;2]);
        let mut out = Array2::from_elem((m, n), f32::NAN);
        if !product(&a.view(), &b, &mut out.view_mut(), Epilogue::NONE) {
            return;
        }
        let mut direct = Array2::from_elem((m, n), f32::NAN);
        assert!(product(&a.view(), &b.as_standard_layout().view(), &mut direct.view_mut(), Epilogue::NONE));
        assert_eq!(out, direct);
    }

    #[test]
    fn blocks_of_the_output_equal_the_whole_bit_for_bit() {
        let (m, k, n) = (37, 300, 200);
        let (a, b) = (matrix(m, k, 3), matrix(k, n, 4));
        let mut whole = Array2::zeros((m, n));
        if !product(&a.view(), &b.view(), &mut whole.view_mut(), Epilogue::NONE) {
            return;
        }
        let mut pieces = Array2::zeros((m, n));
        // Blocks of whole tiles, and of 13, 139 (8 x 16 + 11), 131 and 69
        // columns: edge tiles with the last vector whole or partly filled.
        let pieces_of = [(0..20, 0..48), (0..20, 48..61), (0..20, 61..200), (20..37, 0..131), (20..37, 131..200)];
        for (rows, cols) in pieces_of {
            let a = a.slice(ndarray::s![rows.clone(), ..]);
            let b = b.slice(ndarray::s![.., cols.clone()]);
            assert!(product(&a, &b, &mut pieces.slice_mut(ndarray::s![rows, cols]), Epilogue::NONE));
        }
        assert_eq!(whole, pieces);
    }

    #[test]
    fn it_declines_what_it_does_not_cover() {
        let (a, b) = (matrix(4, 6, 5), matrix(6, 4, 7));
        let mut out = Array2::from_elem((4, 8), 7.0f32);
        // An output whose columns are not contiguous.
        assert!(!product(&a.view(), &b.view(), &mut out.slice_mut(ndarray::s![.., ..;2]), Epilogue::NONE));
        assert!(out.iter().all(|&x| x == 7.0), "a declined product leaves the output");
        let deep = matrix(1, MAX_DEPTH + 1, 8);
        let tall = matrix(MAX_DEPTH + 1, 1, 9);
        assert!(!product(&deep.view(), &tall.view(), &mut Array2::zeros((1, 1)).view_mut(), Epilogue::NONE));
    }
}
