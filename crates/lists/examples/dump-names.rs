//! `dump-names INDEX`: prints every name of a hedge index with its categories,
//! `name<TAB>category,category` one per line, so bench/ can write the equivalent Unbound
//! `local-zone` configuration. Build: `cargo build --release -p hedge-lists --example dump-names`.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: dump-names INDEX.hidx");
        return ExitCode::from(2);
    };
    let index = match hedge_lists::Index::open(&path) {
        Ok(index) => index,
        Err(error) => {
            eprintln!("dump-names: {}: {error}", path.display());
            return ExitCode::from(1);
        }
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut result = Ok(());
    let walked = index.for_each_name(|key, set| {
        if result.is_err() {
            return;
        }
        let categories: Vec<&str> = index
            .categories(set)
            .iter()
            .map(|&c| index.taxonomy().id(c))
            .collect();
        result = writeln!(
            out,
            "{}\t{}",
            hedge_lists::name_from_key(key),
            categories.join(",")
        );
    });
    if let Err(error) = walked {
        eprintln!("dump-names: {error}");
        return ExitCode::from(1);
    }
    match result.and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("dump-names: {error}");
            ExitCode::from(1)
        }
    }
}
