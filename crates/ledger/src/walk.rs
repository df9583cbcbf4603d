//! Reading and changing sorted maps at many ascending keys in one pass.
//!
//! An epoch close reads and credits about one entry per node in maps of as many entries (accounts,
//! hosts, tallies, grants, earnings), all keyed and walked by address. A lookup per key searches
//! the tree from its root each time; walking the map beside the ascending keys visits each entry
//! once, in memory order. A map much larger than the keys to visit is searched per key instead,
//! so a small walk over a large map stays cheap.

use std::collections::BTreeMap;
use std::collections::btree_map;
use std::iter::Peekable;
use std::ops::Bound;

/// Whether visiting `keys` keys of a map of `len` entries is cheaper by one pass than by a search
/// per key: a step of a pass costs far less than a search, up to about this ratio.
fn scan_pays(len: usize, keys: usize) -> bool {
    len / 16 <= keys
}

/// A map read at strictly ascending keys: each [`Walk::at`] moves on past the smaller keys.
pub(crate) enum Walk<'a, K, V> {
    Scan(Peekable<btree_map::Range<'a, K, V>>),
    Search(&'a BTreeMap<K, V>),
}

impl<'a, K: Ord, V> Walk<'a, K, V> {
    /// `keys`: about how many keys will be read.
    pub(crate) fn new(map: &'a BTreeMap<K, V>, keys: usize) -> Self {
        Self::from(map, Bound::Unbounded, keys)
    }

    /// A walk whose keys are all within `from` and up: it starts there.
    pub(crate) fn from(map: &'a BTreeMap<K, V>, from: Bound<K>, keys: usize) -> Self {
        if scan_pays(map.len(), keys) {
            Walk::Scan(map.range((from, Bound::Unbounded)).peekable())
        } else {
            Walk::Search(map)
        }
    }

    /// The value at `key`, which is above every key read before.
    pub(crate) fn at(&mut self, key: &K) -> Option<&'a V> {
        match self {
            Walk::Scan(rest) => {
                while rest.next_if(|(k, _)| *k < key).is_some() {}
                rest.next_if(|(k, _)| *k == key).map(|(_, v)| v)
            }
            Walk::Search(map) => map.get(key),
        }
    }
}

/// The keys of two maps (or ranges of them), ascending and each once, with each one's value at it.
pub(crate) fn merged<'a, K: Ord + Copy + 'a, A: 'a, B: 'a>(
    a: impl Iterator<Item = (&'a K, &'a A)>,
    b: impl Iterator<Item = (&'a K, &'a B)>,
) -> impl Iterator<Item = (K, Option<&'a A>, Option<&'a B>)> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || {
        let key = match (a.peek(), b.peek()) {
            (None, None) => return None,
            (Some((k, _)), None) | (None, Some((k, _))) => **k,
            (Some((ka, _)), Some((kb, _))) => *(*ka).min(*kb),
        };
        let in_a = a.next_if(|(k, _)| **k == key).map(|(_, v)| v);
        let in_b = b.next_if(|(k, _)| **k == key).map(|(_, v)| v);
        Some((key, in_a, in_b))
    })
}

/// Calls `change` with the value at each key of `items` (strictly ascending; about `keys` of
/// them), `None` where the map has none, in their order: one pass over the map.
pub(crate) fn modify_each<K: Ord, V, T>(
    map: &mut BTreeMap<K, V>,
    items: impl IntoIterator<Item = (K, T)>,
    keys: usize,
    mut change: impl FnMut(&K, Option<&mut V>, T),
) {
    if !scan_pays(map.len(), keys) {
        for (key, item) in items {
            change(&key, map.get_mut(&key), item);
        }
        return;
    }
    let mut rest = map.iter_mut().peekable();
    for (key, item) in items {
        while rest.next_if(|(k, _)| **k < key).is_some() {}
        change(
            &key,
            rest.next_if(|(k, _)| **k == key).map(|(_, v)| v),
            item,
        );
    }
}

/// Calls `change` on the value at each key of `items` (strictly ascending; about `keys` of them),
/// in their order; a key the map lacks gets `V::default()` first. The same as
/// `change(k, map.entry(k).or_default(), item)` for each item in turn, in one pass over the map:
/// the new keys are merged in at the end, in one bulk step.
pub(crate) fn update_each<K: Ord + Copy, V: Default, T>(
    map: &mut BTreeMap<K, V>,
    items: impl IntoIterator<Item = (K, T)>,
    keys: usize,
    mut change: impl FnMut(K, &mut V, T),
) {
    if !scan_pays(map.len(), keys) {
        for (key, item) in items {
            change(key, map.entry(key).or_default(), item);
        }
        return;
    }
    let mut fresh: Vec<(K, V)> = Vec::new();
    let mut rest = map.iter_mut().peekable();
    let mut last: Option<K> = None;
    for (key, item) in items {
        assert!(last.is_none_or(|l| l < key), "keys strictly ascending");
        last = Some(key);
        while rest.next_if(|(k, _)| **k < key).is_some() {}
        match rest.next_if(|(k, _)| **k == key) {
            Some((_, value)) => change(key, value, item),
            None => {
                let mut value = V::default();
                change(key, &mut value, item);
                fresh.push((key, value));
            }
        }
    }
    if !fresh.is_empty() {
        // Ascending already: collected in one bulk build, then merged in one pass.
        let mut fresh: BTreeMap<K, V> = fresh.into_iter().collect();
        map.append(&mut fresh);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Each helper agrees with a lookup per key, for maps small and large against the keys.
        #[test]
        fn agree_with_lookups(
            map in proptest::collection::btree_map(0u16..2000, any::<u32>(), 0..600),
            other in proptest::collection::btree_map(0u16..2000, any::<u8>(), 0..600),
            keys in proptest::collection::btree_set(0u16..2000, 0..300),
        ) {
            let mut walk = Walk::new(&map, keys.len());
            for k in &keys {
                prop_assert_eq!(walk.at(k), map.get(k));
            }

            let expected: Vec<_> = map
                .keys()
                .chain(other.keys())
                .copied()
                .collect::<std::collections::BTreeSet<u16>>()
                .into_iter()
                .map(|k| (k, map.get(&k), other.get(&k)))
                .collect();
            prop_assert_eq!(merged(map.iter(), other.iter()).collect::<Vec<_>>(), expected.clone());

            // Walks and merges over the upper part of the keys, as a part of a close reads them.
            if let Some(start) = keys.iter().nth(keys.len() / 2) {
                let from = Bound::Included(*start);
                let mut walk = Walk::from(&map, from, keys.len());
                for k in keys.range(start..) {
                    prop_assert_eq!(walk.at(k), map.get(k));
                }
                let upper: Vec<_> = merged(map.range(start..), other.range(start..)).collect();
                let expected: Vec<_> = expected.iter().filter(|(k, _, _)| k >= start).copied().collect();
                prop_assert_eq!(upper, expected);
            }

            let mut by_lookup = map.clone();
            for (i, k) in keys.iter().enumerate() {
                let v = by_lookup.entry(*k).or_default();
                *v = v.wrapping_mul(3).wrapping_add(i as u32 + u32::from(*k));
            }
            let mut by_walk = map.clone();
            let items = keys.iter().copied().enumerate().map(|(i, k)| (k, i));
            update_each(&mut by_walk, items, keys.len(), |k, v, i| {
                *v = v.wrapping_mul(3).wrapping_add(i as u32 + u32::from(k));
            });
            prop_assert_eq!(by_walk, by_lookup);

            let mut by_lookup = map.clone();
            let mut seen = Vec::new();
            for k in &keys {
                seen.push(by_lookup.get(k).copied());
                if let Some(v) = by_lookup.get_mut(k) {
                    *v = v.wrapping_add(u32::from(*k));
                }
            }
            let mut by_walk = map.clone();
            let mut walked = Vec::new();
            modify_each(&mut by_walk, keys.iter().map(|k| (*k, ())), keys.len(), |k, v, ()| {
                walked.push(v.as_deref().copied());
                if let Some(v) = v {
                    *v = v.wrapping_add(u32::from(*k));
                }
            });
            prop_assert_eq!(by_walk, by_lookup);
            prop_assert_eq!(walked, seen);
        }
    }
}
