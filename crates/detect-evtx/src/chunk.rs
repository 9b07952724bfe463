//! The EVTX container: the file header, the 64 KiB chunks and the order
//! Windows reads them in, and the records of one chunk.
//!
//! Each chunk holds its own string and template tables, so a chunk is
//! decoded without looking at any other: that is what lets a large file be
//! scanned on several threads, one chunk each.

use crate::Error;

/// Size of the file header block; the chunks follow it.
pub const FILE_HEADER_SIZE: usize = 4096;
/// Size of one chunk.
pub const CHUNK_SIZE: usize = 65536;
/// Size of a chunk's header (with its string and template tables).
const CHUNK_HEADER_SIZE: usize = 512;
/// Size of a record's header: magic, size, record id, time written.
const RECORD_HEADER_SIZE: usize = 24;
const RECORD_MAGIC: &[u8; 4] = b"\x2a\x2a\x00\x00";

/// What the file header says (the fields a reader needs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileHeader {
    /// Chunks the header lists (a file that was not closed cleanly may hold more).
    pub chunk_count: u16,
}

impl FileHeader {
    /// Reads the header at the start of `file`.
    ///
    /// ```
    /// use detect_evtx::FileHeader;
    /// let mut head = vec![0u8; 4096];
    /// head[..8].copy_from_slice(b"ElfFile\0");
    /// head[42..44].copy_from_slice(&3u16.to_le_bytes());
    /// assert_eq!(FileHeader::parse(&head).unwrap().chunk_count, 3);
    /// assert!(FileHeader::parse(b"not evtx").is_err());
    /// assert!(FileHeader::parse(&head[..1000]).is_err());
    /// ```
    pub fn parse(file: &[u8]) -> Result<FileHeader, Error> {
        if !file.starts_with(b"ElfFile\0") {
            return Err(Error::new(0, "not an EVTX file (no `ElfFile` header)"));
        }
        if file.len() < FILE_HEADER_SIZE {
            return Err(Error::new(
                file.len(),
                "file shorter than its 4096-byte header",
            ));
        }
        Ok(FileHeader {
            chunk_count: u16::from_le_bytes([file[42], file[43]]),
        })
    }
}

/// The fields of a chunk header that order chunks and bound their records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkHeader {
    /// Record id of the chunk's first record.
    pub first_record_id: u64,
    /// Record id of its last record.
    pub last_record_id: u64,
    /// Offset of the last record in the chunk.
    pub last_record_offset: u32,
    /// Offset where the chunk's free space starts (the records end there).
    pub free_space_offset: u32,
}

impl ChunkHeader {
    /// Reads the header at the start of `chunk`.
    pub fn parse(chunk: &[u8]) -> Result<ChunkHeader, Error> {
        if chunk.len() < CHUNK_HEADER_SIZE {
            return Err(Error::new(0, "chunk shorter than its header"));
        }
        if !chunk.starts_with(b"ElfChnk\0") {
            return Err(Error::new(0, "not a chunk (no `ElfChnk` magic)"));
        }
        Ok(ChunkHeader {
            first_record_id: u64_at(chunk, 24),
            last_record_id: u64_at(chunk, 32),
            last_record_offset: u32_at(chunk, 44),
            free_space_offset: u32_at(chunk, 48),
        })
    }
}

/// The chunk numbers of a file of `len` bytes whose chunks start with the
/// headers `header_of(n)` gives, in the order their records were written:
/// from the chunk holding the oldest records (the lowest first record id)
/// to the end of the file, then from the start of the file (a full log
/// writes each new chunk over its oldest one). Chunks that are all zeros
/// are left out by the caller (they have no header).
///
/// ```
/// use detect_evtx::chunk_order;
/// let firsts = [Some(300), Some(100), Some(200)];
/// assert_eq!(chunk_order(3, |n| firsts[n]), vec![1, 2, 0]);
/// assert_eq!(chunk_order(2, |_| None), vec![0, 1]);
/// ```
pub fn chunk_order(count: usize, first_record_id: impl Fn(usize) -> Option<u64>) -> Vec<usize> {
    let oldest = (0..count)
        .filter_map(|n| first_record_id(n).map(|id| (id, n)))
        .min()
        .map_or(0, |(_, n)| n);
    (oldest..count).chain(0..oldest).collect()
}

/// The first record id of a chunk header, when the header is valid and its
/// record range is not reversed (what [`chunk_order`] sorts by).
pub fn first_record_id(chunk: &[u8]) -> Option<u64> {
    let header = ChunkHeader::parse(chunk).ok()?;
    (header.first_record_id <= header.last_record_id).then_some(header.first_record_id)
}

/// One record of a chunk, before decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawRecord {
    /// The record id (`EventRecordID`).
    pub id: u64,
    /// When it was written (FILETIME: 100 ns ticks since 1601).
    pub written: u64,
    /// Offset of its BinXML in the chunk.
    pub binxml_start: usize,
    /// End of its BinXML in the chunk.
    pub binxml_end: usize,
}

/// The records of one chunk, in order: from the chunk header to the free
/// space or the last record. A record that cannot be read is reported as
/// an error and the walk goes on at the next record magic that starts a
/// readable record (or ends when there is none).
pub struct Records<'a> {
    chunk: &'a [u8],
    header: ChunkHeader,
    next: Option<usize>,
}

impl<'a> Records<'a> {
    /// The records of `chunk` (64 KiB, or what is left of it), or why the
    /// chunk cannot be read at all.
    pub fn new(chunk: &'a [u8]) -> Result<Records<'a>, Error> {
        let header = ChunkHeader::parse(chunk)?;
        Ok(Records {
            chunk,
            header,
            next: Some(CHUNK_HEADER_SIZE),
        })
    }

    /// The chunk's header.
    pub fn header(&self) -> &ChunkHeader {
        &self.header
    }

    fn live_end(&self) -> usize {
        (self.header.free_space_offset as usize).min(self.chunk.len())
    }

    /// The record at `at` and where it ends.
    fn record_at(&self, at: usize) -> Result<(RawRecord, usize), Error> {
        let chunk = self.chunk;
        let header = chunk
            .get(at..at + RECORD_HEADER_SIZE)
            .ok_or(Error::new(at, "record header cut short by the chunk's end"))?;
        if &header[..4] != RECORD_MAGIC {
            return Err(Error::new(
                at,
                "no record magic where a record should start",
            ));
        }
        let size = u32_at(header, 4) as usize;
        let end = at
            .checked_add(size)
            .filter(|&end| end <= chunk.len() && size >= RECORD_HEADER_SIZE + 4)
            .ok_or(Error::new(at, "record size out of the chunk"))?;
        Ok((
            RawRecord {
                id: u64_at(header, 8),
                written: u64_at(header, 16),
                binxml_start: at + RECORD_HEADER_SIZE,
                binxml_end: end - 4,
            },
            end,
        ))
    }

    /// The next readable live record at or after `from`.
    fn resync(&self, mut from: usize) -> Option<usize> {
        let ids = self.header.first_record_id..=self.header.last_record_id;
        let live_end = self.live_end();
        let search_end = live_end.min(self.header.last_record_offset as usize + 4);
        while from < search_end {
            let hit = find(&self.chunk[from..search_end], RECORD_MAGIC)? + from;
            if let Ok((raw, end)) = self.record_at(hit)
                && end <= live_end
                && ids.contains(&raw.id)
                && self.chunk[end - 4..end] == self.chunk[hit + 4..hit + 8]
            {
                return Some(hit);
            }
            from = hit + 1;
        }
        None
    }
}

impl Iterator for Records<'_> {
    type Item = Result<RawRecord, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let at = self.next?;
            if at >= self.live_end() {
                self.next = None;
                return None;
            }
            match self.record_at(at) {
                Ok((raw, end)) => {
                    self.next = (raw.id != self.header.last_record_id).then_some(end);
                    return Some(Ok(raw));
                }
                Err(e) => {
                    self.next = self.resync(at + 1);
                    // Zeros where a record should start are the real start of
                    // the free space when the header says more, unless live
                    // records follow.
                    let blank = self.chunk[at..].iter().take(4).all(|&b| b == 0);
                    if self.next.is_some() || !blank {
                        return Some(Err(e));
                    }
                }
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(x)
}

pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}
