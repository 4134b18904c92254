//! Categories: the labels scripts and people choose from, some of which
//! resolve a case on arrival.

use super::{Service, ServiceError, ServiceResult, now};
use crate::domain::category::{self, Category};
use crate::domain::user::User;
use crate::store::{Reads, Writes};

/// Finds a category by name, ignoring case.
pub(super) fn category_named(txn: &impl Reads, name: &str) -> ServiceResult<Option<Category>> {
    if let Some(found) = txn.category(name)? {
        return Ok(Some(found));
    }
    Ok(txn
        .categories()?
        .into_iter()
        .find(|c| c.name.eq_ignore_ascii_case(name)))
}

impl Service {
    pub fn list_categories(&self, actor: &User) -> ServiceResult<Vec<Category>> {
        if actor.is_partner() {
            return Err(ServiceError::Forbidden(
                "partners cannot list categories".into(),
            ));
        }
        Ok(self.store.read()?.categories()?)
    }

    pub(super) fn require_admin(actor: &User, what: &str) -> ServiceResult<()> {
        if actor.is_admin() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(format!(
                "only administrators can {what}"
            )))
        }
    }

    pub async fn create_category(
        &self,
        actor: &User,
        name: &str,
        auto_resolve: bool,
        ai_threshold: Option<f32>,
    ) -> ServiceResult<Category> {
        Self::require_admin(actor, "manage categories")?;
        let name = category::valid_name(name)?;
        let ai_threshold = ai_threshold.map(category::valid_threshold).transpose()?;
        self.store
            .write(move |txn| {
                if category_named(txn, &name)?.is_some() {
                    return Err(ServiceError::Conflict(format!(
                        "a category named '{name}' already exists"
                    )));
                }
                let category = Category {
                    name: name.clone(),
                    auto_resolve,
                    ai_threshold,
                    created_at: now(),
                };
                txn.put_category(&category)?;
                Ok(category)
            })
            .await
    }

    /// Renames a category or changes its flag or AI threshold (`Some(None)`
    /// clears it). Cases keep the label they have; a rename applies to
    /// cases categorised from then on.
    pub async fn update_category(
        &self,
        actor: &User,
        name: &str,
        new_name: Option<&str>,
        auto_resolve: Option<bool>,
        ai_threshold: Option<Option<f32>>,
    ) -> ServiceResult<Category> {
        Self::require_admin(actor, "manage categories")?;
        let name = name.to_owned();
        let new_name = new_name.map(category::valid_name).transpose()?;
        let ai_threshold = ai_threshold
            .map(|t| t.map(category::valid_threshold).transpose())
            .transpose()?;
        self.store
            .write(move |txn| {
                let mut category = category_named(txn, &name)?.ok_or_else(|| {
                    ServiceError::NotFound(format!("there is no category '{name}'"))
                })?;
                if let Some(new_name) = &new_name
                    && *new_name != category.name
                {
                    if category_named(txn, new_name)?
                        .is_some_and(|other| other.name != category.name)
                    {
                        return Err(ServiceError::Conflict(format!(
                            "a category named '{new_name}' already exists"
                        )));
                    }
                    txn.delete_category(&category.name)?;
                    category.name = new_name.clone();
                }
                if let Some(flag) = auto_resolve {
                    category.auto_resolve = flag;
                }
                if let Some(threshold) = ai_threshold {
                    category.ai_threshold = threshold;
                }
                txn.put_category(&category)?;
                Ok(category)
            })
            .await
    }

    pub async fn delete_category(&self, actor: &User, name: &str) -> ServiceResult<()> {
        Self::require_admin(actor, "manage categories")?;
        let name = name.to_owned();
        self.store
            .write(move |txn| {
                let category = category_named(txn, &name)?.ok_or_else(|| {
                    ServiceError::NotFound(format!("there is no category '{name}'"))
                })?;
                txn.delete_category(&category.name)?;
                Ok(())
            })
            .await
    }
}
