//! Every `#[scoped]` form, run: each prints the names TensorFlow would.
#![deny(warnings)]

use scopeflow::prelude::*;

#[scoped]
fn dense(x: &Tensor, units: usize) -> Result<Tensor> {
    let w = get_variable("kernel", [x.dim(1)?, units]).get()?;
    matmul(x, &w)
}

#[scoped("encoder", reuse = auto)]
fn encode(x: &Tensor) -> Result<Tensor> {
    dense(x, 2)
}

#[scoped("tower", reuse = true)]
fn tower_again() -> Result<Variable> {
    get_variable("w", Shape::unknown()).get()
}

#[scoped(scope = name)]
fn dense_layer(x: &Tensor, units: usize, name: &str) -> Result<Tensor> {
    dense(x, units)
}

#[scoped(scope = name)]
fn optional_scope(name: Option<&str>) -> Result<VariableScope> {
    scopeflow::current_variable_scope()
}

#[scoped(scope = captured)]
fn in_captured(captured: &VariableScope) -> Result<Variable> {
    get_variable("extra", [1]).get()
}

#[scoped(scope = owned)]
fn in_owned(owned: String) -> Result<String> {
    Ok(scopeflow::current_variable_scope()?.name().to_owned())
}

#[scoped(name_scope)]
fn loss(x: &Tensor) -> Result<Tensor> {
    mul(x, x)
}

#[scoped(name_scope = "metrics")]
fn metric(x: &Tensor) -> Result<Tensor> {
    identity(x)
}

#[scoped("typed", initializer = constant(0.5), dtype = f64)]
fn typed() -> Result<Variable> {
    get_variable("v", [2]).get()
}

#[scoped("random", initializer = random_uniform(-1.0, 1.0))]
fn random() -> Result<Variable> {
    get_variable("v", [2]).get()
}

#[scoped("custom", initializer = Init::Constant(2.0))]
fn custom() -> Result<Variable> {
    get_variable("v", [1]).get()
}

/// Without a `Result`: a failure to enter the scope would panic.
#[scoped("plain")]
fn plain() -> String {
    scopeflow::current_variable_scope().map(|s| s.name().to_owned()).unwrap_or_default()
}

#[scoped]
fn generic<T: AsRef<Tensor>>(x: T) -> Result<Tensor> {
    identity(x.as_ref())
}

#[scoped]
fn takes_impl(x: impl AsRef<Tensor>) -> Result<Tensor> {
    relu(x.as_ref())
}

#[derive(Debug)]
enum AppError {
    Scope(scopeflow::Error),
}

impl From<scopeflow::Error> for AppError {
    fn from(e: scopeflow::Error) -> Self {
        AppError::Scope(e)
    }
}

#[scoped("app")]
fn own_error() -> std::result::Result<String, AppError> {
    Ok(get_variable("v", [1]).get()?.name().to_owned())
}

struct Layer {
    units: usize,
}

impl Layer {
    #[scoped("layer")]
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        dense(x, self.units)
    }
}

fn main() -> std::result::Result<(), AppError> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = constant(scopeflow::ndarray::Array2::<f32>::zeros((1, 3)))?;
    assert_eq!(dense(&x, 2)?.name(), "dense/MatMul");
    assert_eq!(dense(&x, 2)?.name(), "dense_1/MatMul");
    assert_eq!(encode(&x)?.name(), "encoder/dense/MatMul");
    assert_eq!(encode(&x)?.name(), "encoder_1/dense/MatMul");
    assert!(graph.variable("encoder/dense/kernel").is_some());
    assert!(graph.variable("encoder/dense_1/kernel").is_none());
    let w = variable_scope("tower").with(|_| get_variable("w", [1]).get())?;
    assert_eq!(tower_again()?, w);
    assert_eq!(dense_layer(&x, 2, "fc")?.name(), "fc/dense/MatMul");
    assert_eq!(optional_scope(Some("given"))?.name(), "given");
    assert_eq!(optional_scope(None)?.name(), "optional_scope");
    let captured = variable_scope("cap").with(|s| Ok::<_, scopeflow::Error>(s.clone()))?;
    assert_eq!(in_captured(&captured)?.name(), "cap/extra");
    assert_eq!(in_owned("owned".to_owned())?, "owned");
    assert_eq!(loss(&x)?.name(), "loss/Mul");
    assert_eq!(metric(&x)?.name(), "metrics/Identity");
    let t = typed()?;
    assert_eq!((t.name(), t.dtype()), ("typed/v", DType::F64));
    assert_eq!(t.value()?.to_f64_vec(), vec![0.5, 0.5]);
    assert!(random()?.value()?.to_f64_vec().iter().all(|v| (-1.0..1.0).contains(v)));
    assert_eq!(custom()?.value()?.to_f64_vec(), vec![2.0]);
    assert_eq!(plain(), "plain");
    assert_eq!(generic(&x)?.name(), "generic/Identity");
    assert_eq!(takes_impl(&x)?.name(), "takes_impl/Relu");
    assert_eq!(own_error()?, "app/v");
    assert_eq!(Layer { units: 2 }.apply(&x)?.name(), "layer/dense/MatMul");
    Ok(())
}
