// The templates are embedded with include_dir, which cargo does not know to watch: rebuild when
// one changes.
fn main() {
    println!("cargo:rerun-if-changed=templates");
}
