fn main() -> std::process::ExitCode {
    keyholder::cli::main()
}
