//! Concrete tensor values: an ndarray array of one of the supported dtypes.

use crate::base::dtype::DType;
use crate::base::error::{Error, Result};
use ndarray::{ArrayD, Axis, IxDyn, Slice};

/// A concrete n-dimensional value of one of the supported dtypes.
///
/// Variables hold a `Value`; constants are built from one. Scalars, `Vec`s
/// and ndarray arrays of `f32`, `f64`, `i32`, `i64` and `bool` convert into it.
///
/// # Examples
///
/// ```
/// use scope_runtime::{DType, Value};
/// let v = Value::from(vec![1.0f32, 2.0]);
/// assert_eq!(v.dtype(), DType::F32);
/// assert_eq!(v.shape(), &[2]);
/// assert_eq!(v.cast(DType::I32).to_f64_vec(), vec![1.0, 2.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `float32` elements.
    F32(ArrayD<f32>),
    /// `float64` elements.
    F64(ArrayD<f64>),
    /// `int32` elements.
    I32(ArrayD<i32>),
    /// `int64` elements.
    I64(ArrayD<i64>),
    /// `bool` elements.
    Bool(ArrayD<bool>),
}

/// Element types a [`Value`] can hold.
pub trait Element: Copy + Send + Sync + 'static + private::Sealed {
    /// The dtype of this element type.
    const DTYPE: DType;
    /// Wraps an array of this element type.
    fn wrap(array: ArrayD<Self>) -> Value;
    /// Borrows the array when the value has this element type.
    fn unwrap_ref(value: &Value) -> Option<&ArrayD<Self>>;
    /// Takes the array out when the value has this element type.
    fn into_array(value: Value) -> Option<ArrayD<Self>>;
    /// Converts from `f64` as TensorFlow's cast does (truncation for integers, `!= 0` for bool).
    fn from_f64(x: f64) -> Self;
    /// Converts to `f64`.
    fn to_f64(self) -> f64;
}

mod private {
    pub trait Sealed {}
}

macro_rules! elements {
    ($($t:ty => $variant:ident, $dtype:ident, |$x:ident| $from:expr, |$y:ident| $to:expr;)*) => {$(
        impl private::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$dtype;
            fn wrap(array: ArrayD<Self>) -> Value {
                Value::$variant(array)
            }
            fn unwrap_ref(value: &Value) -> Option<&ArrayD<Self>> {
                match value {
                    Value::$variant(a) => Some(a),
                    _ => None,
                }
            }
            fn into_array(value: Value) -> Option<ArrayD<Self>> {
                match value {
                    Value::$variant(a) => Some(a),
                    _ => None,
                }
            }
            fn from_f64($x: f64) -> Self {
                $from
            }
            fn to_f64(self) -> f64 {
                let $y = self;
                $to
            }
        }
        impl From<$t> for Value {
            fn from(x: $t) -> Value {
                Value::$variant(ArrayD::from_elem(IxDyn(&[]), x))
            }
        }
        impl From<Vec<$t>> for Value {
            fn from(v: Vec<$t>) -> Value {
                let n = v.len();
                Value::$variant(ArrayD::from_shape_vec(IxDyn(&[n]), v).expect("a vector is one-dimensional"))
            }
        }
        impl<D: ndarray::Dimension> From<ndarray::Array<$t, D>> for Value {
            fn from(a: ndarray::Array<$t, D>) -> Value {
                Value::$variant(a.into_dyn())
            }
        }
    )*};
}

elements! {
    f32 => F32, F32, |x| x as f32, |y| y as f64;
    f64 => F64, F64, |x| x, |y| y;
    i32 => I32, I32, |x| x as i32, |y| y as f64;
    i64 => I64, I64, |x| x as i64, |y| y as f64;
    bool => Bool, Bool, |x| x != 0.0, |y| if y { 1.0 } else { 0.0 };
}

/// Applies `$body` to the array inside a value, whatever its dtype.
macro_rules! each_array {
    ($value:expr, |$a:ident| $body:expr) => {
        match $value {
            Value::F32($a) => $body,
            Value::F64($a) => $body,
            Value::I32($a) => $body,
            Value::I64($a) => $body,
            Value::Bool($a) => $body,
        }
    };
}

pub(crate) use each_array;

/// Builds a value of `dtype` by mapping `$body` over a generic element type `$t`.
macro_rules! by_dtype {
    ($dtype:expr, $t:ident => $body:expr) => {
        match $dtype {
            DType::F32 => {
                type $t = f32;
                Value::F32($body)
            }
            DType::F64 => {
                type $t = f64;
                Value::F64($body)
            }
            DType::I32 => {
                type $t = i32;
                Value::I32($body)
            }
            DType::I64 => {
                type $t = i64;
                Value::I64($body)
            }
            DType::Bool => {
                type $t = bool;
                Value::Bool($body)
            }
        }
    };
}

impl Value {
    /// A value of `dtype` and `shape` with every element `x` (converted as by a cast).
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{DType, Value};
    /// let v = Value::filled(DType::I64, &[2, 2], 3.0);
    /// assert_eq!(v.to_f64_vec(), vec![3.0; 4]);
    /// ```
    pub fn filled(dtype: DType, shape: &[usize], x: f64) -> Value {
        by_dtype!(dtype, T => ArrayD::from_elem(IxDyn(shape), <T as Element>::from_f64(x)))
    }

    /// Builds a value from row-major `f64` data, converting each element to `dtype`.
    ///
    /// # Errors
    ///
    /// [`Error::ValueShape`] when `data` does not have as many elements as `shape`.
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{DType, Value};
    /// let v = Value::from_f64_data(DType::F32, &[2], vec![0.5, 1.5])?;
    /// assert_eq!(v.shape(), &[2]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    pub fn from_f64_data(dtype: DType, shape: &[usize], data: Vec<f64>) -> Result<Value> {
        let expected: usize = shape.iter().product();
        if data.len() != expected {
            return Err(Error::ValueShape { shape: shape.to_vec(), elements: data.len() });
        }
        // The length is checked above; the shape may still be too large to index.
        let too_large = |_| Error::ValueShape { shape: shape.to_vec(), elements: expected };
        Ok(
            by_dtype!(dtype, T => ArrayD::from_shape_vec(IxDyn(shape), data.into_iter().map(<T as Element>::from_f64).collect())
            .map_err(too_large)?),
        )
    }

    /// The dtype of the elements.
    pub fn dtype(&self) -> DType {
        match self {
            Value::F32(_) => DType::F32,
            Value::F64(_) => DType::F64,
            Value::I32(_) => DType::I32,
            Value::I64(_) => DType::I64,
            Value::Bool(_) => DType::Bool,
        }
    }

    /// The shape of the array.
    pub fn shape(&self) -> &[usize] {
        each_array!(self, |a| a.shape())
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        each_array!(self, |a| a.len())
    }

    /// Whether the value has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Converts every element to `dtype` as TensorFlow's `cast` does.
    pub fn cast(&self, dtype: DType) -> Value {
        if self.dtype() == dtype {
            return self.clone();
        }
        each_array!(self, |a| by_dtype!(dtype, T => a.mapv(|x| <T as Element>::from_f64(Element::to_f64(x)))))
    }

    /// Converts to `dtype` as TensorFlow converts a Python value: integers and
    /// booleans widen to any number type, but a float never silently becomes
    /// an integer and nothing but a bool becomes a bool.
    ///
    /// # Errors
    ///
    /// [`Error::ValueConversion`] for a float to an integer dtype, or a number to bool.
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{DType, Value};
    /// assert_eq!(Value::from(vec![1i32, 2]).convert(DType::F64)?.dtype(), DType::F64);
    /// assert!(Value::from(1.5f32).convert(DType::I32).is_err());
    /// assert!(Value::from(1i32).convert(DType::Bool).is_err());
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    pub fn convert(&self, dtype: DType) -> Result<Value> {
        let from = self.dtype();
        let allowed = from == dtype
            || match dtype {
                DType::Bool => false,
                DType::I32 | DType::I64 => !from.is_floating(),
                DType::F32 | DType::F64 => true,
            };
        if allowed { Ok(self.cast(dtype)) } else { Err(Error::ValueConversion { name: None, from, to: dtype }) }
    }

    /// The elements in row-major order, as `f64`.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        each_array!(self, |a| a.iter().map(|x| Element::to_f64(*x)).collect())
    }

    /// Borrows the array if the elements are of type `T`.
    ///
    /// # Examples
    ///
    /// ```
    /// let v = scope_runtime::Value::from(2.5f64);
    /// assert_eq!(v.as_array::<f64>().map(|a| a[[]]), Some(2.5));
    /// assert!(v.as_array::<f32>().is_none());
    /// ```
    pub fn as_array<T: Element>(&self) -> Option<&ArrayD<T>> {
        T::unwrap_ref(self)
    }

    /// Copies `other`'s elements into this value's buffer; `false` (and
    /// nothing copied) when the dtypes or shapes differ.
    pub(crate) fn copy_from(&mut self, other: &Value) -> bool {
        fn copy<T: Element>(a: &mut ArrayD<T>, other: &Value) -> bool {
            match other.as_array::<T>() {
                Some(b) if b.shape() == a.shape() => {
                    a.assign(b);
                    true
                }
                _ => false,
            }
        }
        each_array!(self, |a| copy(a, other))
    }

    /// The sub-array starting at `offset` with extent `shape` (TensorFlow's `slice`).
    pub(crate) fn slice(&self, offset: &[usize], shape: &[usize]) -> Value {
        each_array!(self, |a| {
            let mut view = a.view();
            for (axis, (&start, &len)) in offset.iter().zip(shape).enumerate() {
                view.slice_axis_inplace(Axis(axis), Slice::from(start..start + len));
            }
            Element::wrap(view.to_owned())
        })
    }

    /// Concatenates (or, with `stack`, stacks) values of one dtype along `axis`.
    pub(crate) fn join(parts: &[&Value], axis: usize, stack: bool) -> Option<Value> {
        fn cat<T: Element>(parts: &[&Value], axis: usize, stack: bool) -> Option<Value> {
            let views: Option<Vec<_>> = parts.iter().map(|p| p.as_array::<T>().map(|a| a.view())).collect();
            let views = views?;
            let joined =
                if stack { ndarray::stack(Axis(axis), &views) } else { ndarray::concatenate(Axis(axis), &views) };
            joined.ok().map(T::wrap)
        }
        // ndarray asserts (panics) on parts of different ranks; a graph of
        // unknown ranks only finds them here.
        let rank = parts.first()?.shape().len();
        if parts.iter().any(|p| p.shape().len() != rank) {
            return None;
        }
        match parts.first()?.dtype() {
            DType::F32 => cat::<f32>(parts, axis, stack),
            DType::F64 => cat::<f64>(parts, axis, stack),
            DType::I32 => cat::<i32>(parts, axis, stack),
            DType::I64 => cat::<i64>(parts, axis, stack),
            DType::Bool => cat::<bool>(parts, axis, stack),
        }
    }

    /// Concatenates values of one dtype along `axis`.
    pub(crate) fn concat(axis: usize, parts: &[Value]) -> Option<Value> {
        fn cat<T: Element>(axis: usize, parts: &[Value]) -> Option<Value> {
            let views: Option<Vec<_>> = parts.iter().map(|p| p.as_array::<T>().map(|a| a.view())).collect();
            ndarray::concatenate(Axis(axis), &views?).ok().map(T::wrap)
        }
        match parts.first()?.dtype() {
            DType::F32 => cat::<f32>(axis, parts),
            DType::F64 => cat::<f64>(axis, parts),
            DType::I32 => cat::<i32>(axis, parts),
            DType::I64 => cat::<i64>(axis, parts),
            DType::Bool => cat::<bool>(axis, parts),
        }
    }
}
