//! Live overrides staff decide at run time, on top of the configured profiles: grants (a
//! name allowed for one profile, maybe until a time) and local recategorisations (a name put
//! into or taken out of a category, for every profile).
//!
//! They never touch the index: [`Policy::with_overrides`] builds a new policy over the same
//! `Arc<Index>`, which the server swaps in whole, so deciding costs nothing more when there
//! are none, and little more when none matches (see [`Compiled`]).
//!
//! Where they stand in the order of rules (see the crate documentation):
//! bypass controls > the profile's allow_domains > its block_domains > **grants** >
//! **local recategorisation** > the index's categories. The configured lists are the
//! operator's deliberate choice, so a grant does not lift a custom block; in a walled garden
//! a grant adds the name to the garden. A grant lifts blocks only: SafeSearch rewrites of a
//! granted name still apply.

use hedge_lists::CategoryIdx;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{Policy, PolicyError, ProfileId};

/// Every live override, as the requests store holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overrides {
    /// Names allowed for one profile.
    pub grants: Vec<Grant>,
    /// Names put into or taken out of a category, for every profile.
    pub recategorised: Vec<Recategorisation>,
}

/// A name (and its subdomains) allowed for one profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The granted name (`example.com` grants `www.example.com` too).
    pub name: String,
    /// The profile it is granted for.
    pub profile: String,
    /// When it expires; None: until revoked.
    pub until: Option<Timestamp>,
    /// The unblock request it answers, for `explain` and `policy show`.
    pub request: Option<i64>,
}

impl Grant {
    /// Its expiry and request, for people: `until 2026-12-08T00:00:00Z, unblock request 7`.
    pub fn terms(&self) -> String {
        let until = self
            .until
            .map_or_else(|| "no expiry".to_string(), |u| format!("until {u}"));
        match self.request {
            Some(r) => format!("{until}, unblock request {r}"),
            None => until,
        }
    }
}

/// A name (and its subdomains) put into a category or taken out of it, for every profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recategorisation {
    /// The name.
    pub name: String,
    /// A taxonomy category id (`games`, `social-networking/chat`).
    pub category: String,
    /// Into the category (true): blocked wherever the category is. Out of it (false): the
    /// index's listing in that category (or its children) no longer applies to the name.
    pub add: bool,
}

/// Overrides compiled for lookups: what a [`Policy`] carries.
///
/// Grants and recategorisations share one map keyed by name (one hash per suffix, with a
/// fast non-cryptographic hasher: the keys are staff decisions, not attacker input), and a
/// mask of the label counts any key has lets most names skip hashing altogether: a decision
/// with overrides in force but none of them matching costs about what one without does.
#[derive(Debug, Clone, Default)]
pub(crate) struct Compiled {
    /// The overrides in force (expired grants dropped), for explain and `policy show`.
    pub(crate) overrides: Overrides,
    /// Overridden name → what is decided for it.
    names: foldhash::HashMap<Box<str>, Entry>,
    /// Bit `n - 1` is set when some key has `n` labels.
    label_counts: u128,
    /// The category of each recategorisation.
    categories: Vec<CategoryIdx>,
}

/// What staff decided for one name.
#[derive(Debug, Clone, Default)]
struct Entry {
    /// (profile, index into `overrides.grants`): the first grant of the name per profile.
    grants: Vec<(ProfileId, u32)>,
    /// Indices into `overrides.recategorised` (and `categories`), in the order given.
    recategorised: Vec<u32>,
}

/// What the overrides say about one name in one profile, from one walk over its bytes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Found {
    /// The grant that covers the name in the profile: its own or the nearest parent's.
    pub(crate) grant: Option<u32>,
    /// Bit `n - 1` set: the suffix of `n` labels is recategorised (what
    /// [`Compiled::recategorisations`] looks up again, only when some is).
    recategorised: u128,
}

impl Found {
    /// Whether some recategorisation covers the name.
    pub(crate) fn recategorised(&self) -> bool {
        self.recategorised != 0
    }
}

/// One recategorisation that applies to a name, found by [`Compiled::recategorisation`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Applied {
    /// Index into [`Overrides::recategorised`].
    pub(crate) id: u32,
    /// Its category.
    pub(crate) category: CategoryIdx,
    /// Into (true) or out of the category.
    pub(crate) add: bool,
    /// Labels of the recategorised name (what a block is counted under).
    pub(crate) labels: u8,
}

impl Compiled {
    /// The grant for `profile` and the recategorisations that cover `name` (lower case):
    /// one walk over its bytes, hashing only the suffixes of a label count some key has.
    pub(crate) fn find(&self, profile: ProfileId, name: &str) -> Found {
        let mut found = Found::default();
        if self.names.is_empty() {
            return found;
        }
        // From the last label to the first, so the label count of each suffix is known
        // as it is reached and the walk stops where no key is that long; a more specific
        // grant found later replaces a parent's.
        let bit = |labels: usize| 1u128.checked_shl(labels as u32 - 1).unwrap_or(0);
        let mut look = |start: usize, labels: usize| {
            if self.label_counts & bit(labels) == 0 {
                return;
            }
            if let Some(e) = self.names.get(&name[start..]) {
                if let Some(&(_, id)) = e.grants.iter().find(|(p, _)| *p == profile) {
                    found.grant = Some(id);
                }
                if !e.recategorised.is_empty() {
                    found.recategorised |= bit(labels);
                }
            }
        };
        let mut labels = 1;
        for (i, &b) in name.as_bytes().iter().enumerate().rev() {
            if b == b'.' {
                look(i + 1, labels);
                labels += 1;
                if self
                    .label_counts
                    .checked_shr(labels as u32 - 1)
                    .unwrap_or(0)
                    == 0
                {
                    return found;
                }
            }
        }
        look(0, labels);
        found
    }

    /// Every recategorisation that covers `name` (lower case), as [`Compiled::find`] found
    /// them, the most specific name first; for each category only its most specific one
    /// counts.
    pub(crate) fn recategorisations<'a>(
        &'a self,
        name: &'a str,
        found: &Found,
    ) -> impl Iterator<Item = Applied> + 'a {
        let mask = found.recategorised;
        (1..=128u8)
            .rev()
            .filter(move |&n| mask & (1u128 << (n - 1)) != 0)
            .flat_map(move |n| {
                self.names
                    .get(crate::suffix(name, n))
                    .into_iter()
                    .flat_map(|e| &e.recategorised)
                    .map(move |&id| Applied {
                        id,
                        category: self.categories[id as usize],
                        add: self.overrides.recategorised[id as usize].add,
                        labels: n.min(127),
                    })
            })
    }

    /// The most specific recategorisation of `name` naming `category`, if any.
    pub(crate) fn recategorisation(
        &self,
        name: &str,
        found: &Found,
        category: CategoryIdx,
    ) -> Option<Applied> {
        self.recategorisations(name, found)
            .find(|a| a.category == category)
    }

    fn add_key(&mut self, name: String) -> &mut Entry {
        let labels = name.bytes().filter(|&b| b == b'.').count() + 1;
        if labels <= 128 {
            self.label_counts |= 1u128 << (labels - 1);
        }
        self.names.entry(name.into()).or_default()
    }
}

impl Policy {
    /// The same profiles and index with `overrides` in force and the schedules resolved
    /// at `now`; grants expired by `now` are dropped. Errors name the entry: a name that is
    /// not a domain name, an unknown profile or category (see [`Policy::applicable`] to
    /// keep the valid entries of a stored set).
    pub fn with_overrides(
        &self,
        overrides: &Overrides,
        now: Timestamp,
    ) -> Result<Policy, PolicyError> {
        let mut compiled = Compiled::default();
        for g in overrides.grants.iter() {
            if g.until.is_some_and(|u| u <= now) {
                continue;
            }
            let (p, name) = self.check_grant(g)?;
            let id = u32::try_from(compiled.overrides.grants.len()).unwrap_or(u32::MAX);
            let entry = compiled.add_key(name);
            if !entry.grants.iter().any(|&(q, _)| q == p) {
                entry.grants.push((p, id));
            }
            compiled.overrides.grants.push(g.clone());
        }
        for r in &overrides.recategorised {
            let (category, name) = self.check_recategorisation(r)?;
            let id = u32::try_from(compiled.categories.len()).unwrap_or(u32::MAX);
            compiled.add_key(name).recategorised.push(id);
            compiled.categories.push(category);
            compiled.overrides.recategorised.push(r.clone());
        }
        let mut policy = self.clone();
        policy.overrides = compiled;
        policy.resolve_schedules(now);
        Ok(policy)
    }

    /// Splits stored overrides into those this policy can apply and an error for each
    /// other (a profile or category gone from the configuration): a reload keeps serving
    /// the valid ones rather than none.
    pub fn applicable(&self, overrides: &Overrides) -> (Overrides, Vec<PolicyError>) {
        let mut ok = Overrides::default();
        let mut errors = Vec::new();
        for g in &overrides.grants {
            match self.check_grant(g) {
                Ok(_) => ok.grants.push(g.clone()),
                Err(e) => errors.push(e),
            }
        }
        for r in &overrides.recategorised {
            match self.check_recategorisation(r) {
                Ok(_) => ok.recategorised.push(r.clone()),
                Err(e) => errors.push(e),
            }
        }
        (ok, errors)
    }

    /// A grant's profile and normalised name.
    pub fn check_grant(&self, g: &Grant) -> Result<(ProfileId, String), PolicyError> {
        let err =
            |problem: String| PolicyError::at(&g.profile, &format!("grant `{}`", g.name), problem);
        let Some(p) = self.profile_id(&g.profile) else {
            return Err(err(format!(
                "no profile is named `{}`; profiles: {}",
                g.profile,
                self.profile_names().join(", ")
            )));
        };
        Ok((p, normalize(&g.name).map_err(err)?))
    }

    /// A recategorisation's category and normalised name.
    pub fn check_recategorisation(
        &self,
        r: &Recategorisation,
    ) -> Result<(CategoryIdx, String), PolicyError> {
        let err = |problem: String| {
            PolicyError::at(
                "(every profile)",
                &format!("recategorisation of `{}`", r.name),
                problem,
            )
        };
        let taxonomy = self.index.taxonomy();
        let Some(category) = taxonomy.get(&r.category) else {
            return Err(err(format!(
                "unknown category `{}`{}; the ids are in lists/categories.toml",
                r.category,
                crate::did_you_mean(taxonomy, &r.category)
            )));
        };
        Ok((category, normalize(&r.name).map_err(err)?))
    }

    /// The overrides in force in this policy (expired grants already dropped).
    pub fn overrides(&self) -> &Overrides {
        &self.overrides.overrides
    }

    /// The grant an [`crate::AllowReason::Granted`] names.
    pub fn grant(&self, id: u32) -> Option<&Grant> {
        self.overrides.overrides.grants.get(id as usize)
    }

    /// The recategorisation a [`crate::BlockReason::Recategorised`] or
    /// [`crate::AllowReason::Recategorised`] names.
    pub fn recategorisation(&self, id: u32) -> Option<&Recategorisation> {
        self.overrides.overrides.recategorised.get(id as usize)
    }

    fn profile_names(&self) -> Vec<&str> {
        self.profiles.iter().map(|p| p.name.as_str()).collect()
    }
}

/// A name as the index keeps it: lower case, IDNA, no trailing dot.
fn normalize(name: &str) -> Result<String, String> {
    hedge_lists::normalize(name).map_err(|e| format!("`{name}` is not a domain name: {e}"))
}
