//! The monitoring files of `monitoring/`, checked without running Prometheus or Grafana:
//! `promtool` checks the Prometheus config and the alert rules and runs the rules' unit
//! tests, and checks every dashboard query as PromQL; every `corridor_*` metric the dashboard
//! and the rules use is in the catalog table of `monitoring/README.md` (and every catalog
//! metric is on the dashboard); every alert has a severity, a summary, a description, a
//! runbook section in the README, and a unit test firing it and one where it stays silent;
//! the dashboard's panels all use its `datasource` variable, and it has the `chain`,
//! `channel` and `peer` variables.
//!
//! Without `promtool` on PATH the promtool checks are skipped, unless `CI=true`, where
//! they fail: install Debian's `prometheus` package.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use corridor_light_client::testkit::TempDir;
use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

const README: &str = "monitoring/README.md";
const PROMETHEUS_CONFIG: &str = "monitoring/prometheus/prometheus.yml";
const RULES: &str = "monitoring/prometheus/rules/corridor.yml";
const RULE_TESTS: &str = "monitoring/prometheus/tests/corridor_test.yml";
const DASHBOARD: &str = "monitoring/grafana/dashboards/corridor.json";
const DATASOURCE_VARIABLE: &str = "${datasource}";
/// Alerts the live Prometheus test waits for, which must fire within about a minute.
const FAST_ALERTS: &[&str] = &["CorridorRelayDown", "CorridorLightClientFrozen"];

#[test]
fn promtool_accepts_the_config_and_the_rules_and_their_unit_tests_pass() {
    let Some(promtool) = promtool() else {
        return;
    };
    promtool.run(&["check", "config", PROMETHEUS_CONFIG]);
    promtool.run(&["check", "rules", RULES]);
    promtool.run(&["test", "rules", RULE_TESTS]);
}

#[test]
fn every_dashboard_query_is_valid_promql() {
    let Some(promtool) = promtool() else {
        return;
    };
    // Each query as a recording rule, with Grafana's variables replaced as a caller of
    // Prometheus's HTTP API would: promtool parses every rule's expression.
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, query) in dashboard_queries(&dashboard()).iter().enumerate() {
        let expr = query
            .replace("$__rate_interval", "1m")
            .replace("$channel", ".*")
            .replace("$chain", ".*")
            .replace("$peer", ".*");
        assert!(
            !expr.contains('$'),
            "a variable other than $chain, $channel, $peer, $__rate_interval: {query}"
        );
        let expr = expr.replace('\n', "\n          ");
        writeln!(
            rules,
            "      - record: dashboard:query_{i}\n        expr: |-\n          {expr}"
        )
        .unwrap();
    }
    let dir = TempDir::new("dashboard-promql");
    let file = dir.path().join("dashboard.yml");
    std::fs::write(&file, rules).unwrap();
    promtool.run(&["check", "rules", file.to_str().unwrap()]);
}

#[test]
fn the_catalog_names_every_metric_the_dashboard_and_the_rules_use() {
    let catalog = catalog();
    let dashboard = dashboard();
    let queries = dashboard_queries(&dashboard);
    let rules = alert_rules();
    let used_by_dashboard = metric_names(queries.iter().map(String::as_str), &catalog);
    let used_by_rules = metric_names(rules.iter().map(|r| r.expr.as_str()), &catalog);
    for (what, used) in [
        ("the dashboard", &used_by_dashboard),
        ("the rules", &used_by_rules),
    ] {
        let unknown: Vec<_> = used
            .difference(&catalog.keys().cloned().collect())
            .cloned()
            .collect();
        assert!(
            unknown.is_empty(),
            "{what} use metrics outside the catalog of {README}: {unknown:?}"
        );
    }
    let missing: Vec<_> = catalog
        .keys()
        .filter(|name| !used_by_dashboard.contains(*name))
        .collect();
    assert!(
        missing.is_empty(),
        "catalog metrics not on the dashboard: {missing:?}"
    );
}

#[test]
fn the_catalog_is_one_well_formed_table() {
    let catalog = catalog();
    assert!(
        catalog.len() >= 30,
        "only {} metrics in the catalog",
        catalog.len()
    );
    for (name, kind) in &catalog {
        let area = name
            .strip_prefix("corridor_")
            .and_then(|rest| rest.split_once('_'));
        assert!(area.is_some(), "{name}: not corridor_<area>_<what>");
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{name}"
        );
        match kind.as_str() {
            "counter" => assert!(
                name.ends_with("_total"),
                "counter {name} does not end in _total"
            ),
            "gauge" | "histogram" => {
                assert!(!name.ends_with("_total"), "{kind} {name} ends in _total")
            }
            other => panic!("{name}: type {other:?} is not gauge, counter or histogram"),
        }
    }
}

#[test]
fn every_alert_has_a_severity_annotations_a_runbook_and_unit_tests() {
    let rules = alert_rules();
    assert!(rules.len() >= 11, "only {} alerts", rules.len());
    let anchors = heading_anchors(&read(README));
    let (firing, silent) = unit_test_cases();
    let mut names = BTreeSet::new();
    for rule in &rules {
        let name = &rule.alert;
        assert!(names.insert(name.clone()), "alert {name} defined twice");
        let severity = rule.labels.get("severity").map(String::as_str);
        assert!(
            matches!(severity, Some("warning" | "critical")),
            "{name}: severity {severity:?}"
        );
        for key in ["summary", "description", "runbook_url"] {
            let value = rule.annotations.get(key).map_or("", |v| v.trim());
            assert!(!value.is_empty(), "{name}: no {key} annotation");
        }
        let url = &rule.annotations["runbook_url"];
        let (file, anchor) = url
            .split_once('#')
            .unwrap_or_else(|| panic!("{name}: runbook_url {url} has no anchor"));
        assert!(
            file.ends_with(README),
            "{name}: runbook_url {url} is not in {README}"
        );
        assert!(
            anchors.contains(anchor),
            "{name}: no heading of {README} has the anchor #{anchor}"
        );
        assert!(
            firing.contains(name),
            "{name}: no unit test case where it fires"
        );
        assert!(
            silent.contains(name),
            "{name}: no unit test case where it stays silent (exp_alerts: [])"
        );
    }
    let unknown: Vec<_> = firing
        .union(&silent)
        .filter(|n| !names.contains(*n))
        .collect();
    assert!(
        unknown.is_empty(),
        "unit tests of alerts that do not exist: {unknown:?}"
    );
    for name in FAST_ALERTS {
        let rule = rules
            .iter()
            .find(|r| r.alert == *name)
            .unwrap_or_else(|| panic!("no alert {name}"));
        let wait = duration_seconds(&rule.for_duration);
        assert!(
            wait <= 30,
            "{name} waits {wait} s before firing: the live test needs 30 s or less"
        );
    }
}

#[test]
fn prometheus_scrapes_the_three_devnet_relays() {
    let config = yaml(PROMETHEUS_CONFIG);
    assert_eq!(
        config["global"]["evaluation_interval"].as_str(),
        Some("15s")
    );
    let rule_files: Vec<_> = items(&config["rule_files"])
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    assert_eq!(rule_files, ["rules/*.yml"]);
    let jobs = items(&config["scrape_configs"]);
    let job = jobs
        .iter()
        .find(|j| j["job_name"].as_str() == Some("corridor"))
        .expect("a scrape job named corridor");
    let mut targets = BTreeMap::new();
    for group in items(&job["static_configs"]) {
        let operator = group["labels"]["operator"]
            .as_str()
            .expect("an operator label");
        for target in items(&group["targets"]) {
            targets.insert(target.as_str().unwrap().to_owned(), operator.to_owned());
        }
    }
    let expected: BTreeMap<_, _> = [
        ("127.0.0.1:9701", "cn-shanghai"),
        ("127.0.0.1:9702", "kz-astana"),
        ("127.0.0.1:9703", "pk-karachi"),
    ]
    .into_iter()
    .map(|(t, o)| (t.to_owned(), o.to_owned()))
    .collect();
    assert_eq!(targets, expected);
}

#[test]
fn every_dashboard_panel_uses_the_datasource_variable() {
    let dashboard = dashboard();
    assert_eq!(dashboard["uid"], "corridor");
    assert!(
        dashboard["schemaVersion"].as_u64().is_some_and(|v| v >= 36),
        "schemaVersion"
    );
    let variables = dashboard["templating"]["list"]
        .as_array()
        .expect("templating.list");
    let variable = |name: &str| {
        variables
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no dashboard variable {name}"))
    };
    let datasource = variable("datasource");
    assert_eq!(datasource["type"], "datasource");
    assert_eq!(datasource["query"], "prometheus");
    let queries = dashboard_queries(&dashboard);
    for name in ["chain", "channel", "peer"] {
        let v = variable(name);
        assert_eq!(v["type"], "query", "${name}");
        assert_eq!(v["datasource"]["uid"], DATASOURCE_VARIABLE, "${name}");
        assert_eq!(v["multi"], true, "${name} takes several values");
        assert_eq!(v["includeAll"], true, "${name} has All");
        let query = variable_query(v).unwrap_or_else(|| panic!("${name} has no query"));
        assert!(
            query.starts_with("label_values(") && query.contains(name),
            "${name}: {query}"
        );
        let filter = format!("{name}=~\"${name}\"");
        assert!(
            queries.iter().any(|q| q.contains(&filter)),
            "no query filters by {filter}"
        );
    }
    let panels = all_panels(&dashboard);
    let rows: BTreeSet<_> = panels
        .iter()
        .filter(|p| p["type"] == "row")
        .filter_map(|p| p["title"].as_str())
        .collect();
    for row in ["Corridors", "Light clients", "Peers", "Store", "API"] {
        assert!(rows.contains(row), "no row {row}");
    }
    let mut ids = BTreeSet::new();
    for panel in &panels {
        let title = panel["title"].as_str().unwrap_or("?");
        assert!(
            ids.insert(panel["id"].as_u64().expect("a panel id")),
            "panel id of {title} used twice"
        );
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(
            panel["datasource"]["uid"], DATASOURCE_VARIABLE,
            "panel {title}"
        );
        let targets = panel["targets"]
            .as_array()
            .unwrap_or_else(|| panic!("panel {title} has no queries"));
        assert!(!targets.is_empty(), "panel {title} has no queries");
        for target in targets {
            assert_eq!(
                target["datasource"]["uid"], DATASOURCE_VARIABLE,
                "a query of panel {title}"
            );
        }
    }
    let table = panels
        .iter()
        .find(|p| {
            p["type"] == "table"
                && p["title"]
                    .as_str()
                    .is_some_and(|t| t.to_lowercase().contains("oldest pending"))
        })
        .expect("a table of the oldest pending messages");
    let transformations: Vec<_> = table["transformations"]
        .as_array()
        .expect("transformations")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert!(
        transformations.contains(&"merge") && transformations.contains(&"organize"),
        "{transformations:?}"
    );
    for target in table["targets"].as_array().unwrap() {
        assert_eq!(target["instant"], true, "the table's queries are instant");
        assert_eq!(target["format"], "table");
    }
}

/// The `promtool` binary, run from the workspace root.
struct Promtool;

impl Promtool {
    fn run(&self, args: &[&str]) {
        let out = Command::new("promtool")
            .args(args)
            .current_dir(workspace_root())
            .output()
            .unwrap_or_else(|e| panic!("promtool {args:?}: {e}"));
        assert!(
            out.status.success(),
            "promtool {} failed:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `promtool` when it is on PATH; `None` (the caller skips) when it is not, except under CI.
fn promtool() -> Option<Promtool> {
    let found = Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if found {
        return Some(Promtool);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "promtool is not on PATH: install Debian's prometheus package (apt-get install prometheus)"
    );
    eprintln!("skipped: promtool is not on PATH (Debian's prometheus package has it)");
    None
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("relay/ is in the workspace")
        .to_path_buf()
}

fn read(path: &str) -> String {
    let file = workspace_root().join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

fn yaml(path: &str) -> Yaml {
    let mut docs = YamlLoader::load_from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(docs.len(), 1, "{path}: one YAML document");
    docs.remove(0)
}

/// The elements of a YAML sequence (none when it is missing or not a sequence).
fn items(node: &Yaml) -> &[Yaml] {
    node.as_vec().map_or(&[], Vec::as_slice)
}

/// The string values of a YAML mapping.
fn string_map(node: &Yaml) -> BTreeMap<String, String> {
    node.as_hash()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
        .collect()
}

fn dashboard() -> Value {
    serde_json::from_str(&read(DASHBOARD)).unwrap_or_else(|e| panic!("{DASHBOARD}: {e}"))
}

/// Every panel, rows included, and the panels of collapsed rows.
fn all_panels(dashboard: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        out.push(panel);
        out.extend(panel["panels"].as_array().into_iter().flatten());
    }
    out
}

fn variable_query(variable: &Value) -> Option<&str> {
    variable["query"]
        .as_str()
        .or_else(|| variable["query"]["query"].as_str())
}

/// Every PromQL query of the dashboard: its panels', and the series selectors of its
/// query variables.
fn dashboard_queries(dashboard: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for panel in all_panels(dashboard) {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().expect("every query has an expr");
            out.push(expr.to_owned());
        }
    }
    for variable in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if variable["type"] == "query" {
            out.extend(variable_query(variable).map(label_values_selector));
        }
    }
    out
}

/// The series selector of a variable's `label_values(selector, label)`, which is PromQL
/// (`label_values` itself is Grafana's); any other query as it is.
fn label_values_selector(query: &str) -> String {
    query
        .strip_prefix("label_values(")
        .and_then(|args| args.rsplit_once(','))
        .map_or(query, |(selector, _)| selector.trim())
        .to_owned()
}

/// The catalog table of the README (`| metric | type | labels | meaning |`): metric name to type.
fn catalog() -> BTreeMap<String, String> {
    let readme = read(README);
    let lines: Vec<&str> = readme.lines().collect();
    let is_header = |line: &&str| cells(line) == ["metric", "type", "labels", "meaning"];
    let headers: Vec<usize> = (0..lines.len()).filter(|&i| is_header(&lines[i])).collect();
    assert_eq!(
        headers.len(),
        1,
        "{README}: one catalog table (| metric | type | labels | meaning |)"
    );
    let mut catalog = BTreeMap::new();
    for line in lines[headers[0] + 2..]
        .iter()
        .take_while(|l| l.starts_with('|'))
    {
        let row = cells(line);
        assert_eq!(row.len(), 4, "{README}: catalog row {line}");
        let name = row[0]
            .strip_prefix('`')
            .and_then(|n| n.strip_suffix('`'))
            .unwrap_or_else(|| panic!("{README}: metric name not in backticks: {line}"));
        assert!(!row[3].is_empty(), "{name} has no meaning");
        let previous = catalog.insert(name.to_owned(), row[1].clone());
        assert!(previous.is_none(), "{name} twice in the catalog");
    }
    catalog
}

fn cells(line: &str) -> Vec<String> {
    let Some(inner) = line
        .trim()
        .strip_prefix('|')
        .and_then(|l| l.strip_suffix('|'))
    else {
        return Vec::new();
    };
    inner.split('|').map(|c| c.trim().to_owned()).collect()
}

/// The `corridor_*` metric names in PromQL expressions, with the `_bucket`, `_sum` and
/// `_count` series of the catalog's histograms named by the histogram.
fn metric_names<'a>(
    exprs: impl Iterator<Item = &'a str>,
    catalog: &BTreeMap<String, String>,
) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for expr in exprs {
        let bytes = expr.as_bytes();
        let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b':';
        let mut start = 0;
        while let Some(found) = expr[start..].find("corridor_") {
            let begin = start + found;
            let mut end = begin;
            while end < bytes.len() && is_ident(bytes[end]) {
                end += 1;
            }
            if begin == 0 || !is_ident(bytes[begin - 1]) {
                let name = &expr[begin..end];
                let histogram = ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
                    let base = name.strip_suffix(suffix)?;
                    (catalog.get(base).map(String::as_str) == Some("histogram")).then_some(base)
                });
                names.insert(histogram.unwrap_or(name).to_owned());
            }
            start = end.max(begin + 1);
        }
    }
    names
}

struct AlertRule {
    alert: String,
    expr: String,
    for_duration: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

fn alert_rules() -> Vec<AlertRule> {
    let rules = yaml(RULES);
    let mut out = Vec::new();
    for group in items(&rules["groups"]) {
        for rule in items(&group["rules"]) {
            let Some(alert) = rule["alert"].as_str() else {
                continue;
            };
            out.push(AlertRule {
                alert: alert.to_owned(),
                expr: rule["expr"].as_str().expect("an expr").to_owned(),
                for_duration: rule["for"].as_str().unwrap_or("0s").to_owned(),
                labels: string_map(&rule["labels"]),
                annotations: string_map(&rule["annotations"]),
            });
        }
    }
    out
}

/// The alerts of the unit tests with a case where they fire, and with one where they stay
/// silent (an explicit `exp_alerts: []`).
fn unit_test_cases() -> (BTreeSet<String>, BTreeSet<String>) {
    let tests = yaml(RULE_TESTS);
    let (mut firing, mut silent) = (BTreeSet::new(), BTreeSet::new());
    for test in items(&tests["tests"]) {
        for case in items(&test["alert_rule_test"]) {
            let name = case["alertname"].as_str().expect("an alertname").to_owned();
            let expected = case["exp_alerts"]
                .as_vec()
                .unwrap_or_else(|| panic!("{name}: exp_alerts is not a list"));
            if expected.is_empty() {
                silent.insert(name);
            } else {
                firing.insert(name);
            }
        }
    }
    (firing, silent)
}

/// The anchors of a markdown file's headings, as GitHub makes them: lower case, spaces to
/// `-`, punctuation other than `-` and `_` dropped, `-1`, `-2`... after a repeat.
fn heading_anchors(markdown: &str) -> BTreeSet<String> {
    let mut anchors = BTreeSet::new();
    let mut in_code = false;
    for line in markdown.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        let Some(heading) = line.strip_prefix('#').filter(|_| !in_code) else {
            continue;
        };
        let text = heading.trim_start_matches('#').trim();
        let base: String = text
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        let mut anchor = base.clone();
        let mut n = 0;
        while !anchors.insert(anchor.clone()) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
    }
    anchors
}

/// Seconds of a Prometheus duration of one unit (`30s`, `5m`, `1h`).
fn duration_seconds(duration: &str) -> u64 {
    let split = duration
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(duration.len());
    let (number, unit) = duration.split_at(split);
    let number: u64 = number
        .parse()
        .unwrap_or_else(|_| panic!("duration {duration}"));
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => panic!("duration {duration}: use s, m or h"),
    };
    number * unit
}
