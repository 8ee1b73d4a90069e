//! Writes the embedded web map to a directory, as a server would serve it:
//! `cargo run -p tidewatch-web --example dump_assets DIR` gives `DIR/index.html` and
//! `DIR/assets/*` (the e2e fixture server serves such a directory).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: dump_assets DIR");
        return ExitCode::from(2);
    };
    for path in web::asset_paths() {
        let (bytes, _) = web::asset(path).expect("listed assets are served");
        let target = dir.join(path);
        let written = target
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&target, bytes));
        if let Err(e) = written {
            eprintln!("dump_assets: cannot write {}: {e}", target.display());
            return ExitCode::FAILURE;
        }
        println!("{} ({} bytes)", target.display(), bytes.len());
    }
    ExitCode::SUCCESS
}
