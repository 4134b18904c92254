//! Case profiles: the fields plugins declare for a case type, checked and
//! applied with the changes they make recorded.

use super::{Service, ServiceError, ServiceResult};
use crate::domain::activity::FieldChange;
use crate::domain::case::Case;
use crate::domain::profile::{self, ProfileField, ProfileValues};
use crate::domain::user::User;

/// Field changes between two sets of profile values, for the activity.
fn profile_changes(before: &ProfileValues, after: &ProfileValues) -> Vec<FieldChange> {
    let show = |v: Option<&serde_json::Value>| {
        v.map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| before.get(*n) != after.get(*n))
        .map(|n| FieldChange {
            field: format!("profile.{n}"),
            before: show(before.get(n)),
            after: show(after.get(n)),
        })
        .collect()
}

impl Service {
    /// The profile fields of a case type, if a plugin declares one.
    pub fn profile_fields(&self, case_type: Option<&str>) -> Vec<ProfileField> {
        match (case_type, &self.scripts) {
            (Some(case_type), Some(host)) => host.profile_for(case_type).unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// Checks profile values for a case of `case_type` against what
    /// plugins declare; every refused value is reported.
    pub(super) fn checked_profile(
        &self,
        case_type: Option<&str>,
        current: &ProfileValues,
        changes: &ProfileValues,
    ) -> ServiceResult<ProfileValues> {
        let fields = self.profile_fields(case_type);
        profile::apply(&fields, current, changes).map_err(ServiceError::InvalidFields)
    }

    /// Applies a profile change (and a type change's new profile) to a case
    /// in a transaction; returns the field changes to record.
    pub(super) fn apply_profile(
        fields: &[ProfileField],
        case: &mut Case,
        changes: &ProfileValues,
    ) -> ServiceResult<Vec<FieldChange>> {
        let merged =
            profile::apply(fields, &case.profile, changes).map_err(ServiceError::InvalidFields)?;
        let recorded = profile_changes(&case.profile, &merged);
        case.profile = merged;
        Ok(recorded)
    }

    /// Every case type's profile fields (staff).
    pub fn declared_profiles(
        &self,
        actor: &User,
    ) -> ServiceResult<std::collections::BTreeMap<String, Vec<ProfileField>>> {
        if actor.is_partner() {
            return Err(ServiceError::Forbidden(
                "partners cannot list case profiles".into(),
            ));
        }
        Ok(self
            .scripts
            .as_ref()
            .map(|h| h.profiles())
            .unwrap_or_default())
    }
}
