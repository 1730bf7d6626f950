//! A structural check of the FST bytes of an index, so that a crafted file cannot make a
//! lookup panic.
//!
//! The `fst` crate trusts its bytes: a node address, pack size or transition count that
//! does not fit the buffer makes it index out of bounds or overflow. The index checksum
//! catches accidents, not a file made to pass it. This module decodes every node with
//! checked arithmetic, using the same layout formulas as `fst` 0.4 (`raw/node.rs`, format
//! version 3), and accepts the FST only if every byte any node method reads lies inside
//! the node and every transition leads to a lower address.
//!
//! `fst`'s builder writes nodes back to back after the 16-byte header, each ending in its
//! state byte (its address), the root last. So one pass from the root down decodes every
//! node in turn, the next one ending right before the start of the one just decoded, and
//! must end exactly at the header. Each transition's target is marked in a bitmap of one
//! bit per byte and unmarked when the pass reaches a node there; a bit still set at the end
//! is a transition into the middle of a node or the header, and refused. Every node a
//! lookup can reach is then one the pass decoded, and as edges go downwards there is no
//! cycle. (The pass used to visit only the nodes reachable from the root, finding each in
//! the bitmap: on the real data's 20 MB table, 6.3M nodes, that search cost more than the
//! decoding; no table `fst` writes has bytes that are not part of a node.)
//!
//! The key count in the footer is not checked here: no lookup depends on it, and counting
//! the paths cost 0.4 s on a 20 MB index. A walk over all names checks it as it goes
//! (`crate::walk`).
//!
//! Every output (a piece of a name's label-set id) must be at most `max_output`, the
//! largest label-set id: `fst` adds outputs along a path with `+`, which overflows (a panic
//! in debug builds) on a crafted table when walking it (`lists diff`, the shrink check).
//! A path visits at most one node per byte, so the sums stay below `len * max_output`.

/// The fst format version `fst` 0.4 writes (with a CRC32C checksum at the end).
const FST_VERSION: u64 = 3;
/// Version, type; then at the end: key count, root address, checksum.
const FST_HEADER: usize = 16;
const FST_FOOTER: usize = 20;
/// AnyTrans nodes with more transitions than this carry a 256-byte input index.
const TRANS_INDEX_THRESHOLD: usize = 32;

/// Checks the FST in `bytes`, whose outputs may not exceed `max_output`; on failure, says
/// what is wrong.
pub(crate) fn check(bytes: &[u8], max_output: u64) -> Result<(), String> {
    if bytes.len() < FST_HEADER + FST_FOOTER {
        return Err(format!("{} bytes, too short", bytes.len()));
    }
    let le64 = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(b)
    };
    let version = le64(0);
    if version != FST_VERSION {
        return Err(format!(
            "fst format version {version}, expected {FST_VERSION}"
        ));
    }
    let end = bytes.len() - 4; // before the checksum
    let root = usize::try_from(le64(end - 8)).map_err(|_| "root address too large")?;
    // The root is the last node written, so it ends right before the footer; address 0
    // is the empty final state (an FST with no keys).
    let empty = root == 0 && bytes.len() == FST_HEADER + FST_FOOTER;
    if !empty && root.checked_add(1 + FST_FOOTER) != Some(bytes.len()) {
        return Err(format!(
            "root node at {root} does not end at the footer of a {}-byte name table",
            bytes.len()
        ));
    }
    if empty {
        return Ok(());
    }
    if (bytes.len() as u64)
        .checked_mul(max_output.max(1))
        .is_none()
    {
        return Err(format!("{max_output} label sets is too many"));
    }
    if root < FST_HEADER {
        return Err(format!("root node at {root} is inside the header"));
    }
    // Transitions' targets not yet reached by the pass, one bit per byte.
    let mut wanted = vec![0u64; root / 64 + 1];
    let mut addr = root;
    loop {
        wanted[addr / 64] &= !(1 << (addr % 64));
        let state = bytes[addr];
        let (start, next_only) = if state >> 6 == 0b11 {
            // One transition, to the node written just before this one: the next node of
            // the pass, so no mark (7 nodes in 10 on the real data). Its input is in the
            // state byte or the byte before.
            (addr - usize::from(state & 0b11_1111 == 0), true)
        } else {
            let start = node(bytes, addr, max_output, |child| {
                if child != 0 {
                    wanted[child / 64] |= 1 << (child % 64); // 0 is the empty final state
                }
            })?;
            (start, false)
        };
        if start > FST_HEADER {
            addr = start - 1;
        } else if start == FST_HEADER && !next_only {
            break;
        } else if start == FST_HEADER {
            let at = FST_HEADER - 1;
            return Err(format!("a transition leads to {at}, where no node is"));
        } else {
            return Err(format!("node at {addr}: its fields run into the header"));
        }
    }
    if let Some(word) = wanted.iter().position(|&w| w != 0) {
        let at = word * 64 + wanted[word].trailing_zeros() as usize;
        return Err(format!("a transition leads to {at}, where no node is"));
    }
    Ok(())
}

/// Calls `child` with the target address of each transition of the node at `addr` (0 is
/// the empty final state), after checking that everything `fst` reads of this node lies
/// within `bytes[..=addr]` and that its outputs are at most `max_output`. Returns where
/// the node starts.
fn node(
    bytes: &[u8],
    addr: usize,
    max_output: u64,
    mut child: impl FnMut(usize),
) -> Result<usize, String> {
    let bad = |what: &str| format!("node at {addr}: {what}");
    let overrun = || bad("its fields run past the start of the name table");
    let state = bytes[addr];
    let sub = |a: usize, b: usize| a.checked_sub(b).ok_or_else(overrun);
    match state >> 6 {
        // One transition to the node written just before this one.
        0b11 => {
            let input_len = usize::from(state & 0b11_1111 == 0);
            let end = sub(addr, input_len)?;
            child(sub(end, 1)?);
            Ok(end)
        }
        // One transition: [output] [delta] pack-sizes [input] state.
        0b10 => {
            let input_len = usize::from(state & 0b11_1111 == 0);
            let sizes = bytes[sub(addr, input_len + 1)?];
            let (tsize, osize) = pack_sizes(sizes, 1).map_err(|e| bad(&e))?;
            let delta_at = sub(addr, input_len + 1 + tsize)?;
            let end = sub(delta_at, osize)?;
            outputs(&bytes[end..delta_at], osize, max_output).map_err(|e| bad(&e))?;
            child(target(bytes, delta_at, tsize, end).map_err(|e| bad(&e))?);
            Ok(end)
        }
        // Any number of transitions: [final output] [outputs] [deltas] [inputs]
        // [input index] pack-sizes [count] state.
        _ => {
            let is_final = state & 0b01_000000 != 0;
            let (ntrans, ntrans_len) = match usize::from(state & 0b11_1111) {
                0 => match bytes[sub(addr, 1)?] {
                    1 => (256, 1),
                    n => (usize::from(n), 1),
                },
                n => (n, 0),
            };
            let sizes = bytes[sub(addr, ntrans_len + 1)?];
            let (tsize, osize) = pack_sizes(sizes, ntrans).map_err(|e| bad(&e))?;
            let index_len = if ntrans > TRANS_INDEX_THRESHOLD {
                256
            } else {
                0
            };
            let inputs_at = sub(addr, ntrans_len + 1 + index_len)?;
            let deltas_end = sub(inputs_at, ntrans)?;
            let deltas_at = sub(deltas_end, ntrans * tsize)?;
            let outputs_at = sub(deltas_at, ntrans * osize)?;
            let end = sub(outputs_at, if is_final { osize } else { 0 })?;
            // The final output, then the transitions' outputs.
            outputs(&bytes[end..deltas_at], osize, max_output).map_err(|e| bad(&e))?;
            // The i-th delta is the i-th from the top of the deltas.
            for i in 0..ntrans {
                let at = deltas_end - (i + 1) * tsize;
                child(target(bytes, at, tsize, end).map_err(|e| bad(&e))?);
            }
            Ok(end)
        }
    }
}

/// Splits a pack-size byte: transition address size (1 to 8 bytes when the node has
/// transitions) and output size (0 to 8).
#[inline(always)]
fn pack_sizes(sizes: u8, ntrans: usize) -> Result<(usize, usize), String> {
    let (tsize, osize) = (usize::from(sizes >> 4), usize::from(sizes & 0xf));
    if (ntrans > 0 && !(1..=8).contains(&tsize)) || osize > 8 {
        return Err(format!("pack sizes {tsize}/{osize} out of range"));
    }
    Ok((tsize, osize))
}

/// Checks the outputs packed in `packed`, `osize` bytes each (little-endian).
#[inline(always)]
fn outputs(packed: &[u8], osize: usize, max_output: u64) -> Result<(), String> {
    if osize == 0 {
        return Ok(());
    }
    for output in packed.chunks(osize) {
        let value = output
            .iter()
            .rev()
            .fold(0u64, |n, &b| (n << 8) | u64::from(b));
        if value > max_output {
            return Err(format!(
                "output {value} above the largest label-set id {max_output}"
            ));
        }
    }
    Ok(())
}

/// The target of a transition whose address delta is the `tsize` bytes at `at`, relative
/// to the end of its node, `end`: below `end`, or 0 for the empty final state.
#[inline(always)]
fn target(bytes: &[u8], at: usize, tsize: usize, end: usize) -> Result<usize, String> {
    let delta = bytes[at..at + tsize]
        .iter()
        .rev()
        .fold(0u64, |n, &b| (n << 8) | u64::from(b));
    if delta == 0 {
        return Ok(0);
    }
    usize::try_from(delta)
        .ok()
        .and_then(|d| end.checked_sub(d))
        .ok_or_else(|| format!("a transition points {delta} bytes back, past the start"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A name table: the header, `nodes` (the last one is the root), the footer.
    fn table(nodes: &[u8]) -> Vec<u8> {
        let mut t = Vec::new();
        t.extend_from_slice(&FST_VERSION.to_le_bytes());
        t.extend_from_slice(&0u64.to_le_bytes());
        t.extend_from_slice(nodes);
        let root = t.len() as u64 - 1;
        t.extend_from_slice(&1u64.to_le_bytes());
        t.extend_from_slice(&root.to_le_bytes());
        t.extend_from_slice(&0u32.to_le_bytes());
        t
    }

    /// One-transition nodes: delta (1 byte), pack sizes (1-byte delta, no output), input,
    /// state. The first (16..=19) leads to the empty final state; the root (20..=23) goes
    /// `root_delta` bytes back from its start, 20.
    fn two_nodes(root_delta: u8) -> Vec<u8> {
        table(&[0, 0x10, b'a', 0x80, root_delta, 0x10, b'b', 0x80])
    }

    #[test]
    fn tables_fst_writes_pass() {
        let mut keys: Vec<String> = (0..5000u32)
            .map(|i| format!("com.example{}.w{}", i % 97, i))
            .collect();
        keys.sort();
        keys.dedup();
        let mut b = fst::MapBuilder::memory();
        for (i, k) in keys.iter().enumerate() {
            b.insert(k, i as u64 % 300).unwrap();
        }
        let bytes = b.into_inner().unwrap();
        assert_eq!(check(&bytes, 299), Ok(()));
        assert!(
            check(&bytes, 298)
                .unwrap_err()
                .contains("above the largest")
        );
        assert_eq!(check(&two_nodes(1), 0), Ok(()));
        // A root with one transition (input in its state byte) to the node before it.
        assert_eq!(check(&table(&[0, 0x10, b'a', 0x80, 0xc1]), 0), Ok(()));
    }

    #[test]
    fn tables_of_no_names_or_one_short_name_pass() {
        for keys in [&[][..], &[""][..], &["a"][..]] {
            let mut b = fst::MapBuilder::memory();
            for k in keys {
                b.insert(k, 0).unwrap();
            }
            assert_eq!(check(&b.into_inner().unwrap(), 0), Ok(()), "{keys:?}");
        }
    }

    #[test]
    fn a_transition_to_the_node_before_the_first_is_refused() {
        // One transition to "the node written before": its input, its state; none before.
        let err = check(&table(&[b'a', 0xc0]), 0).unwrap_err();
        assert_eq!(err, "a transition leads to 15, where no node is");
    }

    #[test]
    fn a_transition_into_the_middle_of_a_node_is_refused() {
        // 20 - 3 = 17: the first node's pack-size byte.
        let err = check(&two_nodes(3), 0).unwrap_err();
        assert_eq!(err, "a transition leads to 17, where no node is");
    }

    #[test]
    fn a_node_reaching_into_the_header_is_refused() {
        // One transition with a 1-byte delta and a 1-byte output, but only its pack sizes,
        // input and state after the header: its delta and output would be header bytes.
        let err = check(&table(&[0x11, b'a', 0x80]), 0).unwrap_err();
        assert_eq!(err, "node at 18: its fields run into the header");
    }
}
