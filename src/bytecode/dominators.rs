//! Depth-first traversals, dominators, post-dominators and dominance frontiers of a directed
//! graph given as successor lists: the blocks and edges of a [`super::cfg::Cfg`], where
//! every edge counts whatever its kind (normal, jump and exception edges alike: a handler
//! is entered from the blocks its range covers, so they dominate it as much as any
//! predecessor does).
//!
//! Conventions (nodes are `0..n`, successors visited in the order given, repeats allowed):
//! - Traversals start at the entry; nodes it does not reach are in none of them.
//! - Immediate dominators by the iterative algorithm of Cooper, Harvey and Kennedy ("A
//!   Simple, Fast Dominance Algorithm", 2001) over reverse post-order. The entry has no
//!   immediate dominator; neither has an unreachable node, which dominates nothing and is
//!   dominated by nothing.
//! - The dominance frontier of `x` is, by definition, every `y` such that `x` dominates a
//!   predecessor of `y` but does not strictly dominate `y`; only reachable predecessors
//!   count. Computed by the same paper's walk up the dominator tree from each predecessor.
//!   An entry with predecessors (a loop back to the first block) is in its own frontier.
//! - Post-dominators are the dominators of the reverse graph with one virtual exit node
//!   (numbered `n`) whose reverse edges go to every node without successors (a return, a
//!   raise, a re-raise that no handler covers). A node from which no exit can be reached
//!   (an endless loop) has no immediate post-dominator.

/// The orders of a depth-first search.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Traversal {
    /// Nodes in the order the search first reaches them.
    pub preorder: Vec<usize>,
    /// Nodes in the order the search finishes them (after all their successors).
    pub postorder: Vec<usize>,
}

impl Traversal {
    /// The reverse of [`Traversal::postorder`]: every node before its successors except
    /// along back edges (the order forward data-flow problems converge fastest in).
    pub fn reverse_postorder(&self) -> Vec<usize> {
        self.postorder.iter().rev().copied().collect()
    }
}

/// Depth-first search of `succs` from `entry`, successors in list order. `entry` must be a
/// node (`< succs.len()`).
pub fn depth_first(succs: &[Vec<usize>], entry: usize) -> Traversal {
    let mut seen = vec![false; succs.len()];
    let mut out = Traversal::default();
    // (node, index of the next successor to look at)
    let mut stack = vec![(entry, 0usize)];
    seen[entry] = true;
    out.preorder.push(entry);
    while let Some(top) = stack.last_mut() {
        let (node, next) = *top;
        match succs[node].get(next) {
            Some(&s) => {
                top.1 += 1;
                if !seen[s] {
                    seen[s] = true;
                    out.preorder.push(s);
                    stack.push((s, 0));
                }
            }
            None => {
                out.postorder.push(node);
                stack.pop();
            }
        }
    }
    out
}

/// The predecessor lists of `succs`, each in ascending order of the predecessor (a
/// predecessor with two edges to a node is listed twice).
pub fn predecessors(succs: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut preds = vec![Vec::new(); succs.len()];
    for (from, list) in succs.iter().enumerate() {
        for &to in list {
            preds[to].push(from);
        }
    }
    preds
}

/// The dominator tree of a graph from an entry node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dominators {
    /// The entry node.
    pub entry: usize,
    /// Immediate dominator of each node: `None` for the entry and unreachable nodes.
    pub idom: Vec<Option<usize>>,
    /// Whether each node is reachable from the entry.
    pub reachable: Vec<bool>,
    /// The depth-first search from the entry the computation used.
    pub traversal: Traversal,
}

impl Dominators {
    /// Computes the immediate dominators of every node of `succs` from `entry` (Cooper,
    /// Harvey, Kennedy). `entry` must be a node.
    pub fn compute(succs: &[Vec<usize>], entry: usize) -> Dominators {
        let n = succs.len();
        let traversal = depth_first(succs, entry);
        let mut rank = vec![usize::MAX; n];
        for (i, &b) in traversal.postorder.iter().enumerate() {
            rank[b] = i;
        }
        let reachable: Vec<bool> = rank.iter().map(|&r| r != usize::MAX).collect();
        let preds = predecessors(succs);
        let rpo = traversal.reverse_postorder();
        // During the iteration the entry is its own dominator (the paper's convention);
        // every other reachable node gets one on the first pass, from a predecessor that
        // comes before it in reverse post-order (its parent in the search tree).
        let mut idom: Vec<Option<usize>> = vec![None; n];
        idom[entry] = Some(entry);
        let intersect = |idom: &[Option<usize>], mut a: usize, mut b: usize| {
            while a != b {
                while rank[a] < rank[b] {
                    a = idom[a].expect("processed nodes have a dominator");
                }
                while rank[b] < rank[a] {
                    b = idom[b].expect("processed nodes have a dominator");
                }
            }
            a
        };
        let mut changed = true;
        while changed {
            changed = false;
            for &b in rpo.iter().filter(|&&b| b != entry) {
                let mut new: Option<usize> = None;
                for &p in &preds[b] {
                    if idom[p].is_none() {
                        continue;
                    }
                    new = Some(match new {
                        None => p,
                        Some(other) => intersect(&idom, p, other),
                    });
                }
                if idom[b] != new {
                    idom[b] = new;
                    changed = true;
                }
            }
        }
        idom[entry] = None;
        Dominators {
            entry,
            idom,
            reachable,
            traversal,
        }
    }

    /// The children of each node in the dominator tree, ascending.
    pub fn children(&self) -> Vec<Vec<usize>> {
        let mut children = vec![Vec::new(); self.idom.len()];
        for (node, parent) in self.idom.iter().enumerate() {
            if let Some(p) = parent {
                children[*p].push(node);
            }
        }
        children
    }

    /// The unreachable nodes, ascending.
    pub fn unreachable(&self) -> Vec<usize> {
        (0..self.reachable.len())
            .filter(|&b| !self.reachable[b])
            .collect()
    }

    /// The dominance frontier of each node (ascending, no repeats) on `succs`, the graph
    /// these dominators were computed on.
    pub fn frontiers(&self, succs: &[Vec<usize>]) -> Vec<Vec<usize>> {
        let n = self.idom.len();
        let preds = predecessors(succs);
        let mut frontier = vec![Vec::new(); n];
        for b in (0..n).filter(|&b| self.reachable[b]) {
            for &p in preds[b].iter().filter(|&&p| self.reachable[p]) {
                // Every node on the tree path from p up to (not including) b's immediate
                // dominator dominates p without strictly dominating b; for the entry (no
                // immediate dominator) the path goes up to the root.
                let mut runner = Some(p);
                while let Some(r) = runner {
                    if Some(r) == self.idom[b] {
                        break;
                    }
                    frontier[r].push(b);
                    runner = self.idom[r];
                }
            }
        }
        for f in &mut frontier {
            f.sort_unstable();
            f.dedup();
        }
        frontier
    }
}

/// The reverse of `succs` with a virtual exit node numbered `succs.len()`: an edge `v -> u`
/// for every edge `u -> v` (in ascending order of `u`), and from the exit an edge to every
/// node without successors (ascending).
pub fn reverse_with_exit(succs: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut reverse = predecessors(succs);
    reverse.push((0..succs.len()).filter(|&b| succs[b].is_empty()).collect());
    reverse
}

/// Post-dominators of `succs`: [`Dominators`] of [`reverse_with_exit`] from its exit node
/// (`succs.len()`). Its `idom` has `succs.len() + 1` entries; a node whose immediate
/// post-dominator is the exit has `Some(succs.len())`; a node that reaches no exit has
/// `None` and is not `reachable`.
pub fn post_dominators(succs: &[Vec<usize>]) -> Dominators {
    let reverse = reverse_with_exit(succs);
    Dominators::compute(&reverse, succs.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(n: usize, edges: &[(usize, usize)]) -> Vec<Vec<usize>> {
        let mut succs = vec![Vec::new(); n];
        for &(a, b) in edges {
            succs[a].push(b);
        }
        succs
    }

    #[test]
    fn diamond() {
        // 0 -> 1, 0 -> 2, 1 -> 3, 2 -> 3
        let g = graph(4, &[(0, 1), (0, 2), (1, 3), (2, 3)]);
        let t = depth_first(&g, 0);
        assert_eq!(t.preorder, [0, 1, 3, 2]);
        assert_eq!(t.postorder, [3, 1, 2, 0]);
        assert_eq!(t.reverse_postorder(), [0, 2, 1, 3]);
        let d = Dominators::compute(&g, 0);
        assert_eq!(d.idom, [None, Some(0), Some(0), Some(0)]);
        assert_eq!(d.children(), [vec![1, 2, 3], vec![], vec![], vec![]]);
        assert_eq!(d.frontiers(&g), [vec![], vec![3], vec![3], vec![]]);
        let p = post_dominators(&g);
        assert_eq!(p.idom, [Some(3), Some(3), Some(3), Some(4), None]);
        assert_eq!(
            p.frontiers(&reverse_with_exit(&g)),
            [vec![], vec![0], vec![0], vec![], vec![]]
        );
    }

    #[test]
    fn loop_with_exit_and_unreachable_block() {
        // 0 -> 1 (header), 1 -> 2 (body), 2 -> 1 (back edge), 1 -> 3 (exit); 4 -> 3 is dead.
        let g = graph(5, &[(0, 1), (1, 2), (2, 1), (1, 3), (4, 3)]);
        let d = Dominators::compute(&g, 0);
        assert_eq!(d.idom, [None, Some(0), Some(1), Some(1), None]);
        assert_eq!(d.unreachable(), [4]);
        // The header is in its own frontier (its body loops back to it); the dead block's
        // edge makes no join.
        assert_eq!(d.frontiers(&g), [vec![], vec![1], vec![1], vec![], vec![]]);
        let p = post_dominators(&g);
        assert_eq!(p.idom, [Some(1), Some(3), Some(1), Some(5), Some(3), None]);
        assert!(p.reachable.iter().all(|&r| r));
    }

    #[test]
    fn entry_in_a_loop_is_in_its_own_frontier() {
        // 0 -> 1 -> 0, 1 -> 2: the first block is the loop header (3.8 `while True:` at the
        // start of a function jumps back to offset 0).
        let g = graph(3, &[(0, 1), (1, 0), (1, 2)]);
        let d = Dominators::compute(&g, 0);
        assert_eq!(d.idom, [None, Some(0), Some(1)]);
        assert_eq!(d.frontiers(&g), [vec![0], vec![0], vec![]]);
    }

    #[test]
    fn endless_loop_has_no_post_dominator() {
        // 0 -> 1, 0 -> 3 (return), 1 -> 2 -> 1 (never leaves)
        let g = graph(4, &[(0, 1), (0, 3), (1, 2), (2, 1)]);
        let p = post_dominators(&g);
        assert_eq!(p.idom, [Some(3), None, None, Some(4), None]);
        assert_eq!(p.unreachable(), [1, 2]);
    }

    #[test]
    fn irreducible_graph_and_repeated_edges() {
        // Two entries into the cycle 1 <-> 2 (not a natural loop), and a doubled edge 0 -> 1
        // (a conditional jump to the next block gives a normal and a jump edge).
        let g = graph(4, &[(0, 1), (0, 1), (0, 2), (1, 2), (2, 1), (2, 3)]);
        let d = Dominators::compute(&g, 0);
        assert_eq!(d.idom, [None, Some(0), Some(0), Some(2)]);
        assert_eq!(d.frontiers(&g), [vec![], vec![2], vec![1], vec![]]);
        let t = depth_first(&g, 0);
        assert_eq!(t.preorder, [0, 1, 2, 3]);
        assert_eq!(t.postorder, [3, 2, 1, 0]);
    }

    #[test]
    fn single_node() {
        let g = graph(1, &[]);
        let d = Dominators::compute(&g, 0);
        assert_eq!(d.idom, [None]);
        assert_eq!(d.frontiers(&g), [Vec::<usize>::new()]);
        assert_eq!(post_dominators(&g).idom, [Some(1), None]);
    }
}
