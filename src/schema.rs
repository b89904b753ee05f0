//! `ember schema …`: schema files for CSV and Parquet data.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use ember_datasets::schema_infer::{DEFAULT_SAMPLE_ROWS, InferOptions, Role, infer_schema};

#[derive(Subcommand)]
pub enum SchemaCommand {
    /// Read a sample of a CSV or Parquet file and write a commented schema
    /// file to edit: numeric vs categorical, vocabulary vs hash buckets,
    /// sequences, dense vectors, labels, and why each was chosen.
    Infer {
        /// The CSV (`,` tab `|` `;`, with or without a header) or Parquet file.
        file: PathBuf,
        /// A label column; repeat the flag for several tasks, in task order.
        #[arg(long = "label", value_name = "COL")]
        labels: Vec<String>,
        /// Rows read from the start of the file.
        #[arg(long, default_value_t = DEFAULT_SAMPLE_ROWS)]
        rows: usize,
        /// Where the schema file goes (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn run(command: SchemaCommand) -> Result<()> {
    match command {
        SchemaCommand::Infer {
            file,
            labels,
            rows,
            out,
        } => {
            let inferred = infer_schema(
                &file,
                &InferOptions {
                    labels,
                    sample_rows: rows,
                },
            )?;
            for column in &inferred.columns {
                for warning in &column.warnings {
                    tracing::warn!(column = %column.name, "{warning}");
                }
            }
            let toml = inferred.to_toml();
            match out {
                Some(path) => {
                    std::fs::write(&path, toml)
                        .with_context(|| format!("writing {}", path.display()))?;
                    let left_out = inferred
                        .columns
                        .iter()
                        .filter(|c| matches!(c.role, Role::LeftOut(_)))
                        .count();
                    eprintln!(
                        "wrote {}: {} fields, {} labels, {left_out} columns left out (see the comments)",
                        path.display(),
                        inferred.schema().fields.len(),
                        inferred.labels.len()
                    );
                }
                None => print!("{toml}"),
            }
            Ok(())
        }
    }
}
