fn main() -> std::process::ExitCode {
    sslprov::run(std::env::args_os())
}
