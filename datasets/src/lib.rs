//! ember-datasets: schemas, readers, vocabularies and generators.
//!
//! Data flows one way: a reader turns a file into a [`RawTable`] (tokens
//! already hashed), a [`Preprocessor`] fitted on the training split turns raw
//! tables into [`EncodedData`], which the models crate batches into tensors.

pub mod encoded;
pub mod encoded_csv;
pub mod error;
pub mod event_labels;
pub mod fit_stats;
pub mod hashing;
pub mod implicit;
pub mod interactions;
pub mod open_encoder;
pub mod open_vocab;
pub mod paths;
pub mod prepared;
pub mod preprocess;
pub mod raw;
pub mod readers;
pub mod registry;
pub mod retrieval;
pub mod schema;
pub mod schema_infer;
pub mod simulator;
pub mod sources;
pub mod splits;
pub mod stats;
pub mod synthetic;
pub mod toml_config;
pub mod vocab;

pub use encoded::{EncodedData, EncodedDense, EncodedSequence, FeatureLayout};
pub use error::{DataError, Location, Result};
pub use paths::shared_data_dir;
pub use prepared::PreparedData;
pub use preprocess::Preprocessor;
pub use raw::{RawColumn, RawTable};
pub use readers::ReadOptions;
pub use registry::DataConfig;
pub use retrieval::{EvalSplit, RetrievalData, load_retrieval};
pub use schema::{Encoding, FieldKind, FieldSpec, Normalisation, Schema};
pub use schema_infer::{InferOptions, InferredSchema, infer_schema};
pub use sources::{DataSource, InputShare};
