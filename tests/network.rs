//! `hedge network` writes files the real tools accept: Kea, dnsmasq, ISC dhcpd and radvd
//! check the DHCP files, netplan generates from its file, netplan's own rendering of the
//! same VLANs is what the networkd files say, and `ifup --no-act` would set up every VLAN
//! from the ifupdown file. For the example config and for a council of 30 branches × 3
//! VLANs. Then a PC on VLAN 20 (network namespaces) gets its DNS server from the generated
//! dnsmasq config and sees the Child profile's EDE. The tools come from Debian (.ci/run
//! installs them); a missing tool fails the test, naming its package, and so does a user who
//! may not make network namespaces, saying how to run it (root or user namespaces).

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::*;

/// The program `bin`, or a failure that says which Debian package has it.
fn tool(bin: &str, package: &str) -> PathBuf {
    let dirs = std::env::var("PATH").unwrap_or_default();
    dirs.split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|d| Path::new(d).join(bin))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`{bin}` is not installed: `apt-get install {package}` (.ci/run does); this test checks hedge's output with it and cannot pass without it")
        })
}

fn succeeded(what: &str, out: Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{text}",
        out.status
    );
    text
}

/// Runs `hedge network KIND --format FORMAT` on `config`; the folder it wrote.
fn generate(config: &Path, kind: &str, format: &str) -> tempfile::TempDir {
    generate_on(config, kind, format, PARENT)
}

/// [`generate`] with the VLANs on `parent`.
fn generate_on(config: &Path, kind: &str, format: &str, parent: &str) -> tempfile::TempDir {
    let out = tempfile::tempdir().expect("a temporary folder");
    let args = [
        "network", kind, "--format", format, "--parent", parent, "--config",
    ];
    let o = run_hedge(args.iter().map(Into::into).chain([
        config.as_os_str().to_owned(),
        "--out".into(),
        out.path().as_os_str().to_owned(),
    ]));
    succeeded(&format!("hedge network {kind} --format {format}"), o);
    out
}

const PARENT: &str = "bond0";

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Fails, saying how to run this test, unless this process may make the network namespaces
/// the tests below run their servers and PCs in (`unshare -rn`: a user namespace, which
/// needs no privilege where they are enabled, and a network namespace owned by it).
fn assert_may_make_network_namespaces() {
    let o = Command::new(tool("unshare", "util-linux"))
        .args(["-rn", "true"])
        .output()
        .expect("run unshare");
    assert!(
        o.status.success(),
        "this test needs network namespaces of its own, and `unshare -rn true` failed ({}: {}). \
         Run it as root, or as a user who may create user namespaces: \
         sysctl user.max_user_namespaces=10000, kernel.unprivileged_userns_clone=1 where it \
         exists, kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu",
        o.status,
        String::from_utf8_lossy(&o.stderr).trim()
    );
}

/// `program args…` inside a new network namespace that has an interface of each of
/// `names` (veth pairs: Kea refuses a config naming interfaces the system lacks).
fn in_netns_with(names: &[String], program: &Path, args: &[&Path]) -> Output {
    let mut script = String::from("set -e\n");
    for (i, n) in names.iter().enumerate() {
        script += &format!("ip link add {n} type veth peer name hp{i}\n");
    }
    script += "exec \"$@\"\n";
    assert_may_make_network_namespaces();
    Command::new(tool("unshare", "util-linux"))
        .args(["-rn", "sh", "-c", &script, "sh"])
        .arg(program)
        .args(args)
        .output()
        .expect("run unshare")
}

/// Every DHCP format, checked by its own server; returns Kea's two configs.
fn check_dhcp(config: &Path) -> (Value, Value) {
    let kea = generate(config, "dhcp", "kea");
    let mut parsed = Vec::new();
    for (file, bin) in [
        ("kea-dhcp4.conf", "kea-dhcp4"),
        ("kea-dhcp6.conf", "kea-dhcp6"),
    ] {
        let path = kea.path().join(file);
        let json: Value =
            serde_json::from_str(&read(kea.path(), file)).expect("Kea config is JSON");
        let server = json
            .as_object()
            .and_then(|o| o.values().next())
            .expect("a Dhcp4/Dhcp6 object");
        let names: Vec<String> = server["interfaces-config"]["interfaces"]
            .as_array()
            .expect("a JSON array")
            .iter()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect();
        let program = tool(bin, &format!("{bin}-server"));
        succeeded(
            &format!("{bin} -t {file}"),
            in_netns_with(&names, &program, &[Path::new("-t"), &path]),
        );
        parsed.push(json);
    }
    let radvd = tool("radvd", "radvd");
    for dir in [kea.path(), generate(config, "dhcp", "isc").path()] {
        let conf = dir.join("radvd.conf");
        succeeded(
            "radvd --configtest",
            Command::new(&radvd)
                .arg("--configtest")
                .arg("-C")
                .arg(&conf)
                .output()
                .expect("run radvd"),
        );
    }
    let isc = generate(config, "dhcp", "isc");
    let dhcpd = tool("dhcpd", "isc-dhcp-server");
    for (file, family) in [("dhcpd.conf", "-4"), ("dhcpd6.conf", "-6")] {
        let o = Command::new(&dhcpd)
            .args([family, "-t", "-cf"])
            .arg(isc.path().join(file))
            .output()
            .expect("run dhcpd");
        succeeded(&format!("dhcpd {family} -t -cf {file}"), o);
    }
    let dnsmasq = generate(config, "dhcp", "dnsmasq");
    let o = Command::new(tool("dnsmasq", "dnsmasq-base"))
        .arg("--test")
        .arg("-C")
        .arg(dnsmasq.path().join("dnsmasq-hedge.conf"))
        .output()
        .expect("run the tool");
    assert!(succeeded("dnsmasq --test", o).contains("syntax check OK"));
    let v6 = parsed.pop().expect("two Kea configs");
    (parsed.pop().expect("two Kea configs"), v6)
}

/// `[NetDev]`/`[VLAN]`/`[Network]` settings of a networkd folder that say which VLANs exist
/// and which addresses they carry: (interface, key, value).
fn networkd_settings(dir: &Path) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).expect("networkd folder") {
        let path = entry.expect("folder entry").path();
        let text = std::fs::read_to_string(&path).expect("networkd file");
        let mut name = String::new();
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            match key {
                "Name" => name = value.to_string(),
                "Kind" | "Id" | "Address" | "VLAN" | "IPv6AcceptRA" => {
                    out.insert((name.clone(), key.to_string(), value.to_string()));
                }
                _ => {}
            }
        }
    }
    out
}

/// netplan generates from hedge's file, and its networkd rendering agrees with hedge's
/// networkd files; `ifup --no-act` reads the ifupdown file and would create every VLAN with
/// its addresses.
fn check_interfaces(config: &Path, vlans: usize) {
    let netplan = generate(config, "interfaces", "netplan");
    let root = tempfile::tempdir().expect("a temporary folder");
    std::fs::create_dir_all(root.path().join("etc/netplan")).expect("write the test files");
    let file = netplan.path().join("60-hedge-vlans.yaml");
    std::fs::copy(&file, root.path().join("etc/netplan/60-hedge-vlans.yaml"))
        .expect("write the test files");
    let o = Command::new(tool("netplan", "netplan.io"))
        .arg("generate")
        .arg("--root-dir")
        .arg(root.path())
        .output()
        .expect("run the tool");
    let said = succeeded("netplan generate", o);
    assert!(!said.contains("too open"), "{said}");
    let rendered = networkd_settings(&root.path().join("run/systemd/network"));
    let networkd = generate(config, "interfaces", "networkd");
    let ours = networkd_settings(networkd.path());
    assert_eq!(
        ours, rendered,
        "hedge's networkd files and netplan's rendering differ"
    );
    assert_eq!(ours.iter().filter(|(_, k, _)| k == "VLAN").count(), vlans);

    // ifup --no-act prints the commands it would run: one VLAN and two addresses each.
    let ifupdown = generate(config, "interfaces", "ifupdown");
    let state = tempfile::tempdir().expect("a temporary folder");
    let o = Command::new(tool("ifup", "ifupdown"))
        .args(["--no-act", "--all", "--interfaces"])
        .arg(ifupdown.path().join("hedge-vlans"))
        .arg("--state-dir")
        .arg(state.path())
        .output()
        .expect("run ifup");
    let would = succeeded("ifup --no-act", o);
    let count = |needle: &str| would.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(
        count(&format!("ip link add link {PARENT} name {PARENT}.")),
        vlans,
        "{would}"
    );
    assert_eq!(count("ip addr add 10."), vlans, "{would}");
    assert_eq!(count("ip -6 addr add fd00:"), vlans, "{would}");
}

fn subnet<'a>(server: &'a Value, list: &str, id: u64) -> &'a Value {
    server[list]
        .as_array()
        .expect("a JSON array")
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no {list} with id {id}: {server}"))
}

fn option<'a>(subnet: &'a Value, name: &str) -> &'a str {
    subnet["option-data"]
        .as_array()
        .expect("a JSON array")
        .iter()
        .find(|o| o["name"] == name)
        .and_then(|o| o["data"].as_str())
        .unwrap_or_else(|| panic!("no option {name} in {subnet}"))
}

#[test]
fn the_example_configs_networks_pass_every_tool_and_vlan_20_gets_the_child_listener() {
    let config = repo().join("deploy/hedge.toml");
    let (v4, v6) = check_dhcp(&config);
    let child = subnet(&v4["Dhcp4"], "subnet4", 20);
    assert_eq!(child["subnet"], "10.20.0.0/16");
    assert_eq!(child["interface"], format!("{PARENT}.20"));
    assert_eq!(option(child, "domain-name-servers"), "10.20.0.53");
    assert_eq!(option(child, "routers"), "10.20.0.1");
    let child6 = subnet(&v6["Dhcp6"], "subnet6", 20);
    assert_eq!(option(child6, "dns-servers"), "fd00:20::53");
    check_interfaces(&config, 3);
}

/// A council's hedge.toml: 30 branches, each with an Adult, a Child and a walled-garden VLAN
/// (VLAN 1bb, 2bb, 3bb for branch bb), IPv4 and IPv6.
fn council_config() -> String {
    let mut c = String::from(
        "[[profile]]\nname = \"adult\"\nblock = [\"gambling\"]\n\n\
         [[profile]]\nname = \"child\"\ninherit = \"adult\"\nblock = [\"adult-material\"]\n\n\
         [[profile]]\nname = \"walled-garden\"\nmode = \"allowlist\"\nallow_domains = [\"example.org\"]\n",
    );
    for branch in 1..=30 {
        for (k, profile) in [(1, "adult"), (2, "child"), (3, "walled-garden")] {
            let vlan = k * 100 + branch;
            c += &format!(
                "\n[[listener]]\nprofile = \"{profile}\"\n\
                 bind = [\"10.{branch}.{k}.53:53\", \"[fd00:{branch}:{k}::53]:53\"]\n\
                 allow = [\"10.{branch}.{k}.0/24\", \"fd00:{branch}:{k}::/64\"]\n\
                 [listener.network]\nvlan = {vlan}\nsubnet = \"10.{branch}.{k}.0/24\"\n\
                 gateway = \"10.{branch}.{k}.1\"\npool = [\"10.{branch}.{k}.100\", \"10.{branch}.{k}.250\"]\n\
                 subnet6 = \"fd00:{branch}:{k}::/64\"\npool6 = [\"fd00:{branch}:{k}::1000\", \"fd00:{branch}:{k}::ffff\"]\n"
            );
        }
    }
    c
}

#[test]
fn thirty_branches_of_three_vlans_pass_every_tool() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let config = dir.path().join("hedge.toml");
    std::fs::write(&config, council_config()).expect("write the test files");
    let (v4, v6) = check_dhcp(&config);
    assert_eq!(
        v4["Dhcp4"]["subnet4"]
            .as_array()
            .expect("a JSON array")
            .len(),
        90
    );
    assert_eq!(
        v6["Dhcp6"]["subnet6"]
            .as_array()
            .expect("a JSON array")
            .len(),
        90
    );
    let branch_7_child = subnet(&v4["Dhcp4"], "subnet4", 207);
    assert_eq!(option(branch_7_child, "domain-name-servers"), "10.7.2.53");
    assert_eq!(
        branch_7_child["pools"][0]["pool"],
        "10.7.2.100 - 10.7.2.250"
    );
    check_interfaces(&config, 90);
}

/// The whole path of docs/deployment.md: hedge.toml → `hedge network dhcp --format dnsmasq`
/// → a PC on VLAN 20 (its own network namespace, behind a veth pair) gets a lease from
/// dnsmasq with udhcpc, whose DNS server is the Child listener → dig there shows the EDE;
/// and dnsmasq's router advertisement (read with rdisc6) names the listener's IPv6 address
/// as RDNSS, where dig shows the same EDE.
#[test]
fn a_pc_on_vlan_20_gets_the_child_listener_from_dhcp_and_dig_shows_the_ede() {
    for (bin, package) in [
        ("udhcpc", "udhcpc"),
        ("dig", "bind9-dnsutils"),
        ("dnsmasq", "dnsmasq-base"),
        ("rdisc6", "ndisc6"),
        ("nsenter", "util-linux"),
        ("ip", "iproute2"),
    ] {
        tool(bin, package);
    }
    assert_may_make_network_namespaces();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let config = dir.path().join("hedge.toml");
    std::fs::write(
        &config,
        "[[profile]]\nname = \"child\"\nblock = [\"gambling\"]\n\n\
         [[listener]]\nprofile = \"child\"\nbind = [\"10.20.0.53:53\", \"[fd00:20::53]:53\"]\n\
         allow = [\"10.20.0.0/16\", \"fd00:20::/64\"]\n\
         [listener.network]\nvlan = 20\nsubnet = \"10.20.0.0/16\"\ngateway = \"10.20.0.1\"\n\
         pool = [\"10.20.1.0\", \"10.20.1.200\"]\nsubnet6 = \"fd00:20::/64\"\n\n[stats]\nenabled = false\n",
    )
    .expect("write the test files");
    // The script names the VLAN 20 interface eth0.20.
    let generated = generate_on(&config, "dhcp", "dnsmasq", "eth0");
    std::fs::copy(
        generated.path().join("dnsmasq-hedge.conf"),
        dir.path().join("dnsmasq-hedge.conf"),
    )
    .expect("write the test files");
    let fixtures = repo().join("tests/fixtures/network");
    std::fs::copy(
        fixtures.join("udhcpc-lease.sh"),
        dir.path().join("udhcpc-lease.sh"),
    )
    .expect("write the test files");
    let o = Command::new(tool("timeout", "coreutils"))
        .args(["120", "unshare", "-rn", "sh"])
        .arg(fixtures.join("vlan20-client.sh"))
        .arg(dir.path())
        .arg(hedge_bin())
        .output()
        .expect("run the tool");
    let dnsmasq_log = std::fs::read_to_string(dir.path().join("dnsmasq.log")).unwrap_or_default();
    let said = succeeded(
        &format!("the VLAN 20 run (dnsmasq's log:\n{dnsmasq_log})"),
        o,
    );
    assert!(said.contains("lease dns=10.20.0.53\n"), "{said}");
    assert!(
        said.contains("; EDE: 15 (Blocked): (blocked: gambling (profile child"),
        "{said}"
    );
    assert!(said.contains(";; SERVER: 10.20.0.53#53"), "{said}");
    // IPv6: the router advertisement names the listener as RDNSS, and it answers there too.
    assert!(said.contains("ra rdnss=fd00:20::53\n"), "{said}");
    assert!(said.contains(";; SERVER: fd00:20::53#53"), "{said}");
    let edes = said
        .matches("; EDE: 15 (Blocked): (blocked: gambling (profile child")
        .count();
    assert_eq!(edes, 2, "{said}");
}
