//! The krbprobe binary: a thin wrapper around [`krbprobe::run_cli`].

fn main() -> std::process::ExitCode {
    krbprobe::run_cli()
}
