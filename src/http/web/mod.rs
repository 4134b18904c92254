//! The web UI: server-rendered pages and plain HTML forms (POST, then
//! redirect), with a session cookie and a CSRF token on every form.

mod account;
mod assets;
mod automation;
mod case;
mod channels;
mod charts;
mod events;
mod inbox;
mod rating;
mod reports;
mod saved_replies;
mod session;
mod shared;
mod users;

use case::{actions, confirm, files, new as new_case, page, properties};

use poem::{Route, get, post};

/// A page that says what went wrong, for requests refused before any
/// handler ran (a body over the limit).
pub(crate) fn error_page(status: poem::http::StatusCode, message: String) -> poem::Response {
    use askama::Template;
    use poem::IntoResponse;
    let page = shared::ErrorPage {
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        message,
    };
    (
        status,
        poem::web::Html(page.render().unwrap_or_else(|_| "error".into())),
    )
        .into_response()
}

pub fn routes() -> Route {
    Route::new()
        .at("/", get(shared::home))
        .at(
            "/login",
            get(session::login_page).post(session::login_submit),
        )
        .at(
            "/login/second-factor",
            get(session::second_step_page).post(session::second_step_submit),
        )
        .at("/logout", post(session::logout))
        .at("/inbox", get(inbox::inbox))
        .at("/inbox/bulk", post(inbox::bulk))
        .at("/inbox/export.xlsx", get(inbox::export))
        .at("/events", get(events::events))
        .at("/cases/new", get(new_case::new_case_page))
        .at("/cases/new/profile-fields", get(new_case::profile_fields))
        .at("/cases", post(new_case::create_case))
        .at("/cases/:number", get(page::case_page))
        .at("/cases/:number/edit", post(actions::edit_case))
        .at("/cases/:number/profile", post(actions::edit_profile))
        .at("/cases/:number/properties", post(properties::save))
        .at("/cases/:number/saved-replies", get(saved_replies::for_case))
        .at("/cases/:number/presence", post(properties::presence))
        .at("/cases/:number/preview", post(properties::preview))
        .at("/channels/:id/saved-replies", post(saved_replies::create))
        .at(
            "/channels/:id/integrations",
            post(channels::integrations::save),
        )
        .at("/saved-replies/:id", post(saved_replies::update))
        .at("/saved-replies/:id/delete", post(saved_replies::delete))
        .at(
            "/cases/:number/profile-fields",
            get(properties::profile_fields),
        )
        .at("/cases/:number/timer", post(actions::timer))
        .at("/cases/:number/ai/accept", post(actions::accept_ai))
        .at("/cases/:number/take-over", post(actions::take_over))
        .at("/cases/:number/assist/summary", post(actions::summary))
        .at("/cases/:number/assist/draft", post(actions::draft))
        .at("/admin/ai/train", post(automation::train_ai))
        .at("/cases/:number/links", post(actions::add_link))
        .at(
            "/cases/:number/links/:target/delete",
            post(actions::remove_link),
        )
        .at(
            "/cases/:number/duplicate",
            get(confirm::duplicate).post(actions::close_duplicate),
        )
        .at(
            "/cases/:number/merge",
            get(confirm::merge).post(actions::merge),
        )
        .at("/cases/:number/unmerge", post(actions::unmerge))
        .at(
            "/cases/:number/split",
            get(confirm::split).post(actions::split),
        )
        .at("/cases/:number/time", post(actions::log_time))
        .at("/cases/:number/time/:id/delete", post(actions::delete_time))
        .at("/cases/:number/assign", post(actions::assign_case))
        .at("/cases/:number/status", post(actions::change_status))
        .at("/cases/:number/close", post(actions::close_case))
        .at("/cases/:number/reopen", post(actions::reopen_case))
        .at("/cases/:number/archive", post(actions::archive_case))
        .at("/cases/:number/unarchive", post(actions::unarchive_case))
        .at("/cases/:number/notes", post(actions::add_note))
        .at("/cases/:number/messages", post(actions::add_message))
        .at("/cases/:number/files", post(files::upload))
        .at("/cases/:number/updates", post(files::send_update))
        .at("/cases/:number/replies", post(actions::reply))
        .at("/files/:id", get(files::download))
        .at(
            "/channels",
            get(channels::channels_page).post(channels::create_channel),
        )
        .at(
            "/channels/:id",
            get(channels::channel_page).post(channels::update_channel),
        )
        .at("/channels/:id/members", post(channels::put_member))
        .at("/channels/:id/email", post(channels::update_channel_email))
        .at("/channels/:id/calendar", post(channels::calendar::save))
        .at(
            "/channels/:id/members/:username/remove",
            post(channels::remove_member),
        )
        .at("/users", get(users::users_page).post(users::create_user))
        .at("/admin/plugins", get(automation::plugins_page))
        .at("/milestones", get(automation::milestones_page))
        .at("/admin/categories", post(automation::create_category))
        .at("/admin/categories/:name", post(automation::update_category))
        .at(
            "/admin/categories/:name/delete",
            post(automation::delete_category),
        )
        .at("/users/:username", post(users::update_user))
        .at("/users/sign-in-policy", post(users::save_sign_in_rules))
        .at(
            "/users/:username/second-factor/reset",
            post(users::reset_second_factor),
        )
        .at("/users/:username/deactivate", post(users::deactivate_user))
        .at("/users/:username/reactivate", post(users::reactivate_user))
        .at(
            "/account",
            get(account::account_page).post(users::change_password),
        )
        .at("/account/second-factor", post(account::start_second_factor))
        .at(
            "/account/second-factor/confirm",
            post(account::confirm_second_factor),
        )
        .at(
            "/account/second-factor/recovery-codes",
            post(account::renew_recovery_codes),
        )
        .at(
            "/account/second-factor/disable",
            post(account::disable_second_factor),
        )
        .at("/account/tokens", post(account::create_token))
        .at("/account/tokens/:id/revoke", post(account::revoke_token))
        .at("/reports", get(reports::reports_page))
        .at("/reports/:file", get(reports::download))
        .at("/rate/:token", get(rating::rate).post(rating::comment))
        .at("/static/*path", get(assets::serve))
}
