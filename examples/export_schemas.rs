//! Writes the `.proto` of every order-flow event into a directory (default `schemas/`), the
//! snapshot `tests/schema_contract.rs` checks every build against. Run it after an intended,
//! compatible change, and commit the files:
//!
//! ```sh
//! cargo run --example export_schemas            # writes schemas/*.proto
//! cargo run --example export_schemas -- DIR
//! ```

use std::process::ExitCode;

use multi_dispatch_events::order_flow::events;

fn main() -> ExitCode {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "schemas".to_owned());
    match events::schemas().export(&dir) {
        Ok(paths) => {
            for path in paths {
                println!("{}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("cannot write the schemas to {dir}: {error}");
            ExitCode::FAILURE
        }
    }
}
