//! The short reference code on a block page: enough for staff and patron to talk about the
//! same block ("reference K7QD-2M9F"), derived from the name, the profile and the minute
//! alone, so it says nothing about who saw the page.

use sha2::{Digest, Sha256};

/// Crockford's base 32: no I, L, O or U, so a code read aloud or copied by hand survives.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// `XXXX-XXXX` for a block of `name` in `profile` at `minute` (Unix minutes).
pub(crate) fn reference(name: &str, profile: &str, minute: i64) -> String {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([0])
        .chain_update(profile.as_bytes())
        .chain_update([0])
        .chain_update(minute.to_be_bytes())
        .finalize();
    // 40 bits: eight 5-bit digits.
    let bits = digest[..5]
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    let mut code = String::with_capacity(9);
    for i in (0..8).rev() {
        code.push(char::from(ALPHABET[((bits >> (i * 5)) & 31) as usize]));
        if i == 4 {
            code.push('-');
        }
    }
    code
}

/// Whether `s` has the form of a reference (what a form may carry back).
pub(crate) fn is_reference(s: &str) -> bool {
    s.len() == 9
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 {
                b == b'-'
            } else {
                ALPHABET.contains(&b)
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_is_short_stable_and_depends_on_name_profile_and_minute() {
        let r = reference("bet.com", "child", 29_000_000);
        assert!(is_reference(&r), "{r}");
        assert_eq!(r, reference("bet.com", "child", 29_000_000));
        assert_ne!(r, reference("bet.com", "child", 29_000_001));
        assert_ne!(r, reference("bet.com", "adult", 29_000_000));
        assert_ne!(r, reference("bet.org", "child", 29_000_000));
        assert!(!is_reference("<b>x</b>"));
        assert!(!is_reference("ABCD-EFGI"));
    }
}
