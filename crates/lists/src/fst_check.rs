//! A structural check of the FST bytes of an index, so that a crafted file cannot make a
//! lookup panic.
//!
//! The `fst` crate trusts its bytes: a node address, pack size or transition count that
//! does not fit the buffer makes it index out of bounds or overflow. The index checksum
//! catches accidents, not a file made to pass it. This module decodes every node
//! reachable from the root with checked arithmetic, using the same layout formulas as
//! `fst` 0.4 (`raw/node.rs`, format version 3), and accepts the FST only if every byte
//! any node method reads lies inside the node and every transition leads to a lower
//! address. Edges then always go downwards, so there is no cycle, and one pass over the
//! addresses from the root down visits every node once, remembering the nodes still to
//! visit in a bitmap of one bit per byte.
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
    let mut todo = vec![0u64; root / 64 + 1];
    let mark = |todo: &mut [u64], addr: usize| todo[addr / 64] |= 1 << (addr % 64);
    mark(&mut todo, root);
    for word in (0..todo.len()).rev() {
        while todo[word] != 0 {
            let bit = 63 - todo[word].leading_zeros() as usize;
            todo[word] &= !(1 << bit);
            let addr = word * 64 + bit;
            // `children` only gives addresses below `addr`: still to come in this pass.
            children(bytes, addr, max_output, &mut |child| {
                if child != 0 {
                    mark(&mut todo, child); // 0 is the empty final state
                }
            })?;
        }
    }
    Ok(())
}

/// Calls `child` with the target address of each transition of the node at `addr` (0 is
/// the empty final state), after checking that everything `fst` reads of this node lies
/// within `bytes[..=addr]` and that its outputs are at most `max_output`.
fn children(
    bytes: &[u8],
    addr: usize,
    max_output: u64,
    child: &mut dyn FnMut(usize),
) -> Result<(), String> {
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
            Ok(())
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
            Ok(())
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
            Ok(())
        }
    }
}

/// Splits a pack-size byte: transition address size (1 to 8 bytes when the node has
/// transitions) and output size (0 to 8).
fn pack_sizes(sizes: u8, ntrans: usize) -> Result<(usize, usize), String> {
    let (tsize, osize) = (usize::from(sizes >> 4), usize::from(sizes & 0xf));
    if (ntrans > 0 && !(1..=8).contains(&tsize)) || osize > 8 {
        return Err(format!("pack sizes {tsize}/{osize} out of range"));
    }
    Ok((tsize, osize))
}

/// Checks the outputs packed in `packed`, `osize` bytes each (little-endian).
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
