//! Categorised domain lists for hedge: the taxonomy, list formats, the compressed index file
//! and the suffix lookup every filtering decision starts with.
//!
//! Data flows one way:
//!
//! ```text
//! lists/categories.toml ─▶ Taxonomy ─┐
//! lists/sources.toml ─▶ Manifest ────┼─▶ Compiler ─▶ index file ─▶ Index::open ─▶ Index::lookup
//! list files (plain, hosts, adblock, │     (parse, normalise, sort, inherit,     (read + checksum)  (longest listed
//!   UT1 dirs, RPZ; .gz/.zst) ────────┘      intern label sets, build the FST)                        suffix → categories)
//! ```
//!
//! Every listed name covers its subdomains. A lookup walks the query name's labels from the
//! TLD through an [`fst`] map once and remembers the last listed label boundary, so it finds
//! the longest listed suffix without allocating: `bet.com` listed never matches
//! `alphabet.com`. Each name maps to a *label set*, the provenance labels (`ut1/gambling`,
//! `blocklistproject/gambling`) that list it, each resolved to taxonomy categories.
//!
//! ```
//! use hedge_lists::{Compiler, Format, Index, Taxonomy};
//!
//! let taxonomy = Taxonomy::builtin();
//! let mut compiler = Compiler::new(&taxonomy);
//! compiler.add_text("demo", Format::Plain, &["gambling".into()], b"bet.com\n", "demo.txt")?;
//! let compiled = compiler.finish(&mut |_| {})?;
//! let index = Index::from_bytes(compiled.bytes)?;
//!
//! let hit = index.lookup("www.BET.com.").expect("listed");
//! assert_eq!(hit.suffix, "BET.com");
//! assert_eq!(index.taxonomy().id(index.categories(hit.set)[0]), "gambling");
//! assert!(index.lookup("alphabet.com").is_none());
//! # Ok::<(), hedge_lists::Error>(())
//! ```
//!
//! This crate does not know about sockets, DNS messages or profiles: what to *do* with a
//! category is `hedge-policy`'s job.

#![deny(missing_docs)]

mod compile;
mod diff;
mod error;
mod format;
mod fst_check;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzz;
mod index;
mod name;
mod read;
mod shrink;
mod source;
pub mod taxonomy;
mod walk;
mod words;

pub use compile::{Compiled, Compiler, Progress, Warning};
pub use diff::{CategoryDiff, Change, Diff, NameDiff, diff};
pub use error::{Error, Result};
pub use format::{Format, Item, path_entries};
pub use index::{
    FORMAT_VERSION, Index, IndexMeta, Label, LabelSetId, ListStats, MAGIC, Match, SourceInfo,
    write_atomic,
};
pub use name::{MAX_LABEL_LEN, MAX_NAME_LEN, NameError, name_from_key, normalize, reversed_key};
pub use shrink::{Shrink, ShrinkList, category_names, shrunk};
pub use source::{LIST_PLACEHOLDER, Manifest, SourceSpec};
pub use taxonomy::{CategoryIdx, Taxonomy};
pub use words::{counted, thousands};
