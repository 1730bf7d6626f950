//! The one warning for blocked categories that no list in the index supplies: each blocks
//! nothing until a source does, and a line per profile and category buried the point.

use hedge_lists::counted;

/// `unsupplied`: each such category, with the profiles that block it. None when empty.
pub(crate) fn notice(unsupplied: &[(&str, Vec<&str>)]) -> Option<String> {
    if unsupplied.is_empty() {
        return None;
    }
    let mut profiles: Vec<&str> = unsupplied.iter().flat_map(|(_, by)| by.clone()).collect();
    profiles.sort_unstable();
    profiles.dedup();
    let quoted = |words: &mut dyn Iterator<Item = &str>| {
        words
            .map(|w| format!("`{w}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (has, it, block, them) = if unsupplied.len() == 1 {
        ("has", "it", "blocks", "it")
    } else {
        ("have", "they", "block", "them")
    };
    Some(format!(
        "{} {has} no list in the index, so {it} {block} nothing until a list supplies {them} (a source in sources.toml, or a custom list): {} (key `block` of {} {})",
        counted(unsupplied.len() as u64, "blocked category"),
        quoted(&mut unsupplied.iter().map(|(c, _)| *c)),
        if profiles.len() == 1 {
            "profile"
        } else {
            "profiles"
        },
        quoted(&mut profiles.into_iter()),
    ))
}

#[cfg(test)]
mod tests {
    use super::notice;

    #[test]
    fn one_line_names_every_category_and_profile() {
        assert_eq!(notice(&[]), None);
        assert_eq!(
            notice(&[("a/x", vec!["adult", "child"]), ("b", vec!["child"])]).as_deref(),
            Some(
                "2 blocked categories have no list in the index, so they block nothing until a list supplies them (a source in sources.toml, or a custom list): `a/x`, `b` (key `block` of profiles `adult`, `child`)"
            )
        );
        assert!(notice(&[("a", vec!["adult"])]).is_some_and(|n| {
            n.starts_with("1 blocked category has no list in the index, so it blocks nothing")
                && n.ends_with("(key `block` of profile `adult`)")
        }));
    }
}
