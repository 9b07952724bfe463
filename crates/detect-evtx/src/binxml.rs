//! BinXML, the binary XML of EVTX records, decoded into a flat element tape.
//!
//! A record is usually one template instance: a template definition (kept
//! once per chunk, its elements and attributes with numbered substitution
//! slots) and the record's substitution values. The walk here follows the
//! definition and writes each slot's value where the slot is, nested BinXML
//! values included, so that the tape holds the record's XML as Windows
//! would show it. Values are turned into their text as the evtx crate
//! renders them (numbers in decimal, GUIDs braced, SIDs as `S-1-...`, times
//! as ISO 8601 with 100 ns digits), into one reused string.
//!
//! Element names are read once per chunk (the chunk's string table is
//! shared by its records) and kept in a name arena until the next chunk.

use crate::Error;
use crate::chunk::{u32_at, u64_at};
use crate::text;

/// A range of one of the two text arenas: the record's texts, or (high bit
/// set) the chunk's names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) len: u32,
}

const NAME_BIT: u32 = 1 << 31;

impl Span {
    pub(crate) fn is_name(self) -> bool {
        self.start & NAME_BIT != 0
    }
}

/// A piece of content: an element's or attribute's text, or one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    /// An empty string or a null value (no content).
    Empty,
    /// Text (rendered as a JSON string).
    Str(Span),
    /// An integer, rendered as a bare JSON number: its decimal text.
    Num(Span),
    /// A boolean.
    Bool(bool),
    /// An array value's items (`items[first..first + count]`).
    Array { first: u32, count: u32 },
}

impl Piece {
    pub(crate) fn is_content(self) -> bool {
        !matches!(self, Piece::Empty | Piece::Array { count: 0, .. })
    }
}

/// One node of the element tape, in document order.
#[derive(Clone, Copy, Debug)]
pub(crate) enum XNode {
    /// An element; its attributes are the nodes up to `attrs_end`, its
    /// content and child elements those up to `end`.
    Elem {
        name: Span,
        attrs_end: u32,
        end: u32,
    },
    /// An attribute; its value is the pieces up to `end`.
    Attr { name: Span, end: u32 },
    /// A piece of content.
    Content(Piece),
}

/// One substitution value of a template instance: its type and bytes.
#[derive(Clone, Copy, Debug)]
struct Sub {
    ty: u8,
    start: usize,
    len: usize,
}

/// Slots of the name cache.
const NAME_SLOTS: usize = 512;

/// Deepest nesting of elements and of template instances in values.
const MAX_DEPTH: usize = 256;

/// Decodes records into the element tape. Reused from record to record and
/// chunk to chunk: once its buffers have grown, decoding allocates nothing.
#[derive(Default, Debug)]
pub(crate) struct Decoder {
    pub(crate) xml: Vec<XNode>,
    /// The record's texts.
    pub(crate) text: String,
    /// The chunk's element and attribute names.
    pub(crate) names: String,
    /// Array items.
    pub(crate) items: Vec<Piece>,
    /// Name offset in the chunk -> span in `names`: an open-addressing
    /// table of [`NAME_SLOTS`] slots (a chunk uses a few dozen names),
    /// `u32::MAX` marking an empty slot.
    name_cache: Vec<(u32, Span)>,
    /// Names in `name_cache`.
    names_cached: usize,
    /// Elements open.
    open: Vec<u32>,
    /// For each element open, whether it is left out of the record.
    left_out: Vec<bool>,
    /// The substitution values of the template instances being walked.
    subs: Vec<Sub>,
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Cursor<'a> {
    fn need(&self, n: usize) -> Result<usize, Error> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.end);
        end.ok_or(Error::new(self.pos, "BinXML cut short"))
    }
    fn u8(&mut self) -> Result<u8, Error> {
        let end = self.need(1)?;
        let b = self.data[self.pos];
        self.pos = end;
        Ok(b)
    }
    fn u16(&mut self) -> Result<u16, Error> {
        let end = self.need(2)?;
        let v = u16::from_le_bytes([self.data[self.pos], self.data[self.pos + 1]]);
        self.pos = end;
        Ok(v)
    }
    fn u32(&mut self) -> Result<u32, Error> {
        let end = self.need(4)?;
        let v = u32_at(self.data, self.pos);
        self.pos = end;
        Ok(v)
    }
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self.need(n)?;
        let b = &self.data[self.pos..end];
        self.pos = end;
        Ok(b)
    }
}

impl Decoder {
    /// Forgets the previous chunk's names.
    pub(crate) fn new_chunk(&mut self) {
        self.names.clear();
        self.name_cache.clear();
        self.name_cache
            .resize(NAME_SLOTS, (u32::MAX, Span::default()));
        self.names_cached = 0;
    }

    /// The slot of name offset `offset`: where it is, or the empty slot
    /// where it goes.
    fn name_slot(&self, offset: u32) -> usize {
        let mut i = (offset as usize >> 1).wrapping_mul(0x9e37_79b1) % NAME_SLOTS;
        loop {
            let (o, _) = self.name_cache[i];
            if o == offset || o == u32::MAX {
                return i;
            }
            i = (i + 1) % NAME_SLOTS;
        }
    }

    /// Decodes the BinXML at `chunk[start..end]` into the tape.
    pub(crate) fn decode(&mut self, chunk: &[u8], start: usize, end: usize) -> Result<(), Error> {
        self.xml.clear();
        self.text.clear();
        self.items.clear();
        self.open.clear();
        self.left_out.clear();
        self.subs.clear();
        if self.names.len() > (NAME_BIT as usize) / 2 {
            self.new_chunk();
        }
        self.walk(chunk, start, end, false, 0..0, 0)?;
        if !self.open.is_empty() {
            return Err(Error::new(end, "BinXML ends inside an element"));
        }
        if !matches!(self.xml.first(), Some(XNode::Elem { .. })) {
            return Err(Error::new(start, "record holds no element"));
        }
        Ok(())
    }

    /// The text of a span.
    pub(crate) fn str(&self, span: Span) -> &str {
        let (arena, start) = if span.is_name() {
            (&self.names, span.start & !NAME_BIT)
        } else {
            (&self.text, span.start)
        };
        arena
            .get(start as usize..(start + span.len) as usize)
            .unwrap_or_default()
    }

    /// Walks the token stream `data[pos..end]` up to its end-of-stream token.
    /// `template` says whether it is a template definition (whose element
    /// starts carry a dependency id); `subs` are the substitution values
    /// its slots refer to.
    fn walk(
        &mut self,
        data: &[u8],
        pos: usize,
        end: usize,
        template: bool,
        subs: std::ops::Range<usize>,
        depth: usize,
    ) -> Result<(), Error> {
        if depth > MAX_DEPTH {
            return Err(Error::new(pos, "template instances nested too deeply"));
        }
        let mut c = Cursor { data, pos, end };
        let base_depth = self.open.len();
        // The attribute being read, if any (its index in the tape).
        let mut attr: Option<usize> = None;
        while c.pos < c.end {
            let at = c.pos;
            let token = c.u8()?;
            match token {
                0x00 => break,
                0x0f => {
                    c.bytes(3)?;
                }
                0x01 | 0x41 => {
                    // In a template, an element that depends on a value
                    // that is null is left out (all but the root).
                    let mut left_out = false;
                    if template {
                        let dependency = c.u16()?;
                        left_out = dependency != 0xffff
                            && self.open.len() > base_depth
                            && self.subs[subs.clone()]
                                .get(usize::from(dependency))
                                .is_some_and(|sub| sub.ty == 0);
                    }
                    c.u32()?; // data size
                    let name = self.name_ref(&mut c)?;
                    if token & 0x40 != 0 {
                        c.u32()?; // attribute list size
                    }
                    if self.open.len() - base_depth >= MAX_DEPTH {
                        return Err(Error::new(at, "elements nested too deeply"));
                    }
                    self.close_attr(&mut attr);
                    self.open.push(self.xml.len() as u32);
                    self.left_out.push(left_out);
                    self.xml.push(XNode::Elem {
                        name,
                        attrs_end: u32::MAX,
                        end: 0,
                    });
                }
                0x02 => {
                    self.close_attr(&mut attr);
                    let elem = *self.open.last().ok_or(Error::new(at, "stray `>`"))?;
                    let len = self.xml.len() as u32;
                    if let XNode::Elem { attrs_end, .. } = &mut self.xml[elem as usize] {
                        *attrs_end = len;
                    }
                }
                0x03 | 0x04 => {
                    self.close_attr(&mut attr);
                    if self.open.len() <= base_depth {
                        return Err(Error::new(at, "end of an element that is not open"));
                    }
                    let elem = self.open.pop().unwrap_or_default() as usize;
                    if self.left_out.pop().unwrap_or(false) {
                        self.xml.truncate(elem);
                        continue;
                    }
                    let len = self.xml.len() as u32;
                    if let XNode::Elem { attrs_end, end, .. } = &mut self.xml[elem] {
                        if *attrs_end == u32::MAX {
                            *attrs_end = len;
                        }
                        *end = len;
                    }
                    self.expand_array(elem)?;
                }
                0x05 | 0x45 => {
                    let ty = c.u8()?;
                    let piece = match ty {
                        0x01 => {
                            let n = c.u16()? as usize;
                            let units = c.bytes(n * 2)?;
                            self.utf16(units, false)
                        }
                        _ => {
                            // Other types are not written as plain values in
                            // practice; their size is implied by the type.
                            let size = fixed_size(ty)
                                .ok_or(Error::new(at, "value token of a type without a size"))?;
                            let start = c.pos;
                            c.bytes(size)?;
                            self.value(data, ty, start, size, depth)?
                        }
                    };
                    self.push_content(piece, at)?;
                }
                0x06 | 0x46 => {
                    self.close_attr(&mut attr);
                    let name = self.name_ref(&mut c)?;
                    if self.open.len() <= base_depth {
                        return Err(Error::new(at, "attribute outside an element"));
                    }
                    attr = Some(self.xml.len());
                    self.xml.push(XNode::Attr { name, end: 0 });
                }
                0x07 | 0x47 => {
                    let n = c.u16()? as usize;
                    let units = c.bytes(n * 2)?;
                    let piece = self.utf16(units, false);
                    self.push_content(piece, at)?;
                }
                0x08 | 0x48 => {
                    let unit = c.u16()?;
                    let start = self.text.len();
                    self.text
                        .push(char::from_u32(u32::from(unit)).unwrap_or('\u{fffd}'));
                    let piece = Piece::Str(self.span_from(start));
                    self.push_content(piece, at)?;
                }
                0x09 | 0x49 => {
                    let name = self.name_ref(&mut c)?;
                    let start = self.text.len();
                    let resolved = match self.str(name) {
                        "quot" => Some("\""),
                        "apos" => Some("'"),
                        "amp" => Some("&"),
                        "lt" => Some("<"),
                        "gt" => Some(">"),
                        _ => None,
                    };
                    match resolved {
                        Some(s) => self.text.push_str(s),
                        None => {
                            let name = self.str(name).to_owned();
                            self.text.push('&');
                            self.text.push_str(&name);
                            self.text.push(';');
                        }
                    }
                    let piece = Piece::Str(self.span_from(start));
                    self.push_content(piece, at)?;
                }
                0x0a => {
                    self.name_ref(&mut c)?;
                }
                0x0b => {
                    let n = c.u16()? as usize;
                    c.bytes(n * 2)?;
                }
                0x0c => self.template_instance(data, &mut c, depth)?,
                0x0d | 0x0e => {
                    let index = c.u16()? as usize;
                    c.u8()?;
                    let sub = if subs.start + index < subs.end {
                        self.subs[subs.start + index]
                    } else {
                        // A slot the instance gives no value: nothing there.
                        Sub {
                            ty: 0,
                            start: 0,
                            len: 0,
                        }
                    };
                    if sub.ty == 0x21 {
                        // Nested BinXML: its elements go where the slot is.
                        self.close_attr(&mut attr);
                        if sub.len > 0 {
                            self.walk(
                                data,
                                sub.start,
                                sub.start + sub.len,
                                false,
                                0..0,
                                depth + 1,
                            )?;
                        }
                    } else {
                        let piece = self.value(data, sub.ty, sub.start, sub.len, depth)?;
                        if token == 0x0d || piece.is_content() {
                            self.push_content(piece, at)?;
                        }
                    }
                }
                _ => return Err(Error::new(at, "unknown BinXML token")),
            }
        }
        self.close_attr(&mut attr);
        if self.open.len() != base_depth {
            return Err(Error::new(c.pos, "BinXML fragment ends inside an element"));
        }
        Ok(())
    }

    fn close_attr(&mut self, attr: &mut Option<usize>) {
        if let Some(i) = attr.take() {
            let len = self.xml.len() as u32;
            if let XNode::Attr { end, .. } = &mut self.xml[i] {
                *end = len;
            }
        }
    }

    fn push_content(&mut self, piece: Piece, at: usize) -> Result<(), Error> {
        if self.open.is_empty() {
            // Text outside the root element has nowhere to go.
            return if piece.is_content() {
                Err(Error::new(at, "content outside any element"))
            } else {
                Ok(())
            };
        }
        self.xml.push(XNode::Content(piece));
        Ok(())
    }

    /// A template instance: reads its values and walks its definition.
    fn template_instance(
        &mut self,
        data: &[u8],
        c: &mut Cursor<'_>,
        depth: usize,
    ) -> Result<(), Error> {
        let at = c.pos - 1;
        c.u8()?;
        c.u32()?; // template id
        let def = c.u32()? as usize;
        if c.pos == def {
            // The definition is written here, the first time it is used.
            c.bytes(20)?;
            let size = c.u32()? as usize;
            c.bytes(size)?;
        }
        let body = def
            .checked_add(24)
            .filter(|&b| b + 4 <= data.len())
            .ok_or(Error::new(at, "template definition out of the chunk"))?;
        let size = u32_at(data, def + 20) as usize;
        let body_end = body
            .checked_add(size)
            .filter(|&e| e <= data.len())
            .ok_or(Error::new(at, "template definition out of the chunk"))?;
        let count = c.u32()? as usize;
        let descriptors = c.bytes(
            count
                .checked_mul(4)
                .ok_or(Error::new(at, "too many values"))?,
        )?;
        let first = self.subs.len();
        let mut pos = c.pos;
        for d in descriptors.chunks_exact(4) {
            let len = usize::from(u16::from_le_bytes([d[0], d[1]]));
            let ty = d[2];
            if pos + len > c.end {
                return Err(Error::new(pos, "substitution value cut short"));
            }
            self.subs.push(Sub {
                ty,
                start: pos,
                len,
            });
            pos += len;
        }
        c.pos = pos;
        let result = self.walk(
            data,
            body,
            body_end,
            true,
            first..self.subs.len(),
            depth + 1,
        );
        self.subs.truncate(first);
        result
    }

    /// A name reference: the name is at `offset` in the chunk, and is also
    /// written right here when `offset` is here.
    fn name_ref(&mut self, c: &mut Cursor<'_>) -> Result<Span, Error> {
        let offset = c.u32()?;
        if c.pos == offset as usize {
            c.bytes(6)?;
            let n = c.u16()? as usize;
            c.bytes(n * 2 + 2)?;
        }
        if self.name_cache.len() != NAME_SLOTS || self.names_cached >= NAME_SLOTS / 2 {
            self.new_chunk();
        }
        let slot = self.name_slot(offset);
        if self.name_cache[slot].0 == offset {
            return Ok(self.name_cache[slot].1);
        }
        let data = c.data;
        let at = offset as usize;
        let n = data
            .get(at + 6..at + 8)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
            .ok_or(Error::new(at, "name out of the chunk"))?;
        let units = data
            .get(at + 8..at + 8 + n * 2)
            .ok_or(Error::new(at, "name out of the chunk"))?;
        let start = self.names.len();
        text::push_utf16(&mut self.names, units, false);
        let span = Span {
            start: start as u32 | NAME_BIT,
            len: (self.names.len() - start) as u32,
        };
        self.name_cache[slot] = (offset, span);
        self.names_cached += 1;
        Ok(span)
    }

    fn span_from(&self, start: usize) -> Span {
        Span {
            start: start as u32,
            len: (self.text.len() - start) as u32,
        }
    }

    /// A UTF-16 string as a piece (empty when it has no characters).
    fn utf16(&mut self, units: &[u8], until_nul: bool) -> Piece {
        let start = self.text.len();
        text::push_utf16(&mut self.text, units, until_nul);
        if self.text.len() == start {
            Piece::Empty
        } else {
            Piece::Str(self.span_from(start))
        }
    }

    /// The value of type `ty` in `data[start..start + len]`, as a piece.
    fn value(
        &mut self,
        data: &[u8],
        ty: u8,
        start: usize,
        len: usize,
        depth: usize,
    ) -> Result<Piece, Error> {
        let bytes = &data[start..start + len];
        if ty & 0x80 != 0 {
            return self.array(ty & 0x7f, bytes, start, depth);
        }
        let need = |n: usize| {
            if len >= n {
                Ok(())
            } else {
                Err(Error::new(start, "value shorter than its type"))
            }
        };
        let begin = self.text.len();
        let num = |this: &mut Self, v: &dyn std::fmt::Display| {
            use std::fmt::Write as _;
            let _ = write!(this.text, "{v}");
            Piece::Num(this.span_from(begin))
        };
        let str_of = |this: &mut Self| {
            if this.text.len() == begin {
                Piece::Empty
            } else {
                Piece::Str(this.span_from(begin))
            }
        };
        Ok(match ty {
            0x00 => Piece::Empty,
            0x01 => self.utf16(bytes, true),
            0x02 => {
                text::push_ansi(&mut self.text, bytes);
                str_of(self)
            }
            0x03 => {
                need(1)?;
                num(self, &(bytes[0] as i8))
            }
            0x04 => {
                need(1)?;
                num(self, &bytes[0])
            }
            0x05 => {
                need(2)?;
                num(self, &i16::from_le_bytes([bytes[0], bytes[1]]))
            }
            0x06 => {
                need(2)?;
                num(self, &u16::from_le_bytes([bytes[0], bytes[1]]))
            }
            0x07 => {
                need(4)?;
                num(self, &(u32_at(bytes, 0) as i32))
            }
            0x08 => {
                need(4)?;
                num(self, &u32_at(bytes, 0))
            }
            0x09 => {
                need(8)?;
                num(self, &(u64_at(bytes, 0) as i64))
            }
            0x0a => {
                need(8)?;
                num(self, &u64_at(bytes, 0))
            }
            0x0b => {
                need(4)?;
                text::push_f32(&mut self.text, f32::from_bits(u32_at(bytes, 0)));
                str_of(self)
            }
            0x0c => {
                need(8)?;
                text::push_f64(&mut self.text, f64::from_bits(u64_at(bytes, 0)));
                str_of(self)
            }
            0x0d => {
                need(4)?;
                Piece::Bool(u32_at(bytes, 0) != 0)
            }
            0x0e => {
                text::push_hex_upper(&mut self.text, bytes);
                str_of(self)
            }
            0x0f => {
                need(16)?;
                text::push_guid(&mut self.text, bytes);
                str_of(self)
            }
            0x10 => {
                let v = match len {
                    4 => u64::from(u32_at(bytes, 0)),
                    8 => u64_at(bytes, 0),
                    _ => return Err(Error::new(start, "size_t value of neither 4 nor 8 bytes")),
                };
                let _ = std::fmt::Write::write_fmt(&mut self.text, format_args!("{v}"));
                str_of(self)
            }
            0x11 => {
                need(8)?;
                text::push_filetime(&mut self.text, u64_at(bytes, 0));
                str_of(self)
            }
            0x12 => {
                need(16)?;
                text::push_systemtime(&mut self.text, bytes);
                str_of(self)
            }
            0x13 => {
                text::push_sid(&mut self.text, bytes);
                str_of(self)
            }
            0x14 => {
                need(4)?;
                text::push_hex_prefixed(&mut self.text, u64::from(u32_at(bytes, 0)));
                str_of(self)
            }
            0x15 => {
                need(8)?;
                text::push_hex_prefixed(&mut self.text, u64_at(bytes, 0));
                str_of(self)
            }
            _ => return Err(Error::new(start, "value of an unsupported type")),
        })
    }

    /// An array value: its items as pieces in `items`.
    fn array(&mut self, ty: u8, bytes: &[u8], start: usize, depth: usize) -> Result<Piece, Error> {
        let first = self.items.len() as u32;
        match ty {
            0x01 => {
                // UTF-16 strings, each ended by a NUL.
                let mut from = 0;
                let mut i = 0;
                while i + 1 < bytes.len() {
                    if bytes[i] == 0 && bytes[i + 1] == 0 {
                        let piece = self.utf16(&bytes[from..i], false);
                        self.items.push(piece);
                        from = i + 2;
                    }
                    i += 2;
                }
                if from + 1 < bytes.len() {
                    let piece = self.utf16(&bytes[from..bytes.len() & !1], false);
                    self.items.push(piece);
                }
            }
            _ => {
                let size =
                    fixed_size(ty).ok_or(Error::new(start, "array of an unsupported type"))?;
                for k in 0..bytes.len() / size {
                    let piece = self.value(bytes, ty, k * size, size, depth)?;
                    self.items.push(piece);
                }
            }
        }
        Ok(Piece::Array {
            first,
            count: self.items.len() as u32 - first,
        })
    }

    /// An element just closed whose content holds an array of several
    /// items is repeated once per item, each copy holding one item (as
    /// the EVTX schema says arrays are shown, and as the evtx crate
    /// renders them).
    fn expand_array(&mut self, elem: usize) -> Result<(), Error> {
        let XNode::Elem { attrs_end, end, .. } = self.xml[elem] else {
            return Ok(());
        };
        let found = (attrs_end as usize..end as usize).find_map(|i| match self.xml[i] {
            XNode::Content(Piece::Array { first, count }) if count > 1 => Some((i, first, count)),
            _ => None,
        });
        let Some((slot, first, count)) = found else {
            return Ok(());
        };
        if self.xml.len() > 1 << 20 {
            return Err(Error::new(0, "record expands to too many elements"));
        }
        let len = end as usize - elem;
        for k in 0..count {
            let item = self.items[(first + k) as usize];
            let shift = if k == 0 { 0 } else { self.xml.len() - elem };
            if k > 0 {
                for i in elem..elem + len {
                    let node = match self.xml[i] {
                        XNode::Elem {
                            name,
                            attrs_end,
                            end,
                        } => XNode::Elem {
                            name,
                            attrs_end: attrs_end + shift as u32,
                            end: end + shift as u32,
                        },
                        XNode::Attr { name, end } => XNode::Attr {
                            name,
                            end: end + shift as u32,
                        },
                        other => other,
                    };
                    self.xml.push(node);
                }
            }
            let target = slot + shift;
            self.xml[target] = XNode::Content(item);
        }
        Ok(())
    }
}

/// Size of a value of a fixed-size type, or `None`.
fn fixed_size(ty: u8) -> Option<usize> {
    Some(match ty {
        0x03 | 0x04 => 1,
        0x05 | 0x06 => 2,
        0x07 | 0x08 | 0x0b | 0x0d | 0x14 => 4,
        0x09 | 0x0a | 0x0c | 0x11 | 0x15 => 8,
        0x0f | 0x12 => 16,
        _ => return None,
    })
}
