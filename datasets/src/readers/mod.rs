//! Readers: files → [`RawTable`](crate::RawTable), one format per file.
//!
//! All of them parse bytes (never building a `String` per cell), hash tokens
//! as they go (`hashing`), and report a malformed row with its file, 1-based
//! line and field, or skip and count it when asked (`ReadOptions`).

pub mod columns;
pub mod criteo;
pub(crate) mod csv_lines;
pub mod csv_schema;
pub mod file_shard;
pub mod libfm;
pub mod movielens;
pub mod parquet;

pub use columns::{ColumnsBuilder, ReadOptions};
pub use criteo::{criteo_schema, read_criteo};
pub use csv_schema::{CsvSpec, read_csv};
pub use file_shard::FileShard;
pub use libfm::{libfm_schema, read_libfm};
pub use movielens::{
    MovieLensSides, MovieLensTable, RatingLabel, User, movielens_schema, read_items,
    read_movielens, read_users,
};
pub use parquet::read_parquet;
