// SPDX-License-Identifier: GPL-2.0

//! The part of `std` that nvmock's host tests (`tests/*.rs`) use, on the kernel's allocator,
//! so that the same test source builds as KUnit suites under kunit.py.
//!
//! The models under test use only `core`; the tests around them keep guest memory, tables and
//! expected values in `Vec`s. Here `Vec` is a [`KVVec`] (kmalloc, falling back to vmalloc for
//! the megabyte buffers), `Box` a [`KBox`], `String` a `Vec<u8>` that `format!` writes into,
//! and `HashSet` a linear set. Only what the tests call is provided. An allocation failure
//! panics, which KUnit reports as a crashed case: a test cannot pass without its memory.
//!
//! `make kunit-tree` copies this file into the kernel tree next to the generated suites
//! (`tools-testing/kunit-tree/host_tests.py`); it is not part of any nvmock module.

use core::borrow::{Borrow, BorrowMut};
use core::fmt;
use core::ops::{Deref, DerefMut};
use kernel::alloc::{flags::GFP_KERNEL, KBox, KVVec};

/// What every generated suite imports.
#[allow(unused_imports)]
pub(crate) mod prelude {
    pub(crate) use super::{format, std, vec, BTreeSet, Box, HashSet, SliceExt, String, Vec};
}

/// `std::...` paths in the tests: `core`'s modules, plus the collections provided here.
#[allow(unused_imports)]
pub(crate) mod std {
    pub(crate) use core::*;
    /// `std::collections`.
    pub(crate) mod collections {
        pub(crate) use super::super::{BTreeSet, HashSet};
    }
    /// `std::vec`.
    pub(crate) mod vec {
        pub(crate) use super::super::Vec;
    }
}

fn oom() -> ! {
    panic!("nvmock host_std: out of memory")
}

/// `std::vec::Vec` on [`KVVec`].
pub(crate) struct Vec<T>(KVVec<T>);

impl<T> Vec<T> {
    /// An empty vector.
    pub(crate) const fn new() -> Self {
        Vec(KVVec::new())
    }

    /// An empty vector with room for `n` elements.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Vec(KVVec::with_capacity(n, GFP_KERNEL).unwrap_or_else(|_| oom()))
    }

    /// `vec![a, b, c]`.
    pub(crate) fn from_array<const N: usize>(a: [T; N]) -> Self {
        let mut v = Self::with_capacity(N);
        for x in a {
            v.push(x);
        }
        v
    }

    /// Appends `x`.
    pub(crate) fn push(&mut self, x: T) {
        self.0.push(x, GFP_KERNEL).unwrap_or_else(|_| oom())
    }

    /// Removes and returns the last element.
    pub(crate) fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }

    /// Inserts `x` at `i`, shifting the rest up. Panics if `i > len`, as `std`'s does.
    pub(crate) fn insert(&mut self, i: usize, x: T) {
        self.0.reserve(1, GFP_KERNEL).unwrap_or_else(|_| oom());
        if self.0.insert_within_capacity(i, x).is_err() {
            panic!("Vec::insert: index {i} out of bounds");
        }
    }

    /// Removes and returns the element at `i`. Panics if `i >= len`, as `std`'s does.
    pub(crate) fn remove(&mut self, i: usize) -> T {
        match self.0.remove(i) {
            Ok(x) => x,
            Err(_) => panic!("Vec::remove: index {i} out of bounds"),
        }
    }

    /// Keeps the first `n` elements.
    pub(crate) fn truncate(&mut self, n: usize) {
        self.0.truncate(n)
    }

    /// Removes every element.
    pub(crate) fn clear(&mut self) {
        self.0.clear()
    }

    /// Keeps the elements for which `f` is true.
    pub(crate) fn retain(&mut self, mut f: impl FnMut(&T) -> bool) {
        self.0.retain(|x| f(x))
    }

    /// The elements, as a slice.
    pub(crate) fn as_slice(&self) -> &[T] {
        &self.0
    }

    /// The elements, as a mutable slice.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.0
    }

    /// Gives up the allocation for good: the tests build `'static` tables this way. Each call
    /// leaks the memory until the kernel stops.
    pub(crate) fn leak<'a>(v: Self) -> &'a mut [T] {
        let (p, len, _) = v.0.into_raw_parts();
        // SAFETY: `p` points to `len` initialized elements that nothing else owns now, and the
        // allocation is never freed.
        unsafe { core::slice::from_raw_parts_mut(p, len) }
    }

    /// Moves every element of `other` to the end of `self`.
    pub(crate) fn append(&mut self, other: &mut Self) {
        for x in other.0.drain_all() {
            self.push(x);
        }
    }
}

impl<T: Clone> Vec<T> {
    /// `vec![x; n]`.
    pub(crate) fn from_elem(x: T, n: usize) -> Self {
        Vec(KVVec::from_elem(x, n, GFP_KERNEL).unwrap_or_else(|_| oom()))
    }

    /// Appends a copy of every element of `s`.
    pub(crate) fn extend_from_slice(&mut self, s: &[T]) {
        self.0
            .extend_from_slice(s, GFP_KERNEL)
            .unwrap_or_else(|_| oom())
    }

    /// Grows with copies of `x`, or shrinks, to `n` elements.
    pub(crate) fn resize(&mut self, n: usize, x: T) {
        self.0.resize(n, x, GFP_KERNEL).unwrap_or_else(|_| oom())
    }
}

impl<T: PartialEq> Vec<T> {
    /// Removes consecutive repeated elements.
    pub(crate) fn dedup(&mut self) {
        let mut out = Self::with_capacity(self.len());
        for x in self.0.drain_all() {
            if out.last() != Some(&x) {
                out.push(x);
            }
        }
        *self = out;
    }
}

impl<T> Default for Vec<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Deref for Vec<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T> DerefMut for Vec<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

impl<T> AsRef<[T]> for Vec<T> {
    fn as_ref(&self) -> &[T] {
        self
    }
}

impl<T> AsMut<[T]> for Vec<T> {
    fn as_mut(&mut self) -> &mut [T] {
        self
    }
}

impl<T> Borrow<[T]> for Vec<T> {
    fn borrow(&self) -> &[T] {
        self
    }
}

impl<T> BorrowMut<[T]> for Vec<T> {
    fn borrow_mut(&mut self) -> &mut [T] {
        self
    }
}

impl<T: Clone> Clone for Vec<T> {
    fn clone(&self) -> Self {
        let mut v = Self::with_capacity(self.len());
        v.extend_from_slice(self);
        v
    }
}

impl<T: fmt::Debug> fmt::Debug for Vec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: Eq> Eq for Vec<T> {}

impl<T: PartialEq<U>, U> PartialEq<Vec<U>> for Vec<T> {
    fn eq(&self, o: &Vec<U>) -> bool {
        **self == **o
    }
}

impl<T: PartialEq<U>, U> PartialEq<[U]> for Vec<T> {
    fn eq(&self, o: &[U]) -> bool {
        **self == *o
    }
}

impl<T: PartialEq<U>, U> PartialEq<&[U]> for Vec<T> {
    fn eq(&self, o: &&[U]) -> bool {
        **self == **o
    }
}

impl<T: PartialEq<U>, U> PartialEq<&mut [U]> for Vec<T> {
    fn eq(&self, o: &&mut [U]) -> bool {
        **self == **o
    }
}

impl<T: PartialEq<U>, U, const N: usize> PartialEq<[U; N]> for Vec<T> {
    fn eq(&self, o: &[U; N]) -> bool {
        **self == o[..]
    }
}

impl<T: PartialEq<U>, U, const N: usize> PartialEq<&[U; N]> for Vec<T> {
    fn eq(&self, o: &&[U; N]) -> bool {
        **self == o[..]
    }
}

impl<T: PartialEq<U>, U> PartialEq<Vec<U>> for [T] {
    fn eq(&self, o: &Vec<U>) -> bool {
        *self == **o
    }
}

impl<T: PartialEq<U>, U> PartialEq<Vec<U>> for &[T] {
    fn eq(&self, o: &Vec<U>) -> bool {
        **self == **o
    }
}

impl<T: PartialEq<U>, U, const N: usize> PartialEq<Vec<U>> for [T; N] {
    fn eq(&self, o: &Vec<U>) -> bool {
        self[..] == **o
    }
}

impl<T: PartialOrd> PartialOrd for Vec<T> {
    fn partial_cmp(&self, o: &Self) -> Option<core::cmp::Ordering> {
        (**self).partial_cmp(&**o)
    }
}

impl<T: Ord> Ord for Vec<T> {
    fn cmp(&self, o: &Self) -> core::cmp::Ordering {
        (**self).cmp(&**o)
    }
}

impl<T> FromIterator<T> for Vec<T> {
    fn from_iter<I: IntoIterator<Item = T>>(it: I) -> Self {
        let mut v = Self::new();
        v.extend(it);
        v
    }
}

impl<T> Extend<T> for Vec<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, it: I) {
        for x in it {
            self.push(x);
        }
    }
}

impl<'a, T: Copy + 'a> Extend<&'a T> for Vec<T> {
    fn extend<I: IntoIterator<Item = &'a T>>(&mut self, it: I) {
        for x in it {
            self.push(*x);
        }
    }
}

impl<T> IntoIterator for Vec<T> {
    type Item = T;
    type IntoIter = kernel::alloc::IntoIter<T, kernel::alloc::allocator::KVmalloc>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Vec<T> {
    type Item = &'a T;
    type IntoIter = core::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, T> IntoIterator for &'a mut Vec<T> {
    type Item = &'a mut T;
    type IntoIter = core::slice::IterMut<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

impl<T: Clone> From<&[T]> for Vec<T> {
    fn from(s: &[T]) -> Self {
        s.to_vec()
    }
}

impl<T, const N: usize> From<[T; N]> for Vec<T> {
    fn from(a: [T; N]) -> Self {
        Self::from_array(a)
    }
}

impl<T, const N: usize> TryFrom<Vec<T>> for [T; N] {
    type Error = Vec<T>;
    fn try_from(v: Vec<T>) -> Result<Self, Vec<T>> {
        if v.len() != N {
            return Err(v);
        }
        let mut it = v.into_iter();
        Ok(core::array::from_fn(|_| match it.next() {
            Some(x) => x,
            None => unreachable!(),
        }))
    }
}

/// The allocating slice methods of `std`: `to_vec`, the stable sorts, `concat`.
pub(crate) trait SliceExt<T> {
    /// A vector holding a copy of the slice.
    fn to_vec(&self) -> Vec<T>
    where
        T: Clone;
    /// Stable sort.
    fn sort(&mut self)
    where
        T: Ord;
    /// Stable sort by `f`.
    fn sort_by(&mut self, f: impl FnMut(&T, &T) -> core::cmp::Ordering);
    /// Stable sort by a key.
    fn sort_by_key<K: Ord>(&mut self, f: impl FnMut(&T) -> K);
}

impl<T> SliceExt<T> for [T] {
    fn to_vec(&self) -> Vec<T>
    where
        T: Clone,
    {
        let mut v = Vec::with_capacity(self.len());
        v.extend_from_slice(self);
        v
    }

    fn sort(&mut self)
    where
        T: Ord,
    {
        self.sort_by(|a, b| a.cmp(b))
    }

    fn sort_by(&mut self, mut f: impl FnMut(&T, &T) -> core::cmp::Ordering) {
        // Insertion sort: stable, in place, and the tests sort a handful of elements.
        for i in 1..self.len() {
            let mut j = i;
            while j > 0 && f(&self[j - 1], &self[j]) == core::cmp::Ordering::Greater {
                self.swap(j - 1, j);
                j -= 1;
            }
        }
    }

    fn sort_by_key<K: Ord>(&mut self, mut f: impl FnMut(&T) -> K) {
        self.sort_by(|a, b| f(a).cmp(&f(b)))
    }
}

/// `std::boxed::Box` on [`KBox`].
pub(crate) struct Box<T>(KBox<T>);

impl<T> Box<T> {
    /// Moves `x` to the heap.
    pub(crate) fn new(x: T) -> Self {
        Box(KBox::new(x, GFP_KERNEL).unwrap_or_else(|_| oom()))
    }

    /// Gives up ownership of the allocation.
    pub(crate) fn into_raw(b: Self) -> *mut T {
        KBox::into_raw(b.0)
    }

    /// Takes back ownership of an allocation from [`Box::into_raw`].
    ///
    /// # Safety
    ///
    /// `p` comes from [`Box::into_raw`] (of a `Box<U>` with `U`'s layout equal to `T`'s) and
    /// holds a valid `T`.
    pub(crate) unsafe fn from_raw(p: *mut T) -> Self {
        // SAFETY: `p` was allocated by `KBox` with `T`'s layout and holds a valid `T` (the
        // caller's contract).
        Box(unsafe { KBox::from_raw(p) })
    }
}

impl<T> Deref for Box<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Box<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

/// `std::string::String`: UTF-8 in a [`Vec<u8>`], what `format!` returns.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct String(Vec<u8>);

impl String {
    /// The bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, owned.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        self
    }
}

impl Deref for String {
    type Target = str;
    fn deref(&self) -> &str {
        match core::str::from_utf8(&self.0) {
            Ok(s) => s,
            // Only `fmt::Write::write_str` appends, and it appends whole `str`s.
            Err(_) => unreachable!(),
        }
    }
}

impl fmt::Write for String {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

impl fmt::Debug for String {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl fmt::Display for String {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

impl PartialEq<&str> for String {
    fn eq(&self, o: &&str) -> bool {
        **self == **o
    }
}

/// `format!`'s body: formats `args` into a new [`String`].
pub(crate) fn format_string(args: fmt::Arguments<'_>) -> String {
    let mut s = String::default();
    if fmt::Write::write_fmt(&mut s, args).is_err() {
        panic!("format!: a formatting trait failed");
    }
    s
}

/// `std::collections::HashSet`, as a linear set: the tests keep a few dozen elements.
pub(crate) struct HashSet<T>(Vec<T>);

impl<T: PartialEq> HashSet<T> {
    /// An empty set.
    pub(crate) fn new() -> Self {
        HashSet(Vec::new())
    }

    /// Adds `x`; false if it was already there.
    pub(crate) fn insert(&mut self, x: T) -> bool {
        if self.0.contains(&x) {
            return false;
        }
        self.0.push(x);
        true
    }

    /// Whether `x` is in the set.
    pub(crate) fn contains(&self, x: &T) -> bool {
        self.0.contains(x)
    }

    /// Removes `x`; false if it was not there.
    pub(crate) fn remove(&mut self, x: &T) -> bool {
        let before = self.0.len();
        self.0.retain(|y| y != x);
        self.0.len() != before
    }

    /// The number of elements.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The elements, in insertion order.
    pub(crate) fn iter(&self) -> core::slice::Iter<'_, T> {
        self.0.iter()
    }
}

impl<T: PartialEq> Default for HashSet<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: PartialEq> FromIterator<T> for HashSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(it: I) -> Self {
        let mut s = Self::new();
        for x in it {
            s.insert(x);
        }
        s
    }
}

impl<T: PartialEq> PartialEq for HashSet<T> {
    fn eq(&self, o: &Self) -> bool {
        self.len() == o.len() && self.iter().all(|x| o.contains(x))
    }
}

impl<T: fmt::Debug> fmt::Debug for HashSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.iter()).finish()
    }
}

/// `std::collections::BTreeSet`, as a sorted vector.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct BTreeSet<T>(Vec<T>);

impl<T: Ord> BTreeSet<T> {
    /// An empty set.
    pub(crate) const fn new() -> Self {
        BTreeSet(Vec::new())
    }

    /// Adds `x`; false if it was already there.
    pub(crate) fn insert(&mut self, x: T) -> bool {
        match self.0.binary_search(&x) {
            Ok(_) => false,
            Err(i) => {
                self.0.insert(i, x);
                true
            }
        }
    }

    /// Removes `x`; false if it was not there.
    pub(crate) fn remove(&mut self, x: &T) -> bool {
        match self.0.binary_search(x) {
            Ok(i) => {
                self.0.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    /// Whether `x` is in the set.
    pub(crate) fn contains(&self, x: &T) -> bool {
        self.0.binary_search(x).is_ok()
    }

    /// Whether no element is in both sets.
    pub(crate) fn is_disjoint(&self, o: &Self) -> bool {
        self.iter().all(|x| !o.contains(x))
    }

    /// Removes every element.
    pub(crate) fn clear(&mut self) {
        self.0.clear()
    }

    /// The number of elements.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The elements, in order.
    pub(crate) fn iter(&self) -> core::slice::Iter<'_, T> {
        self.0.iter()
    }
}

impl<T: Ord> Default for BTreeSet<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Ord> FromIterator<T> for BTreeSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(it: I) -> Self {
        let mut s = Self::new();
        s.extend(it);
        s
    }
}

impl<T: Ord> Extend<T> for BTreeSet<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, it: I) {
        for x in it {
            self.insert(x);
        }
    }
}

impl<'a, T: Ord + Copy + 'a> Extend<&'a T> for BTreeSet<T> {
    fn extend<I: IntoIterator<Item = &'a T>>(&mut self, it: I) {
        for x in it {
            self.insert(*x);
        }
    }
}

impl<'a, T: Ord> IntoIterator for &'a BTreeSet<T> {
    type Item = &'a T;
    type IntoIter = core::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T: fmt::Debug> fmt::Debug for BTreeSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.iter()).finish()
    }
}

/// `vec![]`, `vec![x; n]`, `vec![a, b, ...]`.
macro_rules! vec {
    () => {
        $crate::host_std::Vec::new()
    };
    ($x:expr; $n:expr) => {
        $crate::host_std::Vec::from_elem($x, $n)
    };
    ($($x:expr),+ $(,)?) => {
        $crate::host_std::Vec::from_array([$($x),+])
    };
}
pub(crate) use vec;

/// `format!`, into a [`String`].
macro_rules! format {
    ($($t:tt)*) => {
        $crate::host_std::format_string(::core::format_args!($($t)*))
    };
}
pub(crate) use format;
