//! Walks every name of an index's name table in key order, checking each step.
//!
//! Loading checks the table's structure only (`fst_check`): every byte a node method reads
//! lies inside the table, so a lookup, which takes at most one step per byte of the query
//! name, cannot fail on any file. A walk over all names (`lists diff`, `lists verify`, the
//! change record after a compile) is the one reader whose length the structure does not
//! bound: a crafted table with many paths through a few nodes could hold far more keys than
//! its footer claims, or paths that lead to no key at all. Counting the keys at load cost
//! 0.4 s on a 20 MB index, on the way to the first answer, for a check only a walk needs;
//! so the walk checks as it goes and stops at the first key beyond the footer's count.
//!
//! Every descent ends at a key or is refused (a node with no way on is not final), keys are
//! at most 253 bytes, and at most the footer's count of them is yielded, so a walk takes at
//! most about `2 × 253` steps per name and never more memory than one key's path.

use fst::raw::{CompiledAddr, Fst, Node, Output};

use crate::LabelSetId;
use crate::name::{MAX_NAME_LEN, check_key};

/// A walk over the keys of a name table, yielding each key with its label-set id.
pub(crate) struct Walk<'f, D> {
    fst: &'f Fst<D>,
    /// Label sets the index has: a key's id must be below.
    sets: usize,
    /// The path from the root to the node being visited.
    stack: Vec<Frame<'f>>,
    /// The key of that path (one byte per frame below the root).
    key: Vec<u8>,
    /// Keys yielded so far.
    seen: u64,
    started: bool,
}

/// The root address of a table with no keys (`fst`'s empty final state).
const EMPTY_TABLE_ROOT: CompiledAddr = 0;

/// One node on the path (decoded once), with where its transitions stand.
struct Frame<'f> {
    node: Node<'f>,
    /// Sum of the outputs from the root to this node.
    out: Output,
    /// The next transition to take.
    next: usize,
    /// The input byte of the last one taken: the next must be greater (keys in order).
    last: u8,
}

impl<'f, D: AsRef<[u8]>> Walk<'f, D> {
    /// A walk over `fst`, whose ids must be below `sets`.
    pub(crate) fn new(fst: &'f Fst<D>, sets: usize) -> Walk<'f, D> {
        let root = Frame {
            node: fst.root(),
            out: Output::zero(),
            next: 0,
            last: 0,
        };
        Walk {
            fst,
            sets,
            stack: vec![root],
            key: Vec::with_capacity(MAX_NAME_LEN),
            seen: 0,
            started: false,
        }
    }

    /// The next key and its label-set id, None after the last, or what is wrong with the
    /// table (the walk is then over).
    pub(crate) fn next(&mut self) -> Result<Option<(&[u8], LabelSetId)>, String> {
        let result = self.step();
        if result.is_err() {
            self.stack.clear();
        }
        match result {
            Ok(Some(set)) => Ok(Some((&self.key, set))),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn step(&mut self) -> Result<Option<LabelSetId>, String> {
        if !self.started {
            self.started = true;
            let root = self.fst.root();
            if root.addr() == EMPTY_TABLE_ROOT {
                self.stack.clear();
                return self.finish();
            }
            if root.is_final() {
                return Err("the empty name is listed".into());
            }
        }
        loop {
            let Some(frame) = self.stack.last_mut() else {
                return Ok(None);
            };
            let node = frame.node;
            if frame.next == node.len() {
                self.stack.pop();
                if self.stack.is_empty() {
                    return self.finish();
                }
                self.key.pop();
                continue;
            }
            let t = node.transition(frame.next);
            if frame.next > 0 && t.inp <= frame.last {
                return Err(format!(
                    "keys out of order after `{}`",
                    String::from_utf8_lossy(&self.key)
                ));
            }
            frame.next += 1;
            frame.last = t.inp;
            let out = cat(frame.out, t.out);
            if self.key.len() == MAX_NAME_LEN {
                return Err(format!(
                    "a key longer than {MAX_NAME_LEN} bytes (`{}…`)",
                    String::from_utf8_lossy(&self.key[..32])
                ));
            }
            self.key.push(t.inp);
            let child = self.fst.node(t.addr);
            if !child.is_final() && child.is_empty() {
                return Err(format!(
                    "the path `{}` leads to no name",
                    String::from_utf8_lossy(&self.key)
                ));
            }
            self.stack.push(Frame {
                node: child,
                out,
                next: 0,
                last: 0,
            });
            if child.is_final() {
                let id = cat(out, child.final_output()).value();
                return self.yield_key(id).map(Some);
            }
        }
    }

    /// Checks the key just reached before it is yielded.
    fn yield_key(&mut self, id: u64) -> Result<LabelSetId, String> {
        self.seen += 1;
        if self.seen > self.fst.len() as u64 {
            return Err(format!(
                "more keys than the {} its footer counts",
                self.fst.len()
            ));
        }
        check_key(&self.key).map_err(|e| {
            format!(
                "key `{}` is not a domain name: {e}",
                String::from_utf8_lossy(&self.key)
            )
        })?;
        LabelSetId::try_from(id)
            .ok()
            .filter(|&s| (s as usize) < self.sets)
            .ok_or_else(|| {
                format!(
                    "key `{}` has label set {id}, but the index has {}",
                    String::from_utf8_lossy(&self.key),
                    self.sets
                )
            })
    }

    /// At the end of the walk: the keys must be as many as the footer says.
    fn finish(&self) -> Result<Option<LabelSetId>, String> {
        if self.seen != self.fst.len() as u64 {
            return Err(format!(
                "{} keys, but its footer says {}",
                self.seen,
                self.fst.len()
            ));
        }
        Ok(None)
    }
}

/// `a.cat(b)` without `fst`'s unchecked `+`, which a crafted table could overflow.
pub(crate) fn cat(a: Output, b: Output) -> Output {
    Output::new(a.value().wrapping_add(b.value()))
}
