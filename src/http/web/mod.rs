//! The web UI: server-rendered pages and plain HTML forms (POST, then
//! redirect), with a session cookie and a CSRF token on every form.

mod admin;
mod assets;
mod files;
mod forms;
mod inbox;
mod integrations;
mod new_case;
mod pages;
mod properties;
mod saved_replies;
mod session;
mod views;

use poem::{Route, get, post};

/// A page that says what went wrong, for requests refused before any
/// handler ran (a body over the limit).
pub(crate) fn error_page(status: poem::http::StatusCode, message: String) -> poem::Response {
    use askama::Template;
    use poem::IntoResponse;
    let page = views::ErrorPage {
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
        .at("/", get(pages::home))
        .at(
            "/login",
            get(session::login_page).post(session::login_submit),
        )
        .at("/logout", post(session::logout))
        .at("/inbox", get(inbox::inbox))
        .at("/inbox/bulk", post(inbox::bulk))
        .at("/inbox/export.xlsx", get(inbox::export))
        .at("/events", get(pages::events))
        .at("/cases/new", get(new_case::new_case_page))
        .at("/cases/new/profile-fields", get(new_case::profile_fields))
        .at("/cases", post(new_case::create_case))
        .at("/cases/:number", get(pages::case_page))
        .at("/cases/:number/edit", post(forms::edit_case))
        .at("/cases/:number/profile", post(forms::edit_profile))
        .at("/cases/:number/properties", post(properties::save))
        .at("/cases/:number/saved-replies", get(saved_replies::for_case))
        .at("/cases/:number/presence", post(properties::presence))
        .at("/cases/:number/preview", post(properties::preview))
        .at("/channels/:id/saved-replies", post(saved_replies::create))
        .at("/channels/:id/integrations", post(integrations::save))
        .at("/saved-replies/:id", post(saved_replies::update))
        .at("/saved-replies/:id/delete", post(saved_replies::delete))
        .at(
            "/cases/:number/profile-fields",
            get(properties::profile_fields),
        )
        .at("/cases/:number/timer", post(forms::timer))
        .at("/cases/:number/links", post(forms::add_link))
        .at(
            "/cases/:number/links/:target/delete",
            post(forms::remove_link),
        )
        .at("/cases/:number/duplicate", post(forms::close_duplicate))
        .at("/cases/:number/merge", post(forms::merge))
        .at("/cases/:number/unmerge", post(forms::unmerge))
        .at("/cases/:number/split", post(forms::split))
        .at("/cases/:number/time", post(forms::log_time))
        .at("/cases/:number/time/:id/delete", post(forms::delete_time))
        .at("/cases/:number/assign", post(forms::assign_case))
        .at("/cases/:number/status", post(forms::change_status))
        .at("/cases/:number/close", post(forms::close_case))
        .at("/cases/:number/reopen", post(forms::reopen_case))
        .at("/cases/:number/archive", post(forms::archive_case))
        .at("/cases/:number/unarchive", post(forms::unarchive_case))
        .at("/cases/:number/notes", post(forms::add_note))
        .at("/cases/:number/messages", post(forms::add_message))
        .at("/cases/:number/files", post(files::upload))
        .at("/cases/:number/updates", post(files::send_update))
        .at("/cases/:number/replies", post(forms::reply))
        .at("/files/:id", get(files::download))
        .at(
            "/channels",
            get(pages::channels_page).post(forms::create_channel),
        )
        .at(
            "/channels/:id",
            get(pages::channel_page).post(forms::update_channel),
        )
        .at("/channels/:id/members", post(forms::put_member))
        .at("/channels/:id/email", post(forms::update_channel_email))
        .at(
            "/channels/:id/members/:username/remove",
            post(forms::remove_member),
        )
        .at("/users", get(pages::users_page).post(forms::create_user))
        .at("/admin/plugins", get(admin::plugins_page))
        .at("/milestones", get(admin::milestones_page))
        .at("/admin/categories", post(admin::create_category))
        .at("/admin/categories/:name", post(admin::update_category))
        .at(
            "/admin/categories/:name/delete",
            post(admin::delete_category),
        )
        .at("/users/:username", post(forms::update_user))
        .at("/users/:username/deactivate", post(forms::deactivate_user))
        .at("/users/:username/reactivate", post(forms::reactivate_user))
        .at(
            "/account",
            get(pages::account_page).post(forms::change_password),
        )
        .at("/static/*path", get(assets::serve))
}
