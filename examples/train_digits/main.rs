//! Trains a classifier on real images the TF1 way: a train tower and an eval
//! tower built by one function, the eval tower re-entering the same
//! `variable_scope("mlp")` with `reuse = true`; Adam; a progress bar with the
//! loss and accuracy; TensorBoard scalars and the graph; a checkpoint at the end.
//!
//! By default: the UCI 8×8 handwritten digits kept in `examples/data/`
//! (1,797 images, a fixed 80/20 split), in seconds. With `--fashion-mnist DIR`:
//! Fashion-MNIST's 60,000 + 10,000 images from its IDX files, plain or `.gz`
//! (Debian's `dataset-fashion-mnist` installs them in `/usr/share/datasets/fashion-mnist/`).
//! The graph seed and the shuffles are fixed: every run prints the same numbers.
//!
//! Run: `cargo run --release --example train_digits [-- --fashion-mnist DIR] [--epochs N] [--logdir DIR]`,
//! then `tensorboard --logdir target/train_digits`. It ends with `test accuracy=0.xxxx`.

pub(crate) mod data;

use data::Shuffle;
use indicatif::{ProgressBar, ProgressStyle};
use scopeflow::prelude::*;
use scopeflow::{
    AdamOptimizer, EventWriter, Optimizer, argmax_as, cast, equal, get_or_create_global_step,
    sparse_softmax_cross_entropy_with_logits,
};
use std::error::Error;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

const USAGE: &str =
    "usage: cargo run --release --example train_digits -- [--fashion-mnist DIR] [--epochs N] [--logdir DIR]";
/// The graph's seed (TF `tf.set_random_seed`) and the shuffles'.
pub const SEED: u64 = 0;
pub const CLASSES: usize = 10;

/// `tf.layers.dense(x, units, name=name)`: variables `name/kernel` and
/// `name/bias` in the current variable scope, ops in `name/`.
#[scoped(scope = name)]
fn dense(x: &Tensor, units: usize, name: &str) -> Result<Tensor> {
    let kernel = get_variable("kernel", [x.dim(1)?, units]).get()?; // glorot_uniform, as in TF
    let bias = get_variable("bias", [units]).initializer(Init::Zeros).get()?;
    bias_add(&x.matmul(&kernel)?, &bias)
}

/// The classifier, as TF1 code writes a tower:
/// `with tf.variable_scope("mlp", reuse=reuse): …`. Called with
/// `Reuse::Inherit` it creates `mlp/hidden/kernel`, …; with `Reuse::True` it
/// gets the same variables back, and fails if one were missing. (Both towers
/// compute the same thing here; with dropout or batch normalization, the eval
/// tower is where TF1 code passes `training=False`.)
fn mlp(images: &Tensor, hidden: usize, reuse: Reuse) -> Result<Tensor> {
    let _mlp = variable_scope("mlp").reuse(reuse).enter()?;
    let h = relu(&dense(images, hidden, "hidden")?)?;
    dense(&h, CLASSES, "logits")
}

/// The mean cross-entropy of `logits` against the true classes.
#[scoped(name_scope = "loss")]
fn loss(labels: &Tensor, logits: &Tensor) -> Result<Tensor> {
    reduce_mean(&sparse_softmax_cross_entropy_with_logits(labels, logits)?, None, false)
}

/// The fraction of rows whose largest logit is the true class.
#[scoped(name_scope = "accuracy")]
fn accuracy(labels: &Tensor, logits: &Tensor) -> Result<Tensor> {
    let hits = equal(&argmax_as(logits, 1, DType::I32)?, labels)?;
    reduce_mean(&cast(&hits, DType::F32)?, None, false)
}

/// One tower: its inputs, and what it computes from them.
pub struct Tower {
    pub images: Tensor,
    pub labels: Tensor,
    pub logits: Tensor,
    pub loss: Tensor,
    pub accuracy: Tensor,
}

impl Tower {
    /// Builds a tower in name scope `name` (`train/mlp/hidden/MatMul`, …; the
    /// variables, named by variable scopes only, stay `mlp/…`).
    pub fn build(name: &str, pixels: usize, hidden: usize, reuse: Reuse) -> Result<Tower> {
        name_scope(name).with(|_| {
            let images = named("images").placeholder(DType::F32, Shape::from_dims([None, Some(pixels)]))?;
            let labels = named("labels").placeholder(DType::I32, Shape::from_dims([None]))?;
            let logits = mlp(&images, hidden, reuse)?;
            let loss = loss(&labels, &logits)?;
            let accuracy = accuracy(&labels, &logits)?;
            Ok(Tower { images, labels, logits, loss, accuracy })
        })
    }

    /// Loss and accuracy over a whole split, as `Split::all` gives it.
    pub fn evaluate(&self, session: &Session, (images, labels): &(Value, Value)) -> Result<(f64, f64)> {
        let got = session.run(&[&self.loss, &self.accuracy], &[(&self.images, images), (&self.labels, labels)])?;
        Ok((scalar(&got[0]), scalar(&got[1])))
    }
}

pub fn scalar(value: &Value) -> f64 {
    value.to_f64_vec()[0]
}

/// What to train on, and how long.
pub struct Options {
    /// Fashion-MNIST's directory; `None` for the digits.
    pub fashion_mnist: Option<PathBuf>,
    /// Passes over the training images; `None` for the dataset's default.
    pub epochs: Option<usize>,
    /// Where the TensorBoard events and the checkpoint go.
    pub logdir: PathBuf,
    /// Draw a progress bar on a terminal's stderr.
    pub progress: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            fashion_mnist: None,
            epochs: None,
            logdir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/train_digits")),
            progress: true,
        }
    }
}

impl Options {
    /// Reads `--fashion-mnist DIR`, `--epochs N` and `--logdir DIR`.
    pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut options = Options::default();
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or(format!("{flag} needs a value"));
            match flag.as_str() {
                "--fashion-mnist" => options.fashion_mnist = Some(value()?.into()),
                "--logdir" => options.logdir = value()?.into(),
                "--epochs" => {
                    let n = value()?;
                    options.epochs = Some(n.parse().map_err(|_| format!("--epochs {n}: not a number of epochs"))?);
                }
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        Ok(options)
    }
}

/// How a dataset is trained: the same MLP, sized and run for its images.
pub struct Settings {
    pub epochs: usize,
    pub batch: usize,
    pub hidden: usize,
    pub learning_rate: f64,
}

impl Settings {
    pub const DIGITS: Settings = Settings { epochs: 30, batch: 32, hidden: 64, learning_rate: 1e-3 };
    pub const FASHION_MNIST: Settings = Settings { epochs: 10, batch: 64, hidden: 128, learning_rate: 1e-3 };
}

fn main() {
    if std::env::args().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return;
    }
    let options = Options::parse(std::env::args().skip(1)).unwrap_or_else(|problem| {
        eprintln!("{problem}\n{USAGE}");
        std::process::exit(2);
    });
    if let Err(e) = run(&mut std::io::stdout().lock(), &options) {
        eprintln!("train_digits: {e}");
        std::process::exit(1);
    }
}

/// The dataset `options` ask for (the UCI digits, or Fashion-MNIST from its
/// directory) and the settings that suit it.
pub fn load(options: &Options) -> Result<(data::Dataset, Settings), Box<dyn Error>> {
    Ok(match &options.fashion_mnist {
        Some(dir) => (data::fashion_mnist(dir)?, Settings::FASHION_MNIST),
        None => (data::digits(SEED)?, Settings::DIGITS),
    })
}

/// Loads the data, builds both towers and the optimizer, trains, evaluates
/// the test images after each epoch, saves a checkpoint, and returns the
/// final test accuracy (also printed last, as `test accuracy=0.xxxx`).
pub fn run(out: &mut impl Write, options: &Options) -> Result<f64, Box<dyn Error>> {
    let (data, settings) = load(options)?;
    let epochs = options.epochs.unwrap_or(settings.epochs);
    writeln!(
        out,
        "{}: {} training and {} test images of {} pixels",
        data.name,
        data.train.len(),
        data.test.len(),
        data.pixels()
    )?;

    let graph = Graph::with_seed(SEED);
    let _g = graph.as_default();
    let train = Tower::build("train", data.pixels(), settings.hidden, Reuse::Inherit)?;
    let eval = Tower::build("eval", data.pixels(), settings.hidden, Reuse::True)?;
    let global_step = get_or_create_global_step()?;
    let train_op = AdamOptimizer::new(settings.learning_rate).minimize(&train.loss, None, Some(&global_step))?;
    let shared: Vec<String> = graph.trainable_variables(None)?.iter().map(|v| v.name().to_owned()).collect();
    writeln!(out, "towers {} and {} share {shared:?}", train.logits.name(), eval.logits.name())?;

    let mut events = EventWriter::create(&options.logdir)?;
    events.add_graph(&graph)?;
    let session = Session::new(&graph);
    let batches = data.train.len().div_ceil(settings.batch);
    let bar = if options.progress && std::io::stderr().is_terminal() {
        ProgressBar::new((epochs * batches) as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(ProgressStyle::with_template("epoch {prefix} {bar:30} {pos}/{len} {msg} [{elapsed}]")?);
    let test = data.test.all();
    let mut shuffle = Shuffle::new(SEED);
    let mut step = 0;
    let mut test_accuracy = 0.0;
    for epoch in 1..=epochs {
        bar.set_prefix(format!("{epoch}/{epochs}"));
        // Means over the epoch so far, weighted by batch size.
        let (mut loss_sum, mut hits, mut seen) = (0.0, 0.0, 0);
        for rows in shuffle.permutation(data.train.len()).chunks(settings.batch) {
            let (images, labels) = data.train.batch(rows);
            let got = session.run_with_targets(
                &[&train.loss, &train.accuracy],
                &[(&train.images, &images), (&train.labels, &labels)],
                &[&train_op],
            )?;
            let (loss, accuracy) = (scalar(&got[0]), scalar(&got[1]));
            step += 1;
            events.add_scalar("train/loss", loss as f32, step)?;
            events.add_scalar("train/accuracy", accuracy as f32, step)?;
            loss_sum += loss * rows.len() as f64;
            hits += accuracy * rows.len() as f64;
            seen += rows.len();
            bar.set_message(format!("loss {:.4} accuracy {:.4}", loss_sum / seen as f64, hits / seen as f64));
            bar.inc(1);
        }
        let (test_loss, accuracy) = eval.evaluate(&session, &test)?;
        test_accuracy = accuracy;
        events.add_scalar("test/loss", test_loss as f32, step)?;
        events.add_scalar("test/accuracy", test_accuracy as f32, step)?;
        bar.suspend(|| {
            writeln!(
                out,
                "epoch {epoch}/{epochs}: train loss {:.4} accuracy {:.4}, test loss {test_loss:.4} accuracy {test_accuracy:.4}",
                loss_sum / seen as f64,
                hits / seen as f64,
            )
        })?;
    }
    bar.finish_and_clear();
    events.flush()?;
    let checkpoint = options.logdir.join("model.safetensors");
    Saver::new(&graph).save(&checkpoint)?;
    writeln!(out, "{step} steps; TensorBoard: tensorboard --logdir {}", options.logdir.display())?;
    writeln!(out, "checkpoint {}", checkpoint.display())?;
    writeln!(out, "test accuracy={test_accuracy:.4}")?;
    Ok(test_accuracy)
}
