//! Kernels that read their operands where they lie, without packing or
//! im2col copies: the one-row matrix product (a batch of one streams the
//! weights once) and the direct convolution of inputs with few channels.
//!
//! Each is written once, generic over the element type, and compiled three
//! times: for AVX-512 and for AVX2, both with fused multiply-add, chosen at
//! run time by the CPU's features, and a portable version without them. On
//! one machine a result is always computed the same way, whatever the thread
//! count; the portable version rounds each product before adding it.

use super::Num;

/// `acc + a * b`, fused when the CPU computes with fused multiply-add.
#[inline(always)]
fn mul_add<T: Num, const FMA: bool>(a: T, b: T, acc: T) -> T {
    if FMA { a.fused_mul_add(b, acc) } else { Num::add(acc, Num::mul(a, b)) }
}

/// `out[j] = Σ_t x_t * row_t[j]` for the terms `(x_t, row_t)` of `rows`,
/// each row at least `out.len()` long: one block of columns at a time, its
/// sums in registers while every term's row streams past.
#[inline(always)]
fn sum_rows<'a, T: Num, const FMA: bool>(out: &mut [T], rows: impl Iterator<Item = (T, &'a [T])> + Clone) {
    let n = out.len();
    let mut start = 0;
    // The widest block: sixteen AVX-512 registers of sums, whatever the element size.
    if size_of::<T>() == 4 {
        while n - start >= 256 {
            sum_block::<T, FMA, 256>(&mut out[start..], rows.clone(), start);
            start += 256;
        }
    }
    while n - start >= 128 {
        sum_block::<T, FMA, 128>(&mut out[start..], rows.clone(), start);
        start += 128;
    }
    // Narrower blocks for the rest, down to one AVX2 register of f32s.
    for width in [64, 32, 16, 8] {
        if n - start >= width {
            match width {
                64 => sum_block::<T, FMA, 64>(&mut out[start..], rows.clone(), start),
                32 => sum_block::<T, FMA, 32>(&mut out[start..], rows.clone(), start),
                16 => sum_block::<T, FMA, 16>(&mut out[start..], rows.clone(), start),
                _ => sum_block::<T, FMA, 8>(&mut out[start..], rows.clone(), start),
            }
            start += width;
        }
    }
    for (j, o) in out.iter_mut().enumerate().skip(start) {
        *o = rows.clone().fold(T::zero(), |acc, (x, row)| mul_add::<T, FMA>(x, row[j], acc));
    }
}

/// The first `W` sums of `out`, over columns `start..start + W` of the rows.
#[inline(always)]
fn sum_block<'a, T: Num, const FMA: bool, const W: usize>(
    out: &mut [T],
    rows: impl Iterator<Item = (T, &'a [T])>,
    start: usize,
) {
    let Some(block) = out.first_chunk_mut::<W>() else { return };
    let mut acc = [T::zero(); W];
    for (x, row) in rows {
        // The callers' rows are as long as the output, so every row has the block.
        let Some(row) = row.get(start..).and_then(<[T]>::first_chunk::<W>) else { continue };
        for (a, &w) in acc.iter_mut().zip(row) {
            *a = mul_add::<T, FMA>(x, w, *a);
        }
    }
    *block = acc;
}

/// `out = x w` for one row `x` (length k) and `k` rows of `w`, `stride`
/// apart, of which the first `out.len()` columns count (a block of columns
/// of a row-major matrix): each weight is read once, in order, into sums
/// kept in registers a block of columns at a time.
pub(crate) fn row_times_matrix<T: Num>(x: &[T], w: &[T], stride: usize, out: &mut [T]) {
    debug_assert!(out.len() <= stride && w.len() + stride >= x.len() * stride + out.len());
    if out.is_empty() {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has the features the function is compiled for.
            return unsafe { row_times_matrix_avx512(x, w, stride, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: as above.
            return unsafe { row_times_matrix_avx2(x, w, stride, out) };
        }
    }
    row_times_matrix_body::<T, false>(x, w, stride, out)
}

#[inline(always)]
fn row_times_matrix_body<T: Num, const FMA: bool>(x: &[T], w: &[T], stride: usize, out: &mut [T]) {
    // Whole blocks of 32 columns, then the rest (fewer than 32) in one block.
    let head = out.len() - out.len() % 32;
    let (out, tail) = out.split_at_mut(head);
    sum_rows::<T, FMA>(out, x.iter().copied().zip(w.chunks(stride)));
    match tail.len() {
        0 => {}
        1..=8 => sum_last::<T, FMA, 8>(x, w, stride, head, tail),
        9..=16 => sum_last::<T, FMA, 16>(x, w, stride, head, tail),
        17..=24 => sum_last::<T, FMA, 24>(x, w, stride, head, tail),
        _ => sum_last::<T, FMA, 32>(x, w, stride, head, tail),
    }
}

/// `out` (at most `W` sums) over columns `start..` of `w`'s rows, in one
/// block of `W` lanes: each column's sum is a chain of dependent
/// multiply-adds, and in one block the chains of all its columns advance
/// together (a 1x256x10 product took 1.1 µs with its last two columns
/// summed one after the other). The lanes past `out` read whatever follows
/// the columns (the next columns or row), and are dropped; where nothing
/// does (the last rows), they read zeros.
#[inline(always)]
fn sum_last<T: Num, const FMA: bool, const W: usize>(x: &[T], w: &[T], stride: usize, start: usize, out: &mut [T]) {
    let columns = out.len();
    debug_assert!(columns <= W);
    let mut acc = [T::zero(); W];
    for (t, &x) in x.iter().enumerate() {
        let at = t * stride + start;
        let lanes = match w.get(at..at + W).and_then(<[T]>::first_chunk::<W>) {
            Some(lanes) => *lanes,
            None => {
                let mut lanes = [T::zero(); W];
                lanes[..columns].copy_from_slice(&w[at..at + columns]);
                lanes
            }
        };
        for (a, &v) in acc.iter_mut().zip(&lanes) {
            *a = mul_add::<T, FMA>(x, v, *a);
        }
    }
    out.copy_from_slice(&acc[..columns]);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
fn row_times_matrix_avx512<T: Num>(x: &[T], w: &[T], stride: usize, out: &mut [T]) {
    row_times_matrix_body::<T, true>(x, w, stride, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn row_times_matrix_avx2<T: Num>(x: &[T], w: &[T], stride: usize, out: &mut [T]) {
    row_times_matrix_body::<T, true>(x, w, stride, out)
}

/// Most terms (`kh * kw * cin`) a convolution is computed directly with;
/// wider patches go through im2col and a packed product, which reuses each
/// loaded input across many filter columns.
pub(crate) const DIRECT_CONV_MAX_PATCH: usize = 32;

/// An NHWC convolution computed directly: its input, its filter as
/// `[kh * kw * cin, cout]` (row-major), and its sizes, all checked to fit
/// the slices by the caller.
pub(crate) struct Conv<'a, T> {
    pub(crate) x: &'a [T],
    pub(crate) f: &'a [T],
    /// Input height, width and channels.
    pub(crate) input: [usize; 3],
    /// Filter height and width, output channels.
    pub(crate) filter: [usize; 3],
    /// Output height and width.
    pub(crate) output: [usize; 2],
    pub(crate) pad: [usize; 2],
    pub(crate) strides: [usize; 2],
    pub(crate) dilations: [usize; 2],
}

impl<T: Num> Conv<'_, T> {
    /// Output positions `first..` (batch, row, column flattened), `cout`
    /// channels each, into `out`, whose every element is written: each
    /// position's sums stay in registers while its taps' filter rows stream past.
    pub(crate) fn positions(&self, first: usize, out: &mut [T]) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("fma") {
                // SAFETY: the CPU has the features the function is compiled for.
                return unsafe { conv_positions_avx512(self, first, out) };
            }
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                // SAFETY: as above.
                return unsafe { conv_positions_avx2(self, first, out) };
            }
        }
        conv_positions::<T, false>(self, first, out)
    }
}

/// A convolution's input with its padding written out as zeros, so that
/// every window lies inside it: `[n, height, width, cin]`.
pub(crate) struct Padded {
    data: Vec<f32>,
    height: usize,
    width: usize,
}

impl Conv<'_, f32> {
    /// The input of `n` images, padded; `None` when the tiled kernel does
    /// not run on this CPU or the padded input's size overflows.
    pub(crate) fn padded(&self, n: usize) -> Option<Padded> {
        if !super::tiles::available() {
            return None;
        }
        let ([h, w, cin], [kh, kw, _], [oh, ow]) = (self.input, self.filter, self.output);
        // Rows and columns the windows reach, from the padded input's start.
        let reach = |out: usize, stride: usize, k: usize, dilation: usize| {
            out.checked_sub(1)?
                .checked_mul(stride)?
                .checked_add(k.checked_sub(1)?.checked_mul(dilation)?)?
                .checked_add(1)
        };
        let height = reach(oh, self.strides[0], kh, self.dilations[0])?.max(self.pad[0].checked_add(h)?);
        let width = reach(ow, self.strides[1], kw, self.dilations[1])?.max(self.pad[1].checked_add(w)?);
        let len = n.checked_mul(height)?.checked_mul(width)?.checked_mul(cin)?;
        let mut data = vec![0.0; len];
        for (image, padded) in self.x.chunks_exact(h * w * cin).zip(data.chunks_exact_mut(height * width * cin)).take(n)
        {
            for (row, padded) in image.chunks_exact(w * cin).zip(padded.chunks_exact_mut(width * cin).skip(self.pad[0]))
            {
                padded[self.pad[1] * cin..][..w * cin].copy_from_slice(row);
            }
        }
        Some(Padded { data, height, width })
    }

    /// Output rows `first..` (image and output row flattened), `ow * cout`
    /// values each, into `out`, whose every element is written (it need not
    /// be initialized): each row one product in register tiles over the
    /// padded input, each sum finished by `epilogue`.
    pub(crate) fn padded_rows(
        &self,
        padded: &Padded,
        first: usize,
        out: &mut [std::mem::MaybeUninit<f32>],
        epilogue: super::tiles::Epilogue<'_, f32>,
    ) {
        let ([_, _, cin], [kh, kw, cout], [oh, ow]) = (self.input, self.filter, self.output);
        let mut offsets = [0usize; DIRECT_CONV_MAX_PATCH];
        let patch = kh * kw * cin;
        for (t, offset) in offsets.iter_mut().enumerate().take(patch) {
            let (dy, dx, i) = (t / (kw * cin) * self.dilations[0], t / cin % kw * self.dilations[1], t % cin);
            *offset = (dy * padded.width + dx) * cin + i;
        }
        for (r, out) in out.chunks_exact_mut(ow * cout).enumerate() {
            let (b, oy) = ((first + r) / oh, (first + r) % oh);
            let start = ((b * padded.height + oy * self.strides[0]) * padded.width) * cin;
            let (x, step, taps) = (&padded.data[start..], self.strides[1] * cin, &offsets[..patch]);
            let done = super::tiles::windows(x, step, ow, taps, self.f, out, epilogue);
            debug_assert!(done, "the padded input holds every window");
        }
    }
}

#[inline(always)]
fn conv_positions<T: Num, const FMA: bool>(c: &Conv<'_, T>, first: usize, out: &mut [T]) {
    let ([h, w, cin], [kh, kw, cout], [oh, ow]) = (c.input, c.filter, c.output);
    let patch = kh * kw * cin;
    if cout == 0 || oh == 0 || ow == 0 || patch == 0 || patch > DIRECT_CONV_MAX_PATCH {
        return;
    }
    // The taps of a window inside the input: offsets from the window's
    // first input value, and of the tap's filter row.
    let mut taps = [(0usize, 0usize); DIRECT_CONV_MAX_PATCH];
    // And each tap's offsets in the window: rows, columns, channel.
    let mut at_border = [[0usize; 3]; DIRECT_CONV_MAX_PATCH];
    for (t, (tap, offsets)) in taps.iter_mut().zip(&mut at_border).take(patch).enumerate() {
        // Saturating: with huge dilations no window lies inside the input
        // and these offsets are only compared, never used.
        let (dy, dx, i) =
            ((t / (kw * cin)).saturating_mul(c.dilations[0]), (t / cin % kw).saturating_mul(c.dilations[1]), t % cin);
        *tap = (dy.saturating_mul(w).saturating_add(dx).saturating_mul(cin).saturating_add(i), t * cout);
        *offsets = [dy, dx, i];
    }
    let taps = &taps[..patch];
    let span = [(kh - 1).saturating_mul(c.dilations[0]), (kw - 1).saturating_mul(c.dilations[1])];
    let step = c.strides[1] * cin;
    // Output columns whose windows lie inside the input, along a row.
    let inside_x = |ox: usize| {
        let x0 = ox * c.strides[1];
        x0 >= c.pad[1] && (x0 - c.pad[1]).saturating_add(span[1]) < w
    };
    let positions = out.len() / cout;
    // The next position's batch index, row and column, advanced without a division.
    let mut at = [first / (oh * ow), first / ow % oh, first % ow];
    let advance = |[b, oy, ox]: [usize; 3], by: usize| match ox + by {
        ox if ox < ow => [b, oy, ox],
        _ if oy + 1 < oh => [b, oy + 1, 0],
        _ => [b + 1, 0, 0],
    };
    let mut done = 0;
    while done < positions {
        let rest = &mut out[done * cout..];
        let [b, oy, ox] = at;
        let y0 = oy * c.strides[0];
        let inside_y = y0 >= c.pad[0] && (y0 - c.pad[0]).saturating_add(span[0]) < h;
        let window = |ox: usize| ((b * h + y0 - c.pad[0]) * w + ox * c.strides[1] - c.pad[1]) * cin;
        if inside_y && positions - done >= 4 && ox + 3 < ow && inside_x(ox) && inside_x(ox + 3) {
            // Four neighbours inside the input: each filter row loaded once for all four.
            let x = &c.x[window(ox)..];
            match cout {
                16 => four_positions::<T, FMA, 16>(rest, x, step, taps, c.f),
                32 => four_positions::<T, FMA, 32>(rest, x, step, taps, c.f),
                64 => four_positions::<T, FMA, 64>(rest, x, step, taps, c.f),
                _ => {
                    for (p, position) in rest.chunks_exact_mut(cout).take(4).enumerate() {
                        let x = &x[p * step..];
                        sum_rows::<T, FMA>(position, taps.iter().map(|&(d, o)| (x[d], &c.f[o..o + cout])));
                    }
                }
            }
            done += 4;
            at = advance(at, 4);
            continue;
        }
        let position = &mut rest[..cout];
        if inside_y && inside_x(ox) {
            let x = &c.x[window(ox)..];
            sum_rows::<T, FMA>(position, taps.iter().map(|&(d, o)| (x[d], &c.f[o..o + cout])));
        } else {
            // At the border: the taps inside the input, with their input values.
            let mut terms = [(T::zero(), 0usize); DIRECT_CONV_MAX_PATCH];
            let mut count = 0;
            for (&(_, offset), &[dy, dx, i]) in taps.iter().zip(&at_border) {
                let iy = y0.saturating_add(dy).checked_sub(c.pad[0]).filter(|&y| y < h);
                let ix = (ox * c.strides[1]).saturating_add(dx).checked_sub(c.pad[1]).filter(|&x| x < w);
                if let (Some(iy), Some(ix)) = (iy, ix) {
                    terms[count] = (c.x[((b * h + iy) * w + ix) * cin + i], offset);
                    count += 1;
                }
            }
            sum_rows::<T, FMA>(position, terms[..count].iter().map(|&(x, o)| (x, &c.f[o..o + cout])));
        }
        done += 1;
        at = advance(at, 1);
    }
}

/// Four neighbouring positions of a row, `W` channels each (all of them),
/// their windows `step` apart in `x` and inside the input: `W` sums per
/// position in registers, each filter row loaded once for the four.
#[inline(always)]
fn four_positions<T: Num, const FMA: bool, const W: usize>(
    out: &mut [T],
    x: &[T],
    step: usize,
    taps: &[(usize, usize)],
    f: &[T],
) {
    let mut acc = [[T::zero(); W]; 4];
    for &(d, offset) in taps {
        // Filter rows and taps are inside the slices by the caller's sizes.
        let Some(row) = f.get(offset..).and_then(<[T]>::first_chunk::<W>) else { continue };
        let xs = [x[d], x[d + step], x[d + 2 * step], x[d + 3 * step]];
        for (acc, &xv) in acc.iter_mut().zip(&xs) {
            for (a, &w) in acc.iter_mut().zip(row) {
                *a = mul_add::<T, FMA>(xv, w, *a);
            }
        }
    }
    for (position, acc) in out.chunks_exact_mut(W).zip(&acc) {
        position.copy_from_slice(acc);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
fn conv_positions_avx512<T: Num>(c: &Conv<'_, T>, first: usize, out: &mut [T]) {
    conv_positions::<T, true>(c, first, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn conv_positions_avx2<T: Num>(c: &Conv<'_, T>, first: usize, out: &mut [T]) {
    conv_positions::<T, true>(c, first, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The naive sums, in f64.
    fn naive(x: &[f32], w: &[f32], n: usize) -> Vec<f64> {
        (0..n).map(|j| x.iter().enumerate().map(|(t, &xt)| f64::from(xt) * f64::from(w[t * n + j])).sum()).collect()
    }

    #[test]
    fn one_row_products_of_every_width_match_naive_sums() {
        for (k, n) in [(1, 1), (3, 7), (5, 8), (9, 16), (17, 33), (31, 64), (7, 100), (784, 256), (40, 200)] {
            let x: Vec<f32> = (0..k).map(|i| ((i * 7 % 11) as f32 - 5.0) / 3.0).collect();
            let w: Vec<f32> = (0..k * n).map(|i| ((i * 13 % 17) as f32 - 8.0) / 5.0).collect();
            let mut out = vec![f32::NAN; n];
            row_times_matrix(&x, &w, n, &mut out);
            for (j, (&got, want)) in out.iter().zip(naive(&x, &w, n)).enumerate() {
                assert!(
                    (f64::from(got) - want).abs() <= 1e-4 * (1.0 + want.abs()),
                    "k={k} n={n} column {j}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn every_column_is_summed_in_the_same_order_whatever_block_holds_it() {
        // Rounding makes the order visible: a column computed alone, inside
        // a block of any width, or in the last block next to the matrix's
        // end (a thread's share of the columns) gives the same bits.
        let k = 37;
        for n in [1, 3, 8, 10, 13, 27, 32, 40, 77, 266] {
            let x: Vec<f32> = (0..k).map(|i| (i as f32 * 0.377).sin() * 3.1).collect();
            let w: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.123).cos() / 7.3).collect();
            let mut whole = vec![f32::NAN; n];
            row_times_matrix(&x, &w, n, &mut whole);
            for j in 0..n {
                let column: Vec<f32> = (0..k).map(|t| w[t * n + j]).collect();
                let mut alone = [f32::NAN];
                row_times_matrix(&x, &column, 1, &mut alone);
                assert_eq!(whole[j].to_bits(), alone[0].to_bits(), "n={n} column {j}");
            }
            for first in [0, 16, n / 2].into_iter().filter(|&first| first < n) {
                let mut share = vec![f32::NAN; n - first];
                row_times_matrix(&x, &w[first..], n, &mut share);
                assert_eq!(share, whole[first..], "n={n} columns {first}..");
            }
        }
    }

    #[test]
    fn the_portable_version_adds_in_the_same_order() {
        let (k, n) = (19, 77);
        let x: Vec<f64> = (0..k).map(|i| i as f64 * 0.25 - 2.0).collect();
        let w: Vec<f64> = (0..k * n).map(|i| (i % 9) as f64 * 0.5 - 2.0).collect();
        // Small integers and quarters: every product and sum is exact, so fused and unfused agree.
        let mut fast = vec![0.0; n];
        row_times_matrix(&x, &w, n, &mut fast);
        let mut portable = vec![0.0; n];
        row_times_matrix_body::<f64, false>(&x, &w, n, &mut portable);
        assert_eq!(fast, portable);
    }

    /// A convolution by its definition, in f64: `[n, h, w, cin]` input,
    /// `[kh, kw, cin, cout]` filter.
    fn naive_conv(c: &Conv<'_, f32>, n: usize) -> Vec<f64> {
        let ([h, w, cin], [kh, kw, cout], [oh, ow]) = (c.input, c.filter, c.output);
        let mut out = vec![0.0; n * oh * ow * cout];
        for (b, oy, ox, o) in (0..n)
            .flat_map(|b| (0..oh).flat_map(move |y| (0..ow).flat_map(move |x| (0..cout).map(move |o| (b, y, x, o)))))
        {
            let mut sum = 0.0;
            for (ky, kx, i) in (0..kh).flat_map(|ky| (0..kw).flat_map(move |kx| (0..cin).map(move |i| (ky, kx, i)))) {
                let iy = (oy * c.strides[0] + ky * c.dilations[0]).checked_sub(c.pad[0]).filter(|&y| y < h);
                let ix = (ox * c.strides[1] + kx * c.dilations[1]).checked_sub(c.pad[1]).filter(|&x| x < w);
                if let (Some(iy), Some(ix)) = (iy, ix) {
                    let x = c.x[((b * h + iy) * w + ix) * cin + i];
                    sum += f64::from(x) * f64::from(c.f[((ky * kw + kx) * cin + i) * cout + o]);
                }
            }
            out[((b * oh + oy) * ow + ox) * cout + o] = sum;
        }
        out
    }

    #[test]
    fn direct_convolutions_match_the_definition_inside_and_at_the_border() {
        // (n, h, w, cin, kh, kw, cout, pad, strides, dilations): the four-position
        // path (cout 16, 32, 64), other widths, strides, dilations and padding.
        let cases = [
            (2, 7, 9, 1, 3, 3, 32, [1, 1], [1, 1], [1, 1]),
            (1, 6, 11, 1, 3, 3, 16, [1, 1], [1, 1], [1, 1]),
            (1, 8, 8, 3, 3, 3, 64, [1, 1], [1, 1], [1, 1]),
            (2, 5, 10, 2, 2, 3, 7, [0, 1], [1, 1], [1, 1]),
            (1, 9, 13, 1, 3, 3, 32, [1, 2], [2, 1], [1, 2]),
            (1, 5, 5, 1, 5, 5, 40, [2, 2], [1, 1], [1, 1]),
        ];
        for (n, h, w, cin, kh, kw, cout, pad, strides, dilations) in cases {
            let span = |k: usize, d: usize| (k - 1) * d + 1;
            let oh = (h + 2 * pad[0] - span(kh, dilations[0])) / strides[0] + 1;
            let ow = (w + 2 * pad[1] - span(kw, dilations[1])) / strides[1] + 1;
            let x: Vec<f32> = (0..n * h * w * cin).map(|i| ((i * 7 % 13) as f32 - 6.0) / 4.0).collect();
            let f: Vec<f32> = (0..kh * kw * cin * cout).map(|i| ((i * 5 % 11) as f32 - 5.0) / 8.0).collect();
            let conv = Conv {
                x: &x,
                f: &f,
                input: [h, w, cin],
                filter: [kh, kw, cout],
                output: [oh, ow],
                pad,
                strides,
                dilations,
            };
            let want = naive_conv(&conv, n);
            // Whole, and from a position inside the output (as a second thread's block starts).
            let mut out = vec![f32::NAN; want.len()];
            let split = (n * oh * ow / 2 + 1) * cout;
            conv.positions(0, &mut out[..split]);
            conv.positions(split / cout, &mut out[split..]);
            let mut portable = vec![f32::NAN; want.len()];
            conv_positions::<f32, false>(&conv, 0, &mut portable);
            // Through the padded input and register tiles, in two blocks of rows.
            if let Some(padded) = conv.padded(n) {
                let mut tiled = vec![std::mem::MaybeUninit::new(f32::NAN); want.len()];
                let rows = n * oh;
                let (first, second) = tiled.split_at_mut(rows / 2 * ow * cout);
                conv.padded_rows(&padded, 0, first, super::super::tiles::Epilogue::NONE);
                conv.padded_rows(&padded, rows / 2, second, super::super::tiles::Epilogue::NONE);
                // SAFETY: every element was initialized (with NaN) before.
                let tiled = tiled.iter().map(|v| unsafe { v.assume_init() });
                for (k, (got, &want)) in tiled.zip(&want).enumerate() {
                    assert!(
                        (f64::from(got) - want).abs() <= 1e-4 * (1.0 + want.abs()),
                        "tiled, case {:?} element {k}: {got} vs {want}",
                        (h, w, cin, kh, kw, cout)
                    );
                }
            }
            for (k, ((&got, &port), &want)) in out.iter().zip(&portable).zip(&want).enumerate() {
                let close = |v: f32| (f64::from(v) - want).abs() <= 1e-4 * (1.0 + want.abs());
                assert!(
                    close(got) && close(port),
                    "case {:?} element {k}: {got} / {port} vs {want}",
                    (h, w, cin, kh, kw, cout)
                );
            }
        }
    }
}
