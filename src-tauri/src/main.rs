fn main() -> std::process::ExitCode {
    herald::run()
}
