//! Windows event log (EVTX) records as detect events, read straight from
//! their BinXML.
//!
//! Rules read EVTX records in the layout of the evtx crate's JSON rendering
//! ([`detect_core::Layout::EvtxNested`]). Rendering each record to JSON text
//! and parsing that text again cost about four fifths of a scan's time;
//! the evtx crate has no public API over a decoded record (its record
//! model is private; it renders JSON or XML only), so this crate walks the
//! BinXML itself ([`EvtxEvent::decode`]) and answers lookups from the
//! decoded values, in the shape that rendering would have had.
//!
//! The container is read by [`FileHeader`], [`chunk_order`] and [`Records`]:
//! every 64 KiB chunk holds its own string and template tables, so chunks
//! are decoded independently (and can be scanned in parallel).
//!
//! Bad input gives an [`Error`] (with the offset in the chunk), never a
//! panic: per record, so that the next record can still be read, or per
//! chunk when its header is unreadable.
//!
//! ```
//! use detect_core::Event;
//! use detect_evtx::{EvtxEvent, Records};
//!
//! // A chunk that is only a header holds no records.
//! let mut chunk = vec![0u8; 65536];
//! chunk[..8].copy_from_slice(b"ElfChnk\0");
//! chunk[48..52].copy_from_slice(&512u32.to_le_bytes());
//! let mut event = EvtxEvent::new();
//! event.start_chunk();
//! for record in Records::new(&chunk).unwrap() {
//!     event.decode(&chunk, &record.unwrap()).unwrap();
//!     event.lookup("Event.System.EventID", &mut |_| false);
//! }
//! assert!(Records::new(b"not a chunk").is_err());
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod binxml;
mod chunk;
mod event;
mod text;

use std::fmt;

pub use chunk::{
    CHUNK_SIZE, ChunkHeader, FILE_HEADER_SIZE, FileHeader, RawRecord, Records, chunk_order,
    first_record_id,
};
pub use event::EvtxEvent;

/// Why a file, chunk or record cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    /// Offset in the chunk (or file) where the problem was found.
    pub offset: usize,
    /// What is wrong.
    pub message: &'static str,
}

impl Error {
    pub(crate) const fn new(offset: usize, message: &'static str) -> Error {
        Error { offset, message }
    }
}

impl fmt::Display for Error {
    /// `MESSAGE at offset 0x...`.
    ///
    /// ```
    /// let e = detect_evtx::Records::new(b"x").err().unwrap();
    /// assert_eq!(e.to_string(), "chunk shorter than its header at offset 0x0");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {:#x}", self.message, self.offset)
    }
}

impl std::error::Error for Error {}
