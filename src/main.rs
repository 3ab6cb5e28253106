//! The `equip-wheel` binary: see [`equip_wheel::cli`].

fn main() {
    std::process::exit(equip_wheel::cli::run(std::env::args().collect()));
}
