//! What the adapter knows about how Windows events are written as JSON:
//! the layout a line is in (evtx-nested, ECS or flat), the `UserData`
//! fallback of evtx-nested events whose channel writes no `EventData`, and
//! the names Windows writes with spaces (`Threat Name`) that rules write
//! without them.
//!
//! Apart from the tape because none of this is JSON: it is the knowledge of
//! one family of producers, consulted only when the plain walk has no
//! answer (or, for the layout, once per parse).

use super::*;

impl JsonEvent {
    /// The layout (see [`JsonEvent::detected_layout`]) and the index of the
    /// top-level keys.
    pub(super) fn detect_layout(&self) -> (Layout, KeyIndex) {
        let Some(top) = self.tape.first() else {
            return (Layout::Flat, KeyIndex::default());
        };
        if top.kind != Kind::Object {
            return (Layout::Flat, KeyIndex::default());
        }
        let end = top.a as usize;
        let mut ecs = false;
        let mut index = KeyIndex {
            usable: end <= usize::from(u16::MAX),
            ..KeyIndex::default()
        };
        let mut count = 0;
        let mut i = 1;
        while i < end {
            let key = self.key_bytes(i);
            let value = i + 1;
            if key == b"Event"
                && self.tape[value].kind == Kind::Object
                && self.object_has_key(value, b"System")
            {
                return (Layout::EvtxNested, KeyIndex::default());
            }
            if !ecs {
                ecs = matches!(key, b"@timestamp" | b"ecs" | b"event" | b"winlog")
                    || key.starts_with(b"ecs.")
                    || key.starts_with(b"event.")
                    || key.starts_with(b"winlog.");
            }
            count += 1;
            if index.usable {
                index.usable = count <= KEY_INDEX_MAX && self.index_key(&mut index.slots, i, key);
            }
            i = self.subtree_end(value);
        }
        if !index.usable {
            index = KeyIndex::default();
        }
        (if ecs { Layout::Ecs } else { Layout::Flat }, index)
    }
}

/// Where the evtx-nested layout puts a Windows event's data fields.
pub(super) const EVENT_DATA_PREFIX: &str = "Event.EventData.";

impl JsonEvent {
    /// Looks `field` up in every object directly under `Event.UserData`.
    ///
    /// Some channels (WMI-Activity, the Security log's 1102 "log cleared",
    /// TaskScheduler, AppLocker...) write their data as
    /// `<UserData><ElementName>...</ElementName></UserData>` instead of
    /// `<EventData>`; the evtx crate renders it as
    /// `Event.UserData.ElementName.Field`. Sigma rules name the bare field
    /// (`Operation`), which the evtx layout maps to `Event.EventData.Operation`,
    /// so when that is missing the field is looked for one level below
    /// `Event.UserData`, whatever the element's name. (The flat layout of
    /// `shared/data/events` already puts those fields at the top level.)
    pub(super) fn lookup_user_data(
        &self,
        field: &str,
        visit: &mut dyn FnMut(Value<'_>) -> bool,
    ) -> bool {
        let Some(user_data) = self
            .child(0, b"Event")
            .and_then(|event| self.child(event, b"UserData"))
        else {
            return false;
        };
        let end = self.tape[user_data].a as usize;
        let mut found = false;
        let mut i = user_data + 1;
        while i < end {
            let value = i + 1;
            if self.tape[value].kind == Kind::Object
                && self.lookup_at(value, field, visit, &mut found)
            {
                return true;
            }
            i = self.subtree_end(value);
        }
        found
    }

    /// The value of key `name` in the object at `object`, when it is an object.
    pub(super) fn child(&self, object: usize, name: &[u8]) -> Option<usize> {
        if self.tape[object].kind != Kind::Object {
            return None;
        }
        let end = self.tape[object].a as usize;
        let mut i = object + 1;
        while i < end {
            let value = i + 1;
            if self.key_bytes(i) == name {
                return (self.tape[value].kind == Kind::Object).then_some(value);
            }
            i = self.subtree_end(value);
        }
        None
    }
}

impl JsonEvent {
    /// [`Event::single`]'s answer for a path that names no key: `Absent`,
    /// unless a key with spaces may stand for it (then the lookup decides).
    #[inline]
    pub(super) fn absent(&self) -> Single<'static> {
        if self.spaced_keys {
            Single::Ask
        } else {
            Single::Absent
        }
    }

    /// The last resort of a lookup that found no key: the keys with spaces
    /// that equal the path's last segment once their spaces are removed
    /// ([`crate::event::same_name_without_spaces`]), wherever the exact
    /// lookup would have looked for that segment (for `Event.EventData.X`,
    /// also in the elements under `Event.UserData`). Visits each such key's
    /// values, in document order; returns whether one was found (or the
    /// visitor asked to stop).
    #[inline(never)]
    pub(super) fn lookup_without_spaces(
        &self,
        path: &str,
        visit: &mut dyn FnMut(Value<'_>) -> bool,
    ) -> bool {
        let name = path.rsplit('.').next().unwrap_or_default();
        if name.is_empty() || name.contains(' ') {
            return false;
        }
        let mut found = false;
        if self.lookup_at_without_spaces(0, path, visit, &mut found) {
            return true;
        }
        if !found
            && let Some(field) = path.strip_prefix(EVENT_DATA_PREFIX)
            && let Some(user_data) = self
                .child(0, b"Event")
                .and_then(|event| self.child(event, b"UserData"))
        {
            let end = self.tape[user_data].a as usize;
            let mut i = user_data + 1;
            while i < end {
                let value = i + 1;
                if self.tape[value].kind == Kind::Object
                    && self.lookup_at_without_spaces(value, field, visit, &mut found)
                {
                    return true;
                }
                i = self.subtree_end(value);
            }
        }
        found
    }

    /// [`lookup_at`](Self::lookup_at) with the last segment of `path`
    /// compared by [`crate::event::same_name_without_spaces`]: below the
    /// container at `i`, a key that is `path` up to its last segment plus
    /// that segment with spaces (or, for a dotless path, only the latter)
    /// is visited; a key equal to a part of the path before a '.' is
    /// descended into. Sets `found`; returns `true` if the visitor asked to
    /// stop. Recurses once per dot of `path` and array level.
    pub(super) fn lookup_at_without_spaces(
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
                let p = path.as_bytes();
                let (parent, name) = match path.rfind('.') {
                    Some(dot) => (&p[..dot], &p[dot + 1..]),
                    None => (&p[..0], p),
                };
                while j < end {
                    let key = self.key_bytes(j);
                    let value = j + 1;
                    let last = match key.strip_prefix(parent) {
                        Some(last) if parent.is_empty() => Some(last),
                        Some([b'.', last @ ..]) => Some(last),
                        _ => None,
                    };
                    if last.is_some_and(|last| crate::event::same_name_without_spaces(last, name)) {
                        *found = true;
                        if self.emit_values(value, visit) {
                            return true;
                        }
                    } else if let Some([b'.', ..]) = p.strip_prefix(key)
                        && matches!(self.tape[value].kind, Kind::Object | Kind::Array)
                        && self.lookup_at_without_spaces(
                            value,
                            path.get(key.len() + 1..).unwrap_or_default(),
                            visit,
                            found,
                        )
                    {
                        return true;
                    }
                    j = self.subtree_end(value);
                }
                false
            }
            Kind::Array => {
                while j < end {
                    match self.tape[j].kind {
                        Kind::Array => j += 1,
                        Kind::Object => {
                            if self.lookup_at_without_spaces(j, path, visit, found) {
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
