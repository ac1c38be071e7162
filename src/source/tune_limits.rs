//! The bounds of reading Tune's files, shared by the local reader and the S3 mirror.

/// The most a `Tail` reads in one call: a huge file is read over several passes, so memory stays
/// bounded by this, not by the file.
pub const READ_CHUNK: u64 = 8 << 20;
/// The most one pass reads over all files; the scanner goes on at once when it stopped short.
pub const PASS_BUDGET: u64 = 32 << 20;
/// A result line longer than this is skipped (Tune's lines are a few KiB): a file without
/// newlines must not grow the pending buffer without limit.
pub const MAX_LINE: usize = 1 << 20;
/// A state file larger than this is refused (Tune's are a few MiB for thousands of trials).
pub const MAX_STATE_FILE: u64 = 256 << 20;
