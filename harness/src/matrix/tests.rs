//! Snapshot tests of the matrix over a fixed registry, fixed upstream interfaces, fixed
//! coverage and fixed reports (`src/matrix/snapshots/`; review changes with
//! `cargo insta review`, or rerun with `INSTA_UPDATE=always` and read the diff).

use std::collections::BTreeSet;

use wasmgate::wasi::registry::{Preview, RegisteredInterface, Registry};

use super::coverage::Coverage;
use super::evidence::{parse_conformance, parse_parity, parse_spec_history, Evidence, Gate};
use super::limitations;
use super::model::{build, Matrix, PassRate};
use super::render::render;
use super::upstream::{merge, Interface, Member, MemberKind, Role, Upstream};

fn member(name: &str, kind: MemberKind) -> Member {
    Member {
        name: name.to_owned(),
        kind,
        is_async: false,
    }
}

fn functions(names: &[&str]) -> Vec<Member> {
    names
        .iter()
        .map(|n| member(n, MemberKind::Function))
        .collect()
}

fn upstream() -> Upstream {
    let p1 = Interface {
        preview: Preview::P1,
        name: "wasi_snapshot_preview1".into(),
        package: "wasi_snapshot_preview1".into(),
        version: None,
        role: Role::Import,
        members: functions(&[
            "args_get",
            "args_sizes_get",
            "fd_allocate",
            "fd_write",
            "random_get",
        ]),
    };
    let component = |preview, name: &str, version: &str, role, members| {
        let package = name.split('/').next().unwrap().to_owned();
        Interface {
            preview,
            name: name.into(),
            package,
            version: Some(version.into()),
            role,
            members,
        }
    };
    let interfaces = vec![
        p1,
        component(
            Preview::P2,
            "wasi:cli/environment",
            "0.2.12",
            Role::Import,
            functions(&["get-arguments", "get-environment", "initial-cwd"]),
        ),
        component(
            Preview::P2,
            "wasi:filesystem/types",
            "0.2.12",
            Role::Import,
            vec![
                member("[method]descriptor.read", MemberKind::Method),
                member("[method]descriptor.write", MemberKind::Method),
                member("[resource-drop]descriptor", MemberKind::ResourceDrop),
                member("filesystem-error-code", MemberKind::Function),
            ],
        ),
        component(
            Preview::P2,
            "wasi:cli/run",
            "0.2.12",
            Role::Export,
            functions(&["run"]),
        ),
        component(
            Preview::P3,
            "wasi:http/types",
            "0.3.0",
            Role::Import,
            vec![
                member("[constructor]fields", MemberKind::Constructor),
                member("[static]fields.from-list", MemberKind::Static),
                member("[resource-drop]fields", MemberKind::ResourceDrop),
            ],
        ),
    ];
    Upstream {
        sources: vec![
            "wasmtime-wasi 48.0.8".into(),
            "wasmtime-wasi-http 48.0.8".into(),
        ],
        interfaces: merge(interfaces).unwrap(),
        unstable: Default::default(),
    }
}

fn registry() -> Registry {
    Registry::from_interfaces(vec![
        RegisteredInterface {
            preview: Preview::P1,
            name: "wasi_snapshot_preview1".into(),
            versions: Vec::new(),
            members: [
                "args_get",
                "args_sizes_get",
                "fd_allocate",
                "fd_write",
                "random_get",
            ]
            .map(String::from)
            .into(),
        },
        RegisteredInterface {
            preview: Preview::P2,
            name: "wasi:filesystem/types".into(),
            versions: vec!["0.2.12".into()],
            members: ["[method]descriptor.read", "[resource-drop]descriptor"]
                .map(String::from)
                .into(),
        },
    ])
}

const LIMITATIONS: &str = r#"{
  "version": 1,
  "limitations": [
    {"preview": "p1", "interface": "wasi_snapshot_preview1", "members": ["fd_allocate"],
     "text": "always ENOTSUP", "tracking": "by design"},
    {"preview": "p1", "interface": "*", "text": "Unix only | for now", "tracking": "not tracked"},
    {"preview": "p2", "interface": "wasi:filesystem/types", "members": ["[method]descriptor.write"],
     "text": "not written yet", "tracking": "issue 7"}
  ]
}"#;

fn coverage() -> Coverage {
    let mut c = Coverage::default();
    let tests = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    c.p1.insert("args_get".into(), tests(&["p1/args_get"]));
    c.p1.insert(
        "args_sizes_get".into(),
        tests(&["p1/args_get", "p1/args_sizes_get"]),
    );
    c.p1.insert(
        "fd_write".into(),
        tests(&[
            "p1/args_get",
            "p1/args_sizes_get",
            "p1/fd_allocate",
            "p1/random_get",
        ]),
    );
    c.p1.insert("fd_allocate".into(), tests(&["p1/fd_allocate"]));
    c.p1.insert("random_get".into(), tests(&["p1/random_get"]));
    c.components
        .insert("wasi:filesystem/types@0.2.12".into(), tests(&["p2/read"]));
    c
}

const P1_REPORT: &str = r#"{
  "schema": "wasmgate-harness/conformance", "schema_version": 1,
  "runner": {"name": "wasmgate", "version": "0.1.0"},
  "jobs": 2, "timeout_s": 30.0, "started_unix_ms": 1795000000000, "wall_s": 1.5,
  "totals": {"pass": 2, "fail": 1, "skip": 1, "xfail": 0, "xpass": 0},
  "suites": [{"id": "p1", "name": "n", "wasi_version": "wasm32-wasip1", "dir": "/x",
    "totals": {"pass": 2, "fail": 1, "skip": 1, "xfail": 0, "xpass": 0},
    "tests": [
      {"id": "p1/args_get", "outcome": "pass", "duration_s": 0.1, "reason": null, "failures": [], "runs": []},
      {"id": "p1/args_sizes_get", "outcome": "pass", "duration_s": 0.1, "reason": null, "failures": [], "runs": []},
      {"id": "p1/fd_allocate", "outcome": "fail", "duration_s": 0.1, "reason": null, "failures": [], "runs": []},
      {"id": "p1/random_get", "outcome": "skip", "duration_s": 0.0, "reason": "r", "failures": [], "runs": []}
    ]}]
}"#;

const PARITY_REPORT: &str = r#"{
  "schema": "wasmgate-harness/parity", "schema_version": 1,
  "a": {"name": "wasmgate", "version": "0.1.0"}, "b": {"name": "wasmtime", "version": "48.0.8"},
  "jobs": 2, "timeout_s": 30.0, "started_unix_ms": 1, "wall_s": 2.0, "shard": null,
  "totals": {"tests": 4, "identical": 3, "observations_differ": 1, "verdict_differs": 0,
             "skipped": 0, "explained": 1, "unexplained": 0, "resolved": 0},
  "tests": []
}"#;

fn evidence() -> Evidence {
    let mut e = Evidence {
        spec: parse_spec_history(
            "date,commit,files,passed,failed,xfail\n2026-11-24T21:39:29Z,9b172b6,611,113102,0,226\n",
        )
        .unwrap(),
        parity: Some(parse_parity(PARITY_REPORT).unwrap()),
        ..Evidence::default()
    };
    e.conformance
        .insert(Gate::P1, parse_conformance(P1_REPORT).unwrap());
    e
}

fn matrix(evidence: &Evidence) -> Matrix {
    build(
        &upstream(),
        &registry(),
        &limitations::parse(LIMITATIONS).unwrap(),
        &coverage(),
        evidence,
        "reports",
    )
    .unwrap()
}

#[test]
fn fixed_matrix() {
    insta::assert_snapshot!("fixed_matrix", render(&matrix(&evidence())));
}

#[test]
fn no_reports_means_not_run() {
    let page = render(&matrix(&Evidence::default()));
    insta::assert_snapshot!("no_reports", page);
}

#[test]
fn pass_rates_leave_skips_out() {
    let m = matrix(&evidence());
    let p1 = &m.sections[0];
    let rate = |name: &str| p1.members.iter().find(|r| r.name == name).unwrap().pass;
    assert_eq!(rate("fd_write"), PassRate::Rate { passed: 2, ran: 3 });
    assert_eq!(rate("random_get"), PassRate::NotRun);
    let p2 = &m.sections[1];
    let fs = p2
        .rows
        .iter()
        .find(|r| r.interface == "wasi:filesystem/types")
        .unwrap();
    assert_eq!((fs.registered, fs.total), (2, 4));
    assert_eq!(fs.pass, PassRate::NotRun, "no adapted-P2 report");
}

#[test]
fn registry_names_must_exist_upstream() {
    let bad = Registry::from_interfaces(vec![RegisteredInterface {
        preview: Preview::P1,
        name: "wasi_snapshot_preview1".into(),
        versions: Vec::new(),
        members: ["fd_bogus".to_string()].into(),
    }]);
    let err = build(&upstream(), &bad, &[], &coverage(), &evidence(), "reports").unwrap_err();
    assert!(err.to_string().contains("fd_bogus"), "{err}");
}

#[test]
fn limitations_must_exist_upstream() {
    let stale = limitations::parse(
        r#"{"version": 1, "limitations": [{"preview": "p2", "interface": "wasi:cli/gone",
            "text": "t", "tracking": "i"}]}"#,
    )
    .unwrap();
    let err = build(
        &upstream(),
        &registry(),
        &stale,
        &coverage(),
        &evidence(),
        "reports",
    )
    .unwrap_err();
    assert!(err.to_string().contains("wasi:cli/gone"), "{err}");
}
