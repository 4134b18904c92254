//! Links between cases: related cases, parents and children, duplicates.
//! A link is stored on both cases, each side naming what the other case is
//! to it.

use serde::{Deserialize, Serialize};

use super::RuleError;
use super::case::{Case, CaseNumber};

/// What the linked case is to this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    Related,
    /// The other case is this one's parent.
    Parent,
    /// The other case is this one's child.
    Child,
    /// This case was closed as a duplicate of the other.
    DuplicateOf,
    /// The other case was closed as a duplicate of this one.
    Duplicate,
    /// This case was merged into the other.
    MergedInto,
    /// The other case was merged into this one.
    MergedFrom,
}

impl LinkKind {
    pub fn parse(value: &str) -> Option<LinkKind> {
        Some(match value {
            "related" => LinkKind::Related,
            "parent" => LinkKind::Parent,
            "child" => LinkKind::Child,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Related => "related",
            LinkKind::Parent => "parent",
            LinkKind::Child => "child",
            LinkKind::DuplicateOf => "duplicate_of",
            LinkKind::Duplicate => "duplicate",
            LinkKind::MergedInto => "merged_into",
            LinkKind::MergedFrom => "merged_from",
        }
    }

    /// The same link seen from the other case.
    pub fn mirrored(self) -> LinkKind {
        match self {
            LinkKind::Related => LinkKind::Related,
            LinkKind::Parent => LinkKind::Child,
            LinkKind::Child => LinkKind::Parent,
            LinkKind::DuplicateOf => LinkKind::Duplicate,
            LinkKind::Duplicate => LinkKind::DuplicateOf,
            LinkKind::MergedInto => LinkKind::MergedFrom,
            LinkKind::MergedFrom => LinkKind::MergedInto,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseLink {
    pub kind: LinkKind,
    pub target: CaseNumber,
}

impl Case {
    pub fn link_to(&self, other: CaseNumber) -> Option<CaseLink> {
        self.links.iter().copied().find(|l| l.target == other)
    }

    pub fn parent(&self) -> Option<CaseNumber> {
        self.links
            .iter()
            .find(|l| l.kind == LinkKind::Parent)
            .map(|l| l.target)
    }
}

/// Checks that `case` may get a link of `kind` to `other`: not to itself,
/// not twice, one parent at most, and no parent/child cycle. `parent_of`
/// looks up a case's parent (from the store).
pub fn check_new_link(
    case: &Case,
    kind: LinkKind,
    other: &Case,
    parent_of: &mut dyn FnMut(CaseNumber) -> Result<Option<CaseNumber>, RuleError>,
) -> Result<(), RuleError> {
    if case.number == other.number {
        return Err(RuleError::invalid(
            "target",
            "a case cannot be linked to itself",
        ));
    }
    if let Some(existing) = case.link_to(other.number) {
        return Err(RuleError::Conflict(format!(
            "case #{} is already linked to #{} ({})",
            case.number,
            other.number,
            existing.kind.as_str()
        )));
    }
    let (child, parent) = match kind {
        LinkKind::Parent => (case, other),
        LinkKind::Child => (other, case),
        _ => return Ok(()),
    };
    if let Some(current) = child.parent() {
        return Err(RuleError::Conflict(format!(
            "case #{} already has a parent (#{current})",
            child.number
        )));
    }
    // Walking up from the new parent must not reach the child.
    let mut ancestor = Some(parent.number);
    let mut steps = 0;
    while let Some(number) = ancestor {
        if number == child.number {
            return Err(RuleError::Conflict(format!(
                "#{} cannot be the parent of #{}: that would make a cycle",
                parent.number, child.number
            )));
        }
        steps += 1;
        if steps > 10_000 {
            break;
        }
        ancestor = parent_of(number)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::{CaseDraft, Source};

    fn case(number: CaseNumber) -> Case {
        CaseDraft {
            subject: format!("Case {number}"),
            ..CaseDraft::default()
        }
        .into_case(number, 1, "amy", Source::Api, chrono::Utc::now())
        .unwrap()
    }

    #[test]
    fn kinds_mirror() {
        for kind in [
            LinkKind::Related,
            LinkKind::Parent,
            LinkKind::Child,
            LinkKind::DuplicateOf,
        ] {
            assert_eq!(kind.mirrored().mirrored(), kind);
        }
        assert_eq!(LinkKind::Parent.mirrored(), LinkKind::Child);
    }

    #[test]
    fn cycles_and_second_parents_are_refused() {
        // 1 is the parent of 2, 2 the parent of 3.
        let mut one = case(1);
        let mut two = case(2);
        let mut three = case(3);
        one.links.push(CaseLink {
            kind: LinkKind::Child,
            target: 2,
        });
        two.links.push(CaseLink {
            kind: LinkKind::Parent,
            target: 1,
        });
        two.links.push(CaseLink {
            kind: LinkKind::Child,
            target: 3,
        });
        three.links.push(CaseLink {
            kind: LinkKind::Parent,
            target: 2,
        });
        let parents = |n: CaseNumber| -> Result<Option<CaseNumber>, RuleError> {
            Ok(match n {
                2 => Some(1),
                3 => Some(2),
                _ => None,
            })
        };
        // 3 as the parent of 1: a cycle.
        let err = check_new_link(&one, LinkKind::Parent, &three, &mut { parents }).unwrap_err();
        assert!(err.to_string().contains("cycle"), "{err}");
        // 1 as a child of 3: the same cycle, asked the other way.
        assert!(check_new_link(&three, LinkKind::Child, &one, &mut { parents }).is_err());
        // 3 already has a parent.
        let four = case(4);
        assert!(check_new_link(&three, LinkKind::Parent, &four, &mut { parents }).is_err());
        // A new case under 3 is fine; so is relating 1 and 3.
        assert!(check_new_link(&four, LinkKind::Parent, &three, &mut { parents }).is_ok());
        assert!(check_new_link(&one, LinkKind::Related, &three, &mut { parents }).is_ok());
        assert!(check_new_link(&one, LinkKind::Related, &one, &mut { parents }).is_err());
        assert!(check_new_link(&one, LinkKind::Related, &two, &mut { parents }).is_err());
    }
}
