//! The exported-model format: a directory any backend can load, written by
//! `ember-train` and read by `ember-infer` (which never links the trainers),
//! so both import it from here.
//!
//! ```text
//! manifest.json      format version, model family and config, data config,
//!                    feature layout, schema hash, metrics, ember version
//! preprocessor.json  schema, vocabularies and normalisation statistics
//! model.bpk          weights (burnpack)
//! model.safetensors  the same weights for other tools
//! config.toml        the run config as trained
//! ```
//! Retrieval artifacts hold two towers, the item vectors and an ANN index
//! instead ([`retrieval`]). Every file is written to a temporary name and
//! renamed, and the manifest goes last, so a crash never leaves a
//! half-written artifact behind. [`ArtifactWriter`] writes every family,
//! [`ArtifactDir`] reads every family; each family's loader lives in its
//! own file.

mod files;
mod manifest;
pub mod mixer;
pub mod multitask;
pub mod ranking;
mod reader;
pub mod retrieval;
mod writer;

pub use files::{
    load_bpk, load_safetensors, save_bpk, save_safetensors, schema_hash, write_atomic,
};
pub use manifest::{
    FORMAT_VERSION, Family, MANIFEST, MODEL, Manifest, PREPROCESSOR, RUN_CONFIG, WEIGHTS_BPK,
    WEIGHTS_SAFETENSORS,
};
pub use mixer::MixerArtifact;
pub use multitask::{MultiTaskArtifact, MultiTaskEntry};
pub use ranking::RankingArtifact;
pub use reader::ArtifactDir;
pub use retrieval::RetrievalArtifact;
pub use writer::{ArtifactWriter, ManifestEntry};
