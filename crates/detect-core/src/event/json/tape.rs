//! The tape and the lookups over it: the flattened document ([`Node`],
//! [`Kind`]), key fingerprints, the index of top-level keys, the member
//! cache, and the walk a path takes through nested objects and arrays.
//!
//! Apart from the parser because the parser only writes the tape and these
//! only read it: everything that decides what a lookup finds, and the
//! shortcuts that must give the walk's answers, is here.

use core::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::JsonEvent;
use super::bytes::{has_dot, key_eq};
use crate::event::Value;

/// Most '.'-separated prefixes of a path that a lookup compares by
/// fingerprint; paths with more dots compare every key's bytes.
pub(super) const MAX_PATH_CUTS: usize = 8;

/// The 16-bit fingerprint of a key: 6 bits of its length, then 5 bits each
/// of its first byte xor its last and of its middle byte. Keys of equal
/// fingerprints are told apart by their bytes.
#[inline]
pub(super) fn key_fingerprint(key: &[u8]) -> u16 {
    let n = key.len();
    if n == 0 {
        return 0;
    }
    let ends = u16::from(key[0] ^ key[n - 1].rotate_left(3));
    let mid = u16::from(key[n / 2]);
    ((n as u16 & 0x3F) << 10) | ((ends & 0x1F) << 5) | (mid & 0x1F)
}

/// Kind of a tape node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Kind {
    /// `a`: index just past the object's subtree; `b`: tape index of the value
    /// of its first `#text` key, or 0 if it has none (0 is the top-level
    /// object, never a member value).
    Object,
    /// `a`: index just past the array's subtree.
    Array,
    /// An object key without escapes: `a..b` in the line buffer.
    KeyRaw,
    /// An object key with escapes, decoded: `a..b` in the scratch buffer.
    KeyEsc,
    /// A string value without escapes: `a..b` in the line buffer.
    StrRaw,
    /// A string value with escapes, decoded: `a..b` in the scratch buffer.
    StrEsc,
    /// A number, as written: `a..b` in the line buffer.
    Number,
    True,
    False,
    #[default]
    Null,
}

/// One tape entry. Objects are followed by their members as (key node, value
/// subtree) pairs; arrays by their element subtrees.
#[derive(Clone, Copy, Debug)]
pub(super) struct Node {
    pub(super) kind: Kind,
    /// For key nodes, [`key_fingerprint`] of the key (in the padding after
    /// `kind`: nodes stay 12 bytes).
    pub(super) fp: u16,
    pub(super) a: u32,
    pub(super) b: u32,
}

impl Node {
    #[inline]
    pub(super) fn new(kind: Kind, a: u32, b: u32) -> Self {
        Node { kind, fp: 0, a, b }
    }
}

/// What the parse found at one of the dispatch paths.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Dispatched {
    pub(super) found: Found,
    /// With [`Found::Once`]: the value's node (its kind and range) and
    /// tape index.
    pub(super) kind: Kind,
    pub(super) value: u32,
    pub(super) a: u32,
    pub(super) b: u32,
}

/// [`Dispatched`]'s outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Found {
    /// Not resolved: the general lookup decides.
    #[default]
    Unknown,
    /// No member.
    Absent,
    /// Exactly one member.
    Once,
}

/// [`JsonEvent`]'s index of top-level keys: open addressing by
/// [`key_slot`], each slot 1 + the tape index of a key node (0: empty).
/// `usable` says whether it holds every top-level key and they are all
/// different (found out while inserting them: a key equal to one already in
/// the table lies on its probe sequence).
#[derive(Clone, Debug)]
pub(super) struct KeyIndex {
    pub(super) slots: [u16; KEY_SLOTS],
    pub(super) usable: bool,
}

impl Default for KeyIndex {
    fn default() -> Self {
        KeyIndex {
            slots: [0; KEY_SLOTS],
            usable: false,
        }
    }
}

/// Slots of the top-level key index.
pub(super) const KEY_SLOTS: usize = 64;

/// Most top-level keys indexed (beyond, lookups walk the members): the
/// table stays at most three-quarters full.
pub(super) const KEY_INDEX_MAX: usize = KEY_SLOTS * 3 / 4;

/// The first slot of a key fingerprint in the key index.
#[inline]
pub(super) fn key_slot(fp: u16) -> usize {
    usize::from(fp.wrapping_mul(0x9E37) >> 10) % KEY_SLOTS
}

/// The slots of [`JsonEvent`]'s member cache. A clone starts empty (always
/// correct: the cache only saves walks).
#[derive(Default)]
pub(super) struct MemberCache(pub(super) [AtomicU64; MEMBER_SLOTS]);

impl Clone for MemberCache {
    fn clone(&self) -> Self {
        MemberCache::default()
    }
}

impl fmt::Debug for MemberCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MemberCache")
    }
}

/// Slots of [`JsonEvent`]'s member cache.
pub(super) const MEMBER_SLOTS: usize = 32;

/// The member cache slot of a path at `address`: a multiplicative hash
/// (the addresses of a rule set's paths are 8-aligned and close together,
/// so their low bits alone collide; which paths collided changed with every
/// build's layout, and with it the speed of a pass over generated rule
/// sets).
#[inline]
pub(super) fn member_slot(address: usize) -> usize {
    const SHIFT: u32 = u64::BITS - MEMBER_SLOTS.trailing_zeros();
    ((address as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> SHIFT) as usize
}

impl JsonEvent {
    /// Puts the key node `i` (key bytes `key`) into the key index `slots`;
    /// false if an equal key is there already. `i + 1` fits in a `u16` (the
    /// caller checks the tape's length).
    pub(super) fn index_key(&self, slots: &mut [u16; KEY_SLOTS], i: usize, key: &[u8]) -> bool {
        let fp = self.tape[i].fp;
        let mut slot = key_slot(fp);
        while let Some(j) = usize::from(slots[slot]).checked_sub(1) {
            if self.tape[j].fp == fp && key_eq(self.key_bytes(j), key) {
                return false;
            }
            slot = (slot + 1) % KEY_SLOTS;
        }
        slots[slot] = (i + 1) as u16;
        true
    }

    pub(super) fn object_has_key(&self, object: usize, name: &[u8]) -> bool {
        let end = self.tape[object].a as usize;
        let fp = key_fingerprint(name);
        let mut i = object + 1;
        while i < end {
            if self.tape[i].fp == fp && self.key_bytes(i) == name {
                return true;
            }
            i = self.subtree_end(i + 1);
        }
        false
    }

    /// Index just past the subtree starting at `i`.
    #[inline]
    pub(super) fn subtree_end(&self, i: usize) -> usize {
        let node = self.tape[i];
        match node.kind {
            Kind::Object | Kind::Array => node.a as usize,
            _ => i + 1,
        }
    }

    /// The bytes of the key node at `i` (empty if it is not a key).
    #[inline]
    pub(super) fn key_bytes(&self, i: usize) -> &[u8] {
        let node = self.tape[i];
        let range = node.a as usize..node.b as usize;
        match node.kind {
            Kind::KeyRaw => self.buf.as_bytes().get(range).unwrap_or_default(),
            Kind::KeyEsc => self.scratch.as_bytes().get(range).unwrap_or_default(),
            _ => &[],
        }
    }

    /// The scalar value of node `i`, if it is a scalar.
    #[inline]
    pub(super) fn scalar(&self, i: usize) -> Option<Value<'_>> {
        let node = self.tape[i];
        self.scalar_of(node.kind, node.a, node.b)
    }

    /// The scalar value of a node of `kind` holding `a` and `b`.
    #[inline]
    pub(super) fn scalar_of(&self, kind: Kind, a: u32, b: u32) -> Option<Value<'_>> {
        let range = a as usize..b as usize;
        Some(match kind {
            Kind::StrRaw => Value::Str(self.buf.get(range).unwrap_or_default()),
            Kind::StrEsc => Value::Str(self.scratch.get(range).unwrap_or_default()),
            Kind::Number => Value::Number(self.buf.get(range).unwrap_or_default()),
            Kind::True => Value::Bool(true),
            Kind::False => Value::Bool(false),
            Kind::Null => Value::Null,
            Kind::Object | Kind::Array | Kind::KeyRaw | Kind::KeyEsc => return None,
        })
    }

    /// Visits the values of the field whose value subtree starts at `i`.
    /// Returns `true` if the visitor asked to stop.
    ///
    /// Recurses only from an array into the `#text` value of an object element
    /// (so at most once per two levels of nesting, which the parser bounds).
    pub(super) fn emit_values(
        &self,
        mut i: usize,
        visit: &mut dyn FnMut(Value<'_>) -> bool,
    ) -> bool {
        // An object stands for its `#text` value, if it has one.
        while self.tape[i].kind == Kind::Object {
            match self.tape[i].b {
                0 => return false,
                text => i = text as usize,
            }
        }
        let node = self.tape[i];
        if node.kind != Kind::Array {
            return self.scalar(i).is_some_and(visit);
        }
        let end = node.a as usize;
        let mut j = i + 1;
        while j < end {
            let child = self.tape[j];
            match child.kind {
                // Nested arrays are flattened: walk straight into them.
                Kind::Array => j += 1,
                Kind::Object => {
                    if child.b != 0 && self.emit_values(child.b as usize, visit) {
                        return true;
                    }
                    j = child.a as usize;
                }
                _ => {
                    if self.scalar(j).is_some_and(&mut *visit) {
                        return true;
                    }
                    j += 1;
                }
            }
        }
        false
    }

    /// The member whose value is at `value` has a key equal to the first
    /// `cut` bytes of `path`: emits its values if that is the whole path,
    /// else resolves the rest of the path below it. Returns `true` if the
    /// visitor asked to stop.
    #[inline]
    pub(super) fn visit_member(
        &self,
        value: usize,
        path: &str,
        cut: usize,
        visit: &mut dyn FnMut(Value<'_>) -> bool,
        found: &mut bool,
    ) -> bool {
        if cut == path.len() {
            *found = true;
            return self.emit_values(value, visit);
        }
        // `path[cut]` is an ASCII '.', so `cut + 1` is a char boundary.
        let rest = path.get(cut + 1..).unwrap_or_default();
        matches!(self.tape[value].kind, Kind::Object | Kind::Array)
            && self.lookup_at(value, rest, visit, found)
    }

    /// [`lookup_at`](Self::lookup_at) for an object and a path with more dots
    /// than the fingerprint arrays hold: compares every key's bytes.
    pub(super) fn lookup_members_by_bytes(
        &self,
        object: usize,
        path: &str,
        visit: &mut dyn FnMut(Value<'_>) -> bool,
        found: &mut bool,
    ) -> bool {
        let p = path.as_bytes();
        let end = self.tape[object].a as usize;
        let mut j = object + 1;
        while j < end {
            let key = self.key_bytes(j);
            if p.starts_with(key)
                && (p.len() == key.len() || p[key.len()] == b'.')
                && self.visit_member(j + 1, path, key.len(), visit, found)
            {
                return true;
            }
            j = self.subtree_end(j + 1);
        }
        false
    }

    /// Resolves `path` below the container at `i`. Sets `found` when a key
    /// matches the whole remaining path. Returns `true` if the visitor asked
    /// to stop.
    ///
    /// Recurses once per object on the way, and every step into an object
    /// consumes a key and a dot of `path`, so the depth is bounded by the
    /// path's length.
    pub(super) fn lookup_at(
        &self,
        i: usize,
        path: &str,
        visit: &mut dyn FnMut(Value<'_>) -> bool,
        found: &mut bool,
    ) -> bool {
        let node = self.tape[i];
        let end = node.a as usize;
        let mut j = i + 1;
        match node.kind {
            Kind::Object => {
                // The keys the path can continue with: each prefix of the
                // path that ends before a '.', and the whole path; their
                // lengths and fingerprints, computed once for all members.
                let p = path.as_bytes();
                let mut lens = [0usize; MAX_PATH_CUTS];
                let mut fps = [0u16; MAX_PATH_CUTS];
                let mut n = 0;
                for (k, &b) in p.iter().enumerate() {
                    if b == b'.' {
                        if n == MAX_PATH_CUTS - 1 {
                            return self.lookup_members_by_bytes(i, path, visit, found);
                        }
                        lens[n] = k;
                        fps[n] = key_fingerprint(&p[..k]);
                        n += 1;
                    }
                }
                lens[n] = p.len();
                fps[n] = key_fingerprint(p);
                n += 1;
                // The member walk is the hot loop of every lookup: a slice
                // ending at the object's end (so `tape[j]` needs no bounds
                // check) and a separate loop for dotless paths.
                let tape = self.tape.get(..end).unwrap_or_default();
                let skip = |value: usize| match tape.get(value) {
                    Some(v) if matches!(v.kind, Kind::Object | Kind::Array) => v.a as usize,
                    _ => value + 1,
                };
                if n == 1 {
                    let fp = fps[0];
                    while j < tape.len() {
                        let value = j + 1;
                        if tape[j].fp == fp
                            && key_eq(self.key_bytes(j), p)
                            && self.visit_member(value, path, p.len(), visit, found)
                        {
                            return true;
                        }
                        j = skip(value);
                    }
                    return false;
                }
                while j < tape.len() {
                    let fp = tape[j].fp;
                    let value = j + 1;
                    if let Some(c) =
                        (0..n).find(|&c| fps[c] == fp && self.key_bytes(j) == &p[..lens[c]])
                        && self.visit_member(value, path, lens[c], visit, found)
                    {
                        return true;
                    }
                    j = skip(value);
                }
                false
            }
            Kind::Array => {
                // Descend into every object element, nested arrays flattened.
                while j < end {
                    match self.tape[j].kind {
                        Kind::Array => j += 1,
                        Kind::Object => {
                            if self.lookup_at(j, path, visit, found) {
                                return true;
                            }
                            j = self.tape[j].a as usize;
                        }
                        _ => j += 1,
                    }
                }
                false
            }
            _ => false,
        }
    }
}

/// What [`JsonEvent::member`] found: the general lookup's answer when it
/// is simple.
pub(super) enum Member {
    /// The path names exactly one member, whose value is at this tape
    /// index: the general lookup visits that value's values and no others.
    Once(usize),
    /// The path names no member.
    Absent,
    /// Anything else (a dotted path not resolved beforehand, a repeated
    /// key, an array on the way): the general lookup decides.
    Other,
}

impl JsonEvent {
    /// The member `path` names: a dispatch path's from the parse, else a
    /// dotless path's through the member cache and the key index. A dotless
    /// path can only name a key of the top-level object (no
    /// `Event.EventData` fallback applies to it), so `Absent` and `Once`
    /// are the general lookup's answers too.
    #[inline]
    pub(super) fn member(&self, path: &str) -> Member {
        if let Some(d) = self.dispatched(path.as_bytes()) {
            match d.found {
                Found::Once => return Member::Once(d.value as usize),
                Found::Absent => return Member::Absent,
                Found::Unknown => {}
            }
        }
        self.member_not_dispatched(path)
    }

    /// [`member`](Self::member) once the dispatch paths are ruled out (or
    /// left to the general lookup).
    #[inline]
    pub(super) fn member_not_dispatched(&self, path: &str) -> Member {
        let p = path.as_bytes();
        if self.tape[0].kind != Kind::Object {
            return Member::Other;
        }
        let address = p.as_ptr() as usize;
        let slot = &self.members.0[member_slot(address)];
        let word = slot.load(Relaxed);
        let (tag, value) = ((word >> 32) as u32, word as u32);
        if tag == address as u32 && value != 0 {
            // Only dotless paths are cached, so a key equal to `p` means
            // `p` has no dot.
            let value = value as usize - 1;
            if key_eq(self.key_bytes(value - 1), p) {
                return Member::Once(value);
            }
        }
        self.member_uncached(p, slot)
    }

    /// [`member`](Self::member) for a path the member cache does not hold
    /// (out of line: the cached path stays a few instructions); fills the
    /// cache `slot` when the path names one member.
    #[inline(never)]
    pub(super) fn member_uncached(&self, p: &[u8], slot: &AtomicU64) -> Member {
        if has_dot(p) {
            return Member::Other;
        }
        let found = self.top_level(p);
        if let Member::Once(value) = found {
            let address = p.as_ptr() as usize;
            slot.store((address as u32 as u64) << 32 | (value as u64 + 1), Relaxed);
        }
        found
    }

    /// The member of the top-level object (which must be an object) whose
    /// key is the dotless path `p`: by the key index when it is usable, else
    /// by the member walk of `lookup_at`, counting the matches.
    pub(super) fn top_level(&self, p: &[u8]) -> Member {
        let fp = key_fingerprint(p);
        if self.keys.usable {
            return match self.probe_key(p, fp) {
                Some(value) => Member::Once(value),
                None => Member::Absent,
            };
        }
        let end = self.tape[0].a as usize;
        let tape = self.tape.get(..end).unwrap_or_default();
        let mut hit = None;
        let mut j = 1;
        while j < tape.len() {
            let value = j + 1;
            if tape[j].fp == fp && key_eq(self.key_bytes(j), p) {
                if hit.is_some() {
                    return Member::Other;
                }
                hit = Some(value);
            }
            j = match tape.get(value) {
                Some(v) if matches!(v.kind, Kind::Object | Kind::Array) => v.a as usize,
                _ => value + 1,
            };
        }
        hit.map_or(Member::Absent, Member::Once)
    }

    /// What the parse found at `p`, if it is one of the dispatch paths.
    #[inline]
    pub(super) fn dispatched(&self, p: &[u8]) -> Option<&Dispatched> {
        let [channel, event_id] = self.detected.dispatch_paths();
        if key_eq(channel.as_bytes(), p) {
            Some(&self.dispatch[0])
        } else if key_eq(event_id.as_bytes(), p) {
            Some(&self.dispatch[1])
        } else {
            None
        }
    }

    /// The value of the top-level key `p` (fingerprint `fp`) by the key
    /// index, which must be usable (it then holds every top-level key, each
    /// once).
    #[inline]
    pub(super) fn probe_key(&self, p: &[u8], fp: u16) -> Option<usize> {
        let mut s = key_slot(fp);
        loop {
            let j = usize::from(self.keys.slots[s]).checked_sub(1)?;
            if self.tape.get(j).is_some_and(|k| k.fp == fp) && key_eq(self.key_bytes(j), p) {
                return Some(j + 1);
            }
            s = (s + 1) % KEY_SLOTS;
        }
    }

    /// The member `path` names, worked out in full (for the dispatch paths,
    /// while parsing): by [`top_level`](Self::top_level) when the path has
    /// no dot, else by [`resolve_below`](Self::resolve_below).
    pub(super) fn resolve_member(&self, path: &[u8]) -> Member {
        match self.tape.first() {
            Some(top) if top.kind == Kind::Object => {}
            _ => return Member::Other,
        }
        if has_dot(path) {
            self.resolve_below(0, path)
        } else {
            self.top_level(path)
        }
    }

    /// The member `path` names below the object at `object`, as
    /// [`lookup_at`](Self::lookup_at) would find it: every key equal to the
    /// path or to a part of it before a '.' counts (the rest is then
    /// resolved below that key's object); `Once` when exactly one member
    /// matches in all, `Other` when the way leads into an array. Recurses
    /// once per dot of `path`.
    pub(super) fn resolve_below(&self, object: usize, path: &[u8]) -> Member {
        let end = self.tape[object].a as usize;
        let mut found = Member::Absent;
        let mut i = object + 1;
        while i < end {
            let key = self.key_bytes(i);
            let value = i + 1;
            let here = match path.strip_prefix(key) {
                Some([]) => Member::Once(value),
                Some([b'.', rest @ ..]) => match self.tape[value].kind {
                    Kind::Object => self.resolve_below(value, rest),
                    Kind::Array => Member::Other,
                    _ => Member::Absent,
                },
                _ => Member::Absent,
            };
            match (here, &found) {
                (Member::Absent, _) => {}
                (Member::Once(value), Member::Absent) => found = Member::Once(value),
                _ => return Member::Other,
            }
            i = self.subtree_end(value);
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::json::JsonEvent;
    use crate::event::json::tests::{
        Rng, gen_object, get, lookup_all, parse, probe_paths, show, strs,
    };
    use crate::event::{Event, Single};
    use crate::layout::Layout;

    #[test]
    fn key_nodes_stay_small() {
        assert_eq!(core::mem::size_of::<Node>(), 12);
    }

    #[test]
    fn flat_lookup() {
        let e = parse(
            r#"{"EventID": 4688, "CommandLine": "cmd /c whoami", "Enabled": true, "Off": false, "Binary": null}"#,
        );
        assert_eq!(get(&e, "EventID"), strs(&["n:4688"]));
        assert_eq!(get(&e, "CommandLine"), strs(&["s:cmd /c whoami"]));
        assert_eq!(get(&e, "Enabled"), strs(&["b:true"]));
        assert_eq!(get(&e, "Off"), strs(&["b:false"]));
        assert_eq!(get(&e, "Binary"), strs(&["null"]));
        assert_eq!(get(&e, "Missing"), None);
        assert_eq!(get(&e, "Event"), None, "a key prefix is not a match");
        assert_eq!(get(&e, "EventIDs"), None);
        assert_eq!(get(&e, "EventID.x"), None, "no path below a scalar");
        assert_eq!(get(&e, ""), None);
    }

    #[test]
    fn nested_lookup() {
        let e = parse(
            r#"{"process": {"pid": 42, "parent": {"name": "explorer.exe", "pid": 7}, "name": "cmd.exe"}, "empty": {}}"#,
        );
        assert_eq!(get(&e, "process.pid"), strs(&["n:42"]));
        assert_eq!(get(&e, "process.name"), strs(&["s:cmd.exe"]));
        assert_eq!(get(&e, "process.parent.name"), strs(&["s:explorer.exe"]));
        assert_eq!(get(&e, "process.parent.pid"), strs(&["n:7"]));
        assert_eq!(get(&e, "process.parent.ppid"), None);
        assert_eq!(get(&e, "process.parent.name.x"), None);
        assert_eq!(
            get(&e, "process.parent"),
            strs(&[]),
            "an object exists, no values"
        );
        assert_eq!(get(&e, "empty"), strs(&[]));
        assert_eq!(get(&e, "empty.x"), None);
        assert_eq!(get(&e, "process."), None);
        assert_eq!(get(&e, "pid"), None);
    }

    #[test]
    fn dotted_and_mixed_keys() {
        let flat = parse(r#"{"process.parent.name": "a.exe", "process.pid": 1}"#);
        assert_eq!(get(&flat, "process.parent.name"), strs(&["s:a.exe"]));
        assert_eq!(get(&flat, "process.pid"), strs(&["n:1"]));
        assert_eq!(get(&flat, "process"), None);
        assert_eq!(get(&flat, "process.parent"), None);

        let mixed = parse(r#"{"process": {"parent.name": "b.exe", "parent": {"pid": 9}}}"#);
        assert_eq!(get(&mixed, "process.parent.name"), strs(&["s:b.exe"]));
        assert_eq!(get(&mixed, "process.parent.pid"), strs(&["n:9"]));

        // Every matching key is tried, in document order.
        let both = parse(
            r#"{"process.parent": {"name": "1"}, "process": {"parent": {"name": "2"}, "parent.name": "3"}, "process.parent.name": "4"}"#,
        );
        assert_eq!(
            get(&both, "process.parent.name"),
            strs(&["s:1", "s:2", "s:3", "s:4"])
        );
        let mut first = None;
        assert!(both.lookup("process.parent.name", &mut |v| {
            first = Some(show(v));
            true
        }));
        assert_eq!(first.as_deref(), Some("s:1"));

        // A dead end through one key does not hide another.
        let e = parse(r#"{"a": 1, "a": {"b": 2}, "a.b": 3}"#);
        assert_eq!(get(&e, "a.b"), strs(&["n:2", "n:3"]));
        assert_eq!(get(&e, "a"), strs(&["n:1"]));

        // Empty keys are keys.
        let e = parse(r#"{"": {"x": 1}, "y": {"": 2}}"#);
        assert_eq!(get(&e, ".x"), strs(&["n:1"]));
        assert_eq!(get(&e, "y."), strs(&["n:2"]));
    }

    #[test]
    fn text_unwrapping() {
        let e = parse(
            r##"{"Event": {"#attributes": {"xmlns": "x"}, "System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing", "Guid": "{54849625}"}}, "EventID": {"#attributes": {"Qualifiers": 0}, "#text": 4688}, "Channel": "Security", "Execution": {"#attributes": {"ProcessID": 4}}}, "EventData": {"Data": [{"#attributes": {"Name": "a"}, "#text": "one"}, {"#attributes": {"Name": "b"}}, "two", {"#text": ["three", "four"]}]}}}"##,
        );
        assert_eq!(get(&e, "Event.System.EventID"), strs(&["n:4688"]));
        assert_eq!(get(&e, "Event.System.EventID.#text"), strs(&["n:4688"]));
        assert_eq!(
            get(&e, "Event.System.EventID.#attributes.Qualifiers"),
            strs(&["n:0"])
        );
        assert_eq!(
            get(&e, "Event.System.Provider.#attributes.Name"),
            strs(&["s:Microsoft-Windows-Security-Auditing"])
        );
        assert_eq!(get(&e, "Event.System.Provider"), strs(&[]));
        assert_eq!(
            get(&e, "Event.System.Execution.#attributes.ProcessID"),
            strs(&["n:4"])
        );
        assert_eq!(get(&e, "Event.System.Channel"), strs(&["s:Security"]));
        assert_eq!(
            get(&e, "Event.EventData.Data"),
            strs(&["s:one", "s:two", "s:three", "s:four"])
        );
        assert_eq!(
            get(&e, "Event.EventData.Data.#attributes.Name"),
            strs(&["s:a", "s:b"])
        );

        // `#text` nested in `#text`, and the first `#text` wins.
        let e = parse(
            r##"{"a": {"#text": {"#text": 5}}, "b": {"#text": 1, "#text": 2}, "c": {"\u0023text": "esc"}}"##,
        );
        assert_eq!(get(&e, "a"), strs(&["n:5"]));
        assert_eq!(get(&e, "b"), strs(&["n:1"]));
        assert_eq!(get(&e, "c"), strs(&["s:esc"]));
        assert_eq!(get(&e, "c.#text"), strs(&["s:esc"]));
    }

    #[test]
    fn arrays() {
        let e = parse(
            r#"{"Data": ["x", 2, true, null, [3, [4, []], "y"], {"k": "skipped"}], "empty": [], "procs": [{"name": "a", "args": ["-x", "-y"]}, 5, [{"name": "b"}], {"other": 1}, {"name": ["c", "d"]}], "deep": [[[[{"v": 1}]]]]}"#,
        );
        assert_eq!(
            get(&e, "Data"),
            strs(&["s:x", "n:2", "b:true", "null", "n:3", "n:4", "s:y"])
        );
        assert_eq!(get(&e, "empty"), strs(&[]), "an empty array exists");
        assert_eq!(get(&e, "procs"), strs(&["n:5"]));
        assert_eq!(get(&e, "procs.name"), strs(&["s:a", "s:b", "s:c", "s:d"]));
        assert_eq!(get(&e, "procs.args"), strs(&["s:-x", "s:-y"]));
        assert_eq!(get(&e, "procs.other"), strs(&["n:1"]));
        assert_eq!(get(&e, "procs.missing"), None);
        assert_eq!(get(&e, "Data.k"), strs(&["s:skipped"]));
        assert_eq!(get(&e, "deep.v"), strs(&["n:1"]));
        assert_eq!(get(&e, "empty.x"), None);

        let mut seen = Vec::new();
        assert!(e.lookup("Data", &mut |v| {
            seen.push(show(v));
            seen.len() == 2
        }));
        assert_eq!(seen, ["s:x", "n:2"]);
    }

    #[test]
    fn the_member_cache_gives_the_walk_s_answers() {
        static IMAGE: &str = "Image";
        let mut e = JsonEvent::new();
        e.parse(br#"{"Image": "a.exe", "CommandLine": "x", "Dup": 1, "Dup": 2}"#)
            .unwrap();
        for _ in 0..3 {
            assert_eq!(get(&e, IMAGE), strs(&["s:a.exe"]));
            assert_eq!(
                get(&e, "Dup"),
                strs(&["n:1", "n:2"]),
                "a repeated key: every value"
            );
            assert_eq!(get(&e, "Missing"), None);
        }
        // The next event puts the key elsewhere, or leaves it out.
        e.parse(br#"{"X": {"Image": "no"}, "Image": ["b.exe", "c.exe"]}"#)
            .unwrap();
        assert_eq!(get(&e, IMAGE), strs(&["s:b.exe", "s:c.exe"]));
        e.parse(br#"{"CommandLine": "y"}"#).unwrap();
        assert_eq!(get(&e, IMAGE), None);
        // Same address and length, other text: the key bytes decide.
        let mut path = String::from("Image");
        e.parse(br#"{"Image": "d.exe", "Other": "o"}"#).unwrap();
        assert_eq!(get(&e, &path), strs(&["s:d.exe"]));
        path.replace_range(.., "Other");
        assert_eq!(get(&e, &path), strs(&["s:o"]));
        // A visitor that stops early, and escaped keys.
        e.parse(br#"{"K\u0065y": [1, 2]}"#).unwrap();
        let mut seen = 0;
        assert!(e.lookup("Key", &mut |_| {
            seen += 1;
            true
        }));
        assert_eq!(seen, 1);
        assert_eq!(get(&e, "Key"), strs(&["n:1", "n:2"]));
    }

    #[test]
    fn repeated_top_level_keys_are_told_apart_from_unique_ones() {
        // Events of 1 to 300 distinct keys (beyond the key index's 48, and
        // enough for fingerprints to share slots), then the same with one
        // key repeated at each place (escaped or not, far apart or
        // adjacent): the index is used exactly when the keys are different
        // and few enough, and `single` agrees with `lookup` for every key,
        // before and after the member cache holds it.
        static PATHS: std::sync::LazyLock<Vec<String>> =
            std::sync::LazyLock::new(|| (0..300).map(|k| format!("k{k}")).collect());
        for n in [1usize, 2, 3, 40, 300] {
            let keys: Vec<String> = (0..n).map(|k| format!("\"k{k}\"")).collect();
            let mut docs = vec![(None, keys.clone())];
            for dup in (0..n).step_by(n.div_ceil(7)) {
                for at in [0, dup, n - 1] {
                    let mut with = keys.clone();
                    let repeated = if at % 2 == 0 {
                        format!("\"k{dup}\"")
                    } else {
                        format!("\"\\u006b{dup}\"")
                    };
                    with.insert(at + 1, repeated);
                    docs.push((Some(dup), with));
                }
            }
            for (dup, keys) in docs {
                let members: Vec<String> = keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| format!("{k}: {i}"))
                    .collect();
                let doc = format!("{{{}}}", members.join(", "));
                let e = JsonEvent::parse_str(&doc).unwrap();
                assert_eq!(
                    e.keys.usable,
                    dup.is_none() && keys.len() <= KEY_INDEX_MAX,
                    "{doc}"
                );
                for _ in 0..2 {
                    for (k, path) in PATHS.iter().take(n + 1).enumerate() {
                        let mut values = Vec::new();
                        e.lookup(path, &mut |v| {
                            values.push(format!("{v:?}"));
                            false
                        });
                        let expected = if k == n {
                            0
                        } else if Some(k) == dup {
                            2
                        } else {
                            1
                        };
                        assert_eq!(values.len(), expected, "{path} in {doc}");
                        match e.single(path) {
                            Single::One(v) => assert_eq!(values, [format!("{v:?}")]),
                            Single::Absent => assert!(values.is_empty()),
                            Single::UseLookup => assert!(values.len() > 1, "{path} in {doc}"),
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn dispatch_members_found_by_the_parse_agree_with_the_walk() {
        // Per layout, events whose channel and event ID are where they
        // belong, missing, repeated, reachable twice (a dotted key beside
        // the nested one), inside an array, or objects with `#text`: what
        // the parse recorded must give `lookup` and `single` the answers of
        // the general walk (`lookup_at`), and the plain events must have
        // been resolved (or the dispatch would silently walk again).
        let docs: [(&str, bool); 17] = [
            (r#"{"Channel": "Security", "EventID": 4688, "x": 1}"#, true),
            (r#"{"x": 1}"#, true),
            (r#"{"Channel": "a", "Channel": "b", "EventID": 1}"#, false),
            (r#"{"Channel": ["a", "b"], "EventID": [1]}"#, true),
            (
                r##"{"Ch\u0061nnel": "esc", "EventID": {"#text": 7}}"##,
                true,
            ),
            (
                r#"{"Event": {"System": {"Channel": "S", "EventID": 1}, "EventData": {}}}"#,
                true,
            ),
            (r#"{"Event": {"System": {"Provider": 1}}}"#, true),
            (
                r##"{"Event": {"System": {"EventID": {"#attributes": {"Q": 0}, "#text": 4104}}}}"##,
                true,
            ),
            (
                r#"{"Event": {"System": {"Channel": "S"}, "System.Channel": "T"}}"#,
                false,
            ),
            (
                r#"{"Event": {"System": {"Channel": "S"}}, "Event.System.Channel": "T"}"#,
                false,
            ),
            (
                r#"{"Event": {"System": {"Channel": "S", "Channel": "T"}}}"#,
                false,
            ),
            (r#"{"Event": {"System": [{"Channel": "S"}]}}"#, false),
            (
                r#"{"@timestamp": 1, "winlog": {"channel": "C", "event_id": 3}}"#,
                true,
            ),
            (
                r#"{"@timestamp": 1, "winlog.channel": "C", "winlog.event_id": "3"}"#,
                true,
            ),
            (
                r#"{"@timestamp": 1, "winlog": {"channel": "C"}, "winlog.channel": "D"}"#,
                false,
            ),
            (r#"{"@timestamp": 1, "winlog": [{"channel": "C"}]}"#, false),
            (r#"{"ecs": 1, "winlog": "not an object"}"#, true),
        ];
        let mut one_scalar = 0;
        for (doc, resolved) in docs {
            let e = JsonEvent::parse_str(doc).unwrap();
            let paths = e.detected_layout().dispatch_paths();
            assert_eq!(
                e.dispatch.iter().all(|d| d.found != Found::Unknown),
                resolved,
                "{doc}: {:?}",
                e.dispatch
            );
            for layout in Layout::ALL {
                for path in layout.dispatch_paths() {
                    let mut walked = Vec::new();
                    let mut found = false;
                    e.lookup_at(
                        0,
                        path,
                        &mut |v| {
                            walked.push(format!("{v:?}"));
                            false
                        },
                        &mut found,
                    );
                    let mut values = Vec::new();
                    let exists = e.lookup(path, &mut |v| {
                        values.push(format!("{v:?}"));
                        false
                    });
                    assert_eq!((exists, &values), (found, &walked), "{path} in {doc}");
                    match e.single(path) {
                        Single::One(v) => assert_eq!(values, [format!("{v:?}")], "{path} in {doc}"),
                        Single::Absent => assert!(!exists, "{path} in {doc}"),
                        Single::UseLookup => {}
                    }
                }
            }
            // A resolved path to one scalar is answered by `single`.
            if resolved && paths.iter().all(|p| e.single(p) != Single::UseLookup) {
                one_scalar += 1;
            }
        }
        assert_eq!(one_scalar, 7);
    }

    #[test]
    fn fingerprint_and_byte_comparison_agree() {
        // Paths with more dots than the fingerprint arrays hold take the
        // byte-comparing walk; the same paths with fewer dots the
        // fingerprinted one. Both see the same keys.
        let mut rng = Rng(0x0123_4567_89AB_CDEF);
        let paths = probe_paths();
        let mut checked = 0usize;
        for _ in 0..3_000 {
            let mut text = String::new();
            let mut scalars = Vec::new();
            gen_object(&mut rng, 1, &mut text, &mut scalars);
            let event = JsonEvent::parse_str(&text).unwrap();
            for path in &paths {
                let fast = lookup_all(&event, path);
                let mut slow = (false, Vec::new());
                let stop = event.lookup_members_by_bytes(
                    0,
                    path,
                    &mut |v| {
                        slow.1.push(show(v));
                        false
                    },
                    &mut slow.0,
                );
                assert!(!stop);
                // Found nowhere: keys with spaces may stand for the path.
                if !slow.0 && event.spaced_keys {
                    slow.0 = event.lookup_without_spaces(path, &mut |v| {
                        slow.1.push(show(v));
                        false
                    });
                }
                assert_eq!(fast, slow, "{path:?} in {text}");
                checked += usize::from(fast.0);
            }
        }
        assert!(checked > 1000, "{checked}");
        let deep = parse(
            r#"{"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}, "a.b.c.d.e.f.g.h.i": 2}"#,
        );
        assert_eq!(get(&deep, "a.b.c.d.e.f.g.h.i"), strs(&["n:1", "n:2"]));
        assert_eq!(get(&deep, "a.b.c.d.e.f.g.h"), strs(&[]));
        assert_eq!(get(&deep, "a.b.c.d.e.f.g.h.j"), None);
    }
}
