//! Choosing the backend at run time: `--device auto|cpu|flex|ndarray|wgpu`.

use burn::prelude::Device;
use burn::tensor::DeviceKind;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceChoice {
    /// A real GPU through wgpu if the machine has one, else the CPU (with a warning).
    #[default]
    Auto,
    /// The default CPU backend (flex).
    Cpu,
    Flex,
    /// Burn's older CPU backend, deprecated upstream in favour of flex; kept
    /// selectable to compare and to check weights move between backends.
    Ndarray,
    /// wgpu on its best adapter, even a software one (lavapipe in CI).
    Wgpu,
}

impl std::str::FromStr for DeviceChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "auto" => DeviceChoice::Auto,
            "cpu" => DeviceChoice::Cpu,
            "flex" => DeviceChoice::Flex,
            "ndarray" => DeviceChoice::Ndarray,
            "wgpu" => DeviceChoice::Wgpu,
            other => {
                return Err(format!(
                    "unknown device '{other}', expected auto, cpu, flex, ndarray or wgpu"
                ));
            }
        })
    }
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DeviceChoice::Auto => "auto",
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Flex => "flex",
            DeviceChoice::Ndarray => "ndarray",
            DeviceChoice::Wgpu => "wgpu",
        })
    }
}

/// The GPU adapters wgpu can see, excluding software rasterisers.
pub fn hardware_gpu_adapters() -> Vec<wgpu::AdapterInfo> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::all(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
        .iter()
        .map(wgpu::Adapter::get_info)
        .filter(|info| info.device_type != wgpu::DeviceType::Cpu)
        .collect()
}

/// The device for a choice; `auto` falls back to the CPU with a logged warning.
pub fn select_device(choice: DeviceChoice) -> (Device, DeviceChoice) {
    select_device_for_rank(choice, None)
}

/// As [`select_device`] for one rank of a distributed job: with
/// `local_rank` (its index among the ranks on its machine), a wgpu choice
/// takes the machine's discrete GPU `local_rank mod count`, so that `mpirun
/// -np N` on a workstation with N GPUs puts one rank on each.
pub fn select_device_for_rank(
    choice: DeviceChoice,
    local_rank: Option<usize>,
) -> (Device, DeviceChoice) {
    let (device, used) = select_device_once(choice);
    match (used, local_rank) {
        (DeviceChoice::Wgpu, Some(local_rank)) => {
            let discrete = hardware_gpu_adapters()
                .iter()
                .filter(|a| a.device_type == wgpu::DeviceType::DiscreteGpu)
                .count();
            let kind = adapter_for_rank(local_rank, discrete);
            tracing::info!(local_rank, adapter = ?kind, "this rank's wgpu adapter");
            (Device::wgpu(kind), used)
        }
        _ => (device, used),
    }
}

/// The adapter of the rank `local_rank` on a machine with `discrete`
/// discrete GPUs: ranks take them round-robin; without any, wgpu's default.
pub fn adapter_for_rank(local_rank: usize, discrete: usize) -> DeviceKind {
    if discrete == 0 {
        DeviceKind::DefaultDevice
    } else {
        DeviceKind::DiscreteGpu(local_rank % discrete)
    }
}

fn select_device_once(choice: DeviceChoice) -> (Device, DeviceChoice) {
    match choice {
        DeviceChoice::Auto => {
            let gpus = hardware_gpu_adapters();
            match gpus.first() {
                Some(gpu) => {
                    tracing::info!(adapter = %gpu.name, backend = ?gpu.backend, "using GPU through wgpu");
                    (Device::wgpu(DeviceKind::DefaultDevice), DeviceChoice::Wgpu)
                }
                None => {
                    tracing::warn!(
                        "no GPU adapter found; falling back to the CPU (flex). Pass --device wgpu to use a software adapter anyway"
                    );
                    (Device::flex(), DeviceChoice::Flex)
                }
            }
        }
        DeviceChoice::Cpu | DeviceChoice::Flex => (Device::flex(), DeviceChoice::Flex),
        // Deprecated upstream, selectable on purpose (see `DeviceChoice::Ndarray`).
        #[allow(deprecated)]
        DeviceChoice::Ndarray => (Device::ndarray(), DeviceChoice::Ndarray),
        DeviceChoice::Wgpu => (Device::wgpu(DeviceKind::DefaultDevice), DeviceChoice::Wgpu),
    }
}

/// Whether `device` is one of Burn's CPU backends (flex, ndarray). Read from
/// the device's debug name because Burn 0.22 exposes no backend query on `Device`.
pub fn is_cpu(device: &Device) -> bool {
    let name = format!("{device:?}");
    name.contains("Flex") || name.contains("NdArray")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_take_the_discrete_gpus_round_robin() {
        let kinds: Vec<DeviceKind> = (0..5).map(|r| adapter_for_rank(r, 2)).collect();
        assert_eq!(
            kinds,
            [0, 1, 0, 1, 0].map(DeviceKind::DiscreteGpu).to_vec(),
            "two GPUs, five ranks"
        );
        assert_eq!(adapter_for_rank(3, 0), DeviceKind::DefaultDevice);
    }
}
