//! An order-statistics tree (a treap with subtree sizes) over the values of
//! one window, for `value_percentile`: inserting, removing and finding the
//! k-th smallest value take O(log n) expected steps, whatever the number of
//! values or distinct values in the window.
//!
//! Nodes live in the caller's arena (the window's items, by index), so the
//! tree allocates nothing of its own: [`Nodes`] gives it access to the links.

/// The absent node.
pub(crate) const NIL: u32 = u32::MAX;

/// Access to the tree fields of the arena's nodes.
pub(crate) trait Nodes {
    fn left(&self, n: u32) -> u32;
    fn right(&self, n: u32) -> u32;
    fn set_left(&mut self, n: u32, v: u32);
    fn set_right(&mut self, n: u32, v: u32);
    fn size(&self, n: u32) -> u32;
    fn set_size(&mut self, n: u32, v: u32);
    fn priority(&self, n: u32) -> u32;
    /// True when node `a` sorts before node `b` (a total order: ties broken
    /// by index).
    fn less(&self, a: u32, b: u32) -> bool;
}

fn size<N: Nodes>(t: &N, n: u32) -> u32 {
    if n == NIL { 0 } else { t.size(n) }
}

fn update<N: Nodes>(t: &mut N, n: u32) {
    let s = 1 + size(t, t.left(n)) + size(t, t.right(n));
    t.set_size(n, s);
}

/// Inserts the detached node `x` (its links are reset here) into the tree at
/// `root`; returns the new root.
pub(crate) fn insert<N: Nodes>(t: &mut N, root: u32, x: u32) -> u32 {
    t.set_left(x, NIL);
    t.set_right(x, NIL);
    t.set_size(x, 1);
    let (a, b) = split(t, root, x);
    let left = merge(t, a, x);
    merge(t, left, b)
}

/// Splits the tree at `root` into the nodes before `x` and the others.
fn split<N: Nodes>(t: &mut N, root: u32, x: u32) -> (u32, u32) {
    if root == NIL {
        return (NIL, NIL);
    }
    if t.less(root, x) {
        let (a, b) = split(t, t.right(root), x);
        t.set_right(root, a);
        update(t, root);
        (root, b)
    } else {
        let (a, b) = split(t, t.left(root), x);
        t.set_left(root, b);
        update(t, root);
        (a, root)
    }
}

/// Joins two trees, every node of `a` sorting before every node of `b`.
fn merge<N: Nodes>(t: &mut N, a: u32, b: u32) -> u32 {
    if a == NIL {
        return b;
    }
    if b == NIL {
        return a;
    }
    if t.priority(a) > t.priority(b) {
        let r = merge(t, t.right(a), b);
        t.set_right(a, r);
        update(t, a);
        a
    } else {
        let l = merge(t, a, t.left(b));
        t.set_left(b, l);
        update(t, b);
        b
    }
}

/// Removes node `x` (which must be in the tree) from the tree at `root`;
/// returns the new root.
pub(crate) fn remove<N: Nodes>(t: &mut N, root: u32, x: u32) -> u32 {
    if root == x {
        return merge(t, t.left(x), t.right(x));
    }
    if t.less(x, root) {
        let l = remove(t, t.left(root), x);
        t.set_left(root, l);
    } else {
        let r = remove(t, t.right(root), x);
        t.set_right(root, r);
    }
    update(t, root);
    root
}

/// The node of rank `k` (0 = smallest) in the tree at `root`, if any.
pub(crate) fn select<N: Nodes>(t: &N, mut root: u32, mut k: u32) -> Option<u32> {
    while root != NIL {
        let l = size(t, t.left(root));
        if k < l {
            root = t.left(root);
        } else if k == l {
            return Some(root);
        } else {
            k -= l + 1;
            root = t.right(root);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use detect_test_support::XorShift64 as Rng;

    struct Arena {
        value: Vec<i64>,
        links: Vec<[u32; 3]>,
        prio: Vec<u32>,
    }

    impl Nodes for Arena {
        fn left(&self, n: u32) -> u32 {
            self.links[n as usize][0]
        }
        fn right(&self, n: u32) -> u32 {
            self.links[n as usize][1]
        }
        fn set_left(&mut self, n: u32, v: u32) {
            self.links[n as usize][0] = v;
        }
        fn set_right(&mut self, n: u32, v: u32) {
            self.links[n as usize][1] = v;
        }
        fn size(&self, n: u32) -> u32 {
            self.links[n as usize][2]
        }
        fn set_size(&mut self, n: u32, v: u32) {
            self.links[n as usize][2] = v;
        }
        fn priority(&self, n: u32) -> u32 {
            self.prio[n as usize]
        }
        fn less(&self, a: u32, b: u32) -> bool {
            (self.value[a as usize], a) < (self.value[b as usize], b)
        }
    }

    /// Random inserts and removals with many equal values: every rank
    /// answers what sorting the live values answers.
    #[test]
    fn select_agrees_with_sorting() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let n = 400;
        let mut a = Arena {
            value: (0..n).map(|_| rng.below(20) as i64 - 10).collect(),
            links: vec![[NIL, NIL, 0]; n],
            prio: (0..n).map(|_| rng.next_u64() as u32).collect(),
        };
        let mut root = NIL;
        let mut live: Vec<u32> = Vec::new();
        for step in 0..4000 {
            if live.len() < n && (live.is_empty() || rng.below(3) > 0) {
                let x = (0..n as u32).find(|x| !live.contains(x)).unwrap();
                root = insert(&mut a, root, x);
                live.push(x);
            } else {
                let x = live.swap_remove(rng.below(live.len()));
                root = remove(&mut a, root, x);
            }
            let mut sorted: Vec<i64> = live.iter().map(|&x| a.value[x as usize]).collect();
            sorted.sort();
            assert_eq!(size(&a, root) as usize, sorted.len(), "step {step}");
            let k = rng.below(sorted.len() + 1);
            let got = select(&a, root, k as u32).map(|x| a.value[x as usize]);
            assert_eq!(got, sorted.get(k).copied(), "step {step} rank {k}");
        }
    }
}
