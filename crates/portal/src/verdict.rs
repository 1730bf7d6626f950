//! What the portal says about a name: [`Policy::decide`] for the visitor's profile (the same
//! call the DNS listeners make), put in words for people.

use hedge_policy::{BlockReason, Bypass, Decision, Policy, ProfileId, RULE_LABELS};

/// A name decided for one profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    /// The name, lowercase.
    pub name: String,
    /// The profile's name.
    pub profile: String,
    /// The index version the decision was made on.
    pub index_version: String,
    /// Blocked, and why; or not.
    pub verdict: Verdict,
}

/// Whether the profile blocks the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Blocked for this reason.
    Blocked(Why),
    /// Resolved as usual (allowed, or rewritten to a SafeSearch endpoint).
    NotBlocked,
}

/// Why a name is blocked, in the words the page uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// A blocked category.
    Category {
        /// Its display name from the taxonomy (`Gambling`).
        display: String,
        /// Its stable id (`gambling`).
        id: String,
        /// The listed name that matched (`bet.com` for `www.bet.com`).
        listed_as: String,
        /// Library staff put the name in this category (a local recategorisation), rather
        /// than a list.
        by_staff: bool,
    },
    /// One of the library's own block lists.
    CustomList(String),
    /// A way around the filter (encrypted DNS, Private Relay).
    Bypass(&'static str),
    /// The profile is a walled garden, and the name is not in it.
    WalledGarden,
}

impl Why {
    /// The label a request for this name is filed under: what statistics count the block
    /// as (`gambling`, `custom:child`, `walled-garden`, `bypass:ddr`).
    pub fn label(&self) -> String {
        match self {
            Why::Category { id, .. } => id.clone(),
            Why::CustomList(list) => hedge_policy::custom_label(list),
            Why::Bypass(label) => (*label).to_string(),
            Why::WalledGarden => RULE_LABELS[3].to_string(),
        }
    }

    /// One sentence for the page.
    pub fn sentence(&self) -> String {
        match self {
            Why::Category {
                display, by_staff, ..
            } => {
                let who = if *by_staff {
                    "Library staff have put it"
                } else {
                    "It is"
                };
                format!("{who} in the category “{display}”, which is blocked here.")
            }
            Why::CustomList(list) => {
                format!("It is on the library’s own block list “{list}”.")
            }
            Why::Bypass(_) => {
                "It would let this computer get round the filter, so the filter answers it itself."
                    .into()
            }
            Why::WalledGarden => {
                "Only a chosen list of sites works on this network, and this site is not on it."
                    .into()
            }
        }
    }
}

/// Decides `name` (lowercase ASCII) for `profile`, as the DNS listeners do.
pub fn explain(policy: &Policy, profile: ProfileId, name: &str) -> Explained {
    let index = policy.index();
    let verdict = match policy.decide(profile, name) {
        Decision::Block(
            reason @ (BlockReason::Category(c, _, labels)
            | BlockReason::Recategorised(c, _, labels)),
        ) => {
            let def = index.taxonomy().def(c);
            Verdict::Blocked(Why::Category {
                display: def.name.clone(),
                id: def.id.clone(),
                listed_as: hedge_policy::suffix(name, labels).to_string(),
                by_staff: matches!(reason, BlockReason::Recategorised(..)),
            })
        }
        Decision::Block(BlockReason::CustomBlock(list)) => {
            Verdict::Blocked(Why::CustomList(policy.custom_list_name(list).to_string()))
        }
        Decision::Block(BlockReason::NotInGarden) => Verdict::Blocked(Why::WalledGarden),
        Decision::Bypass(b) => Verdict::Blocked(Why::Bypass(match b {
            Bypass::DohCanary => RULE_LABELS[0],
            Bypass::PrivateRelay => RULE_LABELS[1],
            Bypass::Ddr => RULE_LABELS[2],
        })),
        Decision::Allow(_) | Decision::Rewrite(_) => Verdict::NotBlocked,
    };
    Explained {
        name: name.to_string(),
        profile: policy.profile(profile).name.clone(),
        index_version: index.version().to_string(),
        verdict,
    }
}
