//! Who may see and do what. Pure functions over already-loaded records, so
//! every path (API, pages, search, exports, live updates) asks the same
//! questions and gets the same answers.

use super::case::Case;
use super::channel::{Channel, MemberRole};
use super::user::{Role, User};

/// Whether `user` may see `case`, which lives in `channel`.
pub fn can_see_case(user: &User, channel: &Channel, case: &Case) -> bool {
    match user.role {
        Role::Admin => true,
        Role::User => channel.is_member(&user.username),
        Role::Partner => channel.is_member(&user.username) && case.created_by == user.username,
    }
}

/// Whether `user` may change `case` (edit, assign, status, notes...).
/// Partners may open cases and read their own, nothing more.
pub fn can_work_case(user: &User, channel: &Channel) -> bool {
    match user.role {
        Role::Admin => true,
        Role::User => channel.is_member(&user.username),
        Role::Partner => false,
    }
}

/// Whether `user` may open a case in `channel`.
pub fn can_open_case_in(user: &User, channel: &Channel) -> bool {
    user.is_admin() || channel.is_member(&user.username)
}

/// Whether `user` may see that `channel` exists.
pub fn can_see_channel(user: &User, channel: &Channel) -> bool {
    user.is_admin() || channel.is_member(&user.username)
}

/// Whether `user` may change the channel's settings and members.
pub fn can_manage_channel(user: &User, channel: &Channel) -> bool {
    user.is_admin()
        || (user.role == Role::User && channel.role_of(&user.username) == Some(MemberRole::Manager))
}

/// Whether `candidate` may own cases in `channel`: staff who can work it.
pub fn can_be_assigned(candidate: &User, channel: &Channel) -> bool {
    candidate.is_active() && can_work_case(candidate, channel)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::{CaseDraft, Source};
    use crate::domain::channel::ChannelSettings;
    use chrono::Utc;
    use std::collections::BTreeMap;

    fn user(name: &str, role: Role) -> User {
        User {
            username: name.into(),
            display_name: name.into(),
            email: None,
            role,
            password_hash: String::new(),
            created_at: Utc::now(),
            deactivated_at: None,
            second_factor: None,
            pending_second_factor: None,
        }
    }

    fn channel(members: &[(&str, MemberRole)]) -> Channel {
        Channel {
            id: 1,
            name: "Support".into(),
            email_address: None,
            settings: ChannelSettings::default(),
            members: members
                .iter()
                .map(|(n, r)| (n.to_string(), *r))
                .collect::<BTreeMap<_, _>>(),
            created_at: Utc::now(),
        }
    }

    fn case_by(creator: &str) -> Case {
        CaseDraft {
            subject: "s".into(),
            ..Default::default()
        }
        .into_case(1, 1, creator, Source::Manual, Utc::now())
        .unwrap()
    }

    #[test]
    fn members_see_channel_cases_and_outsiders_do_not() {
        let ch = channel(&[("amy", MemberRole::Agent)]);
        assert!(can_see_case(&user("amy", Role::User), &ch, &case_by("x")));
        assert!(!can_see_case(&user("bob", Role::User), &ch, &case_by("x")));
        assert!(can_see_case(&user("root", Role::Admin), &ch, &case_by("x")));
    }

    #[test]
    fn partners_see_only_their_own_cases_and_change_nothing() {
        let ch = channel(&[("pat", MemberRole::Agent)]);
        let pat = user("pat", Role::Partner);
        assert!(can_see_case(&pat, &ch, &case_by("pat")));
        assert!(!can_see_case(&pat, &ch, &case_by("amy")));
        assert!(can_open_case_in(&pat, &ch));
        assert!(!can_work_case(&pat, &ch));
        assert!(!can_be_assigned(&pat, &ch));
    }

    #[test]
    fn only_managers_and_admins_manage_channels() {
        let ch = channel(&[("amy", MemberRole::Agent), ("max", MemberRole::Manager)]);
        assert!(!can_manage_channel(&user("amy", Role::User), &ch));
        assert!(can_manage_channel(&user("max", Role::User), &ch));
        assert!(can_manage_channel(&user("root", Role::Admin), &ch));
    }
}
