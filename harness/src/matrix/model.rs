//! Matrix stage, model: the upstream interfaces joined with the registry (registered or
//! not, member by member), the limitations, the fixtures' coverage and the gate reports,
//! into the rows the renderer prints. Everything is sorted, nothing is timed: the same
//! inputs give the same matrix.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};
use wasmgate::wasi::registry::{Preview, Registry};

use super::coverage::Coverage;
use super::evidence::{Evidence, Gate};
use super::limitations::Limitation;
use super::upstream::{self, MemberKind, Role, Upstream};
use crate::expect::Outcome;

/// The whole matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    /// Where the upstream interfaces were read from.
    pub sources: Vec<String>,
    /// The reports directory, as shown (`reports`).
    pub reports_dir: String,
    /// One per preview with upstream interfaces, in preview order.
    pub sections: Vec<Section>,
    /// The gate results.
    pub evidence: Evidence,
}

/// One preview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The preview.
    pub preview: Preview,
    /// The upstream versions of its interfaces (`0.2.12`); empty for P1.
    pub versions: BTreeSet<String>,
    /// Its rows: one per interface, or for P1 one per function prefix (`fd_*`).
    pub rows: Vec<Row>,
    /// P1 only: one row per function.
    pub members: Vec<MemberRow>,
    /// Its limitations, numbered in this order (`P1-1`, ...).
    pub limitations: Vec<Limitation>,
    /// The gate whose report gives the pass rates.
    pub gate: Gate,
}

impl Section {
    /// The column and heading label: `P1`, `0.2.12`, `0.3.0` (versions joined by `, `).
    pub fn label(&self) -> String {
        if self.versions.is_empty() {
            "P1".to_owned()
        } else {
            self.versions.iter().cloned().collect::<Vec<_>>().join(", ")
        }
    }

    /// The id of limitation `index`: `P1-1`.
    pub fn limitation_id(&self, index: usize) -> String {
        format!("{}-{}", self.preview.short().to_uppercase(), index + 1)
    }

    /// The ids of the limitations that concern `row`'s interface, or any of `members`.
    pub fn limitation_ids(&self, interface: &str, members: &[&str]) -> Vec<String> {
        self.limitations
            .iter()
            .enumerate()
            .filter(|(_, l)| {
                l.interface == interface
                    && (l.members.is_empty()
                        || l.members.iter().any(|m| members.contains(&m.as_str())))
            })
            .map(|(i, _)| self.limitation_id(i))
            .collect()
    }
}

/// The pass rate of some fixtures in a gate's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassRate {
    /// No fixture covers it.
    NoFixture,
    /// The gate's report is absent, or ran none of the fixtures.
    NotRun,
    /// Of the fixtures it ran (skips excluded), how many passed.
    Rate {
        /// Passed.
        passed: usize,
        /// Ran: pass, fail, xfail, xpass.
        ran: usize,
    },
}

/// One interface (or P1 function group) of a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// `wasi:filesystem/types@0.2.12`, or `fd_*`.
    pub name: String,
    /// The interface name the limitations use: `wasi:filesystem/types`,
    /// `wasi_snapshot_preview1`.
    pub interface: String,
    /// `filesystem`.
    pub family: String,
    /// Who provides it.
    pub role: Role,
    /// Members with a registered host implementation.
    pub registered: usize,
    /// Members upstream.
    pub total: usize,
    /// Members upstream, by kind.
    pub kinds: BTreeMap<MemberKind, usize>,
    /// Members not registered, when some are (all-or-nothing rows list none).
    pub missing: Vec<String>,
    /// Tests whose fixture imports it.
    pub fixtures: BTreeSet<String>,
    /// Their pass rate.
    pub pass: PassRate,
    /// Ids of its limitations.
    pub limitations: Vec<String>,
}

/// One P1 function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    /// `fd_write`.
    pub name: String,
    /// `filesystem`.
    pub family: String,
    /// Whether the linker resolves it.
    pub registered: bool,
    /// Tests whose fixture imports it.
    pub fixtures: BTreeSet<String>,
    /// Their pass rate.
    pub pass: PassRate,
    /// Ids of its limitations.
    pub limitations: Vec<String>,
}

/// The pass rate of `tests` in `gate`'s report.
fn pass_rate(evidence: &Evidence, gate: Gate, tests: &BTreeSet<String>) -> PassRate {
    if tests.is_empty() {
        return PassRate::NoFixture;
    }
    let Some(run) = evidence.conformance.get(&gate) else {
        return PassRate::NotRun;
    };
    let (mut passed, mut ran) = (0, 0);
    for outcome in tests.iter().filter_map(|t| run.outcomes.get(t)) {
        match outcome {
            Outcome::Skip => {}
            Outcome::Pass => {
                passed += 1;
                ran += 1;
            }
            Outcome::Fail | Outcome::Xfail | Outcome::Xpass | Outcome::Flaky => ran += 1,
        }
    }
    if ran == 0 {
        PassRate::NotRun
    } else {
        PassRate::Rate { passed, ran }
    }
}

/// Joins the inputs. Fails when the registry or a limitation names an interface or member
/// that does not exist upstream (a typo, or a stale entry).
pub fn build(
    upstream: &Upstream,
    registry: &Registry,
    limitations: &[Limitation],
    coverage: &Coverage,
    evidence: &Evidence,
    reports_dir: &str,
) -> Result<Matrix> {
    check_registry(upstream, registry)?;
    check_limitations(upstream, limitations)?;
    let mut sections = Vec::new();
    for preview in Preview::ALL {
        let interfaces: Vec<_> = upstream
            .interfaces
            .iter()
            .filter(|i| i.preview == preview)
            .collect();
        if interfaces.is_empty() {
            continue;
        }
        let gate = Gate::for_preview(preview);
        let mut section = Section {
            preview,
            versions: interfaces
                .iter()
                .filter_map(|i| i.version.clone())
                .collect(),
            rows: Vec::new(),
            members: Vec::new(),
            limitations: limitations
                .iter()
                .filter(|l| l.preview == preview)
                .cloned()
                .collect(),
            gate,
        };
        for interface in interfaces {
            let version = interface.version.as_deref();
            let registered =
                |member: &str| registry.is_registered(preview, &interface.name, version, member);
            if preview == Preview::P1 {
                // One row per function, and one per function prefix.
                let mut groups: BTreeMap<String, Vec<&upstream::Member>> = BTreeMap::new();
                for member in &interface.members {
                    let prefix = member.name.split('_').next().unwrap_or(&member.name);
                    let key = if interface
                        .members
                        .iter()
                        .filter(|m| m.name.starts_with(&format!("{prefix}_")))
                        .count()
                        > 1
                    {
                        format!("{prefix}_*")
                    } else {
                        member.name.clone()
                    };
                    groups.entry(key).or_default().push(member);
                    let fixtures = coverage.p1.get(&member.name).cloned().unwrap_or_default();
                    section.members.push(MemberRow {
                        name: member.name.clone(),
                        family: upstream::p1_family(&member.name).to_owned(),
                        registered: registered(&member.name),
                        pass: pass_rate(evidence, gate, &fixtures),
                        fixtures,
                        limitations: section.limitation_ids(&interface.name, &[&member.name]),
                    });
                }
                for (name, members) in groups {
                    let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
                    let fixtures: BTreeSet<String> = names
                        .iter()
                        .filter_map(|n| coverage.p1.get(*n))
                        .flatten()
                        .cloned()
                        .collect();
                    section.rows.push(row(
                        name,
                        interface,
                        upstream::p1_family(names[0]).to_owned(),
                        &members,
                        &registered,
                        pass_rate(evidence, gate, &fixtures),
                        fixtures,
                        section.limitation_ids(&interface.name, &names),
                    ));
                }
            } else {
                let members: Vec<&upstream::Member> = interface.members.iter().collect();
                let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
                let fixtures = coverage.component_tests(&interface.name, version.unwrap_or(""));
                section.rows.push(row(
                    interface.id(),
                    interface,
                    interface.family().to_owned(),
                    &members,
                    &registered,
                    pass_rate(evidence, gate, &fixtures),
                    fixtures,
                    section.limitation_ids(&interface.name, &names),
                ));
            }
        }
        sections.push(section);
    }
    Ok(Matrix {
        sources: upstream.sources.clone(),
        reports_dir: reports_dir.to_owned(),
        sections,
        evidence: evidence.clone(),
    })
}

#[allow(clippy::too_many_arguments)]
fn row(
    name: String,
    interface: &upstream::Interface,
    family: String,
    members: &[&upstream::Member],
    registered: &dyn Fn(&str) -> bool,
    pass: PassRate,
    fixtures: BTreeSet<String>,
    limitations: Vec<String>,
) -> Row {
    let done = members.iter().filter(|m| registered(&m.name)).count();
    let mut kinds = BTreeMap::new();
    for m in members {
        *kinds.entry(m.kind).or_insert(0) += 1;
    }
    Row {
        name,
        interface: interface.name.clone(),
        family,
        role: interface.role,
        registered: done,
        total: members.len(),
        kinds,
        missing: if done == 0 {
            Vec::new()
        } else {
            members
                .iter()
                .filter(|m| !registered(&m.name))
                .map(|m| m.name.clone())
                .collect()
        },
        fixtures,
        pass,
        limitations,
    }
}

/// Every registered interface and member must exist upstream.
fn check_registry(upstream: &Upstream, registry: &Registry) -> Result<()> {
    for registered in registry.interfaces() {
        let matching: Vec<_> = upstream
            .interfaces
            .iter()
            .filter(|i| {
                i.preview == registered.preview
                    && i.name == registered.name
                    && registered.serves(i.version.as_deref())
            })
            .collect();
        // An interface upstream defines only behind `@unstable` (wasmtime links some of them
        // behind flags) is not counted, and not an error either.
        let unstable_only = upstream.unstable.iter().any(|(id, _)| {
            id.split_once('@').is_some_and(|(name, version)| {
                name == registered.name && registered.serves(Some(version))
            })
        });
        if matching.is_empty() && unstable_only {
            continue;
        }
        if matching.is_empty() {
            bail!(
                "the registry lists {} ({:?}), which no upstream WIT defines",
                registered.name,
                registered.preview
            );
        }
        for member in &registered.members {
            let unstable = matching
                .iter()
                .any(|i| upstream.unstable.contains(&(i.id(), member.clone())));
            if !unstable
                && !matching
                    .iter()
                    .any(|i| i.members.iter().any(|m| &m.name == member))
            {
                bail!(
                    "the registry lists {} of {}, which is not a member upstream",
                    member,
                    registered.name
                );
            }
        }
    }
    Ok(())
}

/// Every limitation must name an upstream interface and members of it.
fn check_limitations(upstream: &Upstream, limitations: &[Limitation]) -> Result<()> {
    for l in limitations {
        if l.interface == "*" {
            continue;
        }
        let interfaces: Vec<_> = upstream
            .interfaces
            .iter()
            .filter(|i| i.preview == l.preview && i.name == l.interface)
            .collect();
        if interfaces.is_empty() {
            bail!(
                "a limitation names {} ({}), which no upstream WIT defines",
                l.interface,
                l.preview.short()
            );
        }
        for member in &l.members {
            if !interfaces
                .iter()
                .any(|i| i.members.iter().any(|m| &m.name == member))
            {
                bail!(
                    "a limitation names {member}, which is not a member of {}",
                    l.interface
                );
            }
        }
    }
    Ok(())
}
