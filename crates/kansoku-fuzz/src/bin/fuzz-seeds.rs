//! Writes the seed corpus to `fuzz/corpus/<target>/<name>` (existing files of the same name are
//! replaced; other files, such as inputs cargo fuzz added, are left alone).

fn main() -> Result<(), String> {
    let root = kansoku_fuzz::fuzz_dir().join("corpus");
    let seeds = kansoku_fuzz::seeds::all()?;
    for (target, name, bytes) in &seeds {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = dir.join(format!("seed-{name}"));
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    eprintln!("wrote {} seeds under {}", seeds.len(), root.display());
    Ok(())
}
