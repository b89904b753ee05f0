//! The macro behind the one-line registration of a data source.

use std::path::Path;

use super::DataConfig;

/// A registered source as `ember datasets` lists it, before any config names it.
#[derive(Debug, Clone, Copy)]
pub struct RegisteredSource {
    pub name: &'static str,
    pub description: &'static str,
    /// [`DataSource::builtin`](super::DataSource::builtin) as a [`DataConfig`].
    pub builtin: fn(&Path) -> Option<DataConfig>,
}

/// `builtin` of a [`RegisteredSource`]: a fn pointer per source type.
pub(super) fn builtin_config<S>(data_root: &Path) -> Option<DataConfig>
where
    S: super::DataSource + Into<DataConfig>,
{
    S::builtin(data_root).map(Into::into)
}

/// Given `module::Type` per source (the module a file in `sources/`, the type
/// its [`DataSource`](super::DataSource)), declares the modules, re-exports
/// the types, and generates:
/// - `DataConfig`, one newtype variant per source named like its type, which
///   serde tags `source = "<the type's name in kebab case>"` (internally
///   tagged, so the tag is removed before the type sees the table, and the
///   type's `deny_unknown_fields` sees exactly the other keys);
/// - `From<Type> for DataConfig`;
/// - the dispatch from a `DataConfig` to its source's methods;
/// - `REGISTERED`, the list `ember datasets` prints, in this order.
macro_rules! register_data_sources {
    ($($module:ident :: $source:ident),+ $(,)?) => {
        $(
            mod $module;
            pub use $module::$source;
        )+

        /// Where a run's data comes from (the `[data]` table): `source`
        /// names the registered source, the other keys are its config.
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(tag = "source", rename_all = "kebab-case")]
        pub enum DataConfig {
            $($source($source),)+
        }

        $(
            impl From<$source> for DataConfig {
                fn from(source: $source) -> Self {
                    Self::$source(source)
                }
            }
        )+

        impl DataConfig {
            /// The source name as written in configs (`frappe-ctr`, `csv`, ...).
            pub fn source_name(&self) -> &'static str {
                match self {
                    $(Self::$source(_) => <$source as DataSource>::NAME,)+
                }
            }

            /// See [`DataSource::load`].
            pub(crate) fn load_splits(&self) -> $crate::error::Result<$crate::prepared::PreparedData> {
                match self {
                    $(Self::$source(source) => source.load(),)+
                }
            }

            /// See [`DataSource::load_share`].
            pub(crate) fn load_share_of_splits(
                &self,
                share: $crate::sources::InputShare<'_>,
            ) -> $crate::error::Result<$crate::prepared::PreparedData> {
                match self {
                    $(Self::$source(source) => source.load_share(share),)+
                }
            }

            /// See [`DataSource::read_for_prediction`].
            pub(crate) fn read_file(
                &self,
                path: &std::path::Path,
                options: $crate::readers::ReadOptions,
            ) -> $crate::error::Result<$crate::raw::RawTable> {
                match self {
                    $(Self::$source(source) => source.read_for_prediction(path, options),)+
                }
            }

            /// See [`DataSource::describe`].
            pub(crate) fn describe(&self) -> $crate::error::Result<String> {
                match self {
                    $(Self::$source(source) => source.describe(),)+
                }
            }

            /// See [`DataSource::log_dataset`].
            pub fn log_dataset(&self) -> Option<$crate::error::Result<$crate::interactions::LogDataset>> {
                match self {
                    $(Self::$source(source) => source.log_dataset(),)+
                }
            }

            /// See [`DataSource::paths_mut`].
            fn paths_mut(&mut self) -> Vec<&mut std::path::PathBuf> {
                match self {
                    $(Self::$source(source) => source.paths_mut(),)+
                }
            }
        }

        /// Every registered source, in registration order.
        pub const REGISTERED: &[registration::RegisteredSource] = &[
            $(
                registration::RegisteredSource {
                    name: <$source as DataSource>::NAME,
                    description: <$source as DataSource>::DESCRIPTION,
                    builtin: registration::builtin_config::<$source>,
                },
            )+
        ];
    };
}
