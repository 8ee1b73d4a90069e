//! Releasability labels: who owns a source and to whom it may be released.
//!
//! A label is written as a classification-style marking and printed back the same way:
//!
//! | marking            | meaning                                                        |
//! |--------------------|----------------------------------------------------------------|
//! | `PUBLIC`           | every principal                                                |
//! | `USA ONLY`         | owner USA, released to no one else                             |
//! | `REL TO IND, USA`  | owner IND (the first name, as in real markings), also USA      |
//! | `REL TO USA, FVEY` | owner USA, also every principal in group FVEY                  |
//! | `WITHHELD`         | no principal (the built-in default for unlabelled sources)     |
//!
//! Names (partners and groups share one namespace, as country trigraphs and tetragraphs such
//! as `FVEY` do) are 1 to 32 characters of `A-Z`, `0-9`, `-` and `_`; input is read
//! case-insensitively and printed upper case. After `REL TO` the owner comes first, then the
//! others sorted, so a label prints one way only.
//!
//! Sources are the provenance labels of position rows, `FEED/station/talker` (see
//! `tidewatch ingest`'s `NAME=INPUT`). A label is set on a *source pattern*: a whole label or
//! a prefix of it that ends at a `/`, so `in-navy` labels every station of the feed `in-navy`
//! and `in-navy/sg-3` one station of it. The longest matching pattern wins; a source that no
//! pattern matches gets the store's default label ([`SourceLabels::default_label`]).

use std::collections::{BTreeSet, HashMap};
use std::fmt;

/// A partner or group name (`IND`, `USA`, `FVEY`, `SATCO-LICENSEES`): upper case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

/// Words of the marking syntax, which cannot be names.
const RESERVED: [&str; 5] = ["PUBLIC", "WITHHELD", "ONLY", "REL", "TO"];

impl Name {
    /// Parses a name (case-insensitive), refusing reserved words and other characters.
    pub fn parse(s: &str) -> Result<Name, LabelError> {
        let t = s.trim();
        let ok = (1..=32).contains(&t.len())
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(LabelError::BadName(t.to_owned()));
        }
        let up = t.to_ascii_uppercase();
        if RESERVED.contains(&up.as_str()) {
            return Err(LabelError::ReservedName(up));
        }
        Ok(Name(up))
    }

    /// The name, upper case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who may see a source's data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Releasability {
    /// Every principal.
    Public,
    /// The owner's principals and those of the partners and groups in `to`.
    Restricted {
        /// The partner that owns the source.
        owner: Name,
        /// Other partners and groups it may be released to (never contains the owner).
        to: BTreeSet<Name>,
    },
    /// No principal.
    Withheld,
}

impl Releasability {
    /// Parses a marking (see the module docs).
    pub fn parse(s: &str) -> Result<Releasability, LabelError> {
        let words: Vec<&str> = s.split_whitespace().collect();
        let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
        let up: Vec<&str> = upper.iter().map(String::as_str).collect();
        match up.as_slice() {
            ["PUBLIC"] => return Ok(Releasability::Public),
            ["WITHHELD"] => return Ok(Releasability::Withheld),
            [owner, "ONLY"] => {
                return Ok(Releasability::Restricted {
                    owner: Name::parse(owner)?,
                    to: BTreeSet::new(),
                })
            }
            ["REL", "TO", ..] => {}
            _ => return Err(LabelError::BadMarking(s.trim().to_owned())),
        }
        // `REL TO A, B, C`: the words `REL` and `TO` (three and two ASCII letters, checked
        // above) are skipped; the rest is split at commas.
        let rest = s.trim_start()[3..].trim_start()[2..].trim();
        if rest.is_empty() {
            return Err(LabelError::BadMarking(s.trim().to_owned()));
        }
        let mut names = Vec::new();
        for part in rest.split(',') {
            if part.trim().is_empty() {
                return Err(LabelError::BadMarking(s.trim().to_owned()));
            }
            names.push(Name::parse(part)?);
        }
        let mut it = names.into_iter();
        let owner = it
            .next()
            .ok_or_else(|| LabelError::BadMarking(s.trim().to_owned()))?;
        let to: BTreeSet<Name> = it.filter(|n| *n != owner).collect();
        Ok(Releasability::Restricted { owner, to })
    }
}

impl fmt::Display for Releasability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Releasability::Public => f.write_str("PUBLIC"),
            Releasability::Withheld => f.write_str("WITHHELD"),
            Releasability::Restricted { owner, to } if to.is_empty() => write!(f, "{owner} ONLY"),
            Releasability::Restricted { owner, to } => {
                write!(f, "REL TO {owner}")?;
                for n in to {
                    write!(f, ", {n}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::str::FromStr for Releasability {
    type Err = LabelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Releasability::parse(s)
    }
}

/// Errors of labels and names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelError {
    /// Not a name: 1 to 32 of `A-Z a-z 0-9 - _`.
    BadName(String),
    /// A word of the marking syntax used as a name.
    ReservedName(String),
    /// Not one of `PUBLIC`, `WITHHELD`, `X ONLY`, `REL TO X, Y, ...`.
    BadMarking(String),
    /// Not a source pattern: empty, with control characters, or with an empty `/` component.
    BadPattern(String),
}

impl fmt::Display for LabelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabelError::BadName(n) => write!(
                f,
                "bad partner or group name {n:?}: 1 to 32 letters, digits, '-' or '_'"
            ),
            LabelError::ReservedName(n) => {
                write!(f, "{n} is a word of the marking syntax, not a name")
            }
            LabelError::BadMarking(m) => write!(
                f,
                "bad releasability marking {m:?}: expected PUBLIC, WITHHELD, 'USA ONLY' or 'REL TO IND, USA'"
            ),
            LabelError::BadPattern(p) => write!(
                f,
                "bad source {p:?}: a feed name or a provenance label (FEED/station/talker), no empty parts"
            ),
        }
    }
}

impl std::error::Error for LabelError {}

/// Checks a source pattern: non-empty, no control characters, no empty `/` component.
pub fn check_pattern(p: &str) -> Result<(), LabelError> {
    let ok =
        !p.is_empty() && !p.chars().any(char::is_control) && p.split('/').all(|c| !c.is_empty());
    if ok {
        Ok(())
    } else {
        Err(LabelError::BadPattern(p.to_owned()))
    }
}

/// The prefix of the sources a partner link brings in (`link:NAME/SOURCE`): their labels are
/// the upstream originator's, set by the link only, and a `link:` source without one is
/// withheld whatever the store's default (never re-released wider than its originator's list).
pub const LINK_PREFIX: &str = "link:";

static WITHHELD: Releasability = Releasability::Withheld;

/// The labels of a store's sources: patterns with their labels, and the default for sources
/// no pattern matches. A snapshot; cheap to resolve (a hash lookup per `/` in the source).
#[derive(Debug, Clone)]
pub struct SourceLabels {
    by_pattern: HashMap<String, Releasability>,
    default: Releasability,
}

impl Default for SourceLabels {
    /// No patterns; the default is [`SourceLabels::BUILT_IN_DEFAULT`].
    fn default() -> Self {
        SourceLabels::new(SourceLabels::BUILT_IN_DEFAULT)
    }
}

impl SourceLabels {
    /// The default label of unlabelled sources until the store sets its own: `WITHHELD`.
    /// Failing closed: a feed added without a label (a new partner's radar, licensed satellite
    /// AIS) is shown to no one until its owner's rules are written down, instead of to everyone.
    /// A server run by one partner sets `'USA ONLY'` (its own people see their unlabelled
    /// feeds) with `tidewatch source default`.
    pub const BUILT_IN_DEFAULT: Releasability = Releasability::Withheld;

    /// No patterns, `default` for every source.
    pub fn new(default: Releasability) -> SourceLabels {
        SourceLabels {
            by_pattern: HashMap::new(),
            default,
        }
    }

    /// Sets the label of a source pattern (replacing any).
    pub fn set(&mut self, pattern: &str, label: Releasability) -> Result<(), LabelError> {
        check_pattern(pattern)?;
        self.by_pattern.insert(pattern.to_owned(), label);
        Ok(())
    }

    /// The default label.
    pub fn default_label(&self) -> &Releasability {
        &self.default
    }

    /// The label of a source, and the pattern that gave it (`None`: the default).
    pub fn resolve<'s>(&self, source: &'s str) -> (&Releasability, Option<&'s str>) {
        if let Some(l) = self.by_pattern.get(source) {
            return (l, Some(source));
        }
        let mut end = source.len();
        while let Some(i) = source[..end].rfind('/') {
            let prefix = &source[..i];
            if let Some(l) = self.by_pattern.get(prefix) {
                return (l, Some(prefix));
            }
            end = i;
        }
        if source.starts_with(LINK_PREFIX) {
            return (&WITHHELD, None);
        }
        (&self.default, None)
    }

    /// The label of a source.
    pub fn label_of(&self, source: &str) -> &Releasability {
        self.resolve(source).0
    }

    /// The patterns and their labels, sorted by pattern.
    pub fn patterns(&self) -> Vec<(&str, &Releasability)> {
        let mut v: Vec<_> = self
            .by_pattern
            .iter()
            .map(|(p, l)| (p.as_str(), l))
            .collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(s: &str) -> Releasability {
        Releasability::parse(s).unwrap()
    }

    #[test]
    fn markings_parse_and_print_one_way() {
        for (input, printed) in [
            ("PUBLIC", "PUBLIC"),
            ("public", "PUBLIC"),
            ("WITHHELD", "WITHHELD"),
            ("USA ONLY", "USA ONLY"),
            ("  usa   only ", "USA ONLY"),
            ("REL TO IND, USA", "REL TO IND, USA"),
            ("rel to ind,usa", "REL TO IND, USA"),
            ("REL TO USA, IND, FVEY, AUS", "REL TO USA, AUS, FVEY, IND"),
            ("REL TO USA, USA, IND, IND", "REL TO USA, IND"),
            ("REL TO USA", "USA ONLY"),
            ("REL TO SATCO-LICENSEES", "SATCO-LICENSEES ONLY"),
        ] {
            let l = rel(input);
            assert_eq!(l.to_string(), printed, "{input}");
            assert_eq!(rel(printed), l, "{printed} round trip");
        }
        let l = rel("REL TO IND, USA");
        assert_eq!(
            l,
            Releasability::Restricted {
                owner: Name::parse("IND").unwrap(),
                to: [Name::parse("USA").unwrap()].into_iter().collect()
            }
        );
    }

    #[test]
    fn bad_markings_are_refused_by_reason() {
        for bad in [
            "",
            "REL TO",
            "REL TO ,USA",
            "REL TO USA,",
            "REL TO USA,,IND",
            "USA",
            "USA ONLY NOW",
            "REL IND",
            "REL TO U$A",
            "REL TO ONLY",
            "PUBLIC ONLY",
            "REL TO ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        ] {
            assert!(Releasability::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            Releasability::parse("REL TO PUBLIC"),
            Err(LabelError::ReservedName("PUBLIC".into()))
        );
    }

    #[test]
    fn the_longest_pattern_at_a_slash_wins_and_the_default_covers_the_rest() {
        let mut s = SourceLabels::new(rel("USA ONLY"));
        s.set("in-navy", rel("REL TO IND, USA")).unwrap();
        s.set("in-navy/sg-3", rel("IND ONLY")).unwrap();
        s.set("ais-hub", rel("PUBLIC")).unwrap();
        fn got<'s>(s: &SourceLabels, src: &'s str) -> (Releasability, Option<&'s str>) {
            let (l, p) = s.resolve(src);
            (l.clone(), p)
        }
        assert_eq!(got(&s, "in-navy/sg-1/AI").0.to_string(), "REL TO IND, USA");
        assert_eq!(got(&s, "in-navy/sg-1/AI").1, Some("in-navy"));
        assert_eq!(got(&s, "in-navy/sg-3/AI").0.to_string(), "IND ONLY");
        assert_eq!(got(&s, "in-navy/sg-3").1, Some("in-navy/sg-3"));
        assert_eq!(got(&s, "in-navy").1, Some("in-navy"));
        // A prefix that does not end at a `/` is another feed.
        assert_eq!(got(&s, "in-navy2/x/AI").1, None);
        assert_eq!(got(&s, "in-navy2/x/AI").0.to_string(), "USA ONLY");
        assert_eq!(got(&s, "").0.to_string(), "USA ONLY");
        assert_eq!(got(&s, "ais-hub/AI").0, Releasability::Public);
        assert!(s.set("a//b", Releasability::Public).is_err());
        assert!(s.set("/a", Releasability::Public).is_err());
        assert!(s.set("", Releasability::Public).is_err());
        assert_eq!(
            SourceLabels::default().label_of("x"),
            &Releasability::Withheld
        );
    }
}
