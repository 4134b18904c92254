//! `docket`: a self-hosted help desk in one binary.

/// The static (musl) build allocates with mimalloc: musl's allocator
/// serialises threads and would slow every request.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    docket::main()
}
