//! Reusable layers, each tested against its equation.

pub mod attention_pooling;
pub mod bi_interaction;
pub mod bilinear;
pub mod cin;
pub mod cross;
pub mod embedding;
pub mod experts;
pub mod features;
pub mod field_attention;
pub mod fieldwise_wide;
pub mod first_order;
pub mod fm;
pub mod gate;
pub mod kernel_fm;
pub mod l2_norm;
pub mod mlp;
pub mod row_sparse;
pub mod senet;

pub use attention_pooling::{AttentionPooling, AttentionPoolingConfig};
pub use bi_interaction::bi_interaction;
pub use bilinear::{Bilinear, BilinearConfig};
pub use cin::{Cin, CinConfig};
pub use cross::{CrossNetwork, CrossNetworkConfig};
pub use embedding::{EmbeddingTable, EmbeddingTableConfig};
pub use experts::{Experts, ExpertsConfig};
pub use features::{FeatureConfig, FeatureLayer, FieldVectors, SequencePool, masked_mean};
pub use field_attention::{FieldAttention, FieldAttentionConfig};
pub use fieldwise_wide::FieldwiseWide;
pub use first_order::{FirstOrder, FirstOrderConfig};
pub use fm::fm_second_order;
pub use gate::Gate;
pub use kernel_fm::{KernelFm, KernelFmConfig};
pub use l2_norm::l2_normalize;
pub use mlp::{Mlp, MlpConfig};
pub use row_sparse::{GatheredRows, RowRecorder};
pub use senet::{Senet, SenetConfig};
