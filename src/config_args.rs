//! The arguments every command that runs a config file takes.

use std::path::PathBuf;

use clap::Args;
use ember_models::device::DeviceChoice;
use ember_train::run_config::RunCommon;

#[derive(Args)]
pub struct ConfigArgs {
    /// The run config (TOML).
    #[arg(long, short)]
    pub config: PathBuf,
    /// Override a config key, e.g. `--set train.lr=0.01 --set model.kind=fm`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// auto | cpu | flex | ndarray | wgpu (overrides the config's `device`).
    #[arg(long)]
    pub device: Option<DeviceChoice>,
}

impl ConfigArgs {
    /// Applies `--device`, if given, to a loaded config.
    pub fn apply(&self, common: &mut RunCommon) {
        if let Some(device) = self.device {
            common.device = device;
        }
    }
}
