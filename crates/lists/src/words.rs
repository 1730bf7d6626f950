//! Counted words for the sentences hedge prints (`1 name`, `3 names`), shared by the
//! crates that build on this one, so every message says `1 name` and not `1 names`.

/// `1 profile`, `3 profiles`, `1,200 categories`: a count and its noun, for sentences. The
/// plural adds `s`, or turns a final consonant + `y` into `ies`; `noun` may be several
/// words (`label set`), the last one inflected.
pub fn counted(n: u64, noun: &str) -> String {
    if n == 1 {
        return format!("1 {noun}");
    }
    let n = thousands(n);
    let consonant_y = noun.strip_suffix('y').filter(|stem| {
        stem.chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphabetic() && !"aeiou".contains(c))
    });
    match consonant_y {
        Some(stem) => format!("{n} {stem}ies"),
        None => format!("{n} {noun}s"),
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::counted;

    #[test]
    fn one_is_singular_and_the_rest_plural() {
        assert_eq!(counted(1, "name"), "1 name");
        assert_eq!(counted(0, "name"), "0 names");
        assert_eq!(counted(2, "label set"), "2 label sets");
        assert_eq!(counted(3, "entry"), "3 entries");
        assert_eq!(counted(1, "category"), "1 category");
        assert_eq!(counted(2, "blocked category"), "2 blocked categories");
        assert_eq!(counted(2, "day"), "2 days");
        assert_eq!(counted(4264, "name"), "4,264 names");
    }
}
