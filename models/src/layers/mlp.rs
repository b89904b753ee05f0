//! A multi-layer perceptron: `[Linear → (BatchNorm) → ReLU → (Dropout)]* → (Linear)`.

use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;

#[derive(Config, Debug)]
pub struct MlpConfig {
    pub d_input: usize,
    /// Hidden layer widths, e.g. `[400, 400, 400]`.
    pub hidden: Vec<usize>,
    /// Width of a final linear layer without activation (1 for a logit), if any.
    pub d_output: Option<usize>,
    #[config(default = false)]
    pub batch_norm: bool,
    #[config(default = 0.0)]
    pub dropout: f64,
}

#[derive(Module, Debug)]
pub struct Mlp {
    pub hidden: Vec<Linear>,
    pub norms: Vec<BatchNorm>,
    pub dropout: Dropout,
    pub output: Option<Linear>,
}

impl MlpConfig {
    pub fn init(&self, device: &Device) -> Mlp {
        let mut d_in = self.d_input;
        let mut hidden = Vec::new();
        let mut norms = Vec::new();
        for &width in &self.hidden {
            hidden.push(LinearConfig::new(d_in, width).init(device));
            if self.batch_norm {
                norms.push(BatchNormConfig::new(width).init(device));
            }
            d_in = width;
        }
        Mlp {
            hidden,
            norms,
            dropout: DropoutConfig::new(self.dropout).init(),
            output: self
                .d_output
                .map(|d| LinearConfig::new(d_in, d).init(device)),
        }
    }
}

impl Mlp {
    /// The width of what `forward` returns.
    pub fn d_output(&self) -> usize {
        match (&self.output, self.hidden.last()) {
            (Some(out), _) => out.weight.dims()[1],
            (None, Some(last)) => last.weight.dims()[1],
            (None, None) => 0,
        }
    }

    pub fn forward(&self, mut x: Tensor<2>) -> Tensor<2> {
        for (i, linear) in self.hidden.iter().enumerate() {
            x = linear.forward(x);
            if let Some(norm) = self.norms.get(i) {
                x = norm.forward(x);
            }
            x = self.dropout.forward(relu(x));
        }
        match &self.output {
            Some(out) => out.forward(x),
            None => x,
        }
    }
}
