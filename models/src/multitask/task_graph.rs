//! The task graph: which outputs a multi-task model has and how they relate.
//!
//! Each task has its own tower. A task is either
//! - **independent**: `p_t = σ(z_t)` (or `ŷ_t = z_t` for regression), or
//! - **progressive** on an earlier task `a` (ESMM, Ma et al. SIGIR 2018):
//!   `p_t = p_a · σ(z_t)`, where `σ(z_t)` is the conditional probability
//!   P(t | a). With `a` = click and `t` = click-and-convert this is
//!   `pCTCVR = pCTR × pCVR`, and both `p_a` and `p_t` are learned over all
//!   impressions.
//!
//! The feed case of three outputs is `click`, `click_like` (after `click`)
//! and `like` (independent, not conditioned on click).
//!
//! Probabilities are kept in log space, `log p_t = log p_a + log σ(z_t)`, so a
//! chain of small probabilities neither underflows nor loses precision.

use burn::prelude::*;
use burn::tensor::activation::log_sigmoid;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// 0/1 label, BCE loss, AUC.
    #[default]
    Binary,
    /// Real-valued label, MSE loss.
    Regression,
}

fn one() -> f64 {
    1.0
}

/// One task as declared in a run config (`[[tasks]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    pub name: String,
    /// The label column this task learns (default: the task's name).
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub kind: TaskKind,
    /// Progressive on this earlier task: `p = p(after) · σ(tower)`.
    #[serde(default)]
    pub after: Option<String>,
    /// Learn only on rows whose label column `observed_if` is 1 (e.g. a CVR
    /// model fitted on clicked impressions only: the biased baseline ESMM
    /// replaces).
    #[serde(default)]
    pub observed_if: Option<String>,
    /// Loss weight (fixed balancing; the starting weight for GradNorm).
    #[serde(default = "one")]
    pub weight: f64,
}

impl TaskSpec {
    pub fn binary(name: &str) -> Self {
        Self {
            name: name.into(),
            label: None,
            kind: TaskKind::Binary,
            after: None,
            observed_if: None,
            weight: 1.0,
        }
    }

    pub fn with_label(mut self, label: &str) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn after(mut self, parent: &str) -> Self {
        self.after = Some(parent.into());
        self
    }

    pub fn observed_if(mut self, label: &str) -> Self {
        self.observed_if = Some(label.into());
        self
    }

    pub fn regression(name: &str) -> Self {
        Self {
            kind: TaskKind::Regression,
            ..Self::binary(name)
        }
    }
}

/// A task with its references resolved to indices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub name: String,
    pub kind: TaskKind,
    /// Column of the data's labels.
    pub label: usize,
    /// Index of the task this one is progressive on.
    pub parent: Option<usize>,
    /// Label column that must be 1 for a row to count in this task's loss.
    pub observed_if: Option<usize>,
    pub weight: f64,
}

/// The resolved tasks, parents always before their children.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskGraph {
    pub tasks: Vec<Task>,
}

/// One task's output for a batch, each tensor `[B, 1]`.
// A handful live per step; boxing the binary variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum TaskOutput {
    Binary {
        /// `log p_t`.
        log_p: Tensor<2>,
        /// `log (1 − p_t)`.
        log_not_p: Tensor<2>,
        /// `z_t`: the tower's logit, i.e. the conditional probability's logit
        /// for a progressive task (pCVR for ESMM's CTCVR task).
        logit: Tensor<2>,
    },
    Regression {
        value: Tensor<2>,
    },
}

impl TaskOutput {
    /// `p_t` for a binary task, `ŷ_t` for a regression task.
    pub fn prediction(&self) -> Tensor<2> {
        match self {
            TaskOutput::Binary { log_p, .. } => log_p.clone().exp(),
            TaskOutput::Regression { value } => value.clone(),
        }
    }

    /// `σ(z_t)`: P(t | parent) for a progressive task, `p_t` for an
    /// independent one; the value for regression.
    pub fn conditional(&self) -> Tensor<2> {
        match self {
            TaskOutput::Binary { logit, .. } => burn::tensor::activation::sigmoid(logit.clone()),
            TaskOutput::Regression { value } => value.clone(),
        }
    }
}

impl TaskGraph {
    /// Resolves task names and label names against the data's label columns.
    pub fn resolve(specs: &[TaskSpec], labels: &[String]) -> Result<Self, String> {
        if specs.is_empty() {
            return Err("no tasks: declare at least one [[tasks]] entry".into());
        }
        let column = |what: &str, name: &str| {
            labels.iter().position(|l| l == name).ok_or_else(|| {
                format!(
                    "{what} '{name}' is not a label column of the data (labels: {})",
                    labels.join(", ")
                )
            })
        };
        let mut tasks: Vec<Task> = Vec::with_capacity(specs.len());
        for spec in specs {
            let name = &spec.name;
            if tasks.iter().any(|t| &t.name == name) {
                return Err(format!("task '{name}' is declared twice"));
            }
            if !(spec.weight.is_finite() && spec.weight >= 0.0) {
                return Err(format!(
                    "task '{name}': weight {} must be finite and ≥ 0",
                    spec.weight
                ));
            }
            let label = column(
                &format!("task '{name}': label"),
                spec.label.as_deref().unwrap_or(name),
            )?;
            let parent = match &spec.after {
                None => None,
                Some(p) => {
                    let i = tasks.iter().position(|t| &t.name == p).ok_or_else(|| {
                        if specs.iter().any(|s| &s.name == p) {
                            format!("task '{name}' is progressive on '{p}', which must be declared before it")
                        } else {
                            format!("task '{name}' is progressive on '{p}', which is not a task")
                        }
                    })?;
                    if spec.kind != TaskKind::Binary || tasks[i].kind != TaskKind::Binary {
                        return Err(format!(
                            "task '{name}' is progressive on '{p}': both must be binary (p = p_parent · σ(z))"
                        ));
                    }
                    Some(i)
                }
            };
            let observed_if = spec
                .observed_if
                .as_deref()
                .map(|l| column(&format!("task '{name}': observed_if"), l))
                .transpose()?;
            tasks.push(Task {
                name: name.clone(),
                kind: spec.kind,
                label,
                parent,
                observed_if,
                weight: spec.weight,
            });
        }
        Ok(Self { tasks })
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    pub fn names(&self) -> Vec<String> {
        self.tasks.iter().map(|t| t.name.clone()).collect()
    }

    pub fn has_progressive(&self) -> bool {
        self.tasks.iter().any(|t| t.parent.is_some())
    }

    /// Turns the towers' outputs `[B, T]` (one column per task) into each
    /// task's output, applying `p_t = p_parent · σ(z_t)` down the graph.
    pub fn outputs(&self, towers: Tensor<2>) -> Vec<TaskOutput> {
        let mut out: Vec<TaskOutput> = Vec::with_capacity(self.tasks.len());
        for (t, task) in self.tasks.iter().enumerate() {
            let z = towers.clone().narrow(1, t, 1);
            let output = match (task.kind, task.parent) {
                (TaskKind::Regression, _) => TaskOutput::Regression { value: z },
                (TaskKind::Binary, None) => TaskOutput::Binary {
                    log_p: log_sigmoid(z.clone()),
                    log_not_p: log_sigmoid(z.clone().neg()),
                    logit: z,
                },
                (TaskKind::Binary, Some(parent)) => {
                    let TaskOutput::Binary {
                        log_p: parent_log_p,
                        ..
                    } = &out[parent]
                    else {
                        unreachable!("resolve() admits only binary parents")
                    };
                    let log_p = parent_log_p.clone() + log_sigmoid(z.clone());
                    // log(1 − p), clamped so p → 1 stays finite.
                    let log_not_p = (log_p.clone().exp().neg() + 1.0).clamp_min(1e-12).log();
                    TaskOutput::Binary {
                        log_p,
                        log_not_p,
                        logit: z,
                    }
                }
            };
            out.push(output);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        ["click", "like", "purchase"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn the_feed_case_resolves() {
        let g = TaskGraph::resolve(
            &[
                TaskSpec::binary("click"),
                TaskSpec::binary("click_like")
                    .with_label("like")
                    .after("click"),
                TaskSpec::binary("like"),
            ],
            &labels(),
        )
        .unwrap();
        assert_eq!(g.tasks[1].parent, Some(0));
        assert_eq!(g.tasks[1].label, 1);
        assert_eq!(g.tasks[2].parent, None);
        assert!(g.has_progressive());
    }

    #[test]
    fn bad_graphs_are_explained() {
        let err = |specs: &[TaskSpec]| TaskGraph::resolve(specs, &labels()).unwrap_err();
        assert!(err(&[]).contains("no tasks"));
        assert!(err(&[TaskSpec::binary("nope")]).contains("'nope' is not a label column"));
        let e = err(&[
            TaskSpec::binary("like").after("click"),
            TaskSpec::binary("click"),
        ]);
        assert!(e.contains("must be declared before"), "{e}");
        assert!(err(&[TaskSpec::binary("click").after("ghost")]).contains("not a task"));
        let e = err(&[
            TaskSpec::regression("click"),
            TaskSpec::binary("like").after("click"),
        ]);
        assert!(e.contains("both must be binary"), "{e}");
        assert!(err(&[TaskSpec::binary("click"), TaskSpec::binary("click")]).contains("twice"));
        let e = err(&[TaskSpec::binary("like").observed_if("clik")]);
        assert!(e.contains("observed_if 'clik'"), "{e}");
    }

    #[test]
    fn progressive_probability_is_the_product_down_a_chain() {
        let device = Device::flex();
        let g = TaskGraph::resolve(
            &[
                TaskSpec::binary("click"),
                TaskSpec::binary("like").after("click"),
                TaskSpec::binary("purchase").after("like"),
            ],
            &labels(),
        )
        .unwrap();
        let z = [[0.3f32, -1.2, 2.0], [-30.0, 40.0, -5.0]];
        let out = g.outputs(Tensor::<2>::from_floats(z, &device));
        let sig = |x: f32| 1.0 / (1.0 + (-x).exp());
        for (r, row) in z.iter().enumerate() {
            let want = [
                sig(row[0]),
                sig(row[0]) * sig(row[1]),
                sig(row[0]) * sig(row[1]) * sig(row[2]),
            ];
            for t in 0..3 {
                let p = out[t].prediction().into_data().try_to_vec::<f32>().unwrap()[r];
                assert!(
                    (p - want[t]).abs() < 1e-6 * want[t].max(1e-3),
                    "{p} {want:?}"
                );
                let TaskOutput::Binary { log_not_p, .. } = &out[t] else {
                    panic!()
                };
                let q = log_not_p
                    .clone()
                    .exp()
                    .into_data()
                    .try_to_vec::<f32>()
                    .unwrap()[r];
                assert!((q - (1.0 - want[t])).abs() < 1e-5);
            }
        }
    }
}
