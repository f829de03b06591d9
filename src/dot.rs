//! Graphviz export of the alias forest, for debugging.

use std::fmt::{self, Write};

use crate::AliasTable;

impl AliasTable {
    /// Writes the alias forest in Graphviz DOT: one node per ref
    /// (canonical refs double-circled, unresolved ends dashed), one arrow
    /// per edge from alias to target.
    ///
    /// Under concurrent updates the picture is a mix of before and after:
    /// each edge is drawn as it was when its ref was visited.
    ///
    /// # Errors
    ///
    /// Only those of `out`.
    ///
    /// # Examples
    ///
    /// ```
    /// let table = halo_alias::AliasTable::new();
    /// let (g, f) = (table.register()?, table.register()?);
    /// table.alias(g, f)?;
    /// table.add_canonical(f)?;
    /// let dot = table.to_dot();
    /// assert!(dot.contains("\"ref#0.0\" -> \"ref#1.0\";"));
    /// assert!(dot.contains("\"ref#1.0\" [shape=doublecircle];"));
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn write_dot(&self, out: &mut impl Write) -> fmt::Result {
        writeln!(out, "digraph aliases {{")?;
        writeln!(out, "  rankdir=LR;")?;
        let mut result = Ok(());
        self.for_each_edge(|r, target| {
            if result.is_err() {
                return;
            }
            result = match target {
                Some(target) if target == r => writeln!(out, "  \"{r}\" [shape=doublecircle];"),
                Some(target) => writeln!(out, "  \"{r}\" -> \"{target}\";"),
                None => writeln!(out, "  \"{r}\" [style=dashed];"),
            };
        });
        result?;
        writeln!(out, "}}")
    }

    /// [`write_dot`](Self::write_dot) into a new `String`.
    ///
    /// ```
    /// let table = halo_alias::AliasTable::new();
    /// assert!(table.to_dot().starts_with("digraph aliases {"));
    /// ```
    pub fn to_dot(&self) -> String {
        let mut dot = String::new();
        self.write_dot(&mut dot)
            .expect("writing to a String cannot fail");
        dot
    }
}
