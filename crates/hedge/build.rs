//! Embeds the starter lists (`lists/starter.toml`, `lists/starter/`, `lists/custom/`) so that
//! `hedge serve` works out of the box with no files beside the binary.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let lists = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lists");
    let lists = lists
        .canonicalize()
        .expect("the repository's lists/ folder");
    let mut code = String::from(
        "/// Embedded list files: (path relative to lists/, bytes).\npub const FILES: &[(&str, &[u8])] = &[\n",
    );
    for dir in ["starter", "custom"] {
        println!("cargo:rerun-if-changed={}", lists.join(dir).display());
        let mut files: Vec<_> = std::fs::read_dir(lists.join(dir))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        for f in files.iter().filter(|f| f.is_file()) {
            let rel = format!(
                "{dir}/{}",
                f.file_name().expect("a file name").to_string_lossy()
            );
            writeln!(
                code,
                "    ({rel:?}, include_bytes!({:?})),",
                f.display().to_string()
            )
            .expect("write to a String");
        }
    }
    code.push_str("];\n");
    for file in ["starter.toml", "categories.toml"] {
        println!("cargo:rerun-if-changed={}", lists.join(file).display());
    }
    writeln!(
        code,
        "/// The starter manifest.\npub const MANIFEST: &str = include_str!({:?});",
        lists.join("starter.toml").display().to_string()
    )
    .expect("write to a String");
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("starter.rs");
    std::fs::write(out, code).expect("write starter.rs");
}
