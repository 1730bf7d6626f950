//! The list readers without the compiler around them, for the fuzz targets in fuzz/ (cargo
//! feature `fuzzing`, never enabled by hedge): a target feeds thousands of list files a
//! second through them, where a whole compile and reload manages a few hundred.

use std::borrow::Cow;

use crate::format::{LineState, parse_line};
use crate::{Format, Item, NameError};

/// Reads a list file in `format` line by line as [`crate::Compiler`] does, calling `item`
/// with each line's number and what the line says, or why the line cannot be read.
pub fn read_list<'a>(
    format: Format,
    buf: &'a [u8],
    item: &mut dyn FnMut(usize, Result<Item<'a>, &'static str>),
) {
    let mut state = LineState::default();
    for (line_no, line) in crate::read::lines(buf) {
        match line {
            Ok(line) => parse_line(format, line, &mut state, &mut |i| item(line_no, Ok(i))),
            Err(reason) => item(line_no, Err(reason)),
        }
    }
}

/// The compiler's normalisation of an entry (with its allocation-free fast path).
pub fn normalize_entry(entry: &str) -> Result<String, NameError> {
    crate::compile::normalize_fast(entry).map(Cow::into_owned)
}
