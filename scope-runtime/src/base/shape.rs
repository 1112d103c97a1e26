//! Static shapes: known or unknown rank, each dimension known or unknown.

use smallvec::SmallVec;
use std::fmt;

/// One dimension of a static shape: `Some(n)` when known, `None` when not.
pub type Dim = Option<usize>;

/// A static shape as TensorFlow's `TensorShape`: the rank may be unknown, and
/// each dimension may be unknown (`[None, 784]` for a batch of any size).
///
/// Shapes of up to four dimensions are stored inline, so building one from an
/// array literal does not allocate.
///
/// # Examples
///
/// ```
/// use scope_runtime::Shape;
/// let s = Shape::from([2, 3]);
/// assert_eq!(s.rank(), Some(2));
/// assert!(s.is_compatible_with(&Shape::from_dims([None, Some(3)])));
/// assert!(!s.is_compatible_with(&Shape::from([3, 2])));
/// assert!(Shape::unknown().is_compatible_with(&s));
/// assert_eq!(s.to_string(), "(2, 3)");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Shape(Option<SmallVec<[Dim; 4]>>);

impl Shape {
    /// A shape of unknown rank (TensorFlow's `shape=None`).
    pub fn unknown() -> Shape {
        Shape(None)
    }

    /// The shape of a scalar, `()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(scope_runtime::Shape::scalar().rank(), Some(0));
    /// ```
    pub fn scalar() -> Shape {
        Shape(Some(SmallVec::new()))
    }

    /// A shape from dimensions that may be unknown.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = scope_runtime::Shape::from_dims([None, Some(784)]);
    /// assert_eq!(s.to_string(), "(None, 784)");
    /// ```
    pub fn from_dims(dims: impl IntoIterator<Item = Dim>) -> Shape {
        Shape(Some(dims.into_iter().collect()))
    }

    /// The rank, if known.
    pub fn rank(&self) -> Option<usize> {
        self.0.as_ref().map(|d| d.len())
    }

    /// The dimensions, if the rank is known.
    pub fn dims(&self) -> Option<&[Dim]> {
        self.0.as_deref()
    }

    /// Whether the rank and every dimension are known.
    pub fn is_fully_defined(&self) -> bool {
        self.0.as_ref().is_some_and(|d| d.iter().all(Option::is_some))
    }

    /// The dimensions as sizes when the shape is fully defined.
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::Shape;
    /// assert_eq!(Shape::from([4, 2]).to_vec(), Some(vec![4, 2]));
    /// assert_eq!(Shape::unknown().to_vec(), None);
    /// ```
    pub fn to_vec(&self) -> Option<Vec<usize>> {
        self.0.as_ref()?.iter().copied().collect()
    }

    /// The number of elements when fully defined and countable (`None` when
    /// a dimension is unknown or the count overflows `usize`: no such
    /// tensor can exist).
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::Shape;
    /// assert_eq!(Shape::from([4, 2]).num_elements(), Some(8));
    /// assert_eq!(Shape::from([1usize << 40, 1 << 40]).num_elements(), None);
    /// ```
    pub fn num_elements(&self) -> Option<usize> {
        self.0.as_ref()?.iter().try_fold(1usize, |n, d| n.checked_mul((*d)?))
    }

    /// What both shapes know (TF `merge_with`); `None` when they disagree.
    pub(crate) fn merge(&self, other: &Shape) -> Option<Shape> {
        let (Some(a), Some(b)) = (self.dims(), other.dims()) else {
            return Some(if self.dims().is_some() { self.clone() } else { other.clone() });
        };
        if a.len() != b.len() {
            return None;
        }
        a.iter()
            .zip(b)
            .map(|(&x, &y)| match (x, y) {
                (Some(x), Some(y)) if x != y => None,
                (x, y) => Some(x.or(y)),
            })
            .collect::<Option<Vec<_>>>()
            .map(Shape::from_dims)
    }

    /// TensorFlow's `is_compatible_with`: unknown rank or dimensions match anything.
    pub fn is_compatible_with(&self, other: &Shape) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => {
                a.len() == b.len()
                    && a.iter().zip(b.iter()).all(|(x, y)| match (x, y) {
                        (Some(x), Some(y)) => x == y,
                        _ => true,
                    })
            }
            _ => true,
        }
    }

    /// Whether the fully known `sizes` fit this shape (unknown dimensions match anything).
    pub fn accepts(&self, sizes: &[usize]) -> bool {
        self.0
            .as_ref()
            .is_none_or(|d| d.len() == sizes.len() && d.iter().zip(sizes).all(|(a, b)| a.is_none_or(|a| a == *b)))
    }

    /// Whether this shape equals the fully known `dims`.
    pub fn is(&self, dims: &[usize]) -> bool {
        self.0.as_ref().is_some_and(|d| d.len() == dims.len() && d.iter().zip(dims).all(|(a, b)| *a == Some(*b)))
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(dims: [usize; N]) -> Shape {
        Shape(Some(dims.iter().map(|&d| Some(d)).collect()))
    }
}

impl From<&[usize]> for Shape {
    fn from(dims: &[usize]) -> Shape {
        Shape(Some(dims.iter().map(|&d| Some(d)).collect()))
    }
}

impl From<Vec<usize>> for Shape {
    fn from(dims: Vec<usize>) -> Shape {
        Shape::from(dims.as_slice())
    }
}

impl From<&Vec<usize>> for Shape {
    fn from(dims: &Vec<usize>) -> Shape {
        Shape::from(dims.as_slice())
    }
}

impl From<Option<Vec<usize>>> for Shape {
    fn from(dims: Option<Vec<usize>>) -> Shape {
        dims.map_or_else(Shape::unknown, Shape::from)
    }
}

impl fmt::Display for Shape {
    /// TensorFlow's spelling: `(2, 3)`, `(1,)`, `()`, `(None, 784)`, `<unknown>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(dims) = &self.0 else {
            return f.write_str("<unknown>");
        };
        f.write_str("(")?;
        for (i, d) in dims.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match d {
                Some(d) => write!(f, "{d}")?,
                None => f.write_str("None")?,
            }
        }
        if dims.len() == 1 {
            f.write_str(",")?;
        }
        f.write_str(")")
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
