//! `docket`: a self-hosted help desk in one binary.

fn main() -> std::process::ExitCode {
    docket::main()
}
