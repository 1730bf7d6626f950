//! SafeSearch and restricted-mode rewrites: which names map to which safe endpoint.
//!
//! The providers document these CNAME targets for network-level enforcement.

use crate::config::YoutubeRestrict;

/// Google's country domains that serve search (the common ones; a name not here is not rewritten).
const GOOGLE_TLDS: &[&str] = &[
    "com", "co.uk", "ie", "fr", "de", "es", "it", "nl", "be", "pt", "pl", "se", "no", "dk", "fi",
    "at", "ch", "cz", "gr", "hu", "ro", "ru", "ua", "tr", "ca", "com.au", "co.nz", "co.in",
    "co.jp", "co.kr", "com.br", "com.mx", "com.ar", "co.za", "com.sg", "com.hk", "com.tw",
    "com.my", "co.id", "com.ph", "com.pk", "com.ng", "com.eg", "com.sa", "ae", "co.il", "cl",
    "com.co", "com.pe", "lu", "is", "ee", "lv", "lt", "sk", "si", "hr", "rs", "bg",
];

const YOUTUBE_NAMES: &[&str] = &[
    "www.youtube.com",
    "m.youtube.com",
    "youtubei.googleapis.com",
    "youtube.googleapis.com",
    "www.youtube-nocookie.com",
];

/// The safe endpoint `name` must be rewritten to, if any. `name` is lower-case, no trailing dot.
pub fn rewrite(name: &str, safesearch: bool, youtube: YoutubeRestrict) -> Option<&'static str> {
    if youtube != YoutubeRestrict::Off && YOUTUBE_NAMES.contains(&name) {
        return Some(match youtube {
            YoutubeRestrict::Strict => "restrict.youtube.com",
            _ => "restrictmoderate.youtube.com",
        });
    }
    if !safesearch {
        return None;
    }
    match name {
        "bing.com" | "www.bing.com" => return Some("strict.bing.com"),
        "duckduckgo.com" | "www.duckduckgo.com" | "start.duckduckgo.com" => {
            return Some("safe.duckduckgo.com");
        }
        _ => {}
    }
    let rest = name.strip_prefix("www.").unwrap_or(name);
    let tld = rest.strip_prefix("google.")?;
    GOOGLE_TLDS
        .contains(&tld)
        .then_some("forcesafesearch.google.com")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites() {
        assert_eq!(
            rewrite("www.google.co.uk", true, YoutubeRestrict::Off),
            Some("forcesafesearch.google.com")
        );
        assert_eq!(
            rewrite("google.com", true, YoutubeRestrict::Off),
            Some("forcesafesearch.google.com")
        );
        assert_eq!(rewrite("mail.google.com", true, YoutubeRestrict::Off), None);
        assert_eq!(rewrite("www.google.com", false, YoutubeRestrict::Off), None);
        assert_eq!(
            rewrite("www.bing.com", true, YoutubeRestrict::Off),
            Some("strict.bing.com")
        );
        assert_eq!(
            rewrite("www.youtube.com", false, YoutubeRestrict::Strict),
            Some("restrict.youtube.com")
        );
        assert_eq!(
            rewrite("m.youtube.com", true, YoutubeRestrict::Moderate),
            Some("restrictmoderate.youtube.com")
        );
        assert_eq!(rewrite("www.youtube.com", true, YoutubeRestrict::Off), None);
    }
}
