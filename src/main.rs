fn main() {
    std::process::exit(aer::cli::main());
}
