//! The images `train_digits` learns from: the UCI digits kept in `examples/data/`, or Fashion-MNIST's IDX files.

use flate2::read::GzDecoder;
use scopeflow::Value;
use scopeflow::ndarray::{Array2, Axis};
use std::error::Error;
use std::io::Read;
use std::path::Path;

/// The UCI digits as scikit-learn ships them (see `examples/data/README.md`):
/// one image a line, 64 pixels of 0..16 then the digit.
const DIGITS_CSV_GZ: &[u8] = include_bytes!("../data/digits.csv.gz");

/// Images, one a row with pixels scaled to [0, 1], and their classes.
pub struct Split {
    pub images: Array2<f32>,
    pub labels: Vec<i32>,
}

impl Split {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// The rows `rows`, as the values to feed a tower's `images` and `labels`.
    pub fn batch(&self, rows: &[usize]) -> (Value, Value) {
        let labels: Vec<i32> = rows.iter().map(|&r| self.labels[r]).collect();
        (Value::from(self.images.select(Axis(0), rows)), Value::from(labels))
    }

    /// Every row, in order.
    pub fn all(&self) -> (Value, Value) {
        (Value::from(self.images.clone()), Value::from(self.labels.clone()))
    }
}

/// A dataset split into the images a model trains on and those it is tested on.
pub struct Dataset {
    pub name: &'static str,
    pub train: Split,
    pub test: Split,
}

impl Dataset {
    /// Pixels per image.
    pub fn pixels(&self) -> usize {
        self.train.images.ncols()
    }
}

/// The 1,797 UCI digits, shuffled with `seed` and split as scikit-learn's
/// `train_test_split(test_size=0.2)` does: 360 to test, 1,437 to train.
pub fn digits(seed: u64) -> Result<Dataset, Box<dyn Error>> {
    let mut csv = String::new();
    GzDecoder::new(DIGITS_CSV_GZ).read_to_string(&mut csv)?;
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for (number, line) in csv.lines().enumerate() {
        let fields: Vec<f32> = line
            .split(',')
            .map(|f| f.trim().parse::<f32>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("digits.csv.gz line {}: {e}", number + 1))?;
        let Some((&label, row)) = fields.split_last().filter(|(_, row)| row.len() == 64) else {
            return Err(format!("digits.csv.gz line {}: {} fields, expected 65", number + 1, fields.len()).into());
        };
        pixels.extend(row.iter().map(|p| p / 16.0));
        labels.push(label as i32);
    }
    let all = Split { images: Array2::from_shape_vec((labels.len(), 64), pixels)?, labels };
    let order = Shuffle::new(seed).permutation(all.len());
    let (test, train) = order.split_at(all.len().div_ceil(5));
    let pick = |rows: &[usize]| Split {
        images: all.images.select(Axis(0), rows),
        labels: rows.iter().map(|&r| all.labels[r]).collect(),
    };
    Ok(Dataset { name: "digits", train: pick(train), test: pick(test) })
}

/// Fashion-MNIST from `dir`: `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
/// `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`, each plain or `.gz`.
pub fn fashion_mnist(dir: &Path) -> Result<Dataset, Box<dyn Error>> {
    let split = |prefix: &str| -> Result<Split, Box<dyn Error>> {
        let images = read_idx(dir, &format!("{prefix}-images-idx3-ubyte"), 3)?;
        let labels = read_idx(dir, &format!("{prefix}-labels-idx1-ubyte"), 1)?;
        let (count, pixels) = (images.dims[0], images.dims[1] * images.dims[2]);
        if labels.dims[0] != count {
            return Err(format!("{prefix}: {count} images but {} labels in {}", labels.dims[0], dir.display()).into());
        }
        let images = images.bytes.iter().map(|&p| f32::from(p) / 255.0).collect();
        Ok(Split {
            images: Array2::from_shape_vec((count, pixels), images)?,
            labels: labels.bytes.iter().map(|&l| i32::from(l)).collect(),
        })
    };
    Ok(Dataset { name: "fashion-mnist", train: split("train")?, test: split("t10k")? })
}

/// An IDX file of unsigned bytes: its dimensions and its data.
struct Idx {
    dims: Vec<usize>,
    bytes: Vec<u8>,
}

/// Reads `dir/name`, or else `dir/name.gz`, as an IDX file of `rank` dimensions.
fn read_idx(dir: &Path, name: &str, rank: usize) -> Result<Idx, Box<dyn Error>> {
    let plain = dir.join(name);
    let (path, gz) = if plain.exists() { (plain, false) } else { (dir.join(format!("{name}.gz")), true) };
    let cannot_read = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let file = std::fs::File::open(&path).map_err(cannot_read)?;
    let mut bytes = Vec::new();
    if gz { GzDecoder::new(file).read_to_end(&mut bytes) } else { (&file).read_to_end(&mut bytes) }
        .map_err(cannot_read)?;
    // Magic: two zero bytes, 0x08 for unsigned bytes, then the rank; then each dimension as a big-endian u32.
    let header = 4 + 4 * rank;
    if bytes.len() < header || bytes[..4] != [0, 0, 8, rank as u8] {
        return Err(format!("{} is not an IDX file of {rank}-dimensional unsigned bytes", path.display()).into());
    }
    let dims: Vec<usize> =
        bytes[4..header].chunks(4).map(|d| u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize).collect();
    let data = bytes.split_off(header);
    if data.len() != dims.iter().product::<usize>() {
        return Err(format!("{}: {} data bytes for dimensions {dims:?}", path.display(), data.len()).into());
    }
    Ok(Idx { dims, bytes: data })
}

/// A fixed shuffle: SplitMix64 (Steele, Lea and Flood, 2014) drawing a
/// Fisher–Yates permutation, the same for a seed on every platform.
pub struct Shuffle(u64);

impl Shuffle {
    pub fn new(seed: u64) -> Shuffle {
        Shuffle(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `0..n` in a random order.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            // The modulo's bias is below 2^-40 for any n a dataset has.
            order.swap(i, (self.next() % (i as u64 + 1)) as usize);
        }
        order
    }
}
