//! The recommendation pipeline, assembled from a TOML file
//! ([`PipelineConfig`]): recall sources → coarse ranker → fine ranker →
//! re-ranker or mixer ([`mix`]), each stage keeping its quota. A request
//! may bring its own ranked `candidates` (an upstream ranker's), which
//! then replace recall and ranking. With `[[experiment]]` arms each user
//! is answered by their arm's version of the pipeline.
//!
//! Requests are served in batches (the server's micro-batcher hands over
//! whatever is queued): recall runs per user, but every ranking stage
//! scores the candidates of all requests of a batch in one forward pass.
//! A request-level problem (unknown user or item, bad `k`) fails that
//! request only; a model failure fails the batch.

pub mod config;
pub mod evaluate;
pub mod mix;
pub mod recall;
pub mod scorer;

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use ember_datasets::stats::{StatsConfig, stats_key};
use ember_models::artifact::Manifest;
use serde::{Deserialize, Serialize};

pub use config::{CatalogConfig, FeaturesConfig, PipelineConfig, StageConfig};
pub use mix::{MixerConfig, MixerStage};
pub use recall::{RecallConfig, RecallSource};
pub use scorer::ScoringModel;

use ember_datasets::interactions::{id_text, id_texts};

use crate::feature_store::{FeatureStore, KeyKind, StatEvent};
use crate::features::{Catalog, PairEncoder, StoredFields};
use crate::feed::experiment::Assignment;
use crate::feed::log::{MixerView, ServedItem};
use crate::feed::{Feed, Serving};
use crate::rerank::{CandidateSet, Categories, RerankerConfig};

/// The most items one request may ask for.
pub const MAX_K: usize = 1000;
/// Reciprocal-rank-fusion constant for merging recall sources (Cormack et
/// al., 2009): a candidate's recall score is `Σ_sources 1 / (60 + rank)`.
const RRF_K: f32 = 60.0;

/// Why one request could not be answered (the others of its batch are).
#[derive(Debug, Clone, PartialEq)]
pub enum RequestError {
    UnknownUser(String),
    UnknownItem(String),
    Invalid(String),
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestError::UnknownUser(u) => write!(f, "unknown user '{u}'"),
            RequestError::UnknownItem(i) => write!(f, "unknown item '{i}'"),
            RequestError::Invalid(m) => f.write_str(m),
        }
    }
}

/// `POST /recommend` body. Ids are given as the data writes them, as a
/// string or an integer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecommendRequest {
    #[serde(deserialize_with = "id_text")]
    pub user: String,
    /// Items wanted (default: the pipeline's `k`).
    #[serde(default)]
    pub k: Option<usize>,
    /// When the request is made (unix seconds; default now): statistic
    /// features are read as of this time.
    #[serde(default)]
    pub time: Option<u64>,
    /// Ranked candidates from an upstream ranker (their scores pCTRs):
    /// they replace recall and ranking, and then the user need not be in
    /// the catalog.
    #[serde(default)]
    pub candidates: Option<Vec<Candidate>>,
}

/// One of a request's own candidates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    #[serde(deserialize_with = "id_text")]
    pub item: String,
    pub score: f32,
}

/// `POST /score` body: the fine ranker's scores of the given items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreRequest {
    #[serde(deserialize_with = "id_text")]
    pub user: String,
    #[serde(deserialize_with = "id_texts")]
    pub items: Vec<String>,
    /// As in [`RecommendRequest::time`].
    #[serde(default)]
    pub time: Option<u64>,
}

/// One event of `POST /events`: a user was shown an item at `time` (unix
/// seconds), with the label of the model's task (1 = positive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    #[serde(deserialize_with = "id_text")]
    pub user: String,
    #[serde(deserialize_with = "id_text")]
    pub item: String,
    pub time: u64,
    pub label: f32,
}

/// `POST /events` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsRequest {
    pub events: Vec<EventRequest>,
}

/// The most events one `POST /events` may carry.
pub const MAX_EVENTS: usize = 100_000;

/// Now, in unix seconds.
fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredItem {
    pub item: String,
    pub score: f32,
    /// The slot's content type (a `[mixer]` pipeline's answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

/// The user row of a [`Ranked`] list for a user the catalog does not know
/// (a request with its own candidates; nothing reads it then).
pub const NO_USER: u32 = u32::MAX;

/// Candidates after the ranking stages, best first (item rows).
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    /// The user row ([`NO_USER`] for a user the catalog does not know).
    pub user: u32,
    /// The request's time (unix seconds), for statistic features.
    pub time: u64,
    pub rows: Vec<u32>,
    pub scores: Vec<f32>,
    /// Candidates recalled (all sources, deduplicated).
    pub recalled: usize,
}

/// A recommendation and what each stage kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub items: Vec<ScoredItem>,
    pub recalled: usize,
    pub ranked: usize,
    pub reranker: String,
    /// What `/feedback` names to say what the user did with these items.
    #[serde(default)]
    pub request_id: String,
    /// The user's session (a gap of `session_timeout` starts a new one).
    #[serde(default)]
    pub session: String,
    /// The experiment arm that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arm: Option<String>,
    /// The mixer's policy (a `[mixer]` pipeline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mixer: Option<String>,
}

/// One `[[experiment]]` arm of a loaded pipeline.
pub struct Arm {
    pub name: String,
    /// The arm's own version of the pipeline; `None`: the pipeline itself
    /// (an arm without overrides).
    pub variant: Option<Box<Pipeline>>,
}

/// A request that passed its checks.
struct CheckedRecommend {
    user: Option<u32>,
    k: usize,
    time: u64,
    /// The request's own candidates, as a ranked list.
    own: Option<Ranked>,
}

/// A ranking stage: a model, its feature encoder, its quota.
pub struct RankStage {
    pub model: ScoringModel,
    pub encoder: PairEncoder,
    pub quota: usize,
}

/// The statistic features a ranking artifact was trained with, if any:
/// its data config's `stats`.
fn trained_stats(artifact: &Path) -> Result<Option<StatsConfig>> {
    let manifest = Manifest::read(artifact)?;
    manifest
        .data
        .get("stats")
        .filter(|v| !v.is_null())
        .map(|v| serde_json::from_value(v.clone()))
        .transpose()
        .with_context(|| format!("{}: the data config's stats", artifact.display()))
}

impl RankStage {
    fn load(
        config: &StageConfig,
        catalog: &Catalog,
        device: ember_models::device::DeviceChoice,
        stored: Option<&StoredFields>,
    ) -> Result<Self> {
        let (model, pre) = ScoringModel::load(
            &config.artifact,
            device,
            config.fusion.as_deref(),
            config.fusion_form,
        )?;
        let stats = trained_stats(&config.artifact)?;
        let encoder = PairEncoder::new(&pre, catalog, stats.as_ref(), stored)
            .with_context(|| format!("{}: features", config.artifact.display()))?;
        Ok(Self {
            model,
            encoder,
            quota: config.quota,
        })
    }
}

/// A loaded pipeline.
pub struct Pipeline {
    pub config: PipelineConfig,
    pub catalog: Catalog,
    pub recall: Vec<RecallSource>,
    pub coarse: Option<RankStage>,
    pub fine: Option<RankStage>,
    /// Unit item vectors per item row (`[items, item_dim]`): the two-tower
    /// item vectors when a two-tower source is configured, else the
    /// catalog's (content vectors, or multi-hot categories).
    pub item_vectors: Vec<f32>,
    pub item_dim: usize,
    /// The feature store (`[features]`), shared by every version that names it.
    pub store: Option<Arc<FeatureStore>>,
    pub mixer: Option<MixerStage>,
    /// `[[experiment]]` arms (empty: no experiment).
    pub arms: Vec<Arm>,
    assignment: Option<Assignment>,
}

impl Pipeline {
    /// Reads and loads a pipeline file.
    pub fn load_file(path: &Path, overrides: &[String]) -> Result<Self> {
        let config = PipelineConfig::load(path, overrides)?;
        Self::load(config).with_context(|| format!("{}: cannot load the pipeline", path.display()))
    }

    pub fn load(config: PipelineConfig) -> Result<Self> {
        config.validate()?;
        let catalog = Catalog::load(&config.catalog.data, config.catalog.history_len)?;
        let recall = config
            .recall
            .iter()
            .enumerate()
            .map(|(i, r)| {
                RecallSource::load(r, &catalog, config.device)
                    .with_context(|| format!("recall[{i}]"))
            })
            .collect::<Result<Vec<_>>>()?;
        let stages = [&config.coarse, &config.fine];
        // The feature store, opened before the rankers, which may read it;
        // a new store counts as the first ranker with statistics was trained.
        let store = match &config.features {
            Some(f) => {
                let mut stats = None;
                for stage in stages.into_iter().flatten() {
                    stats = stats.or(trained_stats(&stage.artifact)?);
                }
                Some(FeatureStore::open_or_create(
                    &f.store,
                    &stats.unwrap_or_default(),
                )?)
            }
            None => None,
        };
        let stored = match (&config.features, &store) {
            (Some(f), Some(store)) if f.attributes => {
                let fields = |kind| -> Result<Vec<String>> {
                    Ok(store.attribute_fields(kind)?.unwrap_or_default())
                };
                let stored = StoredFields {
                    user: fields(KeyKind::User)?,
                    item: fields(KeyKind::Item)?,
                };
                if stored.user.is_empty() && stored.item.is_empty() {
                    anyhow::bail!(
                        "[features] attributes = true, but the store {} holds none: run `ember features import --pipeline FILE`",
                        store.dir.display()
                    );
                }
                Some(stored)
            }
            _ => None,
        };
        let load_stage =
            |c: &StageConfig| RankStage::load(c, &catalog, config.device, stored.as_ref());
        let coarse = config
            .coarse
            .as_ref()
            .map(|c| load_stage(c).context("coarse"))
            .transpose()?;
        let fine = config
            .fine
            .as_ref()
            .map(|c| load_stage(c).context("fine"))
            .transpose()?;
        let (item_vectors, item_dim) = recall
            .iter()
            .find_map(|r| match r {
                RecallSource::TwoTower { retriever, .. } => {
                    Some((retriever.items.as_slice().to_vec(), retriever.items.dim()))
                }
                _ => None,
            })
            .unwrap_or_else(|| (catalog.item_vectors.clone(), catalog.vector_dim));
        for (name, stage) in [("coarse", &coarse), ("fine", &fine)] {
            let Some(stats) = stage.as_ref().and_then(|s| s.encoder.stats()) else {
                continue;
            };
            match &store {
                None => anyhow::bail!(
                    "{name}: the model reads statistic features: give the pipeline [features] store = \"DIR\""
                ),
                Some(store) if store.config() != stats => anyhow::bail!(
                    "{name}: the model's statistic features count with {stats:?}, the store {} with {:?}",
                    store.dir.display(),
                    store.config()
                ),
                Some(_) => {}
            }
        }
        let mixer = config
            .mixer
            .as_ref()
            .map(|m| MixerStage::load(m, &catalog, config.device).context("mixer"))
            .transpose()?;
        let arms = config
            .experiment
            .iter()
            .map(|arm| {
                let variant = match (&arm.pipeline, arm.set.is_empty()) {
                    (None, true) => None,
                    (file, _) => Some(Box::new(
                        Self::load_arm(&config, file.as_deref(), &arm.set)
                            .with_context(|| format!("experiment arm '{}'", arm.name))?,
                    )),
                };
                Ok(Arm {
                    name: arm.name.clone(),
                    variant,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let assignment = (!arms.is_empty()).then(|| {
            let shares: Vec<f64> = config.experiment.iter().map(|a| a.share).collect();
            Assignment::new(&config.name, &shares)
        });
        Ok(Self {
            config,
            catalog,
            recall,
            coarse,
            fine,
            item_vectors,
            item_dim,
            store,
            mixer,
            arms,
            assignment,
        })
    }

    /// An arm's version: `file` (default: this pipeline's config) with the
    /// arm's overrides, and no experiment of its own.
    fn load_arm(
        config: &PipelineConfig,
        file: Option<&Path>,
        overrides: &[String],
    ) -> Result<Self> {
        let mut arm = match file {
            Some(file) => PipelineConfig::load(file, overrides)?,
            None => {
                let mut value = toml::Value::try_from(config).context("the pipeline as TOML")?;
                ember_datasets::toml_config::apply_overrides(&mut value, overrides)?;
                value.try_into().context("not a valid pipeline")?
            }
        };
        arm.experiment.clear();
        Self::load(arm)
    }

    /// The arm `user` is in (`None` without an experiment).
    pub fn arm_of(&self, user: &str) -> Option<&Arm> {
        let assignment = self.assignment.as_ref()?;
        self.arms.get(assignment.arm_of(user))
    }

    /// Counts `events` in the feature store (`POST /events`).
    pub fn observe(
        &self,
        events: &[EventRequest],
    ) -> Result<std::result::Result<usize, RequestError>> {
        let Some(store) = &self.store else {
            return Ok(Err(RequestError::Invalid(
                "this pipeline has no feature store ([features] store = \"DIR\")".into(),
            )));
        };
        if events.is_empty() || events.len() > MAX_EVENTS {
            return Ok(Err(RequestError::Invalid(format!(
                "events: {} given, must be 1..={MAX_EVENTS}",
                events.len()
            ))));
        }
        if let Some((i, e)) = events
            .iter()
            .enumerate()
            .find(|(_, e)| !(0.0..=1.0).contains(&e.label))
        {
            return Ok(Err(RequestError::Invalid(format!(
                "events[{i}].label = {}: must be in [0, 1]",
                e.label
            ))));
        }
        let stat_events: Vec<StatEvent> = events
            .iter()
            .map(|e| StatEvent {
                user: stats_key(&e.user),
                item: stats_key(&e.item),
                time: e.time,
                positive: e.label >= 0.5,
            })
            .collect();
        store.observe(&stat_events)?;
        Ok(Ok(events.len()))
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Recall (all sources, merged by reciprocal rank), for one user row.
    pub(crate) fn recall_user(&self, user: u32) -> Result<Ranked> {
        let history = self.catalog.history(user);
        let mut seen = history.to_vec();
        seen.sort_unstable();
        seen.dedup();
        let mut fused: Vec<(u32, f32)> = Vec::new();
        for source in &self.recall {
            let found = source
                .recall(&self.catalog, user, history, &seen)
                .with_context(|| format!("recall {}", source.name()))?;
            for (rank, row) in found.into_iter().enumerate() {
                let vote = 1.0 / (RRF_K + rank as f32 + 1.0);
                match fused.iter_mut().find(|(r, _)| *r == row) {
                    Some((_, s)) => *s += vote,
                    None => fused.push((row, vote)),
                }
            }
        }
        fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(Ranked {
            user,
            time: 0,
            recalled: fused.len(),
            rows: fused.iter().map(|&(r, _)| r).collect(),
            scores: fused.iter().map(|&(_, s)| s).collect(),
        })
    }

    /// Scores every list of `lists` with `stage` in one forward pass, then
    /// sorts each by score and keeps the stage's quota.
    pub(crate) fn rank_stage(&self, stage: &RankStage, lists: &mut [&mut Ranked]) -> Result<()> {
        let total = lists.iter().map(|l| l.rows.len()).sum();
        let mut rows = stage.encoder.start(total);
        // One read transaction for the batch's statistic features.
        let mut reader = self.stats_reader(stage)?;
        for list in lists.iter() {
            stage.encoder.push_pairs(
                &self.catalog,
                list.user,
                &list.rows,
                reader.as_mut(),
                list.time,
                &mut rows,
            )?;
        }
        let scores = stage.model.score(&rows);
        let mut offset = 0;
        for list in lists.iter_mut() {
            let n = list.rows.len();
            let mut pairs: Vec<(u32, f32)> = list
                .rows
                .iter()
                .copied()
                .zip(scores[offset..offset + n].iter().copied())
                .collect();
            offset += n;
            pairs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            pairs.truncate(stage.quota);
            list.rows = pairs.iter().map(|&(r, _)| r).collect();
            list.scores = pairs.iter().map(|&(_, s)| s).collect();
        }
        Ok(())
    }

    /// A read view of the feature store if `stage` reads statistic features.
    fn stats_reader(
        &self,
        stage: &RankStage,
    ) -> Result<Option<crate::feature_store::StoreReader<'_>>> {
        match &self.store {
            Some(store) if stage.encoder.needs_store() => Ok(Some(store.reader()?)),
            _ => Ok(None),
        }
    }

    /// Recall, coarse and fine ranking for a batch of user rows, now.
    pub fn rank(&self, users: &[u32]) -> Result<Vec<Ranked>> {
        let now = now_seconds();
        let at: Vec<(u32, u64)> = users.iter().map(|&u| (u, now)).collect();
        self.rank_at(&at)
    }

    /// Recall, coarse and fine ranking for a batch of (user row, time).
    pub fn rank_at(&self, users: &[(u32, u64)]) -> Result<Vec<Ranked>> {
        let mut out = users
            .iter()
            .map(|&(u, t)| {
                let mut ranked = self.recall_user(u)?;
                ranked.time = t;
                Ok(ranked)
            })
            .collect::<Result<Vec<_>>>()?;
        for stage in [&self.coarse, &self.fine].into_iter().flatten() {
            let mut lists: Vec<&mut Ranked> = out.iter_mut().collect();
            self.rank_stage(stage, &mut lists)?;
        }
        Ok(out)
    }

    /// What a re-ranker sees of a ranked list.
    pub fn candidate_set(&self, ranked: &Ranked) -> CandidateSet {
        let d = self.item_dim;
        let mut vectors = Vec::with_capacity(ranked.rows.len() * d);
        for &r in &ranked.rows {
            vectors.extend_from_slice(&self.item_vectors[r as usize * d..(r as usize + 1) * d]);
        }
        CandidateSet {
            scores: ranked.scores.clone(),
            vectors,
            dim: d,
            categories: Categories::from_lists(
                ranked
                    .rows
                    .iter()
                    .map(|&r| self.catalog.categories.of(r as usize).iter().copied()),
            ),
        }
    }

    /// The top `k` of a ranked list after `reranker`, as (corpus row, score).
    pub fn rerank(
        &self,
        ranked: &Ranked,
        reranker: &RerankerConfig,
        k: usize,
    ) -> Result<Vec<(u32, f32)>> {
        let order = reranker.rerank(&self.candidate_set(ranked), k)?;
        Ok(order
            .into_iter()
            .map(|i| (ranked.rows[i], ranked.scores[i]))
            .collect())
    }

    /// Answers a batch of `/recommend` requests: each user by their
    /// experiment arm's version, every answer recorded in `feed` (its
    /// request id; the mixer's session state).
    pub fn recommend_batch(
        &self,
        requests: &[RecommendRequest],
        feed: &Feed,
    ) -> Result<Vec<std::result::Result<Recommendation, RequestError>>> {
        let Some(assignment) = &self.assignment else {
            return self.recommend_arm(requests, feed, None);
        };
        let arm_of: Vec<usize> = requests
            .iter()
            .map(|r| assignment.arm_of(&r.user))
            .collect();
        let mut out: Vec<Option<std::result::Result<Recommendation, RequestError>>> =
            vec![None; requests.len()];
        for (a, arm) in self.arms.iter().enumerate() {
            let mine: Vec<usize> = (0..requests.len()).filter(|&i| arm_of[i] == a).collect();
            if mine.is_empty() {
                continue;
            }
            let batch: Vec<RecommendRequest> = mine.iter().map(|&i| requests[i].clone()).collect();
            let version = arm.variant.as_deref().unwrap_or(self);
            let answers = version.recommend_arm(&batch, feed, Some(&arm.name))?;
            for (i, answer) in mine.into_iter().zip(answers) {
                out[i] = Some(answer);
            }
        }
        Ok(out
            .into_iter()
            .map(|a| a.expect("every request is in one arm"))
            .collect())
    }

    /// Checks a `/recommend` request; its own candidates become a ranked list.
    fn check_recommend(
        &self,
        r: &RecommendRequest,
        now: u64,
    ) -> std::result::Result<CheckedRecommend, RequestError> {
        let k = r.k.unwrap_or(self.config.k);
        if k == 0 || k > MAX_K {
            return Err(RequestError::Invalid(format!(
                "k = {k}: must be in 1..={MAX_K}"
            )));
        }
        let user = self.catalog.user_row(&r.user);
        let time = r.time.unwrap_or(now);
        let own = match &r.candidates {
            None if user.is_none() => return Err(RequestError::UnknownUser(r.user.clone())),
            None => None,
            Some(candidates) => {
                if candidates.is_empty() || candidates.len() > 10 * MAX_K {
                    return Err(RequestError::Invalid(format!(
                        "candidates: {} given, must be 1..={}",
                        candidates.len(),
                        10 * MAX_K
                    )));
                }
                let mut list = Vec::with_capacity(candidates.len());
                for (i, c) in candidates.iter().enumerate() {
                    if !c.score.is_finite() {
                        return Err(RequestError::Invalid(format!(
                            "candidates[{i}].score = {}: must be a finite number",
                            c.score
                        )));
                    }
                    let row = self
                        .catalog
                        .item_row(&c.item)
                        .ok_or_else(|| RequestError::UnknownItem(c.item.clone()))?;
                    list.push((row, c.score));
                }
                list.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                Some(Ranked {
                    user: user.unwrap_or(NO_USER),
                    time,
                    recalled: list.len(),
                    rows: list.iter().map(|&(r, _)| r).collect(),
                    scores: list.iter().map(|&(_, s)| s).collect(),
                })
            }
        };
        Ok(CheckedRecommend { user, k, time, own })
    }

    /// Answers requests with this version, as experiment arm `arm`.
    fn recommend_arm(
        &self,
        requests: &[RecommendRequest],
        feed: &Feed,
        arm: Option<&str>,
    ) -> Result<Vec<std::result::Result<Recommendation, RequestError>>> {
        let now = now_seconds();
        let now_ms = crate::feed::now_ms();
        let checked: Vec<_> = requests
            .iter()
            .map(|r| self.check_recommend(r, now))
            .collect();
        // Requests without candidates of their own are recalled and ranked together.
        let users: Vec<(u32, u64)> = checked
            .iter()
            .flatten()
            .filter(|c| c.own.is_none())
            .map(|c| (c.user.expect("checked: a known user"), c.time))
            .collect();
        let mut ranked = self.rank_at(&users)?.into_iter();
        let mut answers = Vec::with_capacity(requests.len());
        let mut servings = Vec::new();
        for (request, checked) in requests.iter().zip(checked) {
            let checked = match checked {
                Ok(c) => c,
                Err(e) => {
                    answers.push(Err(e));
                    continue;
                }
            };
            let list = match checked.own {
                Some(own) => own,
                None => ranked.next().expect("one ranked list per request to rank"),
            };
            let (items, served) =
                self.final_stage(&list, &request.user, checked.k, feed, now_ms)?;
            servings.push(Serving {
                user: request.user.clone(),
                arm: arm.unwrap_or_default().to_owned(),
                items: served,
            });
            answers.push(Ok(Recommendation {
                items,
                recalled: list.recalled,
                ranked: list.rows.len(),
                reranker: self.config.rerank.name().to_owned(),
                request_id: String::new(),
                session: String::new(),
                arm: arm.map(str::to_owned),
                mixer: self.mixer.as_ref().map(MixerStage::policy_name),
            }));
        }
        let mut ids = feed.serve(servings, now_ms)?.into_iter();
        for answer in answers.iter_mut().flatten() {
            let id = ids.next().expect("one id per answer");
            answer.request_id = id.request;
            answer.session = id.session;
        }
        Ok(answers)
    }

    /// The last stage: the mixer (types from the user's session in
    /// `feed`) or the re-ranker; the answer's items and what the feed
    /// records of them.
    fn final_stage(
        &self,
        list: &Ranked,
        user: &str,
        k: usize,
        feed: &Feed,
        now_ms: u64,
    ) -> Result<(Vec<ScoredItem>, Vec<ServedItem>)> {
        let picked: Vec<(u32, f32, Option<MixerView>)> = match &self.mixer {
            Some(mixer) => mixer
                .fill(
                    &list.rows,
                    &list.scores,
                    &feed.session_slots(user, now_ms),
                    k,
                )?
                .into_iter()
                .map(|s| {
                    (
                        list.rows[s.index],
                        list.scores[s.index],
                        Some((s.content_type, s.pctr)),
                    )
                })
                .collect(),
            None => self
                .rerank(list, &self.config.rerank, k)?
                .into_iter()
                .map(|(row, score)| (row, score, None))
                .collect(),
        };
        let type_name = |t: &Option<MixerView>| {
            t.as_ref()
                .zip(self.mixer.as_ref())
                .map(|((t, _), m)| m.type_name(*t).to_owned())
        };
        let items = picked
            .iter()
            .map(|(row, score, t)| ScoredItem {
                item: self.catalog.item_id(*row).to_owned(),
                score: *score,
                content_type: type_name(t),
            })
            .collect();
        let served = picked
            .into_iter()
            .map(|(row, _, t)| ServedItem {
                item: self.catalog.item_id(row).to_owned(),
                content_type: type_name(&t),
                mixer: t,
            })
            .collect();
        Ok((items, served))
    }

    /// Answers a batch of `/score` requests with the fine ranker, all rows
    /// in one forward pass.
    pub fn score_batch(
        &self,
        requests: &[ScoreRequest],
    ) -> Result<Vec<std::result::Result<Vec<f32>, RequestError>>> {
        let Some(stage) = self.fine.as_ref().or(self.coarse.as_ref()) else {
            return Ok(requests
                .iter()
                .map(|_| {
                    Err(RequestError::Invalid(
                        "this pipeline has no ranking model to score with".into(),
                    ))
                })
                .collect());
        };
        let mut checked = Vec::with_capacity(requests.len());
        let mut total = 0;
        for r in requests {
            let rows = self.check_score_request(r);
            total += rows.as_ref().map_or(0, |(_, items)| items.len());
            checked.push(rows);
        }
        let mut data = stage.encoder.start(total);
        let mut reader = self.stats_reader(stage)?;
        let now = now_seconds();
        for (r, rows) in requests.iter().zip(&checked) {
            if let Ok((user, items)) = rows {
                stage.encoder.push_pairs(
                    &self.catalog,
                    *user,
                    items,
                    reader.as_mut(),
                    r.time.unwrap_or(now),
                    &mut data,
                )?;
            }
        }
        let scores = stage.model.score(&data);
        let mut offset = 0;
        Ok(checked
            .into_iter()
            .map(|rows| {
                rows.map(|(_, items)| {
                    let s = scores[offset..offset + items.len()].to_vec();
                    offset += items.len();
                    s
                })
            })
            .collect())
    }

    /// The user row and item rows of a `/score` request.
    fn check_score_request(
        &self,
        r: &ScoreRequest,
    ) -> std::result::Result<(u32, Vec<u32>), RequestError> {
        let user = self
            .catalog
            .user_row(&r.user)
            .ok_or_else(|| RequestError::UnknownUser(r.user.clone()))?;
        if r.items.is_empty() || r.items.len() > 10 * MAX_K {
            return Err(RequestError::Invalid(format!(
                "items: {} given, must be 1..={}",
                r.items.len(),
                10 * MAX_K
            )));
        }
        let items = r
            .items
            .iter()
            .map(|i| {
                self.catalog
                    .item_row(i)
                    .ok_or_else(|| RequestError::UnknownItem(i.clone()))
            })
            .collect::<std::result::Result<_, _>>()?;
        Ok((user, items))
    }
}
