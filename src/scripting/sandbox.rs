//! The one rhai engine every script runs in: the standard library and two
//! routing helpers, no file, network, module or `eval` access, and every
//! limit set. A per-call deadline is checked as the script runs.

use std::cell::Cell;
use std::time::Instant;

use rhai::packages::{Package, StandardPackage};
use rhai::{Dynamic, Engine, Map};

use crate::config::ScriptingConfig;

thread_local! {
    /// When the hook running on this thread must stop.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// How many operations run between two looks at the clock: reading it on
/// every operation would cost more than most hooks.
const CLOCK_EVERY_OPS: u64 = 256;

/// Runs `call` with a deadline that the engine enforces.
pub fn with_deadline<T>(deadline: Instant, call: impl FnOnce() -> T) -> T {
    DEADLINE.set(Some(deadline));
    let result = call();
    DEADLINE.set(None);
    result
}

/// What the engine returns as the termination token when time runs out.
pub const OUT_OF_TIME: &str = "out of time";

pub fn engine(limits: &ScriptingConfig) -> Engine {
    let mut engine = Engine::new_raw();
    engine.register_global_module(StandardPackage::new().as_shared_module());
    engine
        .set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_depth)
        .set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth)
        .set_max_string_size(limits.max_string_bytes)
        .set_max_array_size(limits.max_array_len)
        .set_max_map_size(limits.max_map_len)
        .set_max_strings_interned(1024)
        // A misspelt variable is a compile error, not a silent `()`.
        .set_strict_variables(true)
        .disable_symbol("eval")
        .disable_symbol("import")
        .disable_symbol("export");
    engine.on_progress(|operations| {
        if operations % CLOCK_EVERY_OPS != 0 {
            return None;
        }
        let deadline = DEADLINE.get()?;
        (Instant::now() >= deadline).then(|| Dynamic::from(OUT_OF_TIME))
    });
    engine.on_print(|text| tracing::info!(target: "docket::plugins", "{text}"));
    engine.on_debug(|text, source, position| {
        tracing::debug!(target: "docket::plugins", source = source.unwrap_or(""), %position, "{text}")
    });
    engine.register_fn("round_robin", || strategy("round_robin"));
    engine.register_fn("least_open_cases", || strategy("least_open_cases"));
    engine
}

/// The decision a routing helper returns: the host picks the agent.
fn strategy(name: &str) -> Map {
    let mut map = Map::new();
    map.insert("strategy".into(), Dynamic::from(name.to_owned()));
    map
}
