//! Rebuilds this crate (and so re-embeds the UI) whenever `web/dist` changes.

fn main() {
    println!("cargo:rerun-if-changed=../../web/dist");
}
