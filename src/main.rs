//! `docket`: a self-hosted help desk in one binary.

/// The static (musl) build allocates with mimalloc: musl's allocator
/// serialises threads and would slow every request.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// glibc gives threads that allocate at once arenas of their own, up to
/// eight per core, and keeps what is freed in each. Under concurrent
/// requests and intake that held the heap near 900 MiB at 100,000 cases
/// where two arenas hold it near 450 MiB, at the same throughput
/// (`docket bench`). Set before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_heap_arenas() {
    // SAFETY: mallopt only sets an allocator parameter; called first thing
    // in main, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

fn main() -> std::process::ExitCode {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    limit_heap_arenas();
    docket::main()
}
