//! The plugin host: admins' Rhai scripts in the data directory's
//! `plugins/` folder decide categories, assignees, auto-resolution, case
//! profiles and milestones. Scripts decide, the host applies: a hook gets a
//! read-only copy of the case and returns a value that the service layer
//! checks before using it.
//!
//! A hook that errors, runs past its time budget or returns something
//! unusable counts as failed: the failure is recorded, the built-in
//! default applies and the case change completes. A file that no longer
//! compiles leaves its previous version running.

mod convert;
mod metrics;
mod sandbox;

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use rhai::{AST, CallFnOptions, Dynamic, Engine, EvalAltResult, Scope};
use sha2::{Digest, Sha256};

use crate::config::ScriptingConfig;
use crate::domain::Timestamp;
use crate::domain::milestone::MilestoneSpec;
use crate::domain::profile::ProfileField;

pub use convert::{CaseView, Route};
pub use metrics::HookFigures;

/// Every hook, in the order they run at intake.
pub const HOOKS: [&str; 6] = [
    "categorize",
    "route",
    "auto_resolve",
    "milestones",
    "profiles",
    "widget_reply",
];

/// What the chat widget's bot decided about a visitor's message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WidgetDecision {
    /// An answer to show the visitor.
    pub reply: Option<String>,
    /// Hand the conversation to a person: open a case.
    pub escalate: bool,
}

/// The default scripts, seeded into a new data directory.
pub const DEFAULT_PLUGINS: &[(&str, &str)] = &[
    ("10-spam.rhai", include_str!("../../plugins/10-spam.rhai")),
    (
        "20-billing.rhai",
        include_str!("../../plugins/20-billing.rhai"),
    ),
    (
        "30-milestones.rhai",
        include_str!("../../plugins/30-milestones.rhai"),
    ),
    (
        "40-profiles.rhai",
        include_str!("../../plugins/40-profiles.rhai"),
    ),
];

/// How many recent failures are kept for the admin page.
const FAILURES_KEPT: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    /// The file does not compile.
    #[error("{file}:{line}:{column}: {message}")]
    Compile {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// A hook failed while running or returned what the host cannot use.
    #[error("{file}: {hook}: {message}")]
    Hook {
        file: String,
        hook: String,
        message: String,
    },
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
}

/// A recorded hook failure.
#[derive(Debug, Clone)]
pub struct Failure {
    pub at: Timestamp,
    pub error: ScriptError,
}

/// One script file and the version of it that runs.
#[derive(Clone)]
struct Plugin {
    file: String,
    /// Digest of the file as last read, compiled or not.
    digest: [u8; 32],
    /// Modification time and length when last read.
    modified: Option<(SystemTime, u64)>,
    /// The running version: the last one that compiled.
    ast: Option<Arc<AST>>,
    /// Why the file on disk does not run, when it does not compile.
    error: Option<ScriptError>,
    loaded_at: Option<Timestamp>,
    /// What its `profiles()` declared, computed once per compile.
    profiles: BTreeMap<String, Vec<ProfileField>>,
}

impl Plugin {
    fn defines(&self, hook: &str, arity: usize) -> bool {
        self.ast.as_ref().is_some_and(|ast| {
            ast.iter_functions()
                .any(|f| f.name == hook && f.params.len() == arity)
        })
    }
}

/// A plugin as the admin page shows it.
#[derive(Debug, Clone)]
pub struct PluginStatus {
    pub file: String,
    /// Whether a version of it runs (the current one, or the last that
    /// compiled when `error` is set).
    pub running: bool,
    pub error: Option<ScriptError>,
    pub loaded_at: Option<Timestamp>,
    pub hooks: Vec<String>,
}

/// What the intake hooks decided for a new case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntakeDecisions {
    pub category: Option<String>,
    pub route: Option<Route>,
    pub auto_resolve: bool,
    pub milestones: Vec<MilestoneSpec>,
}

pub struct ScriptHost {
    engine: Engine,
    dir: PathBuf,
    budget: Duration,
    plugins: RwLock<Arc<Vec<Plugin>>>,
    metrics: metrics::Metrics,
    failures: Mutex<VecDeque<Failure>>,
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

impl ScriptHost {
    /// A host for the scripts in `dir` (loaded with [`ScriptHost::reload`]).
    pub fn new(dir: &Path, limits: &ScriptingConfig) -> ScriptHost {
        ScriptHost {
            engine: sandbox::engine(limits),
            dir: dir.to_owned(),
            budget: Duration::from_millis(limits.budget_ms),
            plugins: RwLock::new(Arc::new(Vec::new())),
            metrics: metrics::Metrics::default(),
            failures: Mutex::new(VecDeque::new()),
        }
    }

    /// Creates `dir` with the default scripts when it does not exist yet
    /// (a new data directory). An existing folder is never touched: the
    /// admin's deletions stay deleted.
    pub fn seed_defaults(dir: &Path) -> std::io::Result<bool> {
        if dir.exists() {
            return Ok(false);
        }
        std::fs::create_dir_all(dir)?;
        for (name, text) in DEFAULT_PLUGINS {
            std::fs::write(dir.join(name), text)?;
        }
        Ok(true)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn current(&self) -> Arc<Vec<Plugin>> {
        self.plugins
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Compiles `source` as `file` without running anything.
    pub fn compile(&self, file: &str, source: &str) -> Result<AST, ScriptError> {
        self.engine
            .compile(source)
            .map_err(|e| ScriptError::Compile {
                file: file.to_owned(),
                line: e.position().line().unwrap_or(0),
                column: e.position().position().unwrap_or(0),
                message: e.err_type().to_string(),
            })
    }

    /// Looks at the folder and recompiles what changed; returns whether
    /// anything did. Files are read in name order, which is the order
    /// their hooks run in.
    pub fn reload(&self) -> bool {
        let previous = self.current();
        let mut files: Vec<(String, PathBuf)> = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "rhai") && p.is_file())
                .filter_map(|p| Some((p.file_name()?.to_str()?.to_owned(), p)))
                .collect(),
            Err(_) => Vec::new(),
        };
        files.sort();
        let mut changed = files.len() != previous.len();
        let mut next = Vec::with_capacity(files.len());
        for (file, path) in files {
            let old = previous.iter().find(|p| p.file == file);
            let modified = std::fs::metadata(&path)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())));
            // Unchanged metadata proves nothing for a file written within
            // the timestamp resolution of its filesystem; such recent files
            // are read again (and compared by digest).
            let settled = modified
                .is_some_and(|(at, _)| at.elapsed().is_ok_and(|age| age > Duration::from_secs(2)));
            if let Some(old) = old
                && settled
                && old.modified == modified
            {
                next.push(old.clone());
                continue;
            }
            let source = match std::fs::read_to_string(&path) {
                Ok(source) => source,
                Err(e) => {
                    tracing::warn!(file, error = %e, "cannot read a plugin; keeping what runs");
                    if let Some(old) = old {
                        next.push(old.clone());
                    }
                    continue;
                }
            };
            let digest = digest(&source);
            if let Some(old) = old
                && old.digest == digest
            {
                // Same text: only remember the new metadata.
                changed |= old.modified != modified;
                next.push(Plugin {
                    modified,
                    ..old.clone()
                });
                continue;
            }
            changed = true;
            next.push(self.load(&file, &source, digest, modified, old));
        }
        if changed {
            *self.plugins.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
        }
        changed
    }

    /// Compiles a new version of a file; a failed compile keeps `old`
    /// running and records why.
    fn load(
        &self,
        file: &str,
        source: &str,
        digest: [u8; 32],
        modified: Option<(SystemTime, u64)>,
        old: Option<&Plugin>,
    ) -> Plugin {
        match self.compile(file, source) {
            Ok(ast) => {
                tracing::info!(file, "plugin loaded");
                let mut plugin = Plugin {
                    file: file.to_owned(),
                    digest,
                    modified,
                    ast: Some(Arc::new(ast)),
                    error: None,
                    loaded_at: Some(chrono::Utc::now()),
                    profiles: BTreeMap::new(),
                };
                plugin.profiles = self.declared_profiles(&plugin, old);
                plugin
            }
            Err(error) => {
                tracing::warn!(%error, "plugin does not compile; the previous version keeps running");
                match old {
                    Some(old) => Plugin {
                        digest,
                        modified,
                        error: Some(error),
                        ..old.clone()
                    },
                    None => Plugin {
                        file: file.to_owned(),
                        digest,
                        modified,
                        ast: None,
                        error: Some(error),
                        loaded_at: None,
                        profiles: BTreeMap::new(),
                    },
                }
            }
        }
    }

    /// Runs a plugin's `profiles()`; when it fails, what the previous
    /// version declared stays.
    fn declared_profiles(
        &self,
        plugin: &Plugin,
        old: Option<&Plugin>,
    ) -> BTreeMap<String, Vec<ProfileField>> {
        if !plugin.defines("profiles", 0) {
            return BTreeMap::new();
        }
        match self
            .call(plugin, "profiles", ())
            .and_then(|value| self.decide(plugin, "profiles", convert::profiles(value)))
        {
            Ok(profiles) => profiles,
            Err(()) => old.map(|o| o.profiles.clone()).unwrap_or_default(),
        }
    }

    /// Calls `hook` in one plugin under the time budget. Failures are
    /// recorded; `Err(())` means "use the default".
    fn call(
        &self,
        plugin: &Plugin,
        hook: &'static str,
        args: impl rhai::FuncArgs,
    ) -> Result<Dynamic, ()> {
        let ast = plugin.ast.as_ref().ok_or(())?;
        let started = Instant::now();
        let result = sandbox::with_deadline(started + self.budget, || {
            self.engine.call_fn_with_options::<Dynamic>(
                CallFnOptions::new().eval_ast(false).rewind_scope(true),
                &mut Scope::new(),
                ast,
                hook,
                args,
            )
        });
        let took = started.elapsed();
        self.metrics.record(hook, took, result.is_err());
        result.map_err(|e| {
            let message = self.describe(&e);
            self.fail(&plugin.file, hook, message);
        })
    }

    /// Turns a hook's answer into a decision, recording an unusable one.
    fn decide<T>(
        &self,
        plugin: &Plugin,
        hook: &'static str,
        decided: Result<T, String>,
    ) -> Result<T, ()> {
        decided.map_err(|message| {
            self.metrics.record(hook, Duration::ZERO, true);
            self.fail(&plugin.file, hook, message);
        })
    }

    fn describe(&self, error: &EvalAltResult) -> String {
        let position = error.position();
        let place = match (position.line(), position.position()) {
            (Some(line), Some(column)) => format!(" (line {line}, column {column})"),
            _ => String::new(),
        };
        match error {
            EvalAltResult::ErrorTerminated(..) => format!(
                "stopped after running longer than its budget of {} ms{place}",
                self.budget.as_millis()
            ),
            EvalAltResult::ErrorTooManyOperations(..) => {
                format!("stopped after too many operations{place}")
            }
            other => format!("{other}"),
        }
    }

    fn fail(&self, file: &str, hook: &str, message: String) {
        let error = ScriptError::Hook {
            file: file.to_owned(),
            hook: hook.to_owned(),
            message,
        };
        tracing::warn!(%error, "a plugin hook failed; the default applies");
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() == FAILURES_KEPT {
            failures.pop_front();
        }
        failures.push_back(Failure {
            at: chrono::Utc::now(),
            error,
        });
    }

    /// The first decision any plugin (in file order) makes with `hook`
    /// that `check` accepts; a refused one is a failure of its plugin.
    fn first_decision<T>(
        &self,
        plugins: &[Plugin],
        hook: &'static str,
        case: &Dynamic,
        parse: fn(Dynamic) -> Result<Option<T>, String>,
        check: impl Fn(&T) -> Result<(), String>,
    ) -> Option<T> {
        plugins
            .iter()
            .filter(|p| p.defines(hook, 1))
            .find_map(|plugin| {
                let value = self.call(plugin, hook, (case.clone(),)).ok()?;
                let decided =
                    parse(value).and_then(|d| d.map(|d| check(&d).map(|()| d)).transpose());
                self.decide(plugin, hook, decided).ok().flatten()
            })
    }

    /// Runs the intake hooks for a new case: categorize, route,
    /// auto_resolve and milestones. `route` and `auto_resolve` see the
    /// category just decided.
    ///
    /// `ai` is what the AI agent said: hooks see it as `ticket.ai`, and a
    /// category `categorize` returns overrules the one the agent applied.
    /// When no hook categorizes, the later hooks see the agent's category.
    pub fn intake(
        &self,
        view: &CaseView,
        ai: Option<&crate::domain::ai::AiVerdict>,
    ) -> IntakeDecisions {
        let plugins = self.current();
        let mut decisions = IntakeDecisions::default();
        let mut case = view.to_dynamic();
        if let Some(map) = case.write_lock::<rhai::Map>().as_deref_mut() {
            map.insert("ai".into(), convert::ai_to_dynamic(ai));
        }
        if view.category.is_none() {
            decisions.category =
                self.first_decision(&plugins, "categorize", &case, convert::category, |_| Ok(()));
            let category = decisions
                .category
                .clone()
                .or_else(|| ai.and_then(|v| v.applied.clone()));
            if let (Some(category), Some(map)) =
                (category, case.write_lock::<rhai::Map>().as_deref_mut())
            {
                map.insert("category".into(), Dynamic::from(category));
            }
        }
        decisions.route =
            self.first_decision(
                &plugins,
                "route",
                &case,
                convert::route,
                |route| match route {
                    Route::User(name) if !view.agents.contains(name) => Err(format!(
                        "returned '{name}', who is not an agent of the channel '{}'",
                        view.channel
                    )),
                    _ => Ok(()),
                },
            );
        decisions.auto_resolve =
            plugins
                .iter()
                .filter(|p| p.defines("auto_resolve", 1))
                .any(|plugin| {
                    self.call(plugin, "auto_resolve", (case.clone(),))
                        .and_then(|v| self.decide(plugin, "auto_resolve", convert::flag(v)))
                        .unwrap_or(false)
                });
        decisions.milestones = self.milestones_with(&plugins, &case);
        decisions
    }

    /// Asks the first plugin with `widget_reply(message)` what to answer a
    /// widget visitor: `()` (nothing), a string (the answer), or
    /// `#{reply: "...", escalate: true}`. `message` is
    /// `#{text, channel, messages}` (messages so far in the chat).
    pub fn widget_reply(&self, text: &str, channel: &str, messages: usize) -> WidgetDecision {
        let plugins = self.current();
        let mut arg = rhai::Map::new();
        arg.insert("text".into(), Dynamic::from(text.to_owned()));
        arg.insert("channel".into(), Dynamic::from(channel.to_owned()));
        arg.insert("messages".into(), Dynamic::from(messages as i64));
        let arg = Dynamic::from_map(arg);
        self.first_decision(
            &plugins,
            "widget_reply",
            &arg,
            convert::widget_decision,
            |_| Ok(()),
        )
        .unwrap_or_default()
    }

    /// The milestones every plugin's policy sets for the case, in file
    /// order (when its priority or type changed after intake); `None` when
    /// a policy failed, so that a broken script never erases a plan.
    pub fn milestones(&self, view: &CaseView) -> Option<Vec<MilestoneSpec>> {
        let case = view.to_dynamic();
        let mut all = Vec::new();
        for plugin in self.current().iter().filter(|p| p.defines("milestones", 1)) {
            let value = self.call(plugin, "milestones", (case.clone(),)).ok()?;
            all.extend(
                self.decide(plugin, "milestones", convert::milestones(value))
                    .ok()?,
            );
        }
        Some(all)
    }

    fn milestones_with(&self, plugins: &[Plugin], case: &Dynamic) -> Vec<MilestoneSpec> {
        plugins
            .iter()
            .filter(|p| p.defines("milestones", 1))
            .flat_map(|plugin| {
                self.call(plugin, "milestones", (case.clone(),))
                    .and_then(|v| self.decide(plugin, "milestones", convert::milestones(v)))
                    .unwrap_or_default()
            })
            .collect()
    }

    /// The profile fields of a case type (the first plugin declaring it).
    pub fn profile_for(&self, case_type: &str) -> Option<Vec<ProfileField>> {
        self.current()
            .iter()
            .find_map(|p| p.profiles.get(case_type).cloned())
    }

    /// Every declared profile, by case type.
    pub fn profiles(&self) -> BTreeMap<String, Vec<ProfileField>> {
        let mut all = BTreeMap::new();
        for plugin in self.current().iter() {
            for (case_type, fields) in &plugin.profiles {
                all.entry(case_type.clone())
                    .or_insert_with(|| fields.clone());
            }
        }
        all
    }

    pub fn status(&self) -> Vec<PluginStatus> {
        self.current()
            .iter()
            .map(|p| PluginStatus {
                file: p.file.clone(),
                running: p.ast.is_some(),
                error: p.error.clone(),
                loaded_at: p.loaded_at,
                hooks: HOOKS
                    .iter()
                    .filter(|h| p.defines(h, 0) || p.defines(h, 1))
                    .map(|h| (*h).to_owned())
                    .collect(),
            })
            .collect()
    }

    pub fn figures(&self) -> Vec<HookFigures> {
        self.metrics.figures()
    }

    /// The most recent hook failures, newest first.
    pub fn recent_failures(&self) -> Vec<Failure> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.iter().rev().cloned().collect()
    }
}

/// Checks every script in `dir` without running the server: compile
/// errors, and profiles that do not declare well. Returns each problem.
pub fn check_dir(
    dir: &Path,
    limits: &ScriptingConfig,
) -> Result<(usize, Vec<ScriptError>), ScriptError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ScriptError::Unreadable {
        path: dir.display().to_string(),
        reason: e.to_string(),
    })?;
    let host = ScriptHost::new(dir, limits);
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rhai"))
        .collect();
    files.sort();
    let mut problems = Vec::new();
    for path in &files {
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let source = std::fs::read_to_string(path).map_err(|e| ScriptError::Unreadable {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        if let Err(e) = host.compile(&file, &source) {
            problems.push(e);
        }
    }
    host.reload();
    problems.extend(host.recent_failures().into_iter().rev().map(|f| f.error));
    Ok((files.len(), problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_with(script: &str, limits: ScriptingConfig) -> (ScriptHost, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("test.rhai"), script).unwrap();
        let host = ScriptHost::new(dir.path(), &limits);
        host.reload();
        (host, dir)
    }

    fn view() -> CaseView {
        CaseView {
            number: 7,
            subject: "Refund please".into(),
            description: String::new(),
            body: "My invoice is wrong".into(),
            channel: "Support".into(),
            channel_id: 1,
            source: "email".into(),
            priority: "high".into(),
            status: "open".into(),
            case_type: None,
            category: None,
            important: false,
            customer_name: None,
            customer_email: None,
            customer_phone: None,
            created_at: 0,
            profile: Default::default(),
            agents: vec!["amy".into()],
        }
    }

    fn messages(host: &ScriptHost) -> String {
        host.recent_failures()
            .iter()
            .map(|f| f.error.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn hooks_see_the_ai_verdict_and_may_overrule_it() {
        let verdict = crate::domain::ai::AiVerdict {
            category: Some("login".into()),
            confidence: Some(0.97),
            spam: Some(0.02),
            priority: Some("high".into()),
            applied: Some("login".into()),
        };
        // Later hooks see the agent's category when no plugin decides.
        let (host, _dir) = host_with(
            "fn route(t) { if t.category == \"login\" && t.ai.confidence > 0.9 { \"amy\" } }",
            ScriptingConfig::default(),
        );
        let decided = host.intake(&view(), Some(&verdict));
        assert_eq!(decided.category, None, "the rules decided no category");
        assert_eq!(decided.route, Some(Route::User("amy".into())));
        // A plugin's category overrules the agent's.
        let (host, _dir) = host_with(
            "fn categorize(t) { if t.ai.priority == \"high\" && t.ai.spam < 0.5 { \"account\" } }",
            ScriptingConfig::default(),
        );
        assert_eq!(
            host.intake(&view(), Some(&verdict)).category.as_deref(),
            Some("account")
        );
        // Before the agent has learned, `ai` is ().
        let (host, _dir) = host_with(
            "fn categorize(t) { if t.ai == () { \"none yet\" } }",
            ScriptingConfig::default(),
        );
        assert_eq!(
            host.intake(&view(), None).category.as_deref(),
            Some("none yet")
        );
    }

    #[test]
    fn a_route_to_someone_outside_the_channel_is_refused() {
        let (host, _dir) = host_with("fn route(t) { \"zed\" }", ScriptingConfig::default());
        assert_eq!(host.intake(&view(), None).route, None);
        assert!(
            messages(&host).contains("'zed', who is not an agent"),
            "{}",
            messages(&host)
        );
        let (host, _dir) = host_with("fn route(t) { \"amy\" }", ScriptingConfig::default());
        assert_eq!(
            host.intake(&view(), None).route,
            Some(Route::User("amy".into()))
        );
    }

    #[test]
    fn a_slow_hook_is_stopped_at_its_time_budget() {
        let limits = ScriptingConfig {
            budget_ms: 5,
            max_operations: 100_000_000,
            ..ScriptingConfig::default()
        };
        let (host, _dir) = host_with("fn categorize(t) { let n = 0; loop { n += 1; } }", limits);
        let started = Instant::now();
        assert_eq!(host.intake(&view(), None).category, None);
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(
            messages(&host).contains("budget of 5 ms"),
            "{}",
            messages(&host)
        );
    }

    #[test]
    fn scripts_cannot_reach_outside() {
        for script in [
            "fn categorize(t) { eval(\"1\") }",
            "import \"x\" as y; fn categorize(t) { 1 }",
            "fn categorize(t) { undefined_variable }",
        ] {
            let dir = tempfile::tempdir().unwrap();
            let host = ScriptHost::new(dir.path(), &ScriptingConfig::default());
            assert!(host.compile("x.rhai", script).is_err(), "{script}");
        }
    }

    #[test]
    fn unusable_answers_are_failures_and_decide_nothing() {
        let script = "fn categorize(t) { 42 } fn auto_resolve(t) { \"yes\" } fn milestones(t) { [#{ name: \"x\", due_in: \"soon\", completes_on: \"resolved\" }] }";
        let (host, _dir) = host_with(script, ScriptingConfig::default());
        let decided = host.intake(&view(), None);
        assert_eq!(decided, IntakeDecisions::default());
        let all = messages(&host);
        assert!(
            all.contains("categorize") && all.contains("auto_resolve") && all.contains("'soon'"),
            "{all}"
        );
    }

    #[test]
    fn the_default_plugins_compile_and_decide() {
        let dir = tempfile::tempdir().unwrap();
        let plugins = dir.path().join("plugins");
        assert!(ScriptHost::seed_defaults(&plugins).unwrap());
        assert!(!ScriptHost::seed_defaults(&plugins).unwrap());
        let host = ScriptHost::new(&plugins, &ScriptingConfig::default());
        host.reload();
        assert!(host.status().iter().all(|p| p.error.is_none()));
        let decided = host.intake(&view(), None);
        assert_eq!(decided.category.as_deref(), Some("billing"));
        assert_eq!(decided.route, Some(Route::LeastOpenCases));
        assert_eq!(decided.milestones.len(), 2);
        assert!(host.profile_for("complaint").is_some());
        assert!(host.recent_failures().is_empty());
    }
}
