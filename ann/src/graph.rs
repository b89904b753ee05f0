//! The HNSW graph that `instant-distance` builds, in the crate's own layout,
//! and the search over it.
//!
//! The crate builds the graph well but searches it only one way: a fixed
//! width (`ef_search`, chosen at build time) and no filter. Serving needs
//! both a wider search than that when K is large and results that leave out
//! the user's seen items, so the search is ours. The crate keeps its graph
//! private; its serde form is public, though, since it is what the index
//! file holds. [`GraphMap`] mirrors that form field for field (the tests
//! check that it decodes and re-encodes the crate's bytes unchanged), so a
//! graph the crate built is read into it, and index files keep their format.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use instant_distance::{HnswMap, Point};
use serde::{Deserialize, Serialize};
use serde_big_array::BigArray;

use crate::Neighbour;
use crate::vectors::dot;

/// Links per node on the upper layers (the crate's `M`); the bottom layer
/// has `2 * M`.
const M: usize = 32;

/// Marks the end of a node's links (the crate's `INVALID` point id).
const NO_LINK: u32 = u32::MAX;

/// One stored vector; `Point` is how the crate measures distance while it
/// builds: `1 − u·v`, which orders unit vectors as the cosine does.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Unit(pub(crate) Vec<f32>);

impl Point for Unit {
    fn distance(&self, other: &Self) -> f32 {
        1.0 - dot(&self.0, &other.0)
    }
}

/// A bottom-layer node's links, nearest first, ended by [`NO_LINK`] when
/// fewer than `2M`. `BigArray` because serde derives arrays up to 32 only
/// (the crate does the same, so the bytes agree).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ZeroNode(#[serde(with = "BigArray")] [u32; 2 * M]);

/// An upper-layer node's links.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct UpperNode([u32; M]);

/// The crate's `Hnsw<Unit>`. Nodes are numbered so that the nodes of every
/// layer are a prefix `0..len` of the nodes of the layer below; node 0 is
/// on every layer and is where a search enters.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Graph {
    /// The crate's search width; unused (ours is in `HnswParams`), kept
    /// because it is part of the file.
    ef_search: usize,
    points: Vec<Unit>,
    zero: Vec<ZeroNode>,
    /// `layers[l - 1]` is layer `l ≥ 1`.
    layers: Vec<Vec<UpperNode>>,
}

/// The crate's `HnswMap<Unit, u32>`: the graph and, per node, the row of
/// its vector in the original set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct GraphMap {
    hnsw: Graph,
    pub(crate) values: Vec<u32>,
}

/// What one search found and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Up to K rows, best first, none of them excluded.
    pub neighbours: Vec<Neighbour>,
    /// Vectors the search compared with the query, on all layers: its cost
    /// (an exact scan compares every vector once).
    pub visited: usize,
}

impl GraphMap {
    /// The graph the crate built, read through its serde form.
    pub(crate) fn from_built(map: &HnswMap<Unit, u32>) -> Self {
        let bytes = bincode::serialize(map).expect("an in-memory graph serialises");
        bincode::deserialize(&bytes)
            .expect("instant-distance lays its graph out as GraphMap (see the tests)")
    }

    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    pub(crate) fn points(&self) -> impl Iterator<Item = &[f32]> {
        self.hnsw.points.iter().map(|p| p.0.as_slice())
    }

    /// Checks what a search relies on, so that a file that decodes but does
    /// not describe a graph is an error rather than a panic mid-search: one
    /// point and one bottom-layer node per value, each upper layer a
    /// non-empty prefix of the one below, every link naming a node of its
    /// own layer.
    pub(crate) fn check(&self) -> Result<(), String> {
        let g = &self.hnsw;
        let n = self.values.len();
        if g.points.len() != n || g.zero.len() != n {
            return Err(format!(
                "{n} values, {} points and {} bottom-layer nodes",
                g.points.len(),
                g.zero.len()
            ));
        }
        check_links(g.zero.iter().map(|z| &z.0[..]), n, 0)?;
        let mut below = n;
        for (i, layer) in g.layers.iter().enumerate() {
            if layer.is_empty() || layer.len() > below {
                return Err(format!(
                    "layer {} has {} nodes, the layer below {below}",
                    i + 1,
                    layer.len()
                ));
            }
            check_links(layer.iter().map(|u| &u.0[..]), layer.len(), i + 1)?;
            below = layer.len();
        }
        Ok(())
    }

    /// The `k` rows nearest `query` among those `is_excluded` lets through,
    /// searching the bottom layer `ef` wide (`ef ≥ k` for `k` results).
    ///
    /// The descent through the upper layers is the crate's (greedy, one
    /// node per layer) and ignores the filter: an excluded node is as good
    /// a waypoint as any. On the bottom layer excluded nodes are expanded
    /// like the others but never enter the result list, and the search
    /// stops only once that list holds `ef` admitted nodes all nearer than
    /// the next candidate. Exclusions therefore widen the search instead of
    /// eating into its `ef` results, and a search that ends with fewer than
    /// `ef` has visited every node it can reach from its entry point: no
    /// wider search would find more. With nothing excluded it visits and
    /// returns exactly what the crate's own search does.
    pub(crate) fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        is_excluded: impl Fn(u32) -> bool,
    ) -> Found {
        let g = &self.hnsw;
        if g.points.is_empty() || k == 0 {
            return Found {
                neighbours: Vec::new(),
                visited: 0,
            };
        }
        let mut search = Search {
            query,
            points: &g.points,
            stamps: vec![0; g.points.len()],
            stamp: 0,
            candidates: BinaryHeap::new(),
            nearest: Vec::new(),
            visited: 0,
        };
        let mut entry = search.measure(0);
        for layer in g.layers.iter().rev() {
            search.layer(entry, |node| &layer[node as usize].0[..], 1, |_| false);
            entry = search.nearest[0];
        }
        let row = |node: u32| self.values[node as usize];
        search.layer(
            entry,
            |node| &g.zero[node as usize].0[..],
            ef.max(1),
            |node| is_excluded(row(node)),
        );
        Found {
            neighbours: search
                .nearest
                .iter()
                .take(k)
                .map(|c| Neighbour {
                    id: row(c.node),
                    score: 1.0 - c.distance,
                })
                .collect(),
            visited: search.visited,
        }
    }
}

/// Errors unless every link of `nodes` (each list ended by the first
/// [`NO_LINK`]) names one of the `len` nodes of the layer.
fn check_links<'a>(
    nodes: impl Iterator<Item = &'a [u32]>,
    len: usize,
    layer: usize,
) -> Result<(), String> {
    for (node, links) in nodes.enumerate() {
        if let Some(&bad) = links_of(links).iter().find(|&&l| l as usize >= len) {
            return Err(format!(
                "node {node} of layer {layer} links to node {bad}, the layer has {len}"
            ));
        }
    }
    Ok(())
}

/// A node's links up to the first [`NO_LINK`].
fn links_of(links: &[u32]) -> &[u32] {
    let end = links.iter().position(|&l| l == NO_LINK);
    &links[..end.unwrap_or(links.len())]
}

/// A node and its distance to the query, ordered by distance, then node
/// (the crate's order, so ties break as it breaks them).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Candidate {
    distance: f32,
    node: u32,
}

impl Eq for Candidate {}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.distance
            .total_cmp(&other.distance)
            .then(self.node.cmp(&other.node))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The state of one query's search (algorithm 2 of Malkov & Yashunin).
struct Search<'a> {
    query: &'a [f32],
    points: &'a [Unit],
    /// `stamps[node] == stamp`: visited on the current layer. A new layer
    /// takes a new stamp instead of clearing the vector.
    stamps: Vec<u32>,
    stamp: u32,
    /// Nodes to expand, nearest first (`C` in the paper).
    candidates: BinaryHeap<Reverse<Candidate>>,
    /// The admitted nodes found so far, nearest first (`W`).
    nearest: Vec<Candidate>,
    /// Distance computations so far.
    visited: usize,
}

impl Search<'_> {
    fn measure(&mut self, node: u32) -> Candidate {
        self.visited += 1;
        Candidate {
            distance: 1.0 - dot(self.query, &self.points[node as usize].0),
            node,
        }
    }

    /// Searches one layer from `entry`, leaving its `ef` nearest admitted
    /// nodes in `self.nearest`. `links(node)` are the node's links on this
    /// layer; nodes for which `excluded` holds are expanded, never kept.
    fn layer<'l>(
        &mut self,
        entry: Candidate,
        links: impl Fn(u32) -> &'l [u32],
        ef: usize,
        excluded: impl Fn(u32) -> bool,
    ) {
        // Like the crate's `cull`: the layer starts from the entry alone.
        self.stamp += 1;
        self.stamps[entry.node as usize] = self.stamp;
        self.candidates.clear();
        self.candidates.push(Reverse(entry));
        self.nearest.clear();
        if !excluded(entry.node) {
            self.nearest.push(entry);
        }
        // Is `c` among the `ef` best admitted so far? (With fewer than `ef`
        // admitted, everything is: the search goes on until it has `ef`.)
        let admits =
            |nearest: &[Candidate], c: &Candidate| nearest.len() < ef || *c < nearest[ef - 1];
        while let Some(Reverse(candidate)) = self.candidates.pop() {
            // Every candidate left is further than the `ef`-th result.
            if self.nearest.len() >= ef && candidate.distance > self.nearest[ef - 1].distance {
                break;
            }
            for &node in links_of(links(candidate.node)) {
                let seen = &mut self.stamps[node as usize];
                if *seen == self.stamp {
                    continue;
                }
                *seen = self.stamp;
                let c = self.measure(node);
                if !admits(&self.nearest, &c) {
                    continue;
                }
                self.candidates.push(Reverse(c));
                if !excluded(node) {
                    let at = self.nearest.binary_search(&c).unwrap_or_else(|i| i);
                    self.nearest.insert(at, c);
                }
            }
            // Trimmed once per expansion, as the crate does: until then
            // `nearest[ef - 1]` is the bar a new node has to beat.
            self.nearest.truncate(ef);
        }
    }
}

#[cfg(test)]
mod tests {
    use instant_distance::{Builder, Search as TheirSearch};

    use super::*;
    use crate::synthetic::{ClusteredSpec, clustered};

    fn built(count: usize) -> (crate::VectorSet, HnswMap<Unit, u32>) {
        let items = clustered(&ClusteredSpec {
            count,
            dim: 16,
            clusters: 30,
            spread: 0.3,
            seed: 1,
        });
        let points = items.rows().map(|r| Unit(r.to_vec())).collect();
        let rows = (0..count as u32).collect();
        let map = Builder::default()
            .ef_construction(100)
            .ef_search(50)
            .seed(7)
            .build(points, rows);
        (items, map)
    }

    #[test]
    fn reads_the_crates_graph_unchanged_and_searches_it_as_the_crate_does() {
        // 3,000 points make four layers, so the descent is exercised too.
        let (_, map) = built(3000);
        let bytes = bincode::serialize(&map).unwrap();
        let graph: GraphMap = bincode::deserialize(&bytes).unwrap();
        assert_eq!(bincode::serialize(&graph).unwrap(), bytes);
        assert!(graph.hnsw.layers.len() >= 2, "{}", graph.hnsw.layers.len());
        graph.check().unwrap();

        let queries = clustered(&ClusteredSpec {
            count: 50,
            dim: 16,
            clusters: 30,
            spread: 0.3,
            seed: 2,
        });
        let mut theirs = TheirSearch::default();
        for q in queries.rows() {
            let want: Vec<(u32, f32)> = map
                .search(&Unit(q.to_vec()), &mut theirs)
                .map(|item| (*item.value, 1.0 - item.distance))
                .collect();
            let found = graph.search(q, 50, 50, |_| false);
            let got: Vec<(u32, f32)> = found.neighbours.iter().map(|n| (n.id, n.score)).collect();
            assert_eq!(got, want);
            assert!(found.visited >= 50, "{}", found.visited);
        }
    }

    #[test]
    fn a_graph_whose_links_leave_their_layer_is_rejected() {
        let (_, map) = built(3000);
        let good = GraphMap::from_built(&map);

        let mut bad = good.clone();
        bad.hnsw.zero[5].0[0] = 3003;
        let err = bad.check().unwrap_err();
        assert!(
            err.contains("node 5 of layer 0 links to node 3003"),
            "{err}"
        );
        // An index file holding it (with a valid checksum) does not load.
        let payload = bincode::serialize(&(crate::HnswParams::default(), &bad)).unwrap();
        let file = crate::format::encode(b"EMBERHNS", 1, [3000, 16, 0, 0], &payload);
        let err = crate::HnswIndex::from_bytes(&file, std::path::Path::new("x.hnsw"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("x.hnsw: not a searchable graph: node 5"),
            "{err}"
        );

        // A link past the end of an upper layer names a node that is only
        // on the layers below.
        let mut bad = good.clone();
        let top = bad.hnsw.layers.len();
        let len = bad.hnsw.layers[top - 1].len() as u32;
        bad.hnsw.layers[top - 1][0].0[0] = len;
        let err = bad.check().unwrap_err();
        assert!(
            err.contains(&format!("layer {top} links to node {len}")),
            "{err}"
        );

        let mut bad = good.clone();
        bad.hnsw.layers[0].extend(std::iter::repeat_n(UpperNode([NO_LINK; M]), 3000));
        assert!(bad.check().unwrap_err().contains("layer 1 has"));

        let mut bad = good;
        bad.values.pop();
        assert!(bad.check().unwrap_err().contains("2999 values"));
    }
}
